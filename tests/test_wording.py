"""Reading the unsure lines (lintcap.image.reading, lintcap.image.wording):
what a line says settles what its shape left open. Generated images only."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from lintcap.config import Config
from lintcap.engine.patterns import PatternTimeout
from lintcap.engine.run import lint
from lintcap.engine.spec import RuleFileError, load_rulebook
from lintcap.image import pool, reading
from lintcap.image.text import TextBox, TextSettings
from lintcap.image.wording import (
    ReadCues,
    cue_in,
    levenshtein,
    near_in,
    read_unsure,
    same_word_groups,
)


def _gray(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)


def _settings() -> TextSettings:
    return load_rulebook(Config()).settings.image_analysis.text


def test_approximate_substring_distance() -> None:
    assert near_in("stock", "istockphoto") == 0
    assert near_in("stock", "istoclphoto") == 1
    assert near_in("abc", "xyz") == 3
    assert near_in("", "anything") == 0
    assert levenshtein("stock", "istock") == 1 and levenshtein("superstore", "superstock") == 2


def test_cues_allow_reading_errors_but_not_other_words() -> None:
    cues = ReadCues(
        words=["lumenstockphoto", "snap", "photo by"], stamps=["proof"],
        credit_words=["photography"], patterns=[r"\bwww\.", r"(^|\s)@[a-z0-9_]{3,}"],
    )  # fmt: skip
    assert cue_in("Lumenstoclphoto", cues) == "lumenstockphoto"  # a reading error
    assert cue_in("Lumen stockphoto", cues) == "lumenstockphoto"  # a space read
    assert cue_in("stockphoto", cues) is None  # a part of the mark, inside the picture...
    assert cue_in("stockphoto", cues, cut=True) == "lumenstockphoto"  # ...cut by its edge
    assert cue_in("Lumen", cues, cut=True) is None  # a part under two thirds of the word
    assert cue_in("PROOF", cues) == "proof"
    assert cue_in("PROOF OF AGE", cues) is None  # a stamp is the whole line
    assert cue_in("a SNAP.", cues) == "snap"
    assert cue_in("SNAPPY", cues) is None  # short words match whole words only
    assert cue_in("PHOTO BY J. ROE", cues) == "photo by"
    assert cue_in("see www.example.org", cues) == "www."
    assert cue_in("by @jane_doe", cues) == " @jane_doe"
    assert cue_in("MARKET STREET", cues) is None


def test_sign_words_a_letter_away_from_a_mark_are_not_cues() -> None:
    """Shop and street lettering read in the middle of a photo, against the
    shipped lists: whole words, errors only in long names, generic words in a
    credit's shape only."""
    cues = _settings().read_cues
    for sign in ["IN STOCK", "SIMPLE", "PIXELS", "SPLASH", "SUPERSTORE", "REVIEW", "ALAMO",
                 "PHOTOGRAPHY STUDIO", "WELCOME.IN", "FREE SAMPLE", "STOCK"]:  # fmt: skip
        assert cue_in(sign, cues) is None, sign
        assert cue_in(sign, cues, at_edge=True) is None, sign
    assert cue_in("PHOTOGRAPHY STUDIO", cues, at_edge=True, cut=True) is None
    assert cue_in("Shutterstok", cues) == "shutterstock"
    assert cue_in("iStock by Getty", cues) == "istock"
    assert cue_in("SAMPLE", cues) == "sample"
    assert cue_in("Jane Roe Photography", cues) is None  # a credit's shape, mid-picture
    assert cue_in("Jane Roe Photography", cues, at_edge=True) == "photography"


def test_one_word_on_lines_of_one_height_and_angle() -> None:
    reads = [("PREVIEW", 30.0, 22.0), ("REVIEW", 29.0, 23.0), ("PREVIEW", 60.0, 22.0),
             ("PRIZE", 30.0, 22.0)]  # fmt: skip
    assert same_word_groups(reads, 3, 1.2, 8.0, 4) == [[0, 1]]


def _line(rgb: np.ndarray, words: str, y: int, scale: float = 1.2) -> TextBox:
    (w, h), base = cv2.getTextSize(words, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
    x = (rgb.shape[1] - w) // 2
    cv2.putText(rgb, words, (x, y), cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), 2,
                cv2.LINE_AA)  # fmt: skip
    return TextBox(x=x - 6, y=y - h - 6, w=w + 12, h=h + base + 12, angle=0.0,
                   height=h + base + 12, score=0.9)  # fmt: skip


