"""Hostile image-cache entries: valid JSON that no analysis can have written
must be a miss, never a traceback in the set-level passes or the report."""

from __future__ import annotations

import json
from pathlib import Path

from lintcap.image.cache import FactCache
from lintcap.image.facts import ImageFacts, Overlay
from lintcap.image.repeated import mark_repeated
from lintcap.image.text import TextBox, TextSettings

SHA = "ab" + "0" * 62


def _entry(working_size: list[int]) -> bytes:
    box = TextBox(x=10, y=10, w=40, h=10, angle=0.0, height=10.0, score=0.9)
    overlay = Overlay(text_detector="learned", text_boxes=[box])
    facts = ImageFacts(sha256=SHA, overlay=overlay, phash="0" * 16)
    data = facts.model_dump(mode="json")
    data["working_size"] = working_size
    return json.dumps(data).encode()


def test_a_cached_working_size_without_pixels_is_a_miss(tmp_path: Path) -> None:
    """A working size of 0 (or below) would divide by zero in the repeated-mark
    pass and the report's boxes; the entry is not ours: a miss."""
    for size in ([0, 600], [800, 0], [-5, 600]):
        cache = FactCache(tmp_path / ".lintcap_cache", "key")
        cache.put(ImageFacts(sha256=SHA))
        entry = tmp_path / ".lintcap_cache" / "images" / "key" / "ab" / f"{SHA}.json"
        entry.write_bytes(_entry(size))
        facts = FactCache(tmp_path / ".lintcap_cache", "key").get(SHA)
        if facts is not None:  # a hit must survive the set-level pass
            mark_repeated([facts, facts.model_copy(deep=True)] * 2, TextSettings())
        assert facts is None
    entry.write_bytes(_entry([800, 600]))
    assert FactCache(tmp_path / ".lintcap_cache", "key").get(SHA) is not None


def test_a_reading_problem_is_not_merged_with_facts_cached_before() -> None:
    """Bytes decoded once and unreadable now (the file was replaced while the
    run read it): the entry written back is the reading problem alone, not a
    problem carrying the hash and quality of the earlier decode (a cached
    problem serves every selection, so those would reach the set checks)."""
    from lintcap.image.analyser import merge, present
    from lintcap.image.facts import ImageInfo, Quality
    from lintcap.models import Problem

    keys = {"decode": "d", "hash": "h", "quality": "q"}
    decoded = ImageFacts(
        sha256=SHA,
        info=ImageInfo(width=8, height=8),
        phash="0" * 16,
        quality=Quality(),
        families=dict(keys),
    )
    problem = Problem(kind="unreadable", path="a.png", detail="gone")
    failed = ImageFacts(sha256=SHA, problems=[problem], families={"decode": "d"})
    merged = merge(decoded, failed)
    assert merged.problems == [problem] and merged.info is None
    assert merged.phash is None and merged.quality is None
    assert merged.families == {"decode": "d"}
    assert present(merged, keys) == set(keys)  # still a full hit for every selection
    # The other way round: a decode after a cached problem keeps nothing of it.
    again = merge(failed, decoded)
    assert again.problems == [] and again.families == keys


def _line_facts(code: str, angle: float) -> ImageFacts:
    from lintcap.image.overlay import apply_text_boxes

    box = TextBox(x=300, y=280, w=200, h=40, angle=angle, height=40.0, score=0.9)
    overlay = Overlay(text_detector="learned")
    apply_text_boxes(overlay, [box])
    return ImageFacts(sha256=SHA, overlay=overlay, phash=code, working_size=(800, 600))


def test_repeated_mark_settings_are_read_and_checked() -> None:
    """The angle two lines of one mark may differ by is a setting
    (``repeated-max-angle``), and a height or length ratio of 1 (which the
    pass divides by the logarithm of) is refused when the settings load."""
    import pytest
    from pydantic import ValidationError

    hashes = ("0000000000000000", "ffffffff00000000", "00000000ffffffff")
    tilted = [_line_facts(code, 3.0 * i) for i, code in enumerate(hashes)]
    assert mark_repeated(tilted, TextSettings()) == 3
    tilted = [_line_facts(code, 3.0 * i) for i, code in enumerate(hashes)]
    assert mark_repeated(tilted, TextSettings(repeated_max_angle=2.0)) == 0
    for name in ("repeated_max_height_ratio", "repeated_max_length_ratio"):
        with pytest.raises(ValidationError):
            TextSettings.model_validate({name: 1.0})


def test_the_tiled_angle_tolerance_is_a_setting() -> None:
    """Four alike words spread over the picture, two of them turned 5
    degrees: one tiled pattern within ``tiled-max-angle`` (8), none when the
    setting allows 2 degrees."""
    import numpy as np

    from lintcap.image.text import classify

    def reasons(settings: TextSettings) -> list[str]:
        boxes = [
            TextBox(x=x, y=y, w=80, h=20, angle=angle, height=20.0, score=0.9)
            for x, y, angle in ((50, 50, 0.0), (450, 50, 0.0), (50, 300, 5.0), (450, 300, 5.0))
        ]
        classify(boxes, np.full((400, 600), 128, np.uint8), settings)
        return [box.reason for box in boxes]

    assert reasons(TextSettings()) == ["tiled"] * 4
    assert "tiled" not in reasons(TextSettings(tiled_max_angle=2.0))


def test_the_sign_block_bounds_are_settings() -> None:
    """Stacked lines reaching into the bottom band are a sign's; how alike
    in height and how much over each other they must be are settings
    (``margin-block-*``): lines that fail them are no block, and the one in
    the band is a margin mark again."""
    import numpy as np

    from lintcap.image.text import classify

    def kinds(**update: float) -> set[str]:
        lines = [
            TextBox(x=200, y=y, w=180, h=24, angle=0.0, height=24.0, score=0.9)
            for y in (250, 282, 314, 346)
        ]
        classify(lines, np.full((400, 600), 128, np.uint8), TextSettings(**update))
        return {b.kind for b in lines}

    assert kinds() == {"scene"}
    assert "overlay" in kinds(margin_block_min_overlap=1.0)
    assert "overlay" in kinds(margin_block_max_height_ratio=0.9)
    assert "overlay" in kinds(margin_block_min_height_ratio=1.1)


def test_the_text_key_leaves_out_what_only_the_set_pass_reads() -> None:
    """Changing a repeated-mark setting keeps every image's cached text facts
    (the set-level pass reads them as they are); a detector setting does not."""
    from lintcap.image.analyser import SET_LEVEL_TEXT_SETTINGS, AnalysisSettings

    assert "repeated_min_images" in SET_LEVEL_TEXT_SETTINGS
    base = AnalysisSettings(families=frozenset({"text"}))
    repeated = base.model_copy(update={"text": TextSettings(repeated_min_images=5)})
    detector = base.model_copy(update={"text": TextSettings(box_threshold=0.7)})
    assert repeated.family_keys()["text"] == base.family_keys()["text"]
    assert detector.family_keys()["text"] != base.family_keys()["text"]
