"""The dataset view: variety (D004-D007), clothing and setting (D008, D009),
set size (D001), caption-image agreement (A010) and --statistics.

Two sets are built from real photographs: ``varied`` (the astronaut from the
front at three framings, the cameraman's profile and its mirror for the two
sides, captions that vary and agree with the images), on which no dataset
rule fires, and ``uniform`` (the astronaut from the front, smiling, in one
outfit and place), on which each one does. Faces, yaw and framing come from
the real OpenCV people analysis, not from stubs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from skimage import data as photos

from lintcap.config import Config
from lintcap.engine.run import LintResult, lint
from lintcap.models import Diagnostic
from lintcap.statistics import compute
from lintcap.variety import count
from tests.conftest import TRIGGER, run_lintcap

RGB = NDArray[np.uint8]
DATASET_CODES = ("D001", "D004", "D005", "D006", "D007", "D008", "D009", "A010")


def _rgb(name: str) -> RGB:
    array = getattr(photos, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8)


def _full_body(subject: RGB, background: str) -> RGB:
    """The astronaut's head and shoulders high on a tall canvas: more than
    5.5 face heights of picture below the face, as in a full-body shot."""
    canvas = cv2.resize(_rgb(background), (512, 1024), interpolation=cv2.INTER_AREA)
    head = subject[0:300, 120:360]
    canvas[20:320, 136:376] = head
    return canvas


def _images() -> dict[str, Callable[[], RGB]]:
    astronaut, camera = _rgb("astronaut"), _rgb("camera")
    wide_camera = cv2.resize(camera[0:450, 40:490], (480, 480))
    return {
        "waist-up": lambda: astronaut,
        "waist-up-2": lambda: cv2.resize(astronaut[40:, 0:470], (470, 472)),
        "close-up": lambda: np.ascontiguousarray(astronaut[30:230, 120:330]),
        "close-up-2": lambda: cv2.resize(astronaut[25:255, 125:325], (400, 460)),
        "close-up-3": lambda: np.ascontiguousarray(astronaut[30:230, 120:330][:, ::-1]),
        "full-body-coffee": lambda: _full_body(astronaut, "coffee"),
        "full-body-chelsea": lambda: _full_body(astronaut, "chelsea"),
        "full-body-rocket": lambda: _full_body(astronaut, "rocket"),
        "full-body-hubble": lambda: _full_body(astronaut, "hubble_deep_field"),
        "right": lambda: camera,
        "right-2": lambda: camera[0:400, 100:400],
        "right-3": lambda: wide_camera,
        "left": lambda: np.ascontiguousarray(camera[:, ::-1]),
        "left-2": lambda: np.ascontiguousarray(camera[0:400, 100:400][:, ::-1]),
        "left-3": lambda: np.ascontiguousarray(wide_camera[:, ::-1]),
    }  # fmt: skip


OUTFITS = ["a white spacesuit", "a flight suit", "a denim jacket", "a grey hoodie", "a wool coat"]
PLACES = ["in a studio", "on a city street", "in a forest", "on a beach", "in an office"]


FRAMING_PHRASES = {"waist-up": "upper body", "close-up": "close-up", "full-body": "full body"}


def _varied_caption(stem: str, index: int) -> str:
    outfit, place = OUTFITS[index % 5], PLACES[(index // 2) % 5]
    if stem.startswith(("right", "left")):
        # The cameraman, in black and white: no smile to see; a framing the
        # image agrees with.
        framing = "upper body" if stem in {"right", "left", "right-3", "left-3"} else "portrait"
        return (
            f"{TRIGGER}, a black and white photo of a man in {outfit} {place}, "
            "with a serious expression. "
            f"{framing}, looking away"
        )
    framing = next(phrase for prefix, phrase in FRAMING_PHRASES.items() if stem.startswith(prefix))
    return (
        f"{TRIGGER}, a photo of a woman in {outfit} {place}, smiling. "
        f"{framing}, front view, looking at viewer"
    )


def _write(root: Path, stem: str, rgb: RGB, caption: str | None) -> None:
    Image.fromarray(rgb).save(root / f"{stem}.jpg", quality=90)
    if caption is not None:
        (root / f"{stem}.txt").write_text(caption, encoding="utf-8")


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("varied")
    for index, (stem, make) in enumerate(_images().items()):
        _write(root, stem, make(), _varied_caption(stem, index))
    return root


UNIFORM_CAPTION = (
    f"{TRIGGER}, a photo of a woman in a white spacesuit in a studio, smiling. "
    "upper body, front view, looking at viewer"
)


@pytest.fixture(scope="module")
def uniform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight front-facing, smiling astronauts in one outfit and place, plus
    the contradictions A010 looks for."""
    root = tmp_path_factory.mktemp("uniform")
    astronaut = _rgb("astronaut")
    for index in range(6):
        shifted = np.ascontiguousarray(np.roll(astronaut, 12 * index, axis=1))
        _write(root, f"{index:03d}", shifted, UNIFORM_CAPTION)
    close_up = np.ascontiguousarray(astronaut[30:230, 120:330])
    _write(root, "says-full-body", close_up, UNIFORM_CAPTION.replace("upper body", "full body"))
    _write(
        root, "no-smile-named", astronaut[0:400, 50:450], UNIFORM_CAPTION.replace(", smiling", "")
    )
    gray = cv2.cvtColor(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    _write(root, "grayscale", gray, UNIFORM_CAPTION)
    camera = _rgb("camera")
    says_left = (
        f"{TRIGGER}, a photo of a man in a white spacesuit in a studio, facing left. "
        "upper body, looking at viewer"
    )
    _write(root, "says-left", camera, says_left)  # the cameraman faces the image's right edge
    return root


def _lint(root: Path, *select: str, backend: str | None = None) -> LintResult:
    config = Config(
        trigger=TRIGGER, select=list(select or DATASET_CODES), cache=False, people_backend=backend
    )
    return lint([root], config)


def _codes(diagnostics: list[Diagnostic]) -> dict[str, list[Diagnostic]]:
    found: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        found.setdefault(diagnostic.code, []).append(diagnostic)
    return found


def test_the_images_show_what_the_varied_set_needs(varied: Path) -> None:
    views = _lint(varied).views
    assert count(views, "angle") == {"front": 9, "left": 3, "right": 3}
    framing = count(views, "framing")
    assert framing["close-up"] >= 2 and framing["full-body"] >= 2 and framing["waist-up"] >= 2
    # Smiles from the image; the cameraman's neutral face from his captions.
    by_name = {Path(v.display).stem: v for v in views}
    assert by_name["waist-up"].expression.source == "both"
    assert by_name["right"].expression.value == "neutral"
    assert by_name["right"].expression.source == "caption"
    assert by_name["left"].angle.image == "left" and by_name["right"].angle.image == "right"


def test_no_dataset_rule_fires_on_a_varied_set(varied: Path) -> None:
    result = _lint(varied, *DATASET_CODES, "D002", "D003")
    assert result.diagnostics == [], [d.message for d in result.diagnostics]


def test_each_dataset_rule_fires_on_a_uniform_set(uniform: Path) -> None:
    # The Haar backend sees no gaze, so gaze comes from the captions alone, which
    # all say "looking at viewer": D007 fires. (mediapipe sees the cameraman
    # look away: see test_gaze_from_the_images_counts_the_profile.)
    found = _codes(_lint(uniform, backend="opencv").diagnostics)
    assert set(found) == set(DATASET_CODES), {c: [d.message for d in ds] for c, ds in found.items()}
    (size,) = found["D001"]
    assert "10 images: fewer than 15" in size.message
    (angles,) = found["D004"]
    assert "left in 0, right in 1" in angles.message
    assert len(angles.related) == 9  # the front views it counted
    (framings,) = found["D005"]
    assert "full-body in 0" in framings.message
    (expressions,) = found["D006"]
    assert "smiling in 9 of 9" in expressions.message
    assert "image and caption agree" in expressions.message
    (gaze,) = found["D007"]
    assert "away in 0" in gaze.message and "caption alone" in gaze.message
    assert any("'spacesuit' is in 10 of 10" in d.message for d in found["D008"])
    assert any("'studio' is in 10 of 10" in d.message for d in found["D009"])
    # Findings about the set point at its folder and name the files they counted.
    assert all((d.path or "").endswith("/") and len(d.related) == 10 for d in found["D008"])


def test_gaze_from_the_images_counts_the_profile(uniform: Path) -> None:
    result = _lint(uniform, "D007", backend="mediapipe")
    gaze = {Path(v.display).stem: v.gaze for v in result.views}
    assert gaze["says-left"].image == "away"  # the cameraman, in profile
    assert sum(1 for g in gaze.values() if g.image == "camera") == 9
    assert result.diagnostics == []  # camera 9, away 1: the variety D007 asks for


def test_agreement_names_each_contradiction(uniform: Path) -> None:
    contradictions = {
        Path(d.path or "").stem: d for d in _codes(_lint(uniform, "A010").diagnostics)["A010"]
    }
    assert set(contradictions) == {"says-full-body", "no-smile-named", "grayscale", "says-left"}
    framing = contradictions["says-full-body"]
    assert "framing: the caption says full-body ('full body'), the image shows close-up" in (
        framing.message
    )
    # Pointed at the phrase in the caption file, so an editor can jump to it.
    caption = (uniform / "says-full-body.txt").read_text(encoding="utf-8")
    assert framing.line == 1 and framing.column is not None
    assert caption[framing.column - 1 :].startswith("full body")
    assert "the image shows smiling" in contradictions["no-smile-named"].message
    assert "the image is grayscale" in contradictions["grayscale"].message
    assert "caption says left ('facing left'), the image shows right" in (
        contradictions["says-left"].message
    )


def test_a_monochrome_image_captioned_as_such_agrees(tmp_path: Path) -> None:
    gray = cv2.cvtColor(cv2.cvtColor(_rgb("chelsea"), cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    _write(tmp_path, "said", gray, f"{TRIGGER}, a black and white photo of a cat.")
    _write(tmp_path, "unsaid", gray, f"{TRIGGER}, a photo of a cat.")
    found = _lint(tmp_path, "A010").diagnostics
    assert [Path(d.path or "").stem for d in found] == ["unsaid"]


def test_dataset_size_bounds(tmp_path: Path) -> None:
    astronaut = _rgb("astronaut")
    for index in range(16):
        _write(tmp_path, f"{index:03d}", np.roll(astronaut, 20 * index, axis=0), None)
    assert _lint(tmp_path, "D001").diagnostics == []
    config = Config(trigger=TRIGGER, select=["D001"], cache=False, preset="flux-character")
    assert lint([tmp_path], config).diagnostics == []


def test_statistics_count_what_the_rules_count(varied: Path) -> None:
    result = _lint(varied)
    statistics = compute(result.views, result.diagnostics)
    assert statistics.images == 15 and statistics.captions == 15
    angles = {entry.value: entry.count for entry in statistics.variety["angle"]}
    assert angles == {"front": 9, "left": 3, "right": 3}
    expression = {entry.value: entry for entry in statistics.variety["expression"]}
    assert expression["neutral"].caption == 6 and expression["smiling"].both == 9
    assert statistics.phrases["clothing"]["spacesuit"] == 3
    assert sum(statistics.caption_words.histogram.values()) == 15
    assert statistics.tags["looking away"] == 6


def test_statistics_in_terminal_and_json(varied: Path) -> None:
    shown = run_lintcap("check", varied, "--select", "D", "--statistics", "--no-cache")
    assert shown.returncode == 0, shown.stderr
    for title in ("Variety", "Caption length", "Tag frequencies", "Findings per code"):
        assert title in shown.stdout
    as_json = run_lintcap(
        "check", varied, "--select", "D", "--statistics", "--format", "json", "--no-cache"
    )
    payload = json.loads(as_json.stdout)
    assert payload["findings"] == []
    assert payload["statistics"]["images"] == 15
    angle = {e["value"]: e["count"] for e in payload["statistics"]["variety"]["angle"]}
    assert angle == {"front": 9, "left": 3, "right": 3}


def test_top_tags_order_ties_by_the_tag() -> None:
    """Tags held by as many captions come in the tag's order, whichever was
    seen first (a Counter kept the order of its sets' hashes, which changed
    from run to run), and the top list's cut falls by that order too."""
    from lintcap.statistics import TOP_TAGS
    from lintcap.variety import ItemView

    names = [f"tag {n:03d}" for n in range(TOP_TAGS + 5)]
    views = [
        ItemView(index=i, display=f"{i}.txt", tags=[name]) for i, name in enumerate(reversed(names))
    ]
    views.append(ItemView(index=len(views), display="x.txt", tags=["zz", "tag 004"]))
    statistics = compute(views, [])
    assert list(statistics.tags) == [
        "tag 004",
        *[n for n in names if n != "tag 004"][: TOP_TAGS - 1],
    ]
    assert statistics.other_tags == len(names) + 2 - sum(statistics.tags.values())
