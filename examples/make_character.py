"""Regenerate the example character dataset in ``examples/character/``.

    python examples/make_character.py [OUTPUT_DIR]

Every image is made from scikit-image's bundled public-domain photograph
``skimage.data.astronaut()`` (NASA portrait of astronaut Eileen Collins), the
"character" of this set, by cropping, mirroring, rotating, recolouring,
blurring and, once, stamping a watermark. Nothing is random, so a rerun
writes the same captions byte for byte (JPEG bytes may differ between libjpeg
builds; the pictures do not).

The images are small on purpose (short side 512 px or the natural crop size,
a few hundred pixels), so the linter's "image under 1024 px" warnings are
expected on every file.

Deliberate problems, one per file; every other caption is clean:

    011  1. trigger missing entirely: "a photo of a woman ..."
    012  2. trigger in the wrong case: "OHWX, a photo of ..."
    013  3. tags before a sentence: "ohwx, a photo of a woman, smiling, close-up,
            front view. She wears ..."
    014  4. captioner boilerplate: "ohwx, a photo of a woman. The image shows a
            woman ..." (an auto-caption pasted after a hand-written prefix)
    015  5. a duplicate tag: "close-up, ..., close-up"
    016  6. caption spans two lines (kohya reads only the first: the tags are lost)
    017  7. image with no caption file at all
    018  8. names the intrinsic trait "short brown hair" (lintcap.toml:
            subject.intrinsic)

Also deliberate, but in the image rather than the caption:

    010  semi-transparent text watermark over the photo (caption clean)
    009  slightly blurred (the caption says so: "slightly blurry photo", "blurry")
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps
from skimage import data

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "character"
JPEG_QUALITY = 85

CONFIG = """\
trigger = "ohwx"
preset = "flux-character"
# The example images are kept small (512 px at most) so that the repository
# stays light; a real set would not ignore the size rules.
ignore = ["I001", "I002"]