def test_the_recogniser_reads_a_drawn_line() -> None:
    rgb = np.zeros((120, 400, 3), np.uint8)
    box = _line(rgb, "MARKET 42", 70)
    cut = reading.cut_line(rgb, (box.x + box.w / 2, box.y + box.h / 2), box.w, box.h, 0.0)
    [(words, confidence)] = reading.read_lines([cut], 640)
    assert words.replace(" ", "") == "MARKET42" and confidence > 0.8


def test_unreadable_added_lines_go_back_to_scene_and_wording_makes_scene_added() -> None:
    rgb = np.ascontiguousarray(data.coffee())
    credit = _line(rgb, "www.lumen-foto.net", 200)
    plain = _line(rgb, "MARKET STREET", 300)
    rng = np.random.default_rng(0)
    rgb[20:60, 40:240] = rng.integers(0, 255, (40, 200, 3), dtype=np.uint8)  # no letters
    noise = TextBox(x=40, y=20, w=200, h=40, angle=0.0, height=40, score=0.8, kind="overlay",
                    reason="see-through")  # fmt: skip
    boxes = [credit, plain, noise]
    assert read_unsure(rgb, _gray(rgb), boxes, _settings()) == 3
    assert (credit.kind, credit.reason) == ("overlay", "wording")
    assert "lumen" in credit.read.lower()
    assert (plain.kind, noise.kind, noise.reason) == ("scene", "scene", "")
    unread = _settings().model_copy(update={"read_max_lines": 0})
    assert read_unsure(rgb, _gray(rgb), boxes, unread) == 0


def test_w001_names_the_words_it_read(tmp_path: Path) -> None:
    rgb = np.ascontiguousarray(data.coffee())
    _line(rgb, "(c) lumen-foto.net", 200)
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(rgb).save(folder / "a.jpg", quality=95)
    result = lint([folder], Config(select=["W001"], cache=False, jobs=1))
    [finding] = result.diagnostics
    assert finding.code == "W001" and "foto.net" in finding.message.lower()
    assert finding.message.startswith("words of a watermark or credit read at the centre")
    from lintcap.report.html import _boxes

    # The HTML report's box says what was read there too.
    assert any("foto.net" in box.title.lower() for box in _boxes(result.items[0]))


def test_a_tiling_is_one_word_and_lettering_of_many_words_is_not() -> None:
    """Lines alike in shape (called tiled by geometry) that read as three
    different words are lettering; the same word three times stays a tiling."""
    tiled = {"kind": "overlay", "reason": "tiled"}
    signs = np.zeros((480, 640, 3), np.uint8)
    words = [_line(signs, w, y, 0.9) for w, y in (("KEEP", 100), ("RIGHT", 240), ("STOP", 380))]
    boxes = [b.model_copy(update=tiled) for b in words]
    read_unsure(signs, _gray(signs), boxes, _settings())
    assert {b.kind for b in boxes} == {"scene"}
    marks = np.zeros((480, 640, 3), np.uint8)
    boxes = [_line(marks, "LUMEN", y, 0.9).model_copy(update=tiled) for y in (100, 240, 380)]
    # A copy cut by the picture's edge, read as its first letters in a corner.
    cv2.putText(marks, "LU", (10, 460), cv2.FONT_HERSHEY_DUPLEX, 0.9, (255, 255, 255), 2,
                cv2.LINE_AA)  # fmt: skip
    cut = TextBox(x=4, y=432, w=52, h=40, angle=0.0, height=40, score=0.8, kind="overlay",
                  reason="margin", position="corner")  # fmt: skip
    read_unsure(marks, _gray(marks), [*boxes, cut], _settings())
    assert {(b.kind, b.reason) for b in [*boxes, cut]} == {("overlay", "tiled")}


def test_a_tiling_of_a_short_word_is_one_word_not_lettering() -> None:
    """Initials tiled over a picture read the same on every line: shorter
    than read-same-word-min-letters, they are still one word."""
    assert same_word_groups([("JD", 30.0, 0.0), ("J.D", 30.0, 0.0), ("JO", 30.0, 0.0)],
                            3, 1.2, 8.0, 4, same_short_words=True) == [[0, 1]]  # fmt: skip
    tiled = {"kind": "overlay", "reason": "tiled"}
    marks = np.zeros((480, 640, 3), np.uint8)
    boxes = [_line(marks, "JD", y, 1.4).model_copy(update=tiled) for y in (100, 240, 380)]
    read_unsure(marks, _gray(marks), boxes, _settings())
    assert [b.read for b in boxes] == ["JD"] * 3
    assert {(b.kind, b.reason) for b in boxes} == {("overlay", "tiled")}


