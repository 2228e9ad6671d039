"""Turned lines seen in part (lintcap.image.pieces): read again along their
axis, whole. The boxes are placed by hand (no detector pass); the recogniser
reads the generated picture."""

from __future__ import annotations

import cv2
import numpy as np

from lintcap.config import Config
from lintcap.engine.spec import load_rulebook
from lintcap.image.pieces import extend_turned
from lintcap.image.text import TextBox, TextSettings


def _turned_word(rgb: np.ndarray, word: str, centre: tuple[int, int], angle: float) -> None:
    """``word`` drawn level around ``centre`` and turned ``angle`` degrees
    counter-clockwise (image y down), white on ``rgb``."""
    layer = np.zeros(rgb.shape[:2], np.uint8)
    (w, h), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_DUPLEX, 1.0, 2)
    cv2.putText(layer, word, (centre[0] - w // 2, centre[1] + h // 2), cv2.FONT_HERSHEY_DUPLEX,
                1.0, 255, 2, cv2.LINE_AA)  # fmt: skip
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
    layer = cv2.warpAffine(layer, matrix, (rgb.shape[1], rgb.shape[0]))
    rgb[layer > 128] = 235


def _piece(centre: tuple[int, int], angle: float) -> TextBox:
    """A short turned box over the middle of a word (the detector's piece)."""
    return TextBox(x=centre[0] - 30, y=centre[1] - 25, w=60, h=50, angle=angle, height=28.0,
                   score=0.65)  # fmt: skip


def test_turned_pieces_of_one_word_read_whole_and_make_a_tiling() -> None:
    from lintcap.image.wording import read_unsure

    rgb = np.full((400, 600, 3), 80, np.uint8)
    centres = [(150, 120), (430, 280)]
    for centre in centres:
        _turned_word(rgb, "HARBOUR", centre, 25.0)
    settings = TextSettings()
    # The detector's pieces: the start of one copy, the end of the other.
    along = np.array([np.cos(np.radians(25.0)), -np.sin(np.radians(25.0))]) * 20
    boxes = [
        _piece((round(x - dx), round(y - dy)), 25.0)
        for (x, y), (dx, dy) in zip(centres, (along, -along), strict=True)
    ]
    assert extend_turned(rgb, boxes, settings) == 2
    assert all(box.read.upper().startswith("HARBOU") for box in boxes)
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    read_unsure(rgb, gray, boxes, settings)
    assert [(b.kind, b.reason) for b in boxes] == [("overlay", "tiled")] * 2


def test_a_turned_line_alone_or_level_lines_are_not_read_again() -> None:

    rgb = np.full((400, 600, 3), 80, np.uint8)
    _turned_word(rgb, "HARBOUR", (150, 120), 25.0)
    settings = TextSettings()
    alone = [_piece((150, 120), 25.0)]
    level = [_piece((150, 120), 0.0), _piece((430, 280), 0.0)]
    assert extend_turned(rgb, alone, settings) == 0 and not alone[0].read
    assert extend_turned(rgb, level, settings) == 0
    pair = [_piece((150, 120), 25.0), _piece((430, 280), 25.0)]
    assert extend_turned(rgb, pair, TextSettings(extend_max_lines=0)) == 0


def _rules() -> TextSettings:
    """The text settings of rules/settings.yaml (the cue lists)."""
    return load_rulebook(Config()).settings.image_analysis.text


def _read(box: TextBox, words: str, **fields: object) -> TextBox:
    """``box`` as read before (lines read whole are not read again)."""
    return box.model_copy(update={"read": words, **fields})


def test_a_word_of_marks_repeated_on_turned_lines_is_a_tiling_not_a_corner_mark() -> None:
    from lintcap.image.wording import read_unsure

    rgb = np.full((400, 600, 3), 80, np.uint8)
    gray = rgb[:, :, 0].copy()
    corner = _read(_piece((40, 370), 25.0), "SAMPLE", position="corner")
    middle = _read(_piece((300, 200), 25.0), "SAMPLE")
    read_unsure(rgb, gray, [corner, middle], _rules())
    assert [(b.kind, b.reason) for b in (corner, middle)] == [("overlay", "tiled")] * 2


def test_a_turned_piece_of_a_diagonal_marks_words_is_that_mark() -> None:
    from lintcap.image.wording import read_unsure

    rgb = np.full((400, 600, 3), 80, np.uint8)
    gray = rgb[:, :, 0].copy()
    mark = TextBox(x=100, y=100, w=300, h=180, angle=30.0, height=30.0, score=0.8,
                   kind="overlay", reason="diagonal", read="www.photo-site.com")  # fmt: skip
    piece = _read(_piece((560, 30), 31.0), "www.phc", position="corner")
    other = _read(_piece((300, 330), 31.0), "harbour")
    read_unsure(rgb, gray, [mark, piece, other], _rules())
    assert (piece.kind, piece.reason) == ("overlay", "diagonal")
    assert other.kind == "scene"
