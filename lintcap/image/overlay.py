"""Overlays: text and watermarks, corner marks (logos, signatures), borders.

Text is found the classic morphological way: thin bright or dark strokes
(top-hat and black-hat), joined along the reading direction into lines, kept
when a line looks like text (a row of similar strokes, long for its height).
It runs on the upright image and on a smaller copy turned 30 degrees both
ways, which catches the diagonal text of stock-photo watermarks. Scores are
measurements; ``rules/images.yaml`` decides what counts as a watermark.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from lintcap.image.facts import Overlay
from lintcap.image.pixels import percentile_u8
from lintcap.image.text import TextBox
from lintcap.lazy import cv2

Gray = NDArray[np.uint8]
RGB = NDArray[np.uint8]

#: Working size for text search: small enough to be fast, large enough that
#: a corner signature 2 % of the image high is still ~10 px.
TEXT_SIZE = 384
#: Working size for the diagonal search (the text image turned 30 degrees
#: both ways): stock-photo watermarks are large, and at two thirds of the
#: text size the two turned passes cost less than half of what they did,
#: with the same precision and recall on the labelled set.
DIAGONAL_TEXT_SIZE = 256
#: Top-hat sizes: strokes up to ~2 % and ~5 % of the text image wide.
STROKE_KERNELS = (7, 19)
#: A stroke stands out from its surroundings by at least this much, 0-255.
STROKE_MIN_CONTRAST = 20.0
#: A bar is flat when its rows (or columns) vary less than this, 0-255.
FLAT_STD = 3.0


def measure_overlay(rgb: RGB, gray: Gray | None = None, search_text: bool = True) -> Overlay:
    """Overlay scores of one RGB image; ``gray`` is its luminance when the
    caller already has it (one conversion per image, not one per measurement).
    ``search_text=False`` measures the borders alone: the learned detector
    (:func:`apply_text_boxes`) finds the text instead."""
    if gray is None:
        gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    overlay = Overlay()
    _borders(gray, overlay)
    if not search_text:
        return overlay
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
    smaller = _resize_long(small, DIAGONAL_TEXT_SIZE)
    for angle in (30.0, -30.0):
        turned, inside = _rotate(smaller, angle)
        diagonal = max(diagonal, max((s for s, _ in _text_lines(turned, inside)), default=0))
    overlay.diagonal_text_score = round(float(diagonal), 3)
    return overlay


def apply_text_boxes(overlay: Overlay, boxes: list[TextBox]) -> None:
    """The learned detector's lines (:func:`lintcap.image.text.find_text`)
    as overlay facts: counts of added, corner and scene lines, the reason of
    the most telling added line, and the boxes themselves for the report."""
    overlay.text_detector = "learned"
    overlay.text_boxes = boxes
    added = [box for box in boxes if box.kind == "overlay"]
    # A corner mark stands alone (W002): a credit, a signature, a channel logo.
    # A tiled or diagonal pattern reaching into a corner is a watermark (W001).
    corner = [b for b in added if b.position == "corner" and b.reason in CORNER_REASONS]
    in_corner = {id(b) for b in corner}  # identity: value equality made this quadratic
    rest = [b for b in added if id(b) not in in_corner]
    overlay.overlay_text_lines = len(rest)
    overlay.corner_overlay_lines = len(corner)
    overlay.scene_text_lines = len(boxes) - len(added)
    overlay.text_lines = len(boxes)
    reason = next((r for r in REASON_ORDER if any(b.reason == r for b in rest)), "")
    overlay.overlay_text_reason = reason
    # What the most telling added line says, where it was read (messages).
    telling = [b for b in rest if b.reason == reason]
    overlay.overlay_text_where = telling[0].position if telling else ""
    read = [b for b in telling if b.read] or [b for b in added if b.read]
    overlay.overlay_text_read = read[0].read if read else ""


#: Reasons of added lines that can be a corner mark (logo, signature, credit).
CORNER_REASONS = ("margin", "see-through", "repeated", "wording")
#: Which reason names an image's added text when several lines have one:
#: the most certain first.
REASON_ORDER = ("tiled", "diagonal", "repeated", "wording", "see-through", "margin")


def _borders(gray: Gray, overlay: Overlay) -> None:
    """Flat bars along each edge (letterbox, frame): counted in pixels until
    the rows stop being flat or change colour."""
    height, width = gray.shape
    overlay.border_top = _flat_run(gray, height // 3)
    overlay.border_bottom = _flat_run(gray[::-1], height // 3)
    overlay.border_left = _flat_run(gray.T, width // 3)
    overlay.border_right = _flat_run(gray.T[::-1], width // 3)


def _flat_run(lines: Gray, limit: int) -> int:
    """How many rows of ``lines`` (a view of the picture from one edge
    inwards), from its first, are flat and of the first row's colour. Most pictures
    have no bar: their first line settles it. Each line's statistics are
    OpenCV's (a tenth of numpy's cost on a short line: a set of small flat
    pictures spent a quarter of its image time here). A side under three
    pixels long (``limit`` 0) has no room for a bar: 0."""
    if limit <= 0:
        return 0
    reference = 0.0
    run = 0
    while run < limit:
        mean, std = cv2.meanStdDev(np.ascontiguousarray(lines[run]))
        if run == 0:
            reference = float(mean[0, 0])
        if float(std[0, 0]) > FLAT_STD or abs(float(mean[0, 0]) - reference) > 2 * FLAT_STD:
            break
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
    if inside is not None and not inside.any():
        return found
    mask = None if inside is None else inside.view(np.uint8)
    # Thin strokes (small text) and thick ones (large watermark lettering).
    for size in STROKE_KERNELS:
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
        for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
            strokes = np.asarray(cv2.morphologyEx(gray, operation, kernel), dtype=np.uint8)
            level = max(STROKE_MIN_CONTRAST, percentile_u8(strokes, 99.5, mask) * 0.5)
            marks = strokes >= level
            if inside is not None:
                marks &= inside
            found.extend(_lines_in(marks.astype(np.uint8)))
    return found


def _lines_in(mask: NDArray[np.uint8]) -> list[tuple[float, str]]:
    height, width = mask.shape
    labels, stats = _components(mask)
    # Character-sized marks: 4-12 % of the height at most, not specks.
    heights, widths = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH]
    sized = (
        (heights >= 4)
        & (heights <= height * 0.2)
        & (widths >= 2)
        & (widths <= height * 0.2)
        & (stats[:, cv2.CC_STAT_AREA] >= 6)
    )
    sized[0] = False  # the background
    marks = np.flatnonzero(sized)
    if len(marks) < 3:
        return []
    keep = sized.astype(np.uint8)
    chars = keep[labels]
    median_height = float(np.median(heights[marks]))
    gap = max(3, int(median_height * 0.8))
    joined = np.asarray(
        cv2.morphologyEx(
            chars, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1))
        ),
        dtype=np.uint8,
    )
    line_labels, line_stats = _components(joined)
    line_heights, line_widths = line_stats[:, cv2.CC_STAT_HEIGHT], line_stats[:, cv2.CC_STAT_WIDTH]
    long_enough = (line_heights >= 4) & (line_widths >= 3 * line_heights)
    long_enough &= line_heights <= height * 0.25
    long_enough[0] = False  # the background
    lines: list[tuple[float, str]] = []
    for index in np.flatnonzero(long_enough):
        x, y, w, h, _area = (int(v) for v in line_stats[index])
        inside = np.unique(labels[y : y + h, x : x + w][line_labels[y : y + h, x : x + w] == index])
        members = [m for m in inside if m and keep[m]]
        if len(members) < 3:
            continue
        heights_in = stats[members, cv2.CC_STAT_HEIGHT].astype(np.float64)
        tops = stats[members, cv2.CC_STAT_TOP].astype(np.float64)
        regularity = 1.0 / (1.0 + heights_in.std() / max(1.0, heights_in.mean()))
        alignment = 1.0 / (1.0 + tops.std() / max(1.0, heights_in.mean()))
        fill = float(chars[y : y + h, x : x + w].mean())
        if not 0.15 <= fill <= 0.75:
            continue
        score = min(len(members), 12) / 12.0 * regularity * alignment
        lines.append((score, _position(x, y, w, h, width, height)))
    return lines


def _components(
    mask: NDArray[np.uint8],
) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """8-connected components: the label image and each label's stats. Grana's
    block-based scan labels these sparse masks in about half the time of
    OpenCV's default."""
    _, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_GRANA
    )
    return np.asarray(labels, dtype=np.int32), np.asarray(stats, dtype=np.int32)


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
    return np.asarray(turned, dtype=np.uint8), _turned_area(height, width, angle)


@lru_cache(maxsize=32)
def _turned_area(height: int, width: int, angle: float) -> NDArray[np.bool_]:
    """Where a ``width`` x ``height`` picture lies after :func:`_rotate`, less
    the margin. It depends on the size alone, and a data set has few sizes:
    computed once per size (read-only, shared)."""
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    ones = np.full((height, width), 255, dtype=np.uint8)
    area = cv2.warpAffine(ones, matrix, (width, height), flags=cv2.INTER_NEAREST)
    inside = np.asarray(cv2.erode(area, np.ones((15, 15), np.uint8)) > 0)
    inside.setflags(write=False)
    return inside


def _resize_long(gray: Gray, size: int) -> Gray:
    height, width = gray.shape
    scale = size / max(height, width)
    if scale >= 1:
        return gray
    dims = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(gray, dims, interpolation=cv2.INTER_AREA), dtype=np.uint8)