def test_short_words_read_alike_elsewhere_are_not_one_mark() -> None:
    """Outside the tiling question, two turned number tags reading "10" or
    three signs reading "OK" are not a repeated word: only words of
    read-same-word-min-letters or more make a group there."""
    assert same_word_groups([("10", 30.0, 25.0), ("10", 31.0, 27.0)], 3, 1.2, 8.0, 4) == []
    signs = [("OK", 30.0, 0.0)] * 3
    assert same_word_groups(signs, 3, 1.2, 8.0, 4) == []
    assert same_word_groups(signs, 3, 1.2, 8.0, 4, same_short_words=True) == [[0, 1, 2]]


def test_a_corner_mark_that_reads_as_nothing_is_not_text() -> None:
    rgb = np.zeros((480, 640, 3), np.uint8)
    rng = np.random.default_rng(1)
    rgb[430:470, 500:630] = rng.integers(0, 255, (40, 130, 3), dtype=np.uint8)
    corner = {"kind": "overlay", "reason": "margin", "position": "corner"}
    blob = TextBox(x=500, y=430, w=130, h=40, angle=0.0, height=40, score=0.8, **corner)
    credit = _line(rgb, "Jane Roe", 40, 0.8).model_copy(update=corner)
    read_unsure(rgb, _gray(rgb), [blob, credit], _settings())
    assert (blob.kind, credit.kind) == ("scene", "overlay")


def test_a_read_cue_pattern_that_does_not_compile_is_a_settings_error_at_load(
    tmp_path: Path,
) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text("settings:\n  image-analysis:\n    text:\n      read-cues:\n"
                     "        patterns: ['(www']\n")  # fmt: skip
    with pytest.raises(RuleFileError, match=r"read-cues.patterns: .*invalid regex '\(www'"):
        load_rulebook(Config(extend_rules=[extra]))


def test_a_read_cue_pattern_over_its_time_budget_stops_the_run_not_an_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = ReadCues(patterns=["(a|aa)+$"])
    with pytest.raises(PatternTimeout, match=r"read-cues regex '\(a\|aa\)\+\$'"):
        cue_in("a" * 60 + "!", slow)

    # The pool lets it through (exit 2, one line) instead of an F006 per image.
    def analyse(*args: object) -> None:
        cue_in("a" * 60 + "!", slow)

    monkeypatch.setattr(pool, "analyse_image", analyse)
    settings = load_rulebook(Config()).settings.image_analysis
    with pytest.raises(PatternTimeout):
        pool._safe_analyse(tmp_path / "a.jpg", "a.jpg", "0" * 64, settings)


def test_whether_lines_were_read_is_in_the_text_key_and_a_run_without_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lintcap.image import analyser

    settings = load_rulebook(Config()).settings.image_analysis
    analyser._FAMILY_KEYS.clear()
    read = settings.family_keys()
    assert reading.recogniser_id() is not None
    monkeypatch.setattr(reading, "model_path", lambda: None)  # rapidocr not installed
    analyser._FAMILY_KEYS.clear()
    unread = settings.family_keys()
    analyser._FAMILY_KEYS.clear()
    assert unread["text"] != read["text"] and unread["people"] == read["people"]
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(folder / "a.png")
    result = lint([folder], Config(select=["W001"], cache=False, jobs=1))
    assert any("rapidocr-onnxruntime" in note for note in result.notes)
    monkeypatch.undo()
    analyser._FAMILY_KEYS.clear()  # keys are kept per settings, reading is found once
    result = lint([folder], Config(select=["W001"], cache=False, jobs=1))
    assert not any("rapidocr-onnxruntime" in note for note in result.notes)


