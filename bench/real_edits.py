"""Edits of the real photographs, with labels, for bench/image_quality.py --real.

The photographs (``../shared/realdata/photos``, or a path given) are read, never
copied into the project; the originals and their edits are written into a
scratch folder. Labels come from ``bench/labels/photos.tsv`` (hand labels of the
originals); each edit adds or changes what it makes true:

- watermarks (W001) in several fonts (DejaVu TrueType when the system has it,
  OpenCV's Hershey fonts), sizes, opacities and angles, centred, in a corner,
  along the bottom as a caption, and tiled over the whole picture;
- signatures and logos in a corner (W002);
- filters and grades (I008): warm and cool casts, faded blacks, teal-orange
  split toning, over-saturation; vignettes (I013);
- blur (I004) and upscaling from a quarter size (I010);
- crops of full-body photos to the upper part (framing moves up);
- mirror images (yaw left and right swap).

Edits are made of clean photographs only (no overlay, no code of their own),
so that the label of an edit is the label of the edit.

    python bench/real_edits.py OUT [--photos DIR]
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

# The edits the labelled scikit-image set makes too (one definition for both sets).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from imageset import saturate, vignette

RGB = NDArray[np.uint8]

HERE = Path(__file__).resolve().parent
LABELS = HERE / "labels" / "photos.tsv"
PHOTOS = HERE.parents[1] / "shared" / "realdata" / "photos"
if not PHOTOS.is_dir():
    PHOTOS = Path("/work/shared/realdata/photos")

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TRUETYPE = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSerif.ttf",
    "DejaVuSans-ExtraLight.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSansMono.ttf",
)
HERSHEY = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)
WORDS = (
    "© Shutterstock",
    "PREVIEW",
    "iStock by Getty",
    "dreamstime",
    "SAMPLE",
    "© 2019 J. Doe Photography",
    "alamy",
    "www.photo-site.com",
    "DO NOT COPY",
)
#: Marks in words that ``read-cues`` (rules/settings.yaml) does not list, for
#: ``bench/image_quality.py --real --other-words``: what reading the lines
#: gains when the words are not the ones the lists were written with (only
#: the generic patterns, a web address, an @handle, a copyright sign, and a
#: word repeated over the picture can tell these apart).
OTHER_WORDS = (
    "© Marta Lind",
    "NORDLYS PICTURES",
    "www.lindfoto.se",
    "@marta.lind",
    "UNLICENSED",
    "Lindqvist Bild 2021",
    "lindfoto.net",
    "ARCHIVE COPY",
    "Kestrel Agency",
)


@dataclass
class Label:
    """What one file should get, as in photos.tsv."""

    pose: str
    yaw: set[str]
    framing: set[str]
    text: str
    codes: set[str]
    tolerate: set[str] = field(default_factory=set)


def read_labels(path: Path = LABELS) -> dict[str, Label]:
    rows = [
        line for line in path.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"
    ]
    labels = {}
    for row in csv.DictReader(rows, delimiter="\t"):
        labels[row["file"]] = Label(
            pose=row["pose"],
            yaw=set(row["yaw"].split("/")),
            framing=set(row["framing"].split("/")),
            text=row["text"],
            codes=set(row["codes"].split()),
            tolerate=set(row["tolerate"].split()),
        )
    return labels


# --- edits ------------------------------------------------------------------------


def _font(index: int, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / TRUETYPE[index % len(TRUETYPE)]
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def _blend(rgb: RGB, layer: Image.Image) -> RGB:
    """An RGBA layer composited over the picture."""
    base = Image.fromarray(rgb).convert("RGBA")
    return np.asarray(Image.alpha_composite(base, layer).convert("RGB"))


def truetype_mark(
    text: str,
    font: int,
    share: float,
    opacity: float,
    where: str,
    angle: float = 0.0,
    tiled: bool = False,
    colour: tuple[int, int, int] | None = None,
) -> Callable[[RGB], RGB]:
    """Text of a height ``share`` of the short side, at ``opacity``, turned by
    ``angle``; ``tiled`` repeats it over the whole picture. Without a
    ``colour``, white on dark ground and near-black on light ground, as a
    watermark is made to be seen."""

    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        size = max(8, round(min(height, width) * share))
        face = _font(font, size)
        box = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=face)
        text_w, text_h = box[2] - box[0], box[3] - box[1]
        if not tiled and text_w > 0.9 * width:  # fit the picture's width
            face = _font(font, max(8, int(size * 0.9 * width / text_w)))
            box = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox((0, 0), text, font=face)
            text_w, text_h = box[2] - box[0], box[3] - box[1]
        ink = colour or _ink(rgb, where)
        stamp = Image.new("RGBA", (text_w + 8, text_h + 8), (0, 0, 0, 0))
        ImageDraw.Draw(stamp).text(
            (4 - box[0], 4 - box[1]), text, font=face, fill=(*ink, round(255 * opacity))
        )
        if angle:
            stamp = stamp.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
        layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        margin = max(4, min(height, width) // 40)
        sw, sh = stamp.size
        if tiled:
            for row, y in enumerate(range(-sh // 2, height, int(sh * 2.2))):
                shift = (row % 2) * sw // 2
                for x in range(-shift, width, int(sw * 1.3)):
                    layer.alpha_composite(stamp, (max(0, x), max(0, y)))
        else:
            spots = {
                "centre": ((width - sw) // 2, (height - sh) // 2),
                "bottom-right": (width - sw - margin, height - sh - margin),
                "bottom-left": (margin, height - sh - margin),
                "top-left": (margin, margin),
                "top-right": (width - sw - margin, margin),
                "bottom": ((width - sw) // 2, height - sh - margin),
            }
            x, y = spots[where]
            layer.alpha_composite(stamp, (max(0, x), max(0, y)))
        return _blend(rgb, layer)

    return edit


def _ink(rgb: RGB, where: str) -> tuple[int, int, int]:
    """White, or near-black where the ground of the mark is light."""
    height, width = rgb.shape[:2]
    rows = slice(height * 2 // 3, height) if "bottom" in where else slice(0, height)
    rows = slice(0, height // 3) if "top" in where else rows
    if where == "centre":
        rows = slice(height // 3, height * 2 // 3)
    cols = slice(width // 2, width) if "right" in where else slice(0, width)
    cols = slice(0, width // 2) if "left" in where else cols
    return (30, 30, 30) if float(rgb[rows, cols].mean()) > 165 else (255, 255, 255)


def hershey_mark(
    text: str, font: int, share: float, opacity: float, where: str, angle: float = 0.0
) -> Callable[[RGB], RGB]:
    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        target = min(height, width) * share
        (_, base_h), _ = cv2.getTextSize(text, font, 1.0, 2)
        scale = target / max(1, base_h)
        thickness = max(1, round(scale * 1.5))
        (text_w, text_h), _ = cv2.getTextSize(text, font, scale, thickness)
        margin = max(4, min(height, width) // 40)
        origin = {
            "centre": ((width - text_w) // 2, (height + text_h) // 2),
            "bottom-right": (width - text_w - margin, height - margin),
            "bottom": ((width - text_w) // 2, height - margin),
            "top-left": (margin, text_h + margin),
        }[where]
        mask = np.zeros((height, width), np.uint8)
        cv2.putText(mask, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
        if angle:
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
            mask = cv2.warpAffine(mask, matrix, (width, height))
        alpha = (mask.astype(np.float64) / 255.0 * opacity)[..., None]
        ink = np.array(_ink(rgb, where), dtype=np.float64)
        return (rgb * (1 - alpha) + ink * alpha).astype(np.uint8)

    return edit


def caption_band(text: str) -> Callable[[RGB], RGB]:
    """A dark band along the bottom with a white caption: a burned-in subtitle."""

    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        band = max(14, height // 12)
        out = rgb.copy()
        out[height - band :] = (out[height - band :] * 0.35).astype(np.uint8)
        return truetype_mark(text, 0, band / min(height, width) * 0.55, 1.0, "bottom")(out)

    return edit


def signature(text: str, where: str) -> Callable[[RGB], RGB]:
    """A handwriting-like signature: Hershey's script font, slanted, in a corner."""

    def edit(rgb: RGB) -> RGB:
        height, width = rgb.shape[:2]
        scale = min(height, width) / 500
        thickness = max(1, round(scale * 2))
        font = cv2.FONT_HERSHEY_SCRIPT_COMPLEX
        (text_w, _), _ = cv2.getTextSize(text, font, scale, thickness)
        margin = max(6, min(height, width) // 30)
        x = width - text_w - margin if where == "bottom-right" else margin
        out = rgb.copy()
        cv2.putText(
            out, text, (x, height - margin), font, scale, _ink(rgb, where), thickness, cv2.LINE_AA
        )
        return out

    return edit


def logo(where: str) -> Callable[[RGB], RGB]:
    """A round badge with initials and a studio name beside it."""

    def edit(rgb: RGB) -> RGB:
        out = rgb.copy()
        height, width = rgb.shape[:2]
        ink = _ink(rgb, where)
        radius = max(12, min(height, width) // 16)
        margin = radius + max(6, min(height, width) // 40)
        cx = width - margin if where.endswith("right") else margin + radius * 4
        cy = height - margin if where.startswith("bottom") else margin
        cv2.circle(out, (cx, cy), radius, ink, max(2, radius // 8), cv2.LINE_AA)
        cv2.putText(
            out,
            "KM",
            (cx - radius * 2 // 3, cy + radius // 3),
            cv2.FONT_HERSHEY_DUPLEX,
            radius / 24,
            ink,
            max(1, radius // 12),
            cv2.LINE_AA,
        )
        cv2.putText(
            out,
            "STUDIO",
            (cx - radius * 4 - radius // 2, cy + radius // 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            radius / 40,
            ink,
            1,
            cv2.LINE_AA,
        )
        return out

    return edit


LEVELS = np.arange(256, dtype=np.float64)


def _curves(
    red: NDArray[np.float64], green: NDArray[np.float64], blue: NDArray[np.float64]
) -> Callable[[RGB], RGB]:
    luts = [np.clip(c, 0, 255).astype(np.uint8) for c in (red, green, blue)]
    return lambda rgb: np.stack([cv2.LUT(rgb[..., i], luts[i]) for i in range(3)], axis=-1)


def split_tone(rgb: RGB) -> RGB:
    out = rgb.astype(np.float64)
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)[..., None] / 255.0
    out += np.array([-30, 12, 35]) * (1 - light) ** 2 + np.array([40, 12, -35]) * light**2
    return np.clip(out, 0, 255).astype(np.uint8)


def blur(rgb: RGB) -> RGB:
    sigma = max(2.0, min(rgb.shape[:2]) / 200)
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


def upscale(rgb: RGB) -> RGB:
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


FILTERS: dict[str, Callable[[RGB], RGB]] = {
    "warm": _curves(LEVELS + 35, LEVELS + 8, LEVELS * 0.72),
    "cool": _curves(LEVELS * 0.78, LEVELS * 0.95 + 8, LEVELS + 40),
    "faded": _curves(55 + LEVELS * 0.75, 50 + LEVELS * 0.76, 60 + LEVELS * 0.72),
    "splittone": split_tone,
    "saturated": saturate(2.2),
}


# --- the set ----------------------------------------------------------------------


def build(
    out: Path, photos: Path = PHOTOS, seed: int = 16, words: tuple[str, ...] = WORDS
) -> dict[str, Label]:
    """Write originals and edits into ``out``; return file name → label.
    ``words`` are the marks' texts, used in turn."""
    labels = read_labels()
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Label] = {}
    clean = []
    for name, label in sorted(labels.items()):
        source = photos / name
        if not source.is_file():
            continue
        rgb = np.asarray(Image.open(source).convert("RGB"))
        shutil.copyfile(source, out / name)
        result[name] = label
        if label.text in ("none", "scene") and not label.codes:
            clean.append((name, rgb, label))

    def add(stem: str, kind: str, rgb: RGB, label: Label) -> None:
        name = f"{Path(stem).stem}__{kind}.jpg"
        Image.fromarray(np.ascontiguousarray(rgb)).save(out / name, quality=92)
        result[name] = label

    overlay_text = {"W001"}
    for index, (name, rgb, label) in enumerate(clean):
        word = words[index % len(words)]
        font = index % len(TRUETYPE)

        def plus(codes: set[str], base: Label = label, **changes: object) -> Label:
            return replace(base, codes=base.codes | codes, **changes)  # type: ignore[arg-type]

        marked = plus(overlay_text, text="both" if label.text == "scene" else "overlay")
        # Watermarks: each clean photo gets two of the kinds, in turn.
        kinds = [
            (
                "wm_diag",
                truetype_mark(
                    word,
                    font,
                    0.09,
                    rng.choice((0.3, 0.45, 0.6)),
                    "centre",
                    angle=rng.choice((30, -30, 40)),
                ),
            ),
            (
                "wm_tiled",
                truetype_mark(
                    word,
                    font,
                    0.05,
                    rng.choice((0.25, 0.35, 0.5)),
                    "",
                    angle=rng.choice((0, 25, -30)),
                    tiled=True,
                ),
            ),
            (
                "wm_corner",
                truetype_mark(
                    word,
                    font,
                    0.035,
                    rng.choice((0.6, 0.85, 1.0)),
                    rng.choice(("bottom-right", "bottom-left", "top-left")),
                ),
            ),
            (
                "wm_centre",
                hershey_mark(
                    word,
                    HERSHEY[index % len(HERSHEY)],
                    0.07,
                    rng.choice((0.35, 0.5, 0.7)),
                    "centre",
                ),
            ),
            ("caption", caption_band("Interview with the artist, Paris 2019")),
            ("wm_bottom", truetype_mark(word, font, 0.06, 0.5, "bottom")),
        ]
        for kind, edit in (kinds[index % len(kinds)], kinds[(index + 3) % len(kinds)]):
            # A credit alone in a corner is a corner mark (W002).
            corner = replace(
                marked, codes=label.codes | {"W002"}, tolerate=label.tolerate | {"W001"}
            )
            add(name, kind, edit(rgb), corner if kind == "wm_corner" else marked)
        # Signatures and logos.
        if index % 2 == 0:
            add(
                name,
                "signature",
                signature("Anna Kowalski", rng.choice(("bottom-right", "bottom-left")))(rgb),
                plus({"W002"}, tolerate=label.tolerate | {"W001"}),
            )
        else:
            add(
                name,
                "logo",
                logo(rng.choice(("bottom-right", "top-right", "top-left")))(rgb),
                plus({"W002"}, tolerate=label.tolerate | {"W001"}),
            )
        # Filters, vignettes, blur, upscaling: one or two each.
        kind = list(FILTERS)[index % len(FILTERS)]
        add(name, f"filter_{kind}", FILTERS[kind](rgb), plus({"I008"}))
        if index % 3 == 0:
            add(
                name,
                "vignette",
                vignette(1.4)(rgb),
                plus({"I013"}, tolerate=label.tolerate | {"I005"}),
            )
        if index % 3 == 1:
            add(name, "blur", blur(rgb), plus({"I004"}, tolerate=label.tolerate | {"I010", "I006"}))
        if index % 3 == 2 and min(rgb.shape[:2]) >= 400:
            add(name, "upscaled", upscale(rgb), plus({"I010"}, tolerate=label.tolerate | {"I004"}))
        # Mirror: yaw swaps.
        if label.text == "none":
            swap = {"left": "right", "right": "left"}
            add(
                name,
                "mirror",
                rgb[:, ::-1],
                replace(label, yaw={swap.get(y, y) for y in label.yaw}),
            )
        # Crop of a full-body photo to its upper half: the framing moves up.
        if label.framing == {"full-body"} and label.pose != "?":
            height = rgb.shape[0]
            add(
                name,
                "crop_upper",
                rgb[: height * 9 // 20],
                replace(label, framing={"portrait", "waist-up"}),
            )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    args = parser.parse_args()
    labels = build(args.out, args.photos)
    print(f"{len(labels)} files written to {args.out}")


if __name__ == "__main__":
    main()
