"""Overlays: text and watermarks, corner marks (logos, signatures), borders.

Text is found the classic morphological way: thin bright or dark strokes
(top-hat and black-hat), joined along the reading direction into lines, kept
when a line looks like text (a row of similar strokes, long for its height).
It runs on the upright image and on the image turned 30 degrees both ways,
which catches the diagonal text of stock-photo watermarks. Scores are
measurements; ``rules/images.yaml`` decides what counts as a watermark.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from lintcap.image.facts import Overlay

Gray = NDArray[np.uint8]
RGB = NDArray[np.uint8]

#: Working size for text search: small enough to be fast, large enough that
#: a corner signature 2 % of the image high is still ~10 px.
TEXT_SIZE = 384
#: Top-hat sizes: strokes up to ~2 % and ~5 % of the text image wide.
STROKE_KERNELS = (7, 19)
#: A stroke stands out from its surroundings by at least this much, 0-255.
STROKE_MIN_CONTRAST = 20.0
#: A bar is flat when its rows (or columns) vary less than this, 0-255.
FLAT_STD = 3.0


def measure_overlay(rgb: RGB) -> Overlay:
    gray: Gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    overlay = Overlay()
    _borders(gray, overlay)
    inner = _inside_borders(gray, overlay)
    small = _resize_long(inner, TEXT_SIZE)
    lines = _text_lines(small)
    overlay.text_lines = len(lines)
    if lines:
        best = max(lines, key=lambda line: line[0])
        overlay.text_score = round(float(best[0]), 3)
        overlay.text_position = best[1]
        overlay.corner_mark_score = round(
            float(max((score for score, where in lines if where == "corner"), default=0.0)), 3
        )
    diagonal = 0.0
    for angle in (30.0, -30.0):
        turned, inside = _rotate(small, angle)
        diagonal = max(diagonal, max((s for s, _ in _text_lines(turned, inside)), default=0))
    overlay.diagonal_text_score = round(float(diagonal), 3)
    return overlay


def _borders(gray: Gray, overlay: Overlay) -> None:
    """Flat bars along each edge (letterbox, frame): counted in pixels until
    the rows stop being flat or change colour."""
    height, width = gray.shape
    rows_std = gray.std(axis=1)
    rows_mean = gray.mean(axis=1)
    cols_std = gray.std(axis=0)
    cols_mean = gray.mean(axis=0)
    overlay.border_top = _flat_run(rows_std, rows_mean, height // 3)
    overlay.border_bottom = _flat_run(rows_std[::-1], rows_mean[::-1], height // 3)
    overlay.border_left = _flat_run(cols_std, cols_mean, width // 3)
    overlay.border_right = _flat_run(cols_std[::-1], cols_mean[::-1], width // 3)


def _flat_run(stds: NDArray[np.floating], means: NDArray[np.floating], limit: int) -> int:
    if len(stds) == 0 or stds[0] > FLAT_STD:
        return 0
    reference = means[0]
    run = 0
    while run < limit and stds[run] <= FLAT_STD and abs(means[run] - reference) <= 2 * FLAT_STD:
        run += 1
    return run


def content_box(overlay: Overlay, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The picture inside the border bars, as (x, y, w, h); None without bars."""
    top, bottom = overlay.border_top, height - overlay.border_bottom
    left, right = overlay.border_left, width - overlay.border_right
    if (
        (top, bottom, left, right) == (0, height, 0, width)
        or bottom - top < 16
        or right - left < 16
    ):
        return None
    return left, top, right - left, bottom - top


def _inside_borders(gray: Gray, overlay: Overlay) -> Gray:
    height, width = gray.shape
    top, bottom = overlay.border_top, height - overlay.border_bottom
    left, right = overlay.border_left, width - overlay.border_right
    if bottom - top < 16 or right - left < 16:
        return gray
    return gray[top:bottom, left:right]


