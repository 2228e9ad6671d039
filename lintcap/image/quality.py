"""Quality measurements: focus, exposure, contrast, colour, compression, detail.

Each function takes the decoded pixels and returns numbers; the rules in
``rules/images.yaml`` decide which numbers are problems. Measurements run on
the *working* image (long side at most the analysis size, as the trainer
will see it after bucketing) except those about pixels themselves
(compression blocks, upscaling), which need the decoded resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from lintcap.image.facts import Colour, Quality
from lintcap.image.pixels import percentile_u8, resize_long
from lintcap.lazy import cv2

if TYPE_CHECKING:
    from lintcap.image.load import LoadedImage

Box = tuple[int, int, int, int]
Gray = NDArray[np.uint8]
RGB = NDArray[np.uint8]


@dataclass(frozen=True)
class ColourPlanes:
    """What the colour family and the quality measures both read, of the
    picture inside any border bars: the share of pixels at each grey level,
    the 256 px colour thumbnail, its 8-bit Lab and lightness, its a and b
    axes centred on grey and its chroma. Made once an image when both
    families are measured (about 1 ms of each image's 2.7 for colour)."""

    shares: NDArray[np.float64]
    small: RGB
    lab_u8: NDArray[np.uint8]
    lightness: Gray
    a: NDArray[np.float32]
    b: NDArray[np.float32]
    chroma: NDArray[np.float32]


def colour_planes(working: RGB, gray: Gray, content: Box | None = None) -> ColourPlanes:
    """The :class:`ColourPlanes` of ``working`` (and its luminance ``gray``)
    inside ``content``."""
    working, gray = _inside(working, gray, content)
    small = _thumbnail(working, 256)
    lab_u8 = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2LAB), dtype=np.uint8)
    lab = lab_u8.reshape(-1, 3).astype(np.float32)
    a, b = lab[:, 1] - 128.0, lab[:, 2] - 128.0
    return ColourPlanes(
        shares=_luminance_shares(gray),
        small=small,
        lab_u8=lab_u8,
        lightness=np.ascontiguousarray(lab_u8[..., 0]),
        a=a,
        b=b,
        chroma=np.hypot(a, b),
    )


def shared_colour_planes(loaded: LoadedImage, content: Box | None) -> ColourPlanes:
    """The colour planes of one decoded image inside ``content``, made on
    the first ask and kept with the image for the other family."""
    key = ("colour-planes", content)
    planes = loaded.shared.get(key)
    if not isinstance(planes, ColourPlanes):
        planes = loaded.shared[key] = colour_planes(loaded.working, loaded.gray, content)
    return planes


def _inside(working: RGB, gray: Gray, content: Box | None) -> tuple[RGB, Gray]:
    if content is None:
        return working, gray
    x, y, w, h = content
    return working[y : y + h, x : x + w], gray[y : y + h, x : x + w]


