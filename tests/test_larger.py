"""The larger second look (lintcap.image.larger): a small faint web address
the detector misses at 640 px is found at 1024 px and kept because the
recogniser reads it; a line read unsurely is dropped; a clean photograph
gains no line. And a user's rule file that turns the look off (it is
shipped on) changes that knob alone."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from lintcap.config import Config
from lintcap.engine.spec import load_rulebook
from lintcap.image import reading
from lintcap.image.larger import larger_boxes
from lintcap.image.text import TextSettings, find_text

PLAIN = TextSettings(read_max_lines=0, extend_max_lines=0, turned_pass=False, large_pass=False)
LARGE = PLAIN.model_copy(update={"large_pass": True})


def cat_1024() -> np.ndarray:
    """scikit-image's cat enlarged to a working picture of 1024 px."""
    rgb = data.chelsea()
    height, width = rgb.shape[:2]
    size = (1024, round(height * 1024 / width))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC), np.uint8)


def small_faint_address(rgb: np.ndarray) -> np.ndarray:
    """ "www.example.com", 11 px high, at 45 % opacity near the bottom."""
    height, width = rgb.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    (text_w, _), _ = cv2.getTextSize("www.example.com", cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    cv2.putText(mask, "www.example.com", ((width - text_w) // 2, int(height * 0.9)),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, 255, 1, cv2.LINE_AA)  # fmt: skip
    alpha = (mask / 255.0 * 0.45)[..., None]
    return (rgb * (1 - alpha) + 255 * alpha).astype(np.uint8)


def test_a_small_faint_mark_is_found_only_by_the_larger_look() -> None:
    rgb = small_faint_address(cat_1024())
    assert find_text(rgb, PLAIN) == []
    (box,) = find_text(rgb, LARGE)  # of the new lines, the one read as text
    assert "example" in box.read  # read by the pass, so not read again
    height, width = rgb.shape[:2]
    assert box.y + box.h > 0.8 * height and abs(box.x + box.w / 2 - width / 2) < 0.1 * width
    # The same line with the turned look on as well, as shipped.
    assert find_text(rgb, LARGE.model_copy(update={"turned_pass": True})) == [box]


def test_a_new_line_read_unsurely_or_short_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    rgb = small_faint_address(cat_1024())

    def read_as(words: str, confidence: float) -> None:
        monkeypatch.setattr(
            reading, "read_boxes", lambda rgb, boxes, width: [(words, confidence)] * len(boxes)
        )

    read_as("www", 0.6)
    assert larger_boxes(rgb, [], LARGE) == []
    lenient = LARGE.model_copy(update={"large_pass_min_confidence": 0.5})
    kept = larger_boxes(rgb, [], lenient)  # the address and a patch of fur
    assert len(kept) >= 1 and {b.read for b in kept} == {"www"}
    read_as("es", 0.9)  # two letters, however sure: texture as often as text
    assert larger_boxes(rgb, [], LARGE) == []


def test_a_clean_photograph_gains_no_line_and_no_larger_look_at_the_first_size() -> None:
    rgb = cat_1024()
    assert find_text(rgb, LARGE) == find_text(rgb, PLAIN) == []
    # A "larger" look no larger than the first is not taken.
    marked = small_faint_address(rgb)
    assert larger_boxes(marked, [], LARGE) != []
    assert larger_boxes(marked, [], LARGE.model_copy(update={"large_pass_size": 640})) == []


def test_turning_the_look_off_in_a_users_rule_file_changes_that_knob_alone(tmp_path: Path) -> None:
    # Shipped on; a user who would rather pay less turns it off.
    override = tmp_path / "fast.yaml"
    override.write_text("settings:\n  image-analysis:\n    text:\n      large-pass: false\n")
    shipped = load_rulebook(Config()).settings.model_dump()
    assert shipped["image_analysis"]["text"]["large_pass"] is True
    changed = load_rulebook(Config(extend_rules=[override])).settings.model_dump()
    assert changed["image_analysis"]["text"]["large_pass"] is False
    changed["image_analysis"]["text"]["large_pass"] = True
    assert changed == shipped  # read-cues, people thresholds: the shipped ones


def test_the_larger_look_reads_at_most_its_bound_the_strongest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A picture full of small new lines (a page of print) costs at most
    ``large-pass-max-reads`` reads, each a run of the recogniser."""
    from lintcap.image import larger
    from lintcap.image.text import TextBox

    lines = [
        TextBox(x=20, y=20 + 30 * i, w=200, h=20, angle=0.0, height=18, score=0.5 + i / 100)
        for i in range(20)
    ]
    monkeypatch.setattr(larger, "boxes_from_map", lambda *args: [b.model_copy() for b in lines])
    asked: list[list[TextBox]] = []

    def read(rgb: np.ndarray, boxes: list[TextBox], width: int) -> list[tuple[str, float]]:
        asked.append(boxes)
        return [("PRINT", 0.95)] * len(boxes)

    monkeypatch.setattr(reading, "read_boxes", read)
    kept = larger_boxes(cat_1024(), [], LARGE.model_copy(update={"large_pass_max_reads": 5}))
    assert len(asked) == 1 and len(asked[0]) == 5 and len(kept) == 5
    assert sorted(b.score for b in kept) == sorted(b.score for b in lines)[-5:]
