"""The turned second look (lintcap.image.turned): a faint diagonal mark the
DB model misses at its own angle is found in the picture turned level, at
its angle in the picture, and a clean photograph gains no line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
from pydantic import ValidationError
from skimage import data

from lintcap.image import turned
from lintcap.image.text import TextBox, TextSettings, find_text

PLAIN = TextSettings(read_max_lines=0, extend_max_lines=0, turned_pass=False, large_pass=False)
TURNED = PLAIN.model_copy(update={"turned_pass": True})


def faint_diagonal(rgb: np.ndarray, angle: float) -> np.ndarray:
    """ "PREVIEW ONLY" in thin strokes across the middle at 30 % opacity."""
    height, width = rgb.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    (text_w, text_h), _ = cv2.getTextSize("PREVIEW ONLY", cv2.FONT_HERSHEY_DUPLEX, 1.2, 1)
    cv2.putText(mask, "PREVIEW ONLY", ((width - text_w) // 2, (height + text_h) // 2),
                cv2.FONT_HERSHEY_DUPLEX, 1.2, 255, 1, cv2.LINE_AA)  # fmt: skip
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    alpha = (cv2.warpAffine(mask, turn, (width, height)) / 255.0 * 0.3)[..., None]
    return (rgb * (1 - alpha) + 255 * alpha).astype(np.uint8)


def test_a_faint_diagonal_mark_is_found_turned_level() -> None:
    rgb = faint_diagonal(data.chelsea(), 35.0)
    assert find_text(rgb, PLAIN) == []
    boxes = find_text(rgb, TURNED)
    assert [(b.kind, b.reason) for b in boxes] == [("overlay", "diagonal")]
    assert 28.0 <= boxes[0].angle <= 42.0  # its angle in the picture, not in the turned one
    height, width = rgb.shape[:2]
    centre_x, centre_y = boxes[0].x + boxes[0].w / 2, boxes[0].y + boxes[0].h / 2
    assert abs(centre_x - width / 2) < 0.1 * width and abs(centre_y - height / 2) < 0.1 * height


def test_a_clean_photograph_gains_no_line() -> None:
    rgb = np.ascontiguousarray(data.chelsea())
    assert find_text(rgb, TURNED) == find_text(rgb, PLAIN) == []


def _view_with_a_line(angle: float) -> Callable[..., tuple[np.ndarray, float, float]]:
    """A stand-in for the model: the turned view's map holds one line through
    the centre at ``angle`` degrees (counter-clockwise) in that view."""

    def probability_map(rgb: np.ndarray, size: int, upscale_below: float) -> Any:
        height, width = rgb.shape[:2]
        view = np.zeros((height, width), np.float32)
        step = np.array([np.cos(np.radians(angle)), -np.sin(np.radians(angle))]) * 120
        centre = np.array([width / 2, height / 2])
        start, end = (centre - step).astype(int), (centre + step).astype(int)
        cv2.line(view, (int(start[0]), int(start[1])), (int(end[0]), int(end[1])), 0.9, 14)
        return view, 1.0, 1.0

    return probability_map


def test_only_lines_level_in_the_turned_view_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """Turned by +35 degrees, a line level in the view is a -35 degree line of
    the picture (kept); one at -20 degrees in the view ran at -55 in the
    picture, askew to the turn (dropped)."""
    rgb = np.zeros((480, 640, 3), np.uint8)
    settings = TextSettings(turned_pass_angles=[35.0])
    monkeypatch.setattr(turned, "probability_map", _view_with_a_line(0.0))
    (box,) = turned.turned_boxes(rgb, [], settings)
    assert -38.0 <= box.angle <= -32.0
    assert abs(box.x + box.w / 2 - 320) < 10 and abs(box.y + box.h / 2 - 240) < 10
    assert turned.turned_boxes(rgb, [box], settings) == []  # found already
    monkeypatch.setattr(turned, "probability_map", _view_with_a_line(-20.0))
    assert turned.turned_boxes(rgb, [], settings) == []


def test_a_level_line_in_the_empty_corner_of_a_turned_box_does_not_hide_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A line falling to the right leaves the top right and bottom left of
    its upright rectangle empty: a level line there is not the same line (the
    rectangles overlap, the turned boxes do not); one across it is."""
    rgb = np.zeros((480, 640, 3), np.uint8)
    settings = TextSettings(turned_pass_angles=[35.0])
    monkeypatch.setattr(turned, "probability_map", _view_with_a_line(0.0))
    (box,) = turned.turned_boxes(rgb, [], settings)
    corners = [
        TextBox(x=box.x + box.w - 40, y=box.y, w=40, h=16, angle=0.0, height=14, score=0.9),
        TextBox(x=box.x, y=box.y + box.h - 16, w=40, h=16, angle=0.0, height=14, score=0.9),
    ]
    assert [(b.x, b.angle) for b in turned.turned_boxes(rgb, corners, settings)] == [
        (box.x, box.angle)
    ]
    across = TextBox(x=300, y=230, w=40, h=20, angle=0.0, height=18, score=0.9)
    assert turned.turned_boxes(rgb, [across], settings) == []


@pytest.mark.parametrize(
    "update",
    [
        {"turned_pass_angles": [35.0, 4.0]},  # 4 < diagonal-min-degrees 15 - level-max-angle 10
        {"read_steep_min_degrees": 50.0, "read_steep_max_degrees": 45.0},
    ],
)
def test_settings_that_can_find_nothing_are_refused(update: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TextSettings(**update)
    assert TextSettings(turned_pass_angles=[-5.0, 5.0], level_max_angle=12.0).turned_pass_angles


def test_the_map_turned_back_is_the_turn_conjugated_by_the_maps_scale() -> None:
    """The map's pixels are the picture's scaled by 1/scale_x, 1/scale_y:
    turned back by S F^-1 S^-1 (F the picture's turn), as the 3 x 3 matrices
    say, with uneven scales."""
    rng = np.random.default_rng(3)
    probability = rng.random((96, 160)).astype(np.float32)
    scale_x, scale_y = 2.1, 1.7
    turn = np.asarray(cv2.getRotationMatrix2D((170.0, 80.0), 35.0, 1.0), np.float64)
    scale = np.diag([1.0 / scale_x, 1.0 / scale_y, 1.0])
    forward = np.vstack([turn, [0.0, 0.0, 1.0]])
    in_map = (scale @ np.linalg.inv(forward) @ np.linalg.inv(scale))[:2]
    expected = cv2.warpAffine(probability, in_map, (160, 96), flags=cv2.INTER_LINEAR)
    back = turned._back(probability, turn, scale_x, scale_y)
    assert np.abs(back - expected).max() < 1e-5