def test_a_long_part_of_a_name_inside_the_picture_is_a_cue_and_a_word_is_not() -> None:
    """A centred mark cut where it crosses the scene reads as three quarters
    of the name ('Shutserst'); inside the picture a shorter part, or a part
    that is a word (SHUTTERS, COLOURS), is not a cue, nor is a word of a
    phrase (COURTESY of "courtesy of"), even at the edge."""
    cues = _settings().read_cues
    assert cue_in("?? Shutserst", cues) == "shutterstock"
    assert cue_in("Dreamsti", cues) == "dreamstime"
    for word in ["SHUTTERS", "COLOURS", "COURTESY", "PICTURES", "DREAMS"]:
        assert cue_in(word, cues) is None, word
    # Ordinary words a letter or two from a part of a name, or from a name.
    for word in ["MASTERFUL", "PHOTOCAST", "SUPERSTOR"]:
        assert cue_in(word, cues) is None, word
        assert cue_in(f"OPEN {word}", cues) is None, word
    assert cue_in("dreamstine", cues) == "dreamstime"  # a letter misread inside the name
    assert cue_in("SHUTTERS", cues, cut=True) == "shutterstock"  # two thirds, cut by the edge
    assert cue_in("PICTURES", cues, cut=True) is None
    assert cue_in("COURTESY", cues, cut=True) is None
    off = cues.model_copy(update={"inner_partial_min_share": 1.0})
    assert cue_in("?? Shutserst", off) is None


def _read_line(x: int, y: int, words: str, height: float, angle: float, **kind: str) -> TextBox:
    """A line already read (read_unsure does not read it again)."""
    return TextBox(x=x, y=y, w=90, h=60, angle=angle, height=height, score=0.8, read=words,
                   **kind)  # fmt: skip


def test_turned_lines_reading_one_word_are_a_tiling_at_rough_heights() -> None:
    """Two turned copies of a faint tiled word, one box thinner than the
    other (28.6 and 20.5 px on a real photo), read alike: a tiling. Level
    lines of those heights are not (three needed, and the strict ratio)."""
    blank = np.zeros((600, 600, 3), np.uint8)
    turned = [_read_line(300, 370, "ohoto", 28.6, -28.8), _read_line(470, 60, "noto", 20.5, -28.6)]
    read_unsure(blank, _gray(blank), turned, _settings())
    assert {(b.kind, b.reason) for b in turned} == {("overlay", "tiled")}
    far = [_read_line(300, 370, "ohoto", 28.6, -28.8), _read_line(470, 60, "noto", 12.0, -28.6)]
    # (without the short-turned-word rule, which would call each diagonal)
    unsteep = _settings().model_copy(update={"read_steep_min_letters": 0})
    read_unsure(blank, _gray(blank), far, unsteep)
    assert {b.kind for b in far} == {"scene"}
    level = [
        _read_line(100, y, "photo", h, 0.0) for y, h in ((100, 28.6), (300, 20.5), (500, 28.6))
    ]
    read_unsure(blank, _gray(blank), level, _settings())
    assert {b.kind for b in level} == {"scene"}


def test_corner_lines_stacked_on_a_backdrop_line_are_the_backdrop() -> None:
    """A backdrop's name in a corner (PRIZE, shown again by the scene) is the
    scene's, and so is the line above it cut by the picture's top edge,
    whatever it reads; a credit in another corner stays a mark."""
    blank = np.zeros((726, 1024, 3), np.uint8)
    corner = {"kind": "overlay", "reason": "margin", "position": "corner"}
    name = TextBox(x=751, y=25, w=172, h=64, angle=0.0, height=63.9, score=0.9, read="PRIZE",
                   **corner)  # fmt: skip
    cut = TextBox(x=755, y=0, w=169, h=29, angle=0.0, height=31.9, score=0.8, read="DRERA",
                  **corner)  # fmt: skip
    credit = TextBox(x=20, y=680, w=200, h=30, angle=0.0, height=28.0, score=0.8,
                     read="Jane Roe", **corner)  # fmt: skip
    backdrop = TextBox(x=0, y=469, w=279, h=143, angle=0.0, height=136.3, score=0.9, read="PRIZ",
                       position="edge")  # fmt: skip
    read_unsure(blank, _gray(blank), [name, cut, credit, backdrop], _settings())
    assert (name.kind, cut.kind, credit.kind) == ("scene", "scene", "overlay")


def test_a_short_turned_line_reading_as_a_word_is_a_diagonal_mark() -> None:
    """A piece of a faint diagonal mark (20.6 degrees, 'Mar' of a name) is
    too short for the diagonal shape; read as a word it is a mark. Not at a
    slight lean or past 45 degrees, not a blob, not one letter."""
    blank = np.zeros((375, 500, 3), np.uint8)

    def line(words: str, angle: float, w: int = 53, h: int = 37, height: float = 21.3) -> TextBox:
        return TextBox(x=181, y=196, w=w, h=h, angle=angle, height=height, score=0.7, read=words)

    piece = line("Mar", 20.6)
    others = [line("Mar", 12.0), line("Mar", 60.0), line("M1", 30.0),
              line("Mar", 30.0, w=40, h=40, height=38.0)]  # fmt: skip
    for box in [piece, *others]:
        read_unsure(blank, _gray(blank), [box], _settings())
    assert (piece.kind, piece.reason) == ("overlay", "diagonal")
    assert [b.kind for b in others] == ["scene"] * 4
    off = _settings().model_copy(update={"read_steep_min_letters": 0})
    again = line("Mar", 20.6)
    read_unsure(blank, _gray(blank), [again], off)
    assert again.kind == "scene"


