"""Open images safely: header first, pixel limit before any decode.

The header alone gives format, size and frame count, which is all the file
rules need. A full decode is what proves a file is not truncated; it is done
only when a selected rule asks for it, and JPEGs decode at reduced scale
(``draft``), which still reads every byte of the entropy-coded data.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel

from lintcap.models import Problem

#: Formats both ai-toolkit and kohya sd-scripts decode.
TRAINER_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "MPO"})


class ImageHeader(BaseModel):
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str | None = None
    frames: int = 1


class ImageProbe(BaseModel):
    header: ImageHeader | None = None
    decoded: bool = False
    problems: list[Problem] = []


def probe_image(path: Path, display: str, max_pixels: int, decode: bool) -> ImageProbe:
    """Read an image's header, check it, and decode it fully if ``decode``."""
    limit = Image.MAX_IMAGE_PIXELS
    # Our own limit (checked below, before any decode) replaces Pillow's global one.
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _probe(path, display, max_pixels, decode)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _probe(path: Path, display: str, max_pixels: int, decode: bool) -> ImageProbe:
    try:
        with Image.open(path) as image:
            header = ImageHeader(
                format=image.format,
                width=image.width,
                height=image.height,
                mode=image.mode,
                frames=getattr(image, "n_frames", 1),
            )
            problem = _header_problem(header, display, max_pixels)
            if problem is not None:
                return ImageProbe(header=header, problems=[problem])
            if decode:
                if image.format == "JPEG":
                    image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
            return ImageProbe(header=header, decoded=decode)
    except UnidentifiedImageError:
        reason = "not an image Pillow can identify"
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        return ImageProbe(
            problems=[Problem(kind="unreadable", path=display, detail=exc.strerror or str(exc))]
        )
    except Image.DecompressionBombError as exc:
        return ImageProbe(problems=[Problem(kind="too-many-pixels", path=display, detail=str(exc))])
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, struct.error) as exc:
        reason = _reason(exc)
    return ImageProbe(problems=[Problem(kind="undecodable", path=display, detail=reason)])


def _header_problem(header: ImageHeader, display: str, max_pixels: int) -> Problem | None:
    pixels = header.width * header.height
    if pixels > max_pixels:
        return Problem(
            kind="too-many-pixels",
            path=display,
            detail=f"{header.width:,} x {header.height:,} = {pixels:,} pixels "
            f"(limit {max_pixels:,}): possible decompression bomb, not decoded",
        )
    if header.format not in TRAINER_FORMATS:
        return Problem(
            kind="unsupported-format",
            path=display,
            detail=f"file holds a {header.format} image, which the trainers do not read",
        )
    if header.frames > 1:
        return Problem(
            kind="unsupported-format",
            path=display,
            detail=f"animated {header.format} with {header.frames} frames: trainers read one frame",
        )
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if "truncated" in text:
        return f"truncated: {text}"
    return f"cannot be decoded: {text}"
