"""A second look at the picture turned, for faint diagonal watermarks.

The DB model of :mod:`lintcap.image.text` was trained mostly on level text:
a semi-transparent stock mark at 30-40 degrees over hair or grass often
leaves its map at 0.000, where the same picture turned so that the mark runs
level shows it (``bench/RESULTS.md``, wmdetect). This pass turns the picture
about its centre by each of ``turned-pass-angles``, runs the model, turns the
probability map back and reads boxes off it the DB way, so each box has its
angle in the picture. Only new lines that are turned themselves
(``diagonal-min-degrees`` or more) and that ran level in the turned view
(within ``level-max-angle``) are kept: a level line seen in a turned picture
is one the first pass had its chance at (a duplicate would change the
scene's geometry), and a line found askew in the turned view is one the
turn did not help with (a blurred shirt print at -16 degrees, found in the
view turned by +35, was the one false alarm on the real set without this).
Each angle costs one more run of the model; on as shipped (``turned-pass``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lintcap.image.text import (
    TextBox,
    TextSettings,
    boxes_from_map,
    lowest_line,
    probability_map,
    unseen,
)
from lintcap.lazy import cv2


def turned_boxes(
    rgb: NDArray[np.uint8], found: list[TextBox], settings: TextSettings
) -> list[TextBox]:
    """Turned lines seen only in the picture turned by each of
    ``settings.turned_pass_angles`` (degrees, counter-clockwise), in pixels of
    ``rgb``; lines the first pass found (``found``) are not repeated."""
    height, width = rgb.shape[:2]
    centre = (width / 2.0, height / 2.0)
    lowest = lowest_line(rgb, settings)
    extra: list[TextBox] = []
    for angle in settings.turned_pass_angles:
        turn = np.asarray(cv2.getRotationMatrix2D(centre, angle, 1.0), np.float64)
        turned = np.asarray(
            cv2.warpAffine(rgb, turn, (width, height), borderMode=cv2.BORDER_REPLICATE), np.uint8
        )
        probability, scale_x, scale_y = probability_map(
            turned, settings.size, settings.upscale_below
        )
        back = _back(probability, turn, scale_x, scale_y)
        # Turned by ``angle`` (counter-clockwise), a line at ``box.angle`` ran
        # at box.angle + angle in the turned view: kept if turned in the
        # picture and level there.
        turned_level = [
            box
            for box in boxes_from_map(back, scale_x, scale_y, settings, lowest)
            if abs(box.angle) >= settings.diagonal_min_degrees
            and abs(box.angle + angle) <= settings.level_max_angle
        ]
        extra += unseen(turned_level, [*found, *extra])
    return extra


def _back(
    probability: NDArray[np.float32], turn: NDArray[np.float64], scale_x: float, scale_y: float
) -> NDArray[np.float32]:
    """The map of the turned picture turned back, in the map's own pixels
    (the map is the picture scaled by 1/scale_x, 1/scale_y: the turn is
    conjugated by that scaling, so a slightly uneven rounding to 32 pixels
    does not skew it). No numpy.linalg nor matrix product: they call
    OpenBLAS, whose threads then spin on the other core (about 140 CPU ms an
    image for these 3 x 3 matrices, bench/RESULTS.md)."""
    inverse = np.asarray(cv2.invertAffineTransform(turn), np.float64)
    # The scaling S = diag(k) around the inverse [A | b]: [k_i A_ij / k_j | k_i b_i].
    k = np.array([1.0 / scale_x, 1.0 / scale_y])
    in_map = np.empty((2, 3), np.float64)
    in_map[:, :2] = inverse[:, :2] * k[:, None] / k[None, :]
    in_map[:, 2] = inverse[:, 2] * k
    rows, cols = probability.shape
    return np.asarray(
        cv2.warpAffine(probability, in_map, (cols, rows), flags=cv2.INTER_LINEAR),
        np.float32,
    )
