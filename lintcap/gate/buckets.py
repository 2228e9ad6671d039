"""The size each image trains at, by each trainer's bucketing.

ai-toolkit buckets by area and never upscales: toolkit/buckets.py:17-48.
kohya upscales to its predefined buckets unless bucket_no_upscale:
library/train_util.py:286-346 (select_bucket), library/model_util.py:1316-1344
(make_bucket_resolutions); without enable_bucket every image is resized and
cropped to the resolution (train_util.py:1014-1035).
"""

from __future__ import annotations

import math
from functools import cache

from lintcap.gate.plan import PlannedDataset, Trainer


def bucket(
    trainer: Trainer, dataset: PlannedDataset, width: int, height: int, resolution: int
) -> tuple[int, int]:
    if width <= 0 or height <= 0:
        return (0, 0)
    if trainer == "ai-toolkit":
        if dataset.square_crop:
            return (resolution, resolution)  # dataloader_mixins.py:245-253
        return ai_toolkit_bucket(width, height, resolution, dataset.bucket_divisibility)
    wh = dataset.resolution_wh or (resolution, resolution)
    if not dataset.enable_bucket:
        return wh
    if dataset.bucket_no_upscale:
        return _kohya_no_upscale(width, height, wh, dataset.bucket_reso_steps)
    resos = _kohya_resos(
        wh, dataset.min_bucket_reso, dataset.max_bucket_reso, dataset.bucket_reso_steps
    )
    if (width, height) in resos:
        return (width, height)
    aspect = width / height
    return min(resos, key=lambda r: abs(r[0] / r[1] - aspect))


def ai_toolkit_bucket(
    width: int, height: int, resolution: int, divisibility: int
) -> tuple[int, int]:
    """The image's area, capped at resolution², kept; sides rounded to the
    divisibility with the candidate nearest that area (buckets.py:20-46)."""
    area = width * height
    cap = resolution * resolution
    target = min(area, cap)
    scale = math.sqrt(target / area)
    w_units, h_units = width * scale / divisibility, height * scale / divisibility
    options = [
        (wu * divisibility, hu * divisibility)
        for wu in (math.floor(w_units), math.ceil(w_units))
        for hu in (math.floor(h_units), math.ceil(h_units))
    ]
    fitting = [(w, h) for w, h in options if w > 0 and h > 0 and w * h <= cap]
    if not fitting:
        fitting = [
            (
                max(divisibility, math.floor(w_units) * divisibility),
                max(divisibility, math.floor(h_units) * divisibility),
            )
        ]
    return min(fitting, key=lambda wh: abs(wh[0] * wh[1] - target))


@cache
def _kohya_resos(
    wh: tuple[int, int], min_size: int, max_size: int, steps: int
) -> tuple[tuple[int, int], ...]:
    area = wh[0] * wh[1]
    side = int(math.sqrt(area) // steps) * steps
    resos = {(side, side)}
    width = min_size
    while width <= max_size:
        height = min(max_size, int((area // width) // steps) * steps)
        if height >= min_size:
            resos.add((width, height))
            resos.add((height, width))
        width += steps
    return tuple(sorted(resos))


def _kohya_no_upscale(width: int, height: int, wh: tuple[int, int], steps: int) -> tuple[int, int]:
    area = wh[0] * wh[1]
    aspect = width / height
    if width * height > area:
        rw = math.sqrt(area * aspect)
        rh = area / rw

        def rounded(x: float) -> int:
            value = int(x + 0.5)
            return value - value % steps

        bw = rounded(rw)
        bh_w = rounded(bw / aspect)
        bh = rounded(rh)
        bw_h = rounded(bh * aspect)
        if bh_w and bh and abs(bw / bh_w - aspect) < abs(bw_h / bh - aspect):
            size = (bw, int(bw / aspect + 0.5))
        else:
            size = (int(bh * aspect + 0.5), bh)
    else:
        size = (width, height)
    return (size[0] - size[0] % steps, size[1] - size[1] % steps)
