"""Two lines in one detected box, each half read apart (lintcap.image.halves).
Generated images only."""

from __future__ import annotations

import cv2
import numpy as np

from lintcap.config import Config
from lintcap.engine.spec import load_rulebook
from lintcap.image import reading
from lintcap.image.halves import read_halves
from lintcap.image.text import TextBox, TextSettings
from lintcap.image.wording import read_unsure


def _settings() -> TextSettings:
    return load_rulebook(Config()).settings.image_analysis.text


def _two_lines(mark: str = "www.lumen-foto.net") -> tuple[np.ndarray, TextBox]:
    """A mark written just above a street name, one box around both."""
    rgb = np.full((200, 520, 3), 40, np.uint8)
    for words, y in ((mark, 88), ("MARKET STREET", 128)):
        cv2.putText(rgb, words, (40, y), cv2.FONT_HERSHEY_DUPLEX, 1.1, (255, 255, 255), 2,
                    cv2.LINE_AA)  # fmt: skip
    box = TextBox(x=30, y=58, w=460, h=80, angle=0.0, height=80.0, score=0.9)
    return rgb, box


def _is_web(box: TextBox, words: str) -> bool:
    return "foto" in words.lower()


def test_the_whole_box_reads_a_mix_and_a_half_reads_the_mark() -> None:
    rgb, box = _two_lines()
    [(whole, _)] = reading.read_boxes(rgb, [box], 640)
    assert "lumen-foto" not in whole.lower()
    assert read_halves(rgb, [(box, 0.5)], _settings(), _is_web) == 1
    assert (box.kind, box.reason) == ("overlay", "wording")
    assert "lumen-foto" in box.read.lower()


def test_sure_or_turned_lines_and_lines_past_the_bound_are_not_read_again() -> None:
    rgb, sure = _two_lines()
    _, turned = _two_lines()
    turned.angle = 30.0
    assert read_halves(rgb, [(sure, 0.95), (turned, 0.5)], _settings(), _is_web) == 0
    assert (sure.kind, turned.kind) == ("scene", "scene")
    _, first = _two_lines()
    _, second = _two_lines()
    one = _settings().model_copy(update={"split_max_lines": 1})
    assert read_halves(rgb, [(first, 0.6), (second, 0.4)], one, _is_web) == 1
    assert (first.kind, second.kind) == ("scene", "overlay")  # the least sure first


def test_reading_the_unsure_lines_reads_a_two_line_box_by_halves() -> None:
    """Through read_unsure and the shipped cues: the whole box reads as a
    mix ('MrREstSTREET'), less surely than split-max-confidence; its upper
    half reads as a stock library's name. Without the split it stays scene."""
    rgb, box = _two_lines("dreamstime")
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    read_unsure(rgb, gray, [box], _settings())
    assert (box.kind, box.reason) == ("overlay", "wording")
    assert "dreamstime" in box.read.lower()
    _, unsplit = _two_lines("dreamstime")
    read_unsure(rgb, gray, [unsplit], _settings().model_copy(update={"split_max_lines": 0}))
    assert unsplit.kind == "scene" and "dreamstime" not in unsplit.read.lower()
