"""The learned text detector (lintcap.image.text): added text told from text
in the scene, on scikit-image's photographs with text drawn on them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from lintcap.config import Config
from lintcap.engine.run import lint
from lintcap.image import analyser, text
from lintcap.image.facts import ImageFacts
from lintcap.image.text import TextBackendUnavailable, TextBox, TextSettings, find_text

RGB = np.ndarray


def credit(rgb: RGB) -> RGB:
    """A photographer's credit in the bottom-right corner."""
    out = rgb.copy()
    height, width = out.shape[:2]
    cv2.putText(out, "(c) Jane Doe Photo", (width - 260, height - 18), cv2.FONT_HERSHEY_SIMPLEX,
                0.7, (255, 255, 255), 2, cv2.LINE_AA)  # fmt: skip
    return out


def tiled(rgb: RGB) -> RGB:
    """ "SAMPLE" repeated over the picture at 40 % opacity."""
    layer = np.zeros_like(rgb)
    for y in range(30, rgb.shape[0], 70):
        for x in range(10, rgb.shape[1], 160):
            cv2.putText(layer, "SAMPLE", (x, y), cv2.FONT_HERSHEY_DUPLEX, 0.8, (255, 255, 255), 2,
                        cv2.LINE_AA)  # fmt: skip
    blended = (rgb * 0.6 + layer * 0.4).astype(np.uint8)
    return np.where(layer > 0, blended, rgb).astype(np.uint8)