def test_a_corner_mark_of_a_read_tilings_height_is_a_cut_copy_of_it() -> None:
    """Three lines reading one word make a tiling; a corner line of their
    height reading another piece of the word (UNLI of UNLICENSED, the
    tiling read as CENSED) is a copy cut by the edge, not a credit; a corner
    line half their height stays a credit."""
    blank = np.zeros((1024, 692, 3), np.uint8)
    tiles = [_read_line(300, y, "CENSED", 30.0, 0.0) for y in (100, 400, 700)]
    corner = {"kind": "overlay", "reason": "margin", "position": "corner"}
    cut = _read_line(568, 62, "UNLI", 27.0, 0.0, **corner)
    credit = _read_line(20, 980, "Jane Roe", 14.0, 0.0, **corner)
    read_unsure(blank, _gray(blank), [*tiles, cut, credit], _settings())
    assert {b.reason for b in tiles} == {"tiled"}
    assert (cut.reason, credit.reason) == ("tiled", "margin")


def test_a_corner_line_cut_by_the_edge_at_a_marks_height_is_a_copy_of_it() -> None:
    """A web address read inside the picture and a line of its height cut by
    the top edge in a corner ('te.com' of the next copy) are one tiled mark,
    not a credit in a corner; the same corner line clear of the edge is a
    credit (W002)."""
    blank = np.zeros((245, 400, 3), np.uint8)
    corner = {"kind": "overlay", "reason": "margin", "position": "corner"}
    mark = TextBox(x=118, y=38, w=82, h=14, angle=0.0, height=14.1, score=0.9,
                   read="uw.photo-site.com")  # fmt: skip
    cut = TextBox(x=92, y=2, w=44, h=12, angle=0.0, height=12.2, score=0.8, read="te.com",
                  **corner)  # fmt: skip
    read_unsure(blank, _gray(blank), [mark, cut], _settings())
    assert (mark.reason, cut.reason) == ("wording", "tiled")
    mark2 = mark.model_copy(update={"kind": "scene", "reason": ""})
    clear = cut.model_copy(update={"y": 30, **corner})
    read_unsure(blank, _gray(blank), [mark2, clear], _settings())
    assert (mark2.reason, clear.reason) == ("wording", "margin")


def test_a_signature_beside_a_web_address_along_the_same_edge_stands_alone() -> None:
    """A credit band along the bottom edge: a web address (edge, wording) and
    a signature of its lettering in the corner, touching the edge. The
    signature is a corner mark (W002), not a cut copy of the address, though
    the address holds its words."""
    blank = np.zeros((600, 900, 3), np.uint8)
    site = TextBox(x=330, y=570, w=240, h=22, angle=0.0, height=20.0, score=0.9,
                   read="www.janeroe.com", position="edge")  # fmt: skip
    sig = TextBox(x=760, y=578, w=130, h=22, angle=0.0, height=20.0, score=0.9, read="Jane Roe",
                  kind="overlay", reason="margin", position="corner")  # fmt: skip
    read_unsure(blank, _gray(blank), [site, sig], _settings())
    assert (site.reason, sig.kind, sig.reason) == ("wording", "overlay", "margin")


def test_one_word_is_the_pair_test_of_the_same_word_groups() -> None:
    from lintcap.image.wording import clean, one_word

    # The shorter within the longer, an error per four letters.
    assert one_word(clean("PHOTOSTUDIO"), clean("Photostud1o Berlin"), 4, 4)
    assert not one_word(clean("PHOTOSTUDIO"), clean("Bakery"), 4, 4)
    # Short words: only the same word, and only when asked (a tiling's initials).
    assert not one_word("ok", "ok", 3, 4)
    assert one_word("ok", "ok", 3, 4, same_short=True)
    assert not one_word("ok", "on", 3, 4, same_short=True)
    assert not one_word("", "anything", 0, 4)
