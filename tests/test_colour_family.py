"""The colour family: what tells a monochrome picture (chroma, colour
residual, contrast), measured without the rest of the quality measures
when no selected rule reads those (A010, I007), and kept apart in the
cache, so that a later run that reads quality measures only adds them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from imageset import base_photo
from PIL import Image

from lintcap.config import Config
from lintcap.engine.run import lint, needs_for
from lintcap.engine.spec import load_rulebook
from lintcap.image import analyser
from lintcap.image.cache import CACHE_DIR_NAME
from lintcap.image.quality import measure_colour, measure_quality

TRIGGER = "ohwx"


def _tiny_set(root: Path) -> Path:
    """Six 16 x 16 JPEGs, three grey and three coloured, with captions that
    do not say black and white (A010 and I007 judge the grey ones)."""
    root.mkdir()
    for index in range(6):
        grey = index % 2 == 0
        colour = (80 + index,) * 3 if grey else (200, 40 + 30 * index, 30)
        Image.new("RGB", (16, 16), colour).save(root / f"{index}.jpg", quality=90)
        (root / f"{index}.txt").write_text(f"{TRIGGER}, a photo of a red barn number {index}")
    return root


def _findings(root: Path, select: list[str], cache: bool = True) -> list[tuple[str, str, str]]:
    result = lint([root], Config(select=select, trigger=TRIGGER, jobs=1, cache=cache))
    return [(d.code, d.path or "", d.message) for d in result.diagnostics]


def test_the_agreement_rule_reads_colour_and_people_only() -> None:
    needs = needs_for([rule for rule in load_rulebook(Config()).rules if rule.code == "A010"])
    assert needs.image_colour and needs.image_people and not needs.image_quality
    settings = analyser.AnalysisSettings(families=frozenset({"colour", "people"}))
    assert settings.wanted() == ("decode", "colour", "people")
    # Without people facts, the face boxes count faces, as with quality.
    alone = analyser.AnalysisSettings(families=frozenset({"colour"}))
    assert alone.wanted() == ("decode", "faces", "colour")


def test_a_run_reading_more_measures_adds_only_the_missing_families(
    tmp_path: Path,
    analyser_calls: Callable[[list[str]], dict[str, int]],
) -> None:
    root = _tiny_set(tmp_path / "set")
    cold_agreement = _findings(root, ["A010"], cache=False)
    cold_quality = _findings(root, ["I006", "I007"], cache=False)
    assert sum(code == "A010" for code, _, _ in cold_agreement) == 3
    assert sum(code == "I007" for code, _, _ in cold_quality) == 3
    calls = analyser_calls(["measure_colour", "measure_quality", "detect_people"])
    assert _findings(root, ["A010"]) == cold_agreement
    assert calls == {"measure_colour": 6, "measure_quality": 0, "detect_people": 6}
    # The quality rules after it: quality measured, the colour family from the cache.
    assert _findings(root, ["I006", "I007"]) == cold_quality
    assert calls == {"measure_colour": 6, "measure_quality": 6, "detect_people": 6}
    # Both again: everything from the cache, the same findings as cold.
    assert _findings(root, ["A010"]) == cold_agreement
    assert _findings(root, ["I006", "I007"]) == cold_quality
    assert calls == {"measure_colour": 6, "measure_quality": 6, "detect_people": 6}
    assert len(list((root / CACHE_DIR_NAME).rglob("*.json"))) == 6


def test_colour_is_measured_on_the_pixels_quality_measures() -> None:
    """Inside the border bars, on the same luminance: the contrast is the
    distance between the quality family's black and white levels."""
    rgb = np.ascontiguousarray(base_photo("astronaut"))
    rgb[:40] = 0  # a black bar at the top: not part of the picture
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    height, width = gray.shape
    content = (0, 40, width, height - 40)
    colour = measure_colour(rgb, gray, content)
    quality = measure_quality(rgb, gray, None, None, content, gray)
    assert colour.contrast == quality.white_level - quality.black_level
    assert colour == measure_colour(rgb[40:], gray[40:])  # the bar was left out
    assert colour.chroma_mean > 2.5 and colour.colour_residual > 2.8  # a colour photograph
    grey = np.repeat(gray[..., None], 3, axis=2)
    assert measure_colour(grey, gray, content).chroma_mean < 1.0