def diagonal(rgb: RGB, angle: float = 30.0) -> RGB:
    """A stock-photo watermark across the middle, turned, at 60 % opacity."""
    height, width = rgb.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    cv2.putText(mask, "PREVIEW ONLY", (60, height // 2 + 15), cv2.FONT_HERSHEY_DUPLEX, 1.4, 255, 4,
                cv2.LINE_AA)  # fmt: skip
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    alpha = (cv2.warpAffine(mask, turn, (width, height)) / 255.0 * 0.6)[..., None]
    return (rgb * (1 - alpha) + 255 * alpha).astype(np.uint8)


def sign(rgb: RGB) -> RGB:
    """A green plate with white letters in the middle: a shop sign."""
    out = rgb.copy()
    cv2.rectangle(out, (200, 150), (420, 230), (20, 90, 30), -1)
    cv2.putText(out, "CAFE", (230, 210), cv2.FONT_HERSHEY_DUPLEX, 1.6, (255, 255, 255), 3,
                cv2.LINE_AA)  # fmt: skip
    return out


def added(boxes: list[TextBox]) -> list[TextBox]:
    return [box for box in boxes if box.kind == "overlay"]


def test_a_clean_photograph_has_no_added_text() -> None:
    assert added(find_text(data.chelsea())) == []


def test_a_credit_in_a_corner_is_added_text_in_the_corner() -> None:
    boxes = added(find_text(credit(data.coffee())))
    assert [(b.reason, b.position) for b in boxes] == [("margin", "corner")]
    box = boxes[0]
    height, width = data.coffee().shape[:2]
    assert box.x > width / 2 and box.y > height * 0.8


def test_a_tiled_watermark_is_called_tiled() -> None:
    boxes = find_text(tiled(data.chelsea()))
    assert len(boxes) >= 6
    assert {(b.kind, b.reason) for b in boxes} == {("overlay", "tiled")}


@pytest.mark.parametrize("angle", [30.0, -30.0])
def test_a_diagonal_watermark_is_called_diagonal(angle: float) -> None:
    boxes = added(find_text(diagonal(data.astronaut(), angle)))
    assert [b.reason for b in boxes] == ["diagonal"]
    assert abs(boxes[0].angle - angle) < 6


def test_a_sign_on_a_plate_is_scene_text() -> None:
    boxes = find_text(sign(data.coffee()))
    assert [(b.kind, b.position) for b in boxes] == [("scene", "centre")]


def test_classify_by_geometry_alone() -> None:
    """The rules without the model: a row of alike boxes spread over the
    picture is tiled, a long steep one diagonal, a small one by the bottom
    corner a margin mark, a large one in the middle scene text."""
    gray = np.full((400, 600), 128, np.uint8)

    def box(x: int, y: int, w: int, h: int, angle: float = 0.0) -> TextBox:
        return TextBox(x=x, y=y, w=w, h=h, angle=angle, height=min(w, h), score=0.9)

    pattern = [box(x, y, 90, 20) for x in (20, 250, 480) for y in (40, 200, 350)]
    steep = box(200, 120, 200, 160, angle=35.0)
    steep.height = 30
    corner = box(520, 372, 70, 12)
    middle = box(220, 180, 160, 40)
    boxes = [*pattern, steep, corner, middle]
    text.classify(boxes, gray, TextSettings())
    assert {b.reason for b in pattern} == {"tiled"}
    assert (steep.kind, steep.reason) == ("overlay", "diagonal")
    assert (corner.kind, corner.reason, corner.position) == ("overlay", "margin", "corner")
    assert (middle.kind, middle.reason) == ("scene", "")


def test_boxes_of_one_line_are_joined() -> None:
    words = [
        TextBox(x=10, y=100, w=60, h=20, angle=0.0, height=18, score=0.8),
        TextBox(x=80, y=102, w=50, h=19, angle=1.0, height=17, score=0.9),
        TextBox(x=400, y=100, w=50, h=20, angle=0.0, height=18, score=0.9),
    ]
    lines = text.merge_lines(words, TextSettings().level_max_angle)
    assert [(b.x, b.w) for b in lines] == [(10, 120), (400, 50)]
    assert words[0].w == 60  # the input is left as it was


def test_learned_asked_for_without_the_extra_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(analyser, "learned_text_available", lambda: False)
    with pytest.raises(TextBackendUnavailable, match=r"lintcap\[text\]"):
        analyser.AnalysisSettings(text_detector="learned").text_backend()
    assert analyser.AnalysisSettings().text_backend() == "morphology"
    assert analyser.AnalysisSettings(text_detector="morphology").text_backend() == "morphology"


def _lint_one(folder: Path, name: str, rgb: RGB, select: list[str]) -> list[tuple[str, str]]:
    folder.mkdir()
    Image.fromarray(rgb).save(folder / name, quality=95)
    result = lint([folder], Config(select=select, cache=False, jobs=1))
    return [(d.code, d.message) for d in result.diagnostics]


def test_rules_name_the_kind_of_text(tmp_path: Path) -> None:
    found = _lint_one(tmp_path / "tiled", "a.jpg", tiled(data.chelsea()), ["W001", "W002", "W004"])
    assert [code for code, _ in found] == ["W001"]
    assert found[0][1].startswith("tiled watermark")
    found = _lint_one(tmp_path / "credit", "b.jpg", credit(data.coffee()), ["W001", "W002", "W004"])
    assert [code for code, _ in found] == ["W002"]
    found = _lint_one(tmp_path / "sign", "c.jpg", sign(data.coffee()), ["W001", "W002", "W004"])
    assert [code for code, _ in found] == ["W004"]
    assert "cannot be told apart" in found[0][1]


def test_detectors_run_only_for_the_rules_that_read_them(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(tiled(data.chelsea())).save(folder / "a.jpg", quality=95)

    def facts(select: list[str]) -> ImageFacts:
        result = lint([folder], Config(select=select, cache=False, jobs=1))
        image_facts = result.items[0].image_facts
        assert image_facts is not None and image_facts.overlay is not None
        return image_facts

    grey = facts(["I007"])
    assert grey.people is None
    assert (grey.overlay.text_lines, grey.overlay.text_boxes) == (0, [])
    text_only = facts(["W001"])
    assert text_only.people is None
    assert text_only.overlay.overlay_text_reason == "tiled"
    assert text_only.phash is not None  # the set-level pass tells pictures apart by it
    both = facts(["W001", "D004"])
    assert both.people is not None and both.overlay.text_boxes


def test_report_boxes_place_faces_and_text_on_the_thumbnail(tmp_path: Path) -> None:
    from lintcap.report.html import _boxes

    folder = tmp_path / "set"
    folder.mkdir()
    Image.fromarray(credit(data.astronaut())).save(folder / "a.jpg", quality=95)
    result = lint([folder], Config(select=["W002", "D004"], cache=False, jobs=1))
    boxes = _boxes(result.items[0])
    kinds = sorted(box.kind for box in boxes)
    assert kinds[0] == "face" and "overlay" in kinds
    face = next(box for box in boxes if box.kind == "face")
    # The astronaut's face is in the upper middle of the picture.
    assert 20 < face.left < 60 and face.top < 40 and 5 < face.width < 40
    credit_box = next(box for box in boxes if box.kind == "overlay")
    assert credit_box.left > 40 and credit_box.top > 80 and "margin" in credit_box.title
    assert all(b.left >= 0 and b.left + b.width <= 100.01 for b in boxes)


def _box(x: int, y: int, w: int, h: int, angle: float = 0.0) -> TextBox:
    return TextBox(x=x, y=y, w=w, h=h, angle=angle, height=min(w, h), score=0.9)


def test_a_block_of_lines_reaching_into_the_bottom_band_is_a_sign() -> None:
    """Four stacked lines whose last two lie in the bottom band are a sign's
    (scene); one line alone in the band is a caption (added)."""
    gray = np.full((400, 600), 128, np.uint8)
    sign_lines = [_box(200, y, 180, 24) for y in (250, 282, 314, 346)]
    text.classify(sign_lines, gray, TextSettings())
    assert {b.kind for b in sign_lines} == {"scene"}
    caption = [_box(200, 360, 200, 24)]
    text.classify(caption, gray, TextSettings())
    assert [(b.kind, b.reason) for b in caption] == [("overlay", "margin")]


def test_a_name_beside_a_corner_logo_is_in_the_corner() -> None:
    """A studio's name set left of its badge does not reach the picture's
    edge but lies wholly in its outer third: a corner mark."""
    gray = np.full((600, 1000), 128, np.uint8)
    name = [_box(700, 40, 140, 30)]
    text.classify(name, gray, TextSettings())
    assert [(b.kind, b.position) for b in name] == [("overlay", "corner")]
    middle = [_box(450, 40, 140, 30)]
    text.classify(middle, gray, TextSettings())
    assert middle[0].position != "corner"


def test_tiles_are_one_word_repeated_and_cut_copies_belong_to_them() -> None:
    gray = np.full((400, 600), 128, np.uint8)
    pattern = [_box(x, y, 120, 20) for x in (60, 300) for y in (40, 200, 350)]
    cut = _box(560, 120, 40, 20)  # a copy cut short by the right edge
    text.classify([*pattern, cut], gray, TextSettings())
    assert {b.reason for b in [*pattern, cut]} == {"tiled"}
    # Backdrop lettering: lines of one height but many lengths (alike within
    # the old 1.67 ratio, which called them tiled).
    places = [(60, 60, 80), (300, 60, 160), (60, 200, 125), (300, 200, 100), (60, 330, 200)]
    words = [_box(x, y, w, 20) for (x, y, w) in places]
    text.classify(words, gray, TextSettings())
    assert "tiled" not in {b.reason for b in words}


def test_blurred_text_is_not_read_as_see_through() -> None:
    """A semi-transparent mark over a photograph follows the picture behind
    it and has sharp edges; the same letters blurred with the picture (scene
    text out of focus) are not called see-through."""
    gray = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY).astype(np.float64)
    height = gray.shape[0]
    mask = np.zeros(gray.shape, np.uint8)
    cv2.putText(mask, "SAMPLE PHOTO", (40, height // 2 + 20), cv2.FONT_HERSHEY_DUPLEX, 2.0, 255,
                3, cv2.LINE_AA)  # fmt: skip
    alpha = mask / 255.0 * 0.4
    marked = (gray * (1 - alpha) + 255 * alpha).astype(np.uint8)
    ys, xs = np.nonzero(mask)
    box = _box(int(xs.min()) - 8, int(ys.min()) - 8, int(np.ptp(xs)) + 16, int(np.ptp(ys)) + 16)
    assert text._see_through(marked, box, TextSettings())
    blurred = np.asarray(cv2.GaussianBlur(marked, (0, 0), 3), np.uint8)
    assert not text._see_through(blurred, box, TextSettings())
    assert text._see_through(blurred, box, TextSettings(see_through_min_sharpness=0.0))


def _facts(phash: str, *boxes: TextBox) -> ImageFacts:
    from lintcap.image.facts import Overlay
    from lintcap.image.overlay import apply_text_boxes

    overlay = Overlay()
    apply_text_boxes(overlay, list(boxes))
    return ImageFacts(sha256="0" * 64, overlay=overlay, phash=phash, working_size=(800, 600))


def test_a_line_at_one_place_on_several_pictures_is_added() -> None:
    """The same mark at the same place and size on three different pictures
    is a watermark (W001); in a corner, a corner mark (W002). The scene's own
    text elsewhere stays scene text."""
    from lintcap.image.repeated import mark_repeated

    hashes = ("0000000000000000", "ffffffff00000000", "00000000ffffffff")
    images = [
        _facts(
            code,
            _box(300 + shift, 280, 200, 40),
            _box(640, 540, 120, 24).model_copy(update={"position": "corner"}),
            _box(50 * i, 90, 90, 30),
        )
        for i, (code, shift) in enumerate(zip(hashes, (0, 6, -5), strict=True))
    ]
    assert mark_repeated(images, TextSettings()) == 6
    for facts in images:
        assert facts.overlay is not None
        assert facts.overlay.overlay_text_reason == "repeated"
        assert facts.overlay.corner_overlay_lines == 1
        assert [b.kind for b in facts.overlay.text_boxes] == ["overlay", "overlay", "scene"]


def test_repeats_of_one_picture_or_of_other_words_are_not_marks() -> None:
    """Edits of one photograph (near perceptual hashes) carry its scene text
    at one place; lines of other lengths at one place are other words."""
    from lintcap.image.repeated import mark_repeated

    near = ("0000000000000000", "0000000000000001", "0000000000000003")
    edits = [_facts(code, _box(300, 280, 200, 40)) for code in near]
    assert mark_repeated(edits, TextSettings()) == 0
    hashes = ("0000000000000000", "ffffffff00000000", "00000000ffffffff")
    words = [
        _facts(code, _box(400 - w // 2, 280, w, 40))
        for code, w in zip(hashes, (120, 200, 300), strict=True)
    ]
    assert mark_repeated(words, TextSettings()) == 0
    assert mark_repeated(edits[:1] * 3, TextSettings(repeated_min_images=0)) == 0


def test_the_corner_pass_finds_a_name_too_small_for_the_first() -> None:
    """A tiny studio name in the top-right corner of a 1024 px picture is lost
    when the picture is shrunk to 640 px; the corner pass sees the corner at
    full size and finds it, once, as does the shipped look at 1024 px."""
    rgb = cv2.resize(data.coffee(), (1024, 768), interpolation=cv2.INTER_CUBIC)
    cv2.putText(rgb, "STUDIO KM", (874, 40), cv2.FONT_HERSHEY_PLAIN, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)  # fmt: skip

    def corner(settings: TextSettings) -> list[tuple[str, str]]:
        boxes = find_text(rgb, settings)
        return [(b.reason, b.position) for b in boxes if b.y < 100 and b.x > 700]

    first_look = TextSettings(turned_pass=False, large_pass=False)
    assert corner(first_look) == []
    assert corner(first_look.model_copy(update={"corner_pass": True})) == [("margin", "corner")]
    # The shipped larger second look finds it too, read.
    assert corner(TextSettings()) == [("margin", "corner")]


def test_the_set_level_pass_is_bounded() -> None:
    """Cached facts are untrusted: an image with more scene lines than
    repeated-max-lines (a page of text) is left out of the pass, and the pass
    stops when its comparison budget is spent."""
    from lintcap.image.repeated import mark_repeated

    hashes = ("0000000000000000", "ffffffff00000000", "00000000ffffffff")

    def marked(*extra: TextBox) -> list[ImageFacts]:
        return [_facts(code, _box(300, 280, 200, 40), *extra) for code in hashes]

    assert mark_repeated(marked(), TextSettings()) == 3
    page = [_box(20 + 60 * k, 40 + 40 * k, 50, 12) for k in range(5)]
    crowded = marked()
    crowded[0] = _facts(hashes[0], _box(300, 280, 200, 40), *page)
    assert mark_repeated(crowded, TextSettings(repeated_max_lines=5)) == 0
    assert mark_repeated(marked(), TextSettings(repeated_max_comparisons=1)) == 0


def test_a_small_picture_is_enlarged_for_the_detector() -> None:
    """A faint web address a few pixels high on a 400 px picture: the model
    does not see it at the picture's own scale, and does once the picture is
    enlarged to the working size (``upscale-below``); it is see-through."""
    rgb = cv2.resize(data.chelsea(), (400, 266), interpolation=cv2.INTER_AREA)
    layer = np.zeros(rgb.shape[:2], np.uint8)
    cv2.putText(layer, "www.photo-site.com", (120, 160), cv2.FONT_HERSHEY_SIMPLEX, 0.35, 255, 1,
                cv2.LINE_AA)  # fmt: skip
    alpha = (layer / 255.0 * 0.4)[..., None]
    rgb = (rgb * (1 - alpha) + 255 * alpha).astype(np.uint8)
    unread = TextSettings(read_max_lines=0, extend_max_lines=0)
    assert find_text(rgb, unread.model_copy(update={"upscale_below": 0.0})) == []
    boxes = find_text(rgb, unread)
    assert [(b.kind, b.reason) for b in boxes] == [("overlay", "see-through")]
    assert 140 <= boxes[0].y <= 160 and 110 <= boxes[0].x <= 130  # in the picture's pixels


def test_classify_and_overlay_facts_compare_lines_by_identity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Value equality of boxes in a list test made classify cubic in the
    number of lines (a page of 480 words took 53 CPU s): no line is compared
    by value, and the tiling, the sign block and the corner mark still come out."""
    from lintcap.image.facts import Overlay
    from lintcap.image.overlay import apply_text_boxes

    def refuse(self: TextBox, other: object) -> bool:
        raise AssertionError("a line compared by value")

    gray = np.full((400, 600), 128, np.uint8)
    pattern = [_box(x, y, 120, 20) for x in (60, 300) for y in (40, 200, 350)]
    sign_lines = [_box(400, y, 190, 36) for y in (210, 250, 290, 330)]
    corner = _box(20, 372, 60, 12)
    boxes = [*pattern, *sign_lines, corner]
    monkeypatch.setattr(TextBox, "__eq__", refuse)
    text.classify(boxes, gray, TextSettings())
    overlay = Overlay()
    apply_text_boxes(overlay, boxes)
    assert {b.reason for b in pattern} == {"tiled"}
    assert {b.kind for b in sign_lines} == {"scene"}
    assert (corner.kind, corner.position) == ("overlay", "corner")
    assert overlay.corner_overlay_lines == 1 and overlay.overlay_text_lines == len(pattern)


def test_lines_taken_from_a_map_are_bounded_by_max_lines() -> None:
    """A page of small words: at most max-lines lines, the highest scoring."""
    probability = np.zeros((200, 400), np.float32)
    for i in range(40):
        row, col = divmod(i, 8)
        probability[10 + row * 40 : 22 + row * 40, 10 + col * 48 : 50 + col * 48] = 0.7 + i / 200
    everything = text.boxes_from_map(probability, 1.0, 1.0, TextSettings())
    assert len(everything) == 40
    kept = text.boxes_from_map(probability, 1.0, 1.0, TextSettings(max_lines=5))
    assert len(kept) == 5
    assert sorted(b.score for b in kept) == sorted(b.score for b in everything)[-5:]


def test_the_corner_look_on_a_banner_keeps_its_boxes_inside() -> None:
    """A side under 32 px (the model's stride): the crop is the whole side,
    not wider, so no box lands at a negative place."""
    rgb = np.full((20, 1024, 3), 255, np.uint8)
    cv2.putText(rgb, "BANNER TEXT", (10, 16), cv2.FONT_HERSHEY_PLAIN, 1.0, (0, 0, 0), 1)
    boxes = text.corner_boxes(rgb, [], TextSettings(corner_pass=True))
    assert all(b.x >= 0 and b.y >= 0 and b.x + b.w <= 1024 for b in boxes)


def test_lines_joined_on_one_level_forget_what_one_piece_read() -> None:
    left = _box(100, 200, 120, 30)
    left.read = "STUDIO"
    right = _box(230, 200, 120, 30)
    (joined,) = text.merge_lines([left, right], TextSettings().level_max_angle)
    assert (joined.x, joined.w, joined.read) == (100, 250, "")


def test_overlap_is_the_turned_boxes_meeting_not_their_rectangles() -> None:
    diagonal = TextBox(x=100, y=100, w=300, h=300, angle=-45.0, height=30, score=0.9)
    in_its_empty_corner = TextBox(x=340, y=110, w=50, h=20, angle=0.0, height=18, score=0.9)
    across_it = TextBox(x=230, y=240, w=40, h=20, angle=0.0, height=18, score=0.9)
    assert not text.overlap(diagonal, in_its_empty_corner)
    assert text.overlap(diagonal, across_it)
    assert not text.overlap(across_it, _box(600, 600, 10, 10))


def test_lines_under_the_least_height_are_dropped_where_they_are_read_off_the_map() -> None:
    """Before a later look compares its lines with them or reads them: a
    speck the first look kept used to hide a second look's line."""
    probability = np.zeros((200, 300), np.float32)
    probability[40:70, 20:260] = 0.9  # a line 30 map pixels high
    probability[150:153, 20:120] = 0.9  # a speck of a line, 3 high
    settings = TextSettings()
    every = text.boxes_from_map(probability, 2.0, 2.0, settings)
    kept = text.boxes_from_map(probability, 2.0, 2.0, settings, min_height=20.0)
    assert len(every) == 2 and len(kept) == 1 and kept[0].height >= 20.0
    rgb = np.zeros((400, 600, 3), np.uint8)
    assert text.lowest_line(rgb, settings) == settings.min_height_share * 400