def measure_quality(
    working: RGB,
    full_gray: Gray,
    subject: Box | None,
    jpeg_quality: int | None,
    content: Box | None = None,
    gray: Gray | None = None,
    planes: ColourPlanes | None = None,
) -> Quality:
    """``content`` is the picture inside any border bars (which would read
    as clipped shadows, low contrast or a vignette); ``gray`` is the working
    image's luminance when the caller already has it; ``planes``, its
    :func:`colour_planes` inside ``content``, when the colour family made them."""
    if gray is None:
        gray = np.asarray(cv2.cvtColor(working, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    if planes is None:
        planes = colour_planes(working, gray, content)
    working, gray = _inside(working, gray, content)
    if content is not None and subject is not None:
        subject = (subject[0] - content[0], subject[1] - content[1], subject[2], subject[3])
    region, where = _focus_region(gray, subject)
    patches = _vignette_patches(gray)  # one thumbnail for both vignette measures
    quality = Quality(
        blur_effect=round(blur_effect(region), 4),
        blur_region=where,
        jpeg_quality=jpeg_quality,
        blockiness=round(blockiness(full_gray), 4),
        detail_ratio=round(detail_ratio(full_gray), 4),
        vignette=round(_vignette(*patches), 4),
        vignette_falloff=round(_vignette_falloff(*patches), 4),
    )
    _exposure(planes.shares, quality)
    _colour(planes, quality)
    if where == "subject" and subject is not None:
        _skin(working, subject, quality)
    return quality


def measure_colour(
    working: RGB, gray: Gray, content: Box | None = None, planes: ColourPlanes | None = None
) -> Colour:
    """The colour family (:class:`~lintcap.image.facts.Colour`): contrast,
    chroma and colour residual, on the same pixels as :func:`measure_quality`
    (inside any border bars) and with the same thumbnail as its colour
    measures, without them; ``planes`` as there."""
    if planes is None:
        planes = colour_planes(working, gray, content)
    low, high = _levels(planes.shares)
    return Colour(
        contrast=float(high - low),
        chroma_mean=round(float(planes.chroma.mean()), 2),
        colour_residual=round(_colour_residual(planes.lightness.ravel(), planes.a, planes.b), 2),
    )


def _luminance_shares(gray: Gray) -> NDArray[np.float64]:
    """The share of pixels at each of the 256 grey levels."""
    histogram = cv2.calcHist([gray], [0], None, [256], [0, 256]).ravel().astype(np.float64)
    return np.asarray(histogram / histogram.sum(), dtype=np.float64)


def _levels(share: NDArray[np.float64]) -> tuple[int, int]:
    """The 1st and 99th percentile grey levels: the middle 98 % of luminance
    values lies between them (their distance is the contrast)."""
    cumulative = np.cumsum(share)
    return int(np.searchsorted(cumulative, 0.01)), int(np.searchsorted(cumulative, 0.99))


def _skin(rgb: RGB, face: Box, quality: Quality) -> None:
    """The colour of the face: the median Lab (a, b) of the middle of the
    face box (cheeks, nose, forehead; little hair or background). Skin of
    any tone sits in a narrow band of warm hues, so a cast or a saturation
    boost shows on it whatever the background: on the clean real
    photographs ``skin-b`` is 2 to 31 and ``skin-chroma`` at most 36."""
    x, y, w, h = face
    height, width = rgb.shape[:2]
    x0, y0 = max(0, x + w // 4), max(0, y + h // 4)
    x1, y1 = min(width, x + w - w // 4), min(height, y + h - h // 4)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    patch = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    lab = np.asarray(cv2.cvtColor(patch, cv2.COLOR_RGB2LAB), dtype=np.uint8).reshape(-1, 3)
    a = float(np.median(lab[:, 1])) - 128.0
    b = float(np.median(lab[:, 2])) - 128.0
    quality.skin_a, quality.skin_b = round(a, 2), round(b, 2)
    quality.skin_chroma = round(float(np.hypot(a, b)), 2)


def _focus_region(gray: Gray, subject: Box | None) -> tuple[Gray, str]:
    """The face or person box grown by half its size, else the central half:
    a portrait's bokeh must not count as blur."""
    height, width = gray.shape
    if subject is not None:
        x, y, w, h = subject
        grow_x, grow_y = w // 2, h // 2
        x0, y0 = max(0, x - grow_x), max(0, y - grow_y)
        x1, y1 = min(width, x + w + grow_x), min(height, y + h + grow_y)
        if x1 - x0 >= 16 and y1 - y0 >= 16:
            return gray[y0:y1, x0:x1], "subject"
    return gray[height // 4 : height - height // 4, width // 4 : width - width // 4], "centre"


def blur_effect(gray: Gray) -> float:
    """Crété-Roffet's no-reference blur metric, 0 (sharp) to 1 (flat).

    Re-blurring a sharp image removes much of its neighbour-pixel variation;
    re-blurring an already blurred one removes little. The ratio is largely
    independent of content and contrast, unlike the variance of the Laplacian.
    """
    if min(gray.shape) <= 2:
        return 1.0
    image = gray.astype(np.float32)
    values = []
    # OpenCV sizes are (width, height): as calibrated, the steps between rows
    # are compared after a blur along the rows, and the other way round.
    for size, vertical in (((9, 1), True), ((1, 9), False)):
        blurred = np.asarray(cv2.blur(image, size), dtype=np.float32)
        diff_image = _neighbour_steps(image, vertical)
        diff_blurred = _neighbour_steps(blurred, vertical)
        total = float(cv2.sumElems(diff_image)[0])
        if total <= 0:
            values.append(1.0)
            continue
        variation = np.asarray(cv2.subtract(diff_image, diff_blurred), dtype=np.float32)
        np.maximum(variation, 0.0, out=variation)
        values.append(1.0 - float(cv2.sumElems(variation)[0]) / total)
    return max(values)


def _neighbour_steps(image: NDArray[np.float32], vertical: bool) -> NDArray[np.float32]:
    """|difference| between neighbouring pixels, without the outermost steps
    of the blur metric (whose box blur reaches past the edge)."""
    if vertical:
        steps = cv2.absdiff(image[1:, :], image[:-1, :])
        return np.asarray(steps[1:-1, 1:-1], dtype=np.float32)
    steps = cv2.absdiff(image[:, 1:], image[:, :-1])
    return np.asarray(steps[1:-1, 1:-1], dtype=np.float32)


def _exposure(share: NDArray[np.float64], quality: Quality) -> None:
    quality.clipped_highlights = round(float(share[250:].sum()), 4)
    quality.clipped_shadows = round(float(share[:6].sum()), 4)
    quality.mean_luminance = round(float((share * np.arange(256)).sum()), 2)
    low, high = _levels(share)
    quality.black_level = float(low)
    quality.white_level = float(high)
    nonzero = share[share > 0]
    quality.entropy = round(float(-(nonzero * np.log2(nonzero)).sum()), 3)


def _colour(planes: ColourPlanes, quality: Quality) -> None:
    """Colourfulness (Hasler and Süsstrunk), chroma, hue spread, cast and
    split toning, from a 256 px thumbnail: colour statistics need no detail."""
    small, a, b, chroma = planes.small, planes.a, planes.b, planes.chroma
    pixels = small.reshape(-1, 3).astype(np.float32)
    red, green, blue = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    rg, yb = red - green, 0.5 * (red + green) - blue
    quality.colourfulness = round(
        float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())), 2
    )
    lightness_u8 = planes.lightness
    flat = lightness_u8.ravel()
    # Cast: how far the average of the near-neutral half of pixels sits from grey.
    # (Pixel sets are index arrays: each is taken from a and b, and a boolean
    # mask would be searched again each time; the same pixels, in order.)
    neutral = np.flatnonzero(chroma <= np.median(chroma))
    if neutral.size:
        quality.cast_strength = round(float(np.hypot(a[neutral].mean(), b[neutral].mean())), 2)
    # Split toning: shadows and highlights tinted towards different hues.
    dark = np.flatnonzero(flat < percentile_u8(lightness_u8, 25))
    light = np.flatnonzero(flat > percentile_u8(lightness_u8, 75))
    if dark.size and light.size:
        shadow_tint = np.array([a[dark].mean(), b[dark].mean()])
        highlight_tint = np.array([a[light].mean(), b[light].mean()])
        quality.split_toning = round(float(np.linalg.norm(shadow_tint - highlight_tint)), 2)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    quality.saturation_mean = round(float(hsv[..., 1].mean()), 2)
    saturated = np.count_nonzero(hsv[..., 1] > 200)
    quality.saturated_share = round(float(saturated) / hsv[..., 1].size, 4)
    _grade(small, lightness_u8, a, b, neutral, quality)


def _grade(
    small: RGB,
    lightness_u8: Gray,
    a: NDArray[np.float32],
    b: NDArray[np.float32],
    neutral: NDArray[np.intp],
    quality: Quality,
) -> None:
    """Two signs of a grade that a scene rarely gives (measured on the real
    photographs of bench/image_quality.py --real):

    - the black floor: the darkest pixel of the area-averaged thumbnail. A
      fade lifts every pixel, so nothing is dark; a natural photograph, even
      a bright or hazy one, keeps a few dark pixels (a hair, a shadow). The
      1st percentile (``black-level``) cannot tell a white backdrop from a
      fade; the floor can (clean photos at most 21, faded ones 52 and up).
    - the tint: the colour shared by the shadows (darkest tenth), the
      highlights (brightest tenth) and the near-neutral half, per Lab axis:
      the smallest of the three when all lean the same way, else 0. A cast
      or a colour filter moves all three alike; a coloured object, a blue
      sky or warm light on a face moves one of them."""
    quality.black_floor = float(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).min())
    flat = lightness_u8.ravel()
    dark = np.flatnonzero(flat <= percentile_u8(lightness_u8, 10))
    light = np.flatnonzero(flat >= percentile_u8(lightness_u8, 90))
    if not (dark.size and light.size and neutral.size):
        return
    tint = [
        _shared(float(c[dark].mean()), float(c[light].mean()), float(c[neutral].mean()))
        for c in (a, b)
    ]
    quality.tint_a, quality.tint_b = round(tint[0], 2), round(tint[1], 2)
    quality.tint = round(float(np.hypot(tint[0], tint[1])), 2)


def _shared(*leans: float) -> float:
    """The part of a lean that every value shares: the smallest in size when
    all have the same sign, else 0."""
    if all(value > 0 for value in leans):
        return min(leans)
    if all(value < 0 for value in leans):
        return max(leans)
    return 0.0


def _colour_residual(
    lightness: NDArray[np.uint8], a: NDArray[np.float32], b: NDArray[np.float32]
) -> float:
    """Colour that lightness does not explain: the spread of (a, b) among
    pixels of the same lightness (32 bins of 8 levels). A toned monochrome
    (sepia, duotone, a tinted black and white) maps each grey level to one
    colour, so it measures near 0; a colour photograph has many colours at
    every lightness."""
    bins = (lightness >> 3).astype(np.intp)
    counts = np.bincount(bins, minlength=32).astype(np.float64)
    spread = 0.0
    for channel in (a, b):
        wide = channel.astype(np.float64)  # the weights bincount would convert to
        total = np.bincount(bins, weights=wide, minlength=32)
        squares = np.bincount(bins, weights=wide * wide, minlength=32)
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = np.where(counts > 0, squares / counts - (total / counts) ** 2, 0.0)
        spread += float((np.maximum(variance, 0.0) * counts).sum() / max(1.0, counts.sum()))
    return float(np.sqrt(spread))


def vignette(gray: Gray) -> float:
    """How much darker all four corners are than the centre, 0 (even) to 1
    (black corners), from a 64 px thumbnail. The brightest corner counts, so
    a dark sky or floor in two corners is not a vignette."""
    return _vignette(*_vignette_patches(gray))


def _vignette(centre: float, corners: list[float], middles: list[float]) -> float:
    if centre <= 1:
        return 0.0
    return float(max(0.0, 1.0 - max(corners) / centre))


def vignette_falloff(gray: Gray) -> float:
    """How much brighter the middle of each edge is than the corners beside
    it, as a share of the centre's brightness (the least of the four edges).
    A vignette darkens with the distance from the centre, so the middle of an
    edge lies between the centre and the corners; a subject lit before a dark
    background has edges as dark as its corners (about 0 or below)."""
    return _vignette_falloff(*_vignette_patches(gray))


def _vignette_falloff(centre: float, corners: list[float], middles: list[float]) -> float:
    if centre <= 1:
        return 0.0
    top_left, top_right, bottom_left, bottom_right = corners
    top, bottom, left, right = middles
    rises = (
        top - max(top_left, top_right),
        bottom - max(bottom_left, bottom_right),
        left - max(top_left, bottom_left),
        right - max(top_right, bottom_right),
    )
    return float(min(rises) / centre)


def _vignette_patches(gray: Gray) -> tuple[float, list[float], list[float]]:
    """Mean brightness of the centre, the four corners (top-left, top-right,
    bottom-left, bottom-right) and the middles of the four edges (top, bottom,
    left, right) of a 64 px thumbnail."""
    small = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    centre = float(small[20:44, 20:44].mean())
    corners = [float(small[:10, :10].mean()), float(small[:10, -10:].mean()),
               float(small[-10:, :10].mean()), float(small[-10:, -10:].mean())]  # fmt: skip
    middles = [float(small[:10, 27:37].mean()), float(small[-10:, 27:37].mean()),
               float(small[27:37, :10].mean()), float(small[27:37, -10:].mean())]  # fmt: skip
    return centre, corners, middles


def blockiness(gray: Gray) -> float:
    """JPEG blocking: mean luminance step across 8-pixel block boundaries over
    the mean step elsewhere; ~1 for a clean image, well above for heavy
    compression. Meaningful only on the decoded (not resized) pixels."""
    if min(gray.shape) < 32:
        return 1.0
    height, width = gray.shape
    # One sum per gap between two columns, and one per gap between two rows.
    columns = _step_sums(gray[:, 1:], gray[:, :-1], axis=0)
    rows = _step_sums(gray[1:, :], gray[:-1, :], axis=1)
    boundary = columns[7::8].mean() / height + rows[7::8].mean() / width
    inside = _mean_off_boundary(columns) / height + _mean_off_boundary(rows) / width
    return float(boundary / max(1e-6, inside))


def _step_sums(a: Gray, b: Gray, axis: int) -> NDArray[np.float64]:
    """|a - b| summed down each column (``axis`` 0) or along each row (1), in
    integers: no float image of the steps. (OpenCV's row sums took 1.2 ms of
    a 1024 x 768 image, numpy's 0.2; its column sums are the quicker.)"""
    steps = cv2.absdiff(a, b)
    if axis == 0:
        sums = cv2.reduce(steps, 0, cv2.REDUCE_SUM, dtype=cv2.CV_32S)
    else:
        sums = np.asarray(steps).sum(axis=1, dtype=np.int64)
    return np.asarray(sums, dtype=np.float64).ravel()


def _mean_off_boundary(sums: NDArray[np.float64]) -> float:
    """Mean of the step sums that do not cross an 8-pixel block boundary."""
    boundary = sums[7::8]
    return float((sums.sum() - boundary.sum()) / max(1, len(sums) - len(boundary)))


def detail_ratio(gray: Gray) -> float:
    """Detail in the finest octave relative to the next one.

    Halving and restoring the image removes the finest octave; halving the
    half removes the next. Real photographs carry detail in both (ratio
    roughly 0.3-1); an image upscaled from a smaller one has almost none in
    its finest octave, whatever its content.
    """
    if min(gray.shape) < 64:
        return 1.0
    image = gray.astype(np.float32)
    height, width = image.shape
    half = _resized(image, width // 2, height // 2, cv2.INTER_AREA)
    quarter = _resized(half, width // 4, height // 4, cv2.INTER_AREA)
    coarse_energy = _mean_square_difference(
        half, _resized(quarter, width // 2, height // 2, cv2.INTER_LINEAR)
    )
    if coarse_energy < 1e-3:
        return 1.0
    fine_energy = _mean_square_difference(image, _resized(half, width, height, cv2.INTER_LINEAR))
    return fine_energy / coarse_energy


def _resized(
    image: NDArray[np.float32], width: int, height: int, interpolation: int
) -> NDArray[np.float32]:
    resized = cv2.resize(image, (width, height), interpolation=interpolation)
    return np.asarray(resized, dtype=np.float32)


def _mean_square_difference(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Mean of (a - b)², without an image-sized array for the difference."""
    return float(cv2.norm(a, b, cv2.NORM_L2SQR)) / max(1, a.size)


def _thumbnail(rgb: RGB, size: int) -> RGB:
    """``rgb`` shrunk to ``size`` on its long side by area averaging: first
    halved while it is at least twice as large (OpenCV's exact 2 x 2 average
    is several times faster than one large area step), then the rest. A
    side of one pixel stays one (a 1 x 900 picture)."""
    while max(rgb.shape[:2]) >= 2 * size:
        height, width = rgb.shape[:2]
        half = (max(1, width // 2), max(1, height // 2))
        rgb = np.asarray(cv2.resize(rgb, half, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return resize_long(rgb, size)


def estimate_jpeg_quality(tables: dict[int, list[int]] | None) -> int | None:
    """The IJG quality setting (1-100) that produced these quantisation tables,
    from the luminance table's scaling of the standard table (Annex K)."""
    if not tables or 0 not in tables:
        return None
    table = np.asarray(tables[0], dtype=np.float64)
    if table.size != 64:
        return None
    # Pillow gives the table in natural (row-major) order, as is the standard one.
    scale = float(np.mean(table * 100.0 / _STANDARD_LUMINANCE))
    quality = 100.0 - scale / 2.0 if scale <= 100 else 5000.0 / scale
    return round(min(100.0, max(1.0, quality)))


_STANDARD_LUMINANCE = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.float64,
)  # fmt: skip
