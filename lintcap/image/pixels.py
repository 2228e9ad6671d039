"""Small pixel helpers shared by the measurements."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lintcap.lazy import cv2


def percentile_u8(
    values: NDArray[np.uint8], percent: float, mask: NDArray[np.uint8] | None = None
) -> float:
    """``np.percentile(values[mask > 0], percent)`` of 8-bit values, from a
    histogram: the same number (linear interpolation between the two nearest
    ranks) without sorting the pixels, which took most of the time."""
    counts = cv2.calcHist([values], [0], mask, [256], [0, 256]).ravel()
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])
    if total == 0:
        return 0.0
    rank = percent / 100.0 * (total - 1)
    below = int(np.floor(rank))
    low = int(np.searchsorted(cumulative, below, side="right"))
    high = int(np.searchsorted(cumulative, min(below + 1, total - 1), side="right"))
    return low + (high - low) * (rank - below)


def resize_long(rgb: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """``rgb`` shrunk by area averaging to ``size`` on its long side (never enlarged)."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    if scale >= 1:
        return rgb
    dims = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(rgb, dims, interpolation=cv2.INTER_AREA), dtype=np.uint8)