def _text_lines(gray: Gray, inside: NDArray[np.bool_] | None = None) -> list[tuple[float, str]]:
    """Text-like lines as (score, position). The score grows with the number
    of stroke-like marks in the line and how regular their heights are."""
    height, width = gray.shape
    if min(height, width) < 48:
        return []
    found: list[tuple[float, str]] = []
    valid = inside if inside is not None else np.ones(gray.shape, dtype=bool)
    if not valid.any():
        return found
    # Thin strokes (small text) and thick ones (large watermark lettering).
    for size in STROKE_KERNELS:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
        for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
            strokes = cv2.morphologyEx(gray, operation, kernel)
            level = max(STROKE_MIN_CONTRAST, float(np.percentile(strokes[valid], 99.5)) * 0.5)
            mask = ((strokes >= level) & valid).astype(np.uint8)
            found.extend(_lines_in(mask))
    return found


def _lines_in(mask: NDArray[np.uint8]) -> list[tuple[float, str]]:
    height, width = mask.shape
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    # Character-sized marks: 4-12 % of the height at most, not specks.
    marks = [
        index
        for index in range(1, count)
        if 4 <= stats[index, cv2.CC_STAT_HEIGHT] <= height * 0.2
        and 2 <= stats[index, cv2.CC_STAT_WIDTH] <= height * 0.2
        and stats[index, cv2.CC_STAT_AREA] >= 6
    ]
    if len(marks) < 3:
        return []
    keep = np.zeros(count, dtype=np.uint8)
    keep[marks] = 1
    chars = keep[labels]
    median_height = float(np.median(stats[marks, cv2.CC_STAT_HEIGHT]))
    gap = max(3, int(median_height * 0.8))
    joined = np.asarray(
        cv2.morphologyEx(
            chars, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1))
        ),
        dtype=np.uint8,
    )
    line_count, line_labels, line_stats, _ = cv2.connectedComponentsWithStats(
        joined, connectivity=8
    )
    lines: list[tuple[float, str]] = []
    for index in range(1, line_count):
        x, y, w, h, _area = (int(v) for v in line_stats[index])
        if h < 4 or w < 3 * h or h > height * 0.25:
            continue
        inside = np.unique(labels[y : y + h, x : x + w][line_labels[y : y + h, x : x + w] == index])
        members = [m for m in inside if m and keep[m]]
        if len(members) < 3:
            continue
        heights = stats[members, cv2.CC_STAT_HEIGHT].astype(np.float64)
        tops = stats[members, cv2.CC_STAT_TOP].astype(np.float64)
        regularity = 1.0 / (1.0 + heights.std() / max(1.0, heights.mean()))
        alignment = 1.0 / (1.0 + tops.std() / max(1.0, heights.mean()))
        fill = float(chars[y : y + h, x : x + w].mean())
        if not 0.15 <= fill <= 0.75:
            continue
        score = min(len(members), 12) / 12.0 * regularity * alignment
        lines.append((score, _position(x, y, w, h, width, height)))
    return lines


def _position(x: int, y: int, w: int, h: int, width: int, height: int) -> str:
    centre_x, centre_y = (x + w / 2) / width, (y + h / 2) / height
    near_x = centre_x < 0.3 or centre_x > 0.7
    near_y = centre_y < 0.2 or centre_y > 0.8
    if near_x and near_y:
        return "corner"
    if near_y or near_x:
        return "edge"
    return "centre"


def _rotate(gray: Gray, angle: float) -> tuple[Gray, NDArray[np.bool_]]:
    """The image turned by ``angle`` and where the picture is: the wedges the
    rotation adds (and a margin, whose edge the top-hat would call a stroke)
    are not part of it."""
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    turned = cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR)
    ones = np.full(gray.shape, 255, dtype=np.uint8)
    area = cv2.warpAffine(ones, matrix, (width, height), flags=cv2.INTER_NEAREST)
    inside = cv2.erode(area, np.ones((15, 15), np.uint8)) > 0
    return np.asarray(turned, dtype=np.uint8), inside


def _resize_long(gray: Gray, size: int) -> Gray:
    height, width = gray.shape
    scale = size / max(height, width)
    if scale >= 1:
        return gray
    dims = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(gray, dims, interpolation=cv2.INTER_AREA), dtype=np.uint8)