[subject]
class = "woman"
intrinsic = ["short brown hair"]
"""

# The source photo, 512 x 512: face at about x 170-285, y 40-190; American
# flag along the left edge; space shuttle model top right; helmet bottom right.
ASTRONAUT = Image.fromarray(data.astronaut()).convert("RGB")
MIRROR = ImageOps.mirror(ASTRONAUT)


def crop(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    return image.crop(box)


def rotated(image: Image.Image, degrees: float, box: tuple[int, int, int, int]) -> Image.Image:
    """Rotate about the face (counter-clockwise for positive degrees), then
    crop a box that lies wholly inside the rotated picture (no fill corners)."""
    turned = image.rotate(
        degrees, resample=Image.Resampling.BICUBIC, center=(image.width // 2 - 30, 120)
    )
    coverage = Image.new("L", image.size, 255).rotate(
        degrees, resample=Image.Resampling.NEAREST, center=(image.width // 2 - 30, 120)
    )
    if np.asarray(coverage.crop(box)).min() < 255:
        raise ValueError(f"crop box {box} reaches outside the rotated image")
    return turned.crop(box)


def recolour(
    image: Image.Image,
    *,
    brightness: float = 1.0,
    contrast: float = 1.0,
    saturation: float = 1.0,
    rgb_gain: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> Image.Image:
    out = ImageEnhance.Brightness(image).enhance(brightness)
    out = ImageEnhance.Contrast(out).enhance(contrast)
    out = ImageEnhance.Color(out).enhance(saturation)
    pixels = np.asarray(out, dtype=np.float32) * np.asarray(rgb_gain, dtype=np.float32)
    return Image.fromarray(np.clip(pixels + 0.5, 0, 255).astype(np.uint8))


def watermark(image: Image.Image, text: str) -> Image.Image:
    """Tile a semi-transparent text watermark diagonally over the image, as
    stock-photo previews do, plus a solid line in the bottom-right corner."""
    base = image.convert("RGBA")
    font = ImageFont.load_default(size=30)
    small = ImageFont.load_default(size=16)
    tile = Image.new("RGBA", (base.width * 2, base.height * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    step_x, step_y = 260, 110
    for row, y in enumerate(range(0, tile.height, step_y)):
        for x in range(-step_x + (row % 2) * step_x // 2, tile.width, step_x):
            draw.text((x, y), text, font=font, fill=(255, 255, 255, 90))
    tile = tile.rotate(30, resample=Image.Resampling.BICUBIC)
    left = (tile.width - base.width) // 2
    top = (tile.height - base.height) // 2
    tile = tile.crop((left, top, left + base.width, top + base.height))
    out = Image.alpha_composite(base, tile)
    draw = ImageDraw.Draw(out)
    notice = f"\u00a9 {text}"
    width = draw.textlength(notice, font=small)
    draw.text(
        (out.width - width - 10, out.height - 26), notice, font=small, fill=(255, 255, 255, 200)
    )
    return out.convert("RGB")


# (name, make image, caption or None for no caption file)
Spec = tuple[str, Callable[[], Image.Image], str | None]

SPECS: list[Spec] = [
    (
        "001",
        lambda: ASTRONAUT.copy(),
        "ohwx, a photo of a woman in an orange NASA spacesuit with a round mission patch and a "
        "name tag on the chest, smiling at the camera. Her black helmet with a reflective visor "
        "rests in front of her, an American flag hangs on the left and a model of the space "
        "shuttle stands on the right against a mottled grey studio backdrop. "
        "upper body, front view, looking at viewer, soft lighting, indoors",
    ),
    (
        "002",
        lambda: MIRROR.copy(),
        "ohwx, a photo of a woman wearing an orange spacesuit with a silver neck ring and a "
        "mission patch, smiling broadly. The American flag is on the right and a model of the "
        "space shuttle is on the left, with a black helmet in the lower left corner, in front of "
        "a grey studio backdrop. "
        "upper body, front view, looking at viewer, soft lighting, indoors",
    ),
    (
        "003",
        lambda: crop(ASTRONAUT, (130, 5, 320, 235)),
        "ohwx, a photo of a woman's face, smiling warmly with her teeth showing, the silver neck "
        "ring of a pressure suit and a black collar at the bottom of the frame. Plain mottled "
        "grey background. "
        "close-up, front view, looking at viewer, soft lighting, simple background",
    ),
    (
        "004",
        lambda: crop(MIRROR, (180, 0, 390, 250)),
        "ohwx, a photo of a woman with a wide smile, wearing a black high-collared undershirt "
        "inside the metal neck ring of her flight suit. The studio backdrop behind her is a "
        "soft, cloudy grey. "
        "close-up, front view, looking at viewer, soft lighting, simple background",
    ),
    (
        "005",
        lambda: crop(ASTRONAUT, (50, 0, 410, 360)),
        "ohwx, a photo of a woman in an orange spacesuit with a silver neck ring and a black "
        "undershirt, smiling at the viewer. Part of an American flag shows on the left and the "
        "nose of a space shuttle model on the right, against a grey studio backdrop. "
        "portrait, front view, looking at viewer, studio lighting, indoors",
    ),
    (
        "006",
        lambda: rotated(ASTRONAUT, 7, (70, 30, 400, 400)),
        "ohwx, a photo of a smiling woman in an orange NASA spacesuit, the frame tilted "
        "slightly, with the edge of an American flag on the left and part of a space shuttle model "
        "on the right, in front of a grey studio backdrop. "
        "upper body, front view, dutch angle, looking at viewer, soft lighting, indoors",
    ),
    (
        "007",
        lambda: recolour(
            crop(MIRROR, (90, 0, 450, 360)),
            brightness=1.12,
            contrast=1.05,
            saturation=1.3,
            rgb_gain=(1.06, 1.0, 0.86),
        ),
        "ohwx, a photo of a woman grinning in a vivid orange spacesuit with a silver neck ring, "
        "bathed in warm golden light. A model of the space shuttle stands on the left and a "
        "striped flag on the right, in front of a warm beige backdrop. "
        "portrait, front view, looking at viewer, warm lighting, indoors",
    ),
    (
        "008",
        lambda: ImageOps.grayscale(crop(ASTRONAUT, (0, 0, 400, 512))).convert("RGB"),
        "ohwx, a black and white photo of a woman in a spacesuit with a large round mission "
        "patch on the chest, smiling at the camera, with the stars and stripes of a flag behind "
        "her. Studio portrait against a plain mottled backdrop. "
        "upper body, front view, looking at viewer, soft lighting, monochrome, greyscale",
    ),
    (
        "009",
        lambda: crop(MIRROR, (100, 0, 512, 412)).filter(ImageFilter.GaussianBlur(2.2)),
        "ohwx, a slightly blurry photo of a woman in an orange spacesuit, smiling, with a model "
        "of the space shuttle on the left and a black helmet at the bottom of the frame. Grey "
        "studio backdrop and part of an American flag at the right edge. "
        "upper body, front view, looking at viewer, soft lighting, blurry, indoors",
    ),
    (
        "010",
        lambda: watermark(crop(ASTRONAUT, (60, 0, 512, 452)), "stockphotos.example"),
        "ohwx, a photo of a woman in an orange NASA spacesuit with a mission patch and a name "
        "tag, smiling, her helmet resting in front of her. A space shuttle model stands on a black "
        "table behind her left shoulder, against a grey backdrop. "
        "upper body, front view, looking at viewer, studio lighting, indoors",
    ),
    # 1. trigger missing entirely
    (
        "011",
        lambda: crop(MIRROR, (0, 40, 420, 512)),
        "a photo of a woman in an orange spacesuit with mission patches, smiling at the camera, "
        "with a black helmet beside her and a space shuttle model on the left. Her pressure suit "
        "has a silver neck ring over a black undershirt, in front of a grey studio backdrop. "
        "upper body, front view, looking at viewer, soft lighting, indoors",
    ),
    # 2. trigger in the wrong case
    (
        "012",
        lambda: crop(ASTRONAUT, (0, 0, 330, 440)),
        "OHWX, a photo of a woman wearing an orange spacesuit with a round mission patch, "
        "smiling, standing in front of an American flag. Studio portrait against a mottled grey "
        "backdrop. "
        "upper body, front view, looking at viewer, soft lighting, indoors",
    ),
    # 3. tags before a sentence
    (
        "013",
        lambda: recolour(
            crop(ASTRONAUT, (110, 0, 350, 300)), saturation=0.85, rgb_gain=(0.9, 0.98, 1.08)
        ),
        "ohwx, a photo of a woman, smiling, close-up, front view. She wears the silver neck "
        "ring of an orange spacesuit over a black collar, in front of a grey backdrop. "
        "looking at viewer, cool lighting",
    ),
    # 4. captioner boilerplate (an auto-caption pasted after a hand-written prefix)
    (
        "014",
        lambda: crop(ASTRONAUT, (160, 0, 512, 352)),
        "ohwx, a photo of a woman. The image shows a woman in an orange NASA spacesuit smiling "
        "at the camera, with a model of the space shuttle on a black stand behind her. The "
        "backdrop is a mottled grey studio cloth. "
        "portrait, front view, looking at viewer, soft lighting, indoors",
    ),
    # 5. a duplicate tag
    (
        "015",
        lambda: recolour(
            crop(MIRROR, (170, 0, 400, 260)), brightness=0.62, contrast=1.2, saturation=0.9
        ),
        "ohwx, a photo of a woman with a gentle smile, wearing a black collar inside the silver "
        "neck ring of her orange spacesuit, lit dimly against a deep grey backdrop. "
        "close-up, front view, looking at viewer, low-key lighting, close-up",
    ),
    # 6. caption spans two lines (kohya reads only the first: the tags are lost)
    (
        "016",
        lambda: rotated(MIRROR, -6, (120, 30, 450, 400)),
        "ohwx, a photo of a smiling woman in an orange spacesuit with mission patches, the frame "
        "tilted slightly, with a space shuttle model behind her on the left and a flag on the "
        "right.\n"
        "upper body, front view, dutch angle, looking at viewer, soft lighting, indoors",
    ),
    # 7. no caption file at all
    (
        "017",
        lambda: crop(ASTRONAUT, (100, 60, 512, 512)),
        None,
    ),
    # 8. names the intrinsic trait "short brown hair"
    (
        "018",
        lambda: recolour(crop(MIRROR, (150, 0, 380, 240)), contrast=1.15, saturation=1.1),
        "ohwx, a photo of a woman with short brown hair, smiling with her teeth showing, wearing "
        "a black collar inside the metal neck ring of an orange spacesuit. Mottled grey studio "
        "backdrop. "
        "close-up, front view, looking at viewer, soft lighting, simple background",
    ),
]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    names = {name for name, _, _ in SPECS}
    # Remove only what an earlier run of this script wrote.
    for path in out.iterdir():
        if path.suffix in {".jpg", ".txt"} and path.stem in names:
            path.unlink()
    for name, make, caption in SPECS:
        image = make()
        image.save(out / f"{name}.jpg", quality=JPEG_QUALITY, optimize=True)
        if caption is not None:
            (out / f"{name}.txt").write_bytes((caption + "\n").encode("utf-8"))
    (out / "lintcap.toml").write_bytes(CONFIG.encode("utf-8"))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
