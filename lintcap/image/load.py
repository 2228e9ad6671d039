"""Open images safely: header first, pixel limit before any decode.

The header alone gives format, size and frame count, which is all the file
rules need. A full decode is what proves a file is not truncated; it is done
only when a selected rule asks for it, and JPEGs decode at reduced scale
(``draft``), which still reads every byte of the entropy-coded data.
"""

from __future__ import annotations

import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel

from lintcap.image.facts import ImageInfo
from lintcap.image.pixels import resize_long
from lintcap.lazy import cv2
from lintcap.models import Problem
from lintcap.safefs import NotRegularFile, open_binary

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
        with open_binary(path) as stream, Image.open(stream) as image:
            header = _header(image)
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
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotRegularFile) as exc:
        return ImageProbe(
            problems=[Problem(kind="unreadable", path=display, detail=exc.strerror or str(exc))]
        )
    except Image.DecompressionBombError as exc:
        return ImageProbe(problems=[Problem(kind="too-many-pixels", path=display, detail=str(exc))])
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, struct.error) as exc:
        reason = _reason(exc)
    return ImageProbe(problems=[Problem(kind="undecodable", path=display, detail=reason)])


#: Pixel measurements (compression blocks, upscaling) use the decoded
#: resolution up to this many pixels; larger JPEGs decode at a reduced scale.
FULL_RESOLUTION_PIXELS = 4_194_304


@dataclass
class LoadedImage:
    """One decode of an image, upright, in the forms the measurements want."""

    info: ImageInfo
    #: RGB, long side at most the analysis size: what the trainer sees.
    working: NDArray[np.uint8]
    #: Luminance of ``working``: every measurement that wants grey shares it.
    gray: NDArray[np.uint8]
    #: Luminance at the decoded resolution (full, or reduced for huge JPEGs).
    full_gray: NDArray[np.uint8]
    jpeg_quantization: dict[int, list[int]] | None
    #: What one measurement made of these pixels for another, by name
    #: (:func:`lintcap.image.quality.shared_colour_planes`): this image's only.
    shared: dict[object, object] = field(default_factory=dict)


@dataclass
class LoadFailure:
    problems: list[Problem]


def load_image(path: Path, display: str, max_pixels: int, size: int) -> LoadedImage | LoadFailure:
    """Decode ``path`` once for analysis: header checks first (pixel limit
    before any decode), then EXIF orientation, alpha and mode facts."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _load(path, display, max_pixels, size)
    except UnidentifiedImageError:
        reason = "not an image Pillow can identify"
    except (FileNotFoundError, PermissionError, IsADirectoryError, NotRegularFile) as exc:
        problem = Problem(kind="unreadable", path=display, detail=exc.strerror or str(exc))
        return LoadFailure([problem])
    except Image.DecompressionBombError as exc:
        return LoadFailure([Problem(kind="too-many-pixels", path=display, detail=str(exc))])
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, struct.error) as exc:
        reason = _reason(exc)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return LoadFailure([Problem(kind="undecodable", path=display, detail=reason)])


def _load(path: Path, display: str, max_pixels: int, size: int) -> LoadedImage | LoadFailure:
    with open_binary(path) as stream, Image.open(stream) as image:
        header = _header(image)
        problem = _header_problem(header, display, max_pixels)
        if problem is not None:
            return LoadFailure([problem])
        orientation = int(image.getexif().get(0x0112, 1) or 1)
        quantization = dict(image.quantization) if image.format == "JPEG" else None
        mode = image.mode
        pixels = image.width * image.height
        if image.format == "JPEG" and pixels > FULL_RESOLUTION_PIXELS:
            scale = max((FULL_RESOLUTION_PIXELS / pixels) ** 0.5, size / max(image.size))
            image.draft("RGB", (int(image.width * scale) + 1, int(image.height * scale) + 1))
        image.load()
        info = ImageInfo(
            format=image.format,
            width=header.width,
            height=header.height,
            mode=mode,
            exif_orientation=orientation if 1 <= orientation <= 8 else 1,
            bits_per_channel=16 if mode.startswith("I;16") or mode in {"I", "F"} else 8,
        )
        rgb_image = _to_rgb(image, info)
    upright = ImageOps.exif_transpose(rgb_image) if info.exif_orientation != 1 else rgb_image
    if info.exif_orientation in {5, 6, 7, 8}:
        info.width, info.height = info.height, info.width
    rgb = np.asarray(upright, dtype=np.uint8)
    full_gray = _gray(rgb)
    working = resize_long(rgb, size)
    return LoadedImage(
        info=info,
        working=working,
        gray=full_gray if working is rgb else _gray(working),
        full_gray=full_gray,
        jpeg_quantization=quantization,
    )


def _gray(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def _to_rgb(image: Image.Image, info: ImageInfo) -> Image.Image:
    """RGB pixels, with alpha facts taken on the way."""
    if image.mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        # No float64 copy (8 bytes a pixel): x * 255 / 65535 is x // 257,
        # computed in the array's own type.
        array = np.asarray(image)
        if image.mode.startswith("I;16") or (array.size and array.max() > 255):
            array = array / 257.0 if image.mode == "F" else array // 257
        gray = np.clip(array, 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        info.has_alpha = True
        info.transparent_share = round(float(np.mean(alpha < 255)), 4)
        return rgba.convert("RGB")
    # An RGB image is used as it is: converting would only copy it.
    return image if image.mode == "RGB" else image.convert("RGB")


def _header(image: Image.Image) -> ImageHeader:
    """What the file's header says, before any pixel is decoded."""
    return ImageHeader(
        format=image.format,
        width=image.width,
        height=image.height,
        mode=image.mode,
        frames=getattr(image, "n_frames", 1),
    )


#: The decoded-size limit is the pixel limit times this: an 8-bit RGB image
#: at the pixel limit fits, a 4-channel or 16-bit-per-channel image of the
#: same size (a 34-byte lossless WebP of 16,383 x 10,000) does not.
RGB_BYTES = 3


def bytes_per_pixel(mode: str | None) -> int:
    """Bytes one decoded pixel of ``mode`` takes: bands times bytes per band
    (16-bit grey 2, RGB 3, RGBA and CMYK 4, 32-bit grey 4)."""
    if mode is None:
        return RGB_BYTES
    if mode.startswith("I;16"):
        per_band = 2
    elif mode in {"I", "F"}:
        per_band = 4
    else:
        per_band = 1
    try:
        bands = Image.getmodebands(mode)
    except (KeyError, ValueError):
        bands = 4
    return bands * per_band


def _header_problem(header: ImageHeader, display: str, max_pixels: int) -> Problem | None:
    pixels = header.width * header.height
    if pixels > max_pixels:
        return Problem(
            kind="too-many-pixels",
            path=display,
            detail=f"{header.width:,} x {header.height:,} = {pixels:,} pixels "
            f"(limit {max_pixels:,}): possible decompression bomb, not decoded",
        )
    decoded = pixels * bytes_per_pixel(header.mode)
    budget = max_pixels * RGB_BYTES
    if decoded > budget:
        return Problem(
            kind="too-many-pixels",
            path=display,
            detail=f"{header.width:,} x {header.height:,} {header.mode} pixels decode to "
            f"{decoded:,} bytes (limit {budget:,}, an 8-bit RGB image at the pixel limit): "
            "not decoded",
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
