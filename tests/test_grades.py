"""Grades judged against the set: the grade measures (black floor, shared
tint, saturated share), I008 (an image graded unlike the rest of the set) and
D010 (the whole set graded alike). The checks are fed facts made here: no
image analysis except the few measurements on scikit-image's photographs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from imageset import base_photo, cool_cast, faded, saturate, warm_cast

from lintcap.config import Config
from lintcap.engine import image_checks
from lintcap.engine.spec import GradeCheck, UniformGradeCheck, load_rulebook
from lintcap.image.facts import Colour, ImageFacts, Quality
from lintcap.image.quality import measure_quality


def _quality(rgb: np.ndarray) -> Quality:
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    return measure_quality(rgb, gray, None, None)


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return base_photo("coffee")


def test_a_fade_lifts_the_black_floor(coffee: np.ndarray) -> None:
    clean, lifted = _quality(coffee), _quality(faded(coffee))
    assert clean.black_floor < 25
    assert lifted.black_floor > 50


def test_a_cast_tints_shadows_highlights_and_neutrals_alike() -> None:
    astronaut = base_photo("astronaut")
    assert _quality(astronaut).tint < 1
    cool = _quality(cool_cast(astronaut))
    assert cool.tint > 10 and cool.tint_b < -10  # blue: -b
    warm = _quality(warm_cast(base_photo("chelsea")))
    assert warm.tint > 30 and warm.tint_b > 30  # yellow: +b


def test_one_coloured_object_is_no_tint() -> None:
    # A red square on a neutral grey ramp: the neutral pixels and the
    # highlights stay grey, so nothing is shared by all three.
    ramp = np.tile(np.linspace(10, 245, 200, dtype=np.uint8), (200, 1))
    rgb = np.dstack([ramp, ramp, ramp]).copy()
    rgb[60:140, 60:140] = (200, 30, 30)
    assert _quality(rgb).tint == 0.0


def test_the_skin_colour_shows_a_cast_or_a_boost_on_the_face() -> None:
    astronaut = base_photo("astronaut")
    face = (170, 60, 110, 130)  # her face in the 512 x 512 photograph

    def skin(rgb: np.ndarray) -> Quality:
        gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
        return measure_quality(rgb, gray, face, None)

    clean = skin(astronaut)
    assert clean.skin_b is not None and 5 < clean.skin_b < 31
    assert clean.skin_chroma is not None and clean.skin_chroma < 36
    cool = skin(cool_cast(astronaut))
    assert cool.skin_b is not None and cool.skin_b < -5
    boosted = skin(saturate(2.2)(astronaut))
    assert boosted.skin_chroma is not None and boosted.skin_chroma > 42
    # No face, no skin: the rules' bounds do not hold for None.
    assert _quality(astronaut).skin_b is None


def test_over_saturation_raises_the_saturated_share(coffee: np.ndarray) -> None:
    assert _quality(saturate(2.2)(coffee)).saturated_share > _quality(coffee).saturated_share + 0.1


# --- the set ------------------------------------------------------------------


@pytest.fixture(scope="module")
def rules() -> tuple[GradeCheck, UniformGradeCheck]:
    book = load_rulebook(Config())
    checks = {rule.code: rule.check for rule in book.rules}
    grade, uniform = checks["I008"], checks["D010"]
    assert isinstance(grade, GradeCheck) and isinstance(uniform, UniformGradeCheck)
    return grade, uniform


def _set(floors: list[float], tint: float = 0.5) -> list[tuple[int, ImageFacts]]:
    """Images that differ only in their black floor (and a small spread of
    saturation, as real photographs have)."""
    return [
        (
            index,
            ImageFacts(
                sha256=str(index),
                colour=Colour(colour_residual=10.0, contrast=180.0),
                quality=Quality(
                    black_floor=floor,
                    tint=tint,
                    saturated_share=0.01 * (index % 4),
                    split_toning=8.0 + index % 5,
                ),
            ),
        )
        for index, floor in enumerate(floors)
    ]


def test_the_one_faded_image_of_a_set_is_reported(
    rules: tuple[GradeCheck, UniformGradeCheck],
) -> None:
    grade, uniform = rules
    images = _set([3, 5, 8, 0, 12, 6, 4, 9, 2, 62])
    findings = image_checks.graded_images(grade, images)
    assert [f.item for f in findings] == [9]
    assert findings[0].values["label"] == "lifted blacks"
    assert findings[0].values["median"] == "5.5"
    assert image_checks.uniform_grade(uniform, images) == []


def test_a_set_faded_alike_is_one_dataset_finding(
    rules: tuple[GradeCheck, UniformGradeCheck],
) -> None:
    grade, uniform = rules
    images = _set([55, 58, 61, 60, 57, 63, 59, 56, 62, 8])
    assert image_checks.graded_images(grade, images) == []
    (finding,) = image_checks.uniform_grade(uniform, images)
    assert finding.item is None
    assert finding.values["label"] == "lifted blacks"
    assert (finding.values["count"], finding.values["total"]) == (9, 10)
    assert 9 not in finding.related


def test_a_lifted_image_among_widely_varied_floors_is_not_unlike_the_set(
    rules: tuple[GradeCheck, UniformGradeCheck],
) -> None:
    # Black floors from 0 to 60 (median 27.5, robust spread 20): an image at
    # 60 is within 2.5 spreads of the median, so nothing stands out.
    grade, uniform = rules
    images = _set([0, 10, 20, 30, 40, 50, 60, 42, 15, 25])
    assert image_checks.graded_images(grade, images) == []
    assert image_checks.uniform_grade(uniform, images) == []


def test_a_set_with_one_cast_is_one_finding_and_a_fade_in_it_still_stands_out(
    rules: tuple[GradeCheck, UniformGradeCheck],
) -> None:
    grade, uniform = rules
    images = [
        (
            index,
            facts.model_copy(
                update={"quality": facts.quality.model_copy(update={"tint_b": -14.0})}
            ),
        )
        for index, facts in _set([3, 5, 8, 0, 12, 6, 4, 9, 2, 62])
        if facts.quality is not None
    ]
    (whole,) = image_checks.uniform_grade(uniform, images)
    assert whole.values["label"] == "cool cast" and whole.values["count"] == 10
    # Every image is cool (the set's look, D010); only the fade is I008's.
    findings = image_checks.graded_images(grade, images)
    assert [(f.item, f.values["label"]) for f in findings] == [(9, "lifted blacks")]


def test_a_set_vignetted_throughout_is_one_finding_not_one_per_image() -> None:
    book = load_rulebook(Config())
    checks = {rule.code: rule.check for rule in book.rules}
    vignette, uniform = checks["I013"], checks["D010"]
    assert isinstance(vignette, GradeCheck) and isinstance(uniform, UniformGradeCheck)

    def images(falloff: float) -> list[tuple[int, ImageFacts]]:
        qualities = [Quality(vignette=0.5 + 0.01 * i, vignette_falloff=falloff) for i in range(9)]
        qualities.append(Quality(vignette=0.0, vignette_falloff=0.0))
        return [(i, ImageFacts(sha256=str(i), quality=q)) for i, q in enumerate(qualities)]

    vignetted = images(falloff=0.12)
    assert image_checks.graded_images(vignette, vignetted) == []
    (whole,) = image_checks.uniform_grade(uniform, vignetted)
    assert whole.values["label"] == "vignette" and whole.values["count"] == 9
    # Dark corners without the falloff: portraits before a dark backdrop,
    # neither a vignette (I013) nor the set's look (the look's `also`).
    backdrops = images(falloff=-0.2)
    assert image_checks.graded_images(vignette, backdrops) == []
    assert image_checks.uniform_grade(uniform, backdrops) == []


def test_a_small_set_is_judged_image_by_image(
    rules: tuple[GradeCheck, UniformGradeCheck],
) -> None:
    grade, uniform = rules
    images = _set([60, 61, 3])
    assert [f.item for f in image_checks.graded_images(grade, images)] == [0, 1]
    assert image_checks.uniform_grade(uniform, images) == []


def test_a_grade_case_must_bound_its_measure() -> None:
    with pytest.raises(ValueError, match="needs an above or below bound"):
        GradeCheck.model_validate(
            {
                "kind": "graded-images",
                "cases": [{"label": "x", "measure": "tint", "when": {"black-floor": {"above": 1}}}],
            }
        )


def test_a_single_image_is_still_judged_for_grades(tmp_path: Path) -> None:
    from lintcap.cli import _without_dataset_rules

    image = tmp_path / "a.jpg"
    image.write_bytes(b"")
    narrowed, note, _ = _without_dataset_rules(Config(), [image])
    assert note is not None
    assert "D001" in narrowed.ignore and "D010" in narrowed.ignore
    assert "I008" not in narrowed.ignore and "I013" not in narrowed.ignore
