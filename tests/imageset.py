"""A labelled image set for measuring lintcap's image rules.

Real photographs from scikit-image (five colour, three grayscale, two
textures) and edits of them, each file with the set of codes it should get:
blur at several strengths, filters made of different curves and colour
matrices, watermarks in several Hershey fonts, sizes, opacities, angles and
positions, logos and signatures, borders, downscale-then-upscale, low JPEG
quality, exposure and contrast changes, vignettes, transparency, EXIF
rotation, and (in a folder of their own) duplicates with small edits. Used
by ``bench/image_quality.py``
(precision and recall per code) and by the tests that hold those floors.

Sizes stay at the photographs' own (~300-640 px), so I001/I002 fire on every
file and are not part of the measurement.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from skimage import data as photos

RGB = NDArray[np.uint8]

#: Codes whose detection the labelled set measures.
MEASURED = (
    "I004", "I005", "I006", "I007", "I008", "I009", "I010", "I011", "I012", "I013",
    "W001", "W002", "W003", "D002", "D003",
)  # fmt: skip

COLOUR = ("astronaut", "coffee", "chelsea", "rocket", "stereo_motorcycle")
GRAY = ("camera", "moon", "clock")
TEXTURE = ("grass", "gravel")


def base_photo(name: str) -> RGB:
    array = getattr(photos, name)()
    if isinstance(array, tuple):
        array = array[0]
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8)


# --- edits ----------------------------------------------------------------------


def blur(sigma: float) -> Callable[[RGB], RGB]:
    return lambda rgb: cv2.GaussianBlur(rgb, (0, 0), sigma)


def _curve(rgb: RGB, red: NDArray[np.floating], green: NDArray[np.floating],
           blue: NDArray[np.floating]) -> RGB:  # fmt: skip
    luts = [np.clip(c, 0, 255).astype(np.uint8) for c in (red, green, blue)]
    return np.stack([cv2.LUT(rgb[..., i], luts[i]) for i in range(3)], axis=-1)


LEVELS = np.arange(256, dtype=np.float64)


def sepia(rgb: RGB) -> RGB:
    matrix = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    return np.clip(rgb.astype(np.float64) @ matrix.T, 0, 255).astype(np.uint8)


def grayscale(rgb: RGB) -> RGB:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return np.stack([gray] * 3, axis=-1)


def duotone(rgb: RGB) -> RGB:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)[..., None] / 255.0
    dark, light = np.array([20, 30, 90]), np.array([250, 220, 150])
    return (dark * (1 - gray) + light * gray).astype(np.uint8)


def warm_cast(rgb: RGB) -> RGB:
    return _curve(rgb, LEVELS * 1.0 + 40, LEVELS * 1.0 + 10, LEVELS * 0.7)


def cool_cast(rgb: RGB) -> RGB:
    return _curve(rgb, LEVELS * 0.75, LEVELS * 0.95 + 10, LEVELS + 45)


def faded(rgb: RGB) -> RGB:
    lifted = 55 + LEVELS * 0.75
    return _curve(rgb, lifted, lifted, lifted)


def split_tone(rgb: RGB) -> RGB:
    """Teal shadows, orange highlights: the cinematic grade."""
    out = rgb.astype(np.float64)
    luminance = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)[..., None] / 255.0
    shadows, highlights = np.array([-35, 15, 40]), np.array([45, 15, -40])
    out += shadows * (1 - luminance) ** 2 + highlights * luminance**2
    return np.clip(out, 0, 255).astype(np.uint8)


def saturate(factor: float) -> Callable[[RGB], RGB]:
    def edit(rgb: RGB) -> RGB:
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float64)
        hsv[..., 1] = np.clip(hsv[..., 1] * factor, 0, 255)
        return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)

    return edit


def exposure(gain: float, offset: float = 0.0) -> Callable[[RGB], RGB]:
    return lambda rgb: np.clip(rgb.astype(np.float64) * gain + offset, 0, 255).astype(np.uint8)


def low_contrast(rgb: RGB) -> RGB:
    return np.clip(100 + rgb.astype(np.float64) * 0.25, 0, 255).astype(np.uint8)


def vignette(strength: float) -> Callable[[RGB], RGB]:
    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        y, x = np.ogrid[:height, :width]
        radius = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2))
        mask = np.clip(1 - strength * np.clip(radius - 0.35, 0, None) ** 1.5, 0, 1)
        return (rgb.astype(np.float64) * mask[..., None]).astype(np.uint8)

    return edit


def upscaled(factor: int) -> Callable[[RGB], RGB]:
    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        small = cv2.resize(rgb, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)

    return edit


def border(kind: str) -> Callable[[RGB], RGB]:
    def edit(rgb: RGB) -> RGB:
        out = rgb.copy()
        height, width = rgb.shape[:2]
        if kind == "letterbox":
            bar = height // 8
            out[:bar] = 0
            out[-bar:] = 0
        elif kind == "pillarbox":
            bar = width // 10
            out[:, :bar] = 0
            out[:, -bar:] = 0
        else:  # a white frame all round
            pad = max(6, min(height, width) // 25)
            out = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(255,) * 3)
        return out

    return edit


FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)


def watermark(
    text: str, font: int, scale: float, opacity: float, where: str, angle: float = 0.0,
    colour: tuple[int, int, int] = (255, 255, 255),
) -> Callable[[RGB], RGB]:  # fmt: skip
    """Text drawn on a layer, turned by ``angle``, blended at ``opacity``."""

    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        unit = min(height, width) / 400.0
        size = scale * unit
        thickness = max(1, round(2 * unit * scale))
        (text_w, text_h), _ = cv2.getTextSize(text, font, size, thickness)
        layer = np.zeros_like(rgb)
        mask = np.zeros((height, width), np.uint8)
        margin = int(12 * unit)
        if where == "centre":
            origin = ((width - text_w) // 2, (height + text_h) // 2)
        elif where == "bottom-right":
            origin = (width - text_w - margin, height - margin)
        elif where == "bottom-left":
            origin = (margin, height - margin)
        elif where == "top-left":
            origin = (margin, text_h + margin)
        else:  # bottom centre, a burned-in caption
            origin = ((width - text_w) // 2, height - margin)
        cv2.putText(layer, text, origin, font, size, colour, thickness, cv2.LINE_AA)
        cv2.putText(mask, text, origin, font, size, 255, thickness, cv2.LINE_AA)
        if angle:
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
            layer = cv2.warpAffine(layer, matrix, (width, height))
            mask = cv2.warpAffine(mask, matrix, (width, height))
        alpha = (mask.astype(np.float64) / 255.0 * opacity)[..., None]
        return (rgb * (1 - alpha) + layer * alpha).astype(np.uint8)

    return edit


def logo(rgb: RGB) -> RGB:
    """A round badge with initials in the bottom-right corner."""
    out = rgb.copy()
    height, width = rgb.shape[:2]
    radius = max(12, min(height, width) // 14)
    centre = (width - radius - 10, height - radius - 10)
    cv2.circle(out, centre, radius, (255, 255, 255), 2, cv2.LINE_AA)
    cv2.putText(out, "JD", (centre[0] - radius // 2 - 2, centre[1] + radius // 3),
                cv2.FONT_HERSHEY_DUPLEX, radius / 22, (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    cv2.putText(out, "studio", (centre[0] - radius * 3 - 10, centre[1] + radius // 4),
                cv2.FONT_HERSHEY_SIMPLEX, radius / 30, (255, 255, 255), 1, cv2.LINE_AA)  # fmt: skip
    return out


def shifted_crop(rgb: RGB) -> RGB:
    height, width = rgb.shape[:2]
    crop = rgb[height // 40 :, width // 40 :]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


# --- the set --------------------------------------------------------------------


class Sample:
    def __init__(self, name: str, codes: set[str], save: Callable[[Path], None]) -> None:
        self.name = name
        self.codes = codes
        self.save = save


def _jpeg(rgb: RGB, quality: int = 92, exif_orientation: int = 1) -> Callable[[Path], None]:
    def save(path: Path) -> None:
        image = Image.fromarray(rgb)
        exif = Image.Exif()
        if exif_orientation != 1:
            exif[0x0112] = exif_orientation
        image.save(path, "JPEG", quality=quality, exif=exif.tobytes())

    return save


def _png(rgba: NDArray[np.uint8]) -> Callable[[Path], None]:
    return lambda path: Image.fromarray(rgba).save(path, "PNG")


def samples() -> list[Sample]:
    """Every labelled file: (name, expected codes among MEASURED, writer)."""
    out: list[Sample] = []

    def add(name: str, rgb: RGB, codes: set[str], **save: int) -> None:
        out.append(Sample(f"{name}.jpg", codes, _jpeg(rgb, **save)))

    for name in COLOUR + GRAY + TEXTURE:
        add(f"{name}", base_photo(name), {"I007"} if name in GRAY + TEXTURE else set())
    for index, name in enumerate(COLOUR):
        rgb = base_photo(name)
        for sigma in (2.0, 3.5, 6.0):
            add(f"{name}-blur{sigma:g}", blur(sigma)(rgb), {"I004"})
        add(f"{name}-sepia", sepia(rgb), {"I007"})
        add(f"{name}-gray", grayscale(rgb), {"I007"})
        add(f"{name}-duotone", duotone(rgb), {"I007"})
        add(f"{name}-warm", warm_cast(rgb), {"I008"})
        add(f"{name}-cool", cool_cast(rgb), {"I008"})
        add(f"{name}-faded", faded(rgb), {"I008"})
        add(f"{name}-splittone", split_tone(rgb), {"I008"})
        add(f"{name}-oversat", saturate(2.2)(rgb), {"I008"})
        add(f"{name}-bright", exposure(1.8, 50)(rgb), {"I005"})
        add(f"{name}-dark", exposure(0.3)(rgb), {"I005"})
        add(f"{name}-flat", low_contrast(rgb), {"I006"})
        add(f"{name}-vignette", vignette(1.0)(rgb), {"I013"})
        add(f"{name}-upscale2", upscaled(2)(rgb), {"I010"})
        add(f"{name}-upscale3", upscaled(3)(rgb), {"I010"})
        add(f"{name}-q8", rgb, {"I009"}, quality=8)
        add(f"{name}-q20", rgb, {"I009"}, quality=20)
        add(f"{name}-rotated", rgb, {"I012"}, exif_orientation=(6, 8, 3, 6, 8)[index])
        add(f"{name}-letterbox", border("letterbox")(rgb), {"W003"})
        add(f"{name}-pillarbox", border("pillarbox")(rgb), {"W003"})
        add(f"{name}-frame", border("frame")(rgb), {"W003"})
        font = FONTS[index % len(FONTS)]
        other_font = FONTS[(index + 3) % len(FONTS)]
        add(
            f"{name}-wm-diagonal",
            watermark("SAMPLE PHOTO", font, 2.2, 0.45, "centre", 30)(rgb),
            {"W001"},
        )
        add(
            f"{name}-wm-diagonal-faint",
            watermark("stockimages", other_font, 1.6, 0.3, "centre", -35)(rgb),
            {"W001"},
        )
        add(f"{name}-wm-centre", watermark("PREVIEW", font, 2.5, 0.6, "centre")(rgb), {"W001"})
        add(
            f"{name}-caption-text",
            watermark("Summer holiday 2019", other_font, 1.2, 1.0, "bottom", colour=(255, 255, 0))(
                rgb
            ),
            {"W001"},
        )
        add(
            f"{name}-corner-text",
            watermark("(c) J. Doe Photography", font, 0.7, 0.9, "bottom-right")(rgb),
            # A credit alone in a corner is a corner mark (W002), not W001's
            # watermark or caption across the picture.
            {"W002"},
        )
        add(
            f"{name}-signature",
            watermark("Jane Doe", cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, 1.0, 0.9, "bottom-left")(rgb),
            {"W002"},
        )
        add(f"{name}-logo", logo(rgb), {"W002"})
        rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
        height, width = rgb.shape[:2]
        rgba[: height // 3, : width // 3, 3] = 0
        out.append(Sample(f"{name}-cutout.png", {"I011"}, _png(rgba)))
    for index in range(6):
        add(f"generated-{index}", generated(index), set())
    return out


def duplicate_samples() -> list[Sample]:
    """A folder of distinct pictures plus, for each colour photo, an exact
    copy, a smaller re-encode and a slight crop (duplicates), and a mirror
    image (a legitimate new view, not a duplicate). Names sort the original
    first, so the finding lands on the copy."""
    out: list[Sample] = []
    for name in COLOUR + GRAY:
        rgb = base_photo(name)
        out.append(Sample(f"{name}.jpg", set(), _jpeg(rgb)))
        if name not in COLOUR:
            continue
        out.append(Sample(f"{name}_copy.jpg", {"D002"}, _jpeg(rgb)))
        height, width = rgb.shape[:2]
        smaller = cv2.resize(rgb, (width * 9 // 10, height * 9 // 10), interpolation=cv2.INTER_AREA)
        out.append(Sample(f"{name}_resaved.jpg", {"D003"}, _jpeg(smaller, quality=75)))
        out.append(Sample(f"{name}_cropped.jpg", {"D003"}, _jpeg(shifted_crop(rgb))))
        out.append(Sample(f"{name}_graded.jpg", {"D003"}, _jpeg(warm_cast(rgb))))
        out.append(Sample(f"{name}_mirrored.jpg", set(), _jpeg(np.ascontiguousarray(rgb[:, ::-1]))))
    for index in range(6):
        out.append(Sample(f"generated-{index}.jpg", set(), _jpeg(generated(index))))
    return out


def generated(seed: int, size: tuple[int, int] = (480, 640)) -> RGB:
    """A synthetic scene: smooth gradient, shapes, noise; clean by construction."""
    generator = np.random.default_rng(seed)
    height, width = size
    y, x = np.mgrid[:height, :width]
    base = np.stack(
        [
            80 + 100 * x / width + 20 * np.sin(y / (17 + seed)),
            60 + 120 * y / height,
            140 - 60 * x / width + 30 * np.cos(x / (23 + seed)),
        ],
        axis=-1,
    )
    image = base + generator.normal(0, 9, base.shape)
    out = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(8):
        centre = (int(generator.integers(0, width)), int(generator.integers(0, height)))
        colour = tuple(int(c) for c in generator.integers(0, 255, 3))
        cv2.circle(out, centre, int(generator.integers(15, 90)), colour, -1, cv2.LINE_AA)
    return cv2.GaussianBlur(out, (0, 0), 0.6)


def build(folder: Path) -> dict[str, set[str]]:
    """Write the labelled set into ``folder``/quality and ``folder``/duplicates;
    return relative path → expected codes."""
    labels: dict[str, set[str]] = {}
    for part, group in (("quality", samples()), ("duplicates", duplicate_samples())):
        (folder / part).mkdir(parents=True, exist_ok=True)
        for sample in group:
            sample.save(folder / part / sample.name)
            labels[f"{part}/{sample.name}"] = sample.codes
    return labels


class Score(NamedTuple):
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0


def evaluate(
    folder: Path, labels: dict[str, set[str]], jobs: int | None = None
) -> tuple[dict[str, Score], dict[str, set[str]]]:
    """Run the real linter on the built set; score each measured code, and
    return what was found per file (for a look at the misses)."""
    from lintcap.config import Config
    from lintcap.engine.run import lint

    found: dict[str, set[str]] = {name: set() for name in labels}
    for part, codes in (("quality", ["I", "W"]), ("duplicates", ["D002", "D003"])):
        config = Config(select=codes, cache=False, jobs=jobs)
        result = lint([folder / part], config)
        for diagnostic in result.diagnostics:
            relative = Path(diagnostic.path or "").resolve().relative_to(folder.resolve())
            found.setdefault(relative.as_posix(), set()).add(diagnostic.code)
    scores = {}
    for code in MEASURED:
        tp = sum(1 for name, want in labels.items() if code in want and code in found[name])
        fp = sum(1 for name, want in labels.items() if code not in want and code in found[name])
        fn = sum(1 for name, want in labels.items() if code in want and code not in found[name])
        scores[code] = Score(tp, fp, fn)
    return scores, found
