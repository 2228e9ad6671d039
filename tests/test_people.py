"""People facts (lintcap.image.people) on real photographs from scikit-image.

* ``astronaut()``: Eileen Collins, facing the camera, smiling, the picture cut
  at about her hips; her face is about x 178-272, y 68-166 of 512 x 512.
* ``camera()``: a man seen from the side, turned towards the image's right
  edge, looking into a camera; his face is about x 185-265, y 100-195.
* ``coffee()``, ``chelsea()`` (a cat), ``rocket()``: no people.

Tests of the mediapipe backend carry the ``faces`` marker: they need the
``faces`` extra and fail without it (``PeopleBackendUnavailable``), so an
environment without it deselects them with ``-m "not faces"``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from pydantic import ValidationError
from skimage import data as photos

from lintcap.image import people
from lintcap.image.people import (
    PeopleBackendUnavailable,
    PeopleFacts,
    PeopleSettings,
    detect_people,
    framing_from_face,
)

RGB = NDArray[np.uint8]

BACKENDS = [
    pytest.param("opencv", id="opencv"),
    pytest.param("mediapipe", id="mediapipe", marks=pytest.mark.faces),
]
#: 512: the photographs as shipped; 1024: enlarged to what the analyser passes.
SIZES = [512, 1024]


def photo(name: str, size: int = 512) -> RGB:
    """A scikit-image photograph as RGB, its long side resized to ``size``."""
    array = np.asarray(getattr(photos, name)())
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    array = np.ascontiguousarray(array[..., :3], dtype=np.uint8)
    height, width = array.shape[:2]
    if max(height, width) != size:
        scale = size / max(height, width)
        dims = (round(width * scale), round(height * scale))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        array = np.asarray(cv2.resize(array, dims, interpolation=interpolation), dtype=np.uint8)
    return array


def mirror(rgb: RGB) -> RGB:
    return np.ascontiguousarray(rgb[:, ::-1])


def centre_in_512(facts: PeopleFacts, size: int) -> tuple[float, float, float]:
    """The main face's centre and width, in pixels of the 512-pixel photograph."""
    face = facts.faces[0]
    scale = 512 / size
    return ((face.x + face.w / 2) * scale, (face.y + face.h / 2) * scale, face.w * scale)


# --- a frontal face -------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_astronaut_has_one_frontal_smiling_face(backend: str, size: int) -> None:
    facts = detect_people(photo("astronaut", size), backend=backend)  # type: ignore[arg-type]
    assert facts.backend == backend
    assert len(facts.faces) == 1
    cx, cy, width = centre_in_512(facts, size)
    # Measured: opencv (225, 115) 98 px wide, mediapipe (226, 120) 104 px wide.
    assert 205 <= cx <= 245
    assert 100 <= cy <= 140
    assert 75 <= width <= 130
    assert 0.0 < facts.faces[0].confidence <= 1.0
    assert facts.yaw == "front"
    assert facts.expression == "smiling"
    # Cut at the hips: about 3.8 face heights of picture below her chin.
    assert facts.framing in ("portrait", "waist-up")
    assert {"faces", "yaw", "framing", "expression"} <= facts.sources.keys()
    assert all(source.startswith(f"{backend}:") for source in facts.sources.values())


def test_opencv_frontal_face_names_its_sources() -> None:
    facts = detect_people(photo("astronaut"))
    assert facts.sources == {
        "faces": "opencv:frontal-cascade",
        "yaw": "opencv:frontal-cascade",
        "expression": "opencv:smile-cascade",
        "framing": "opencv:face-geometry",
    }
    # No cheap signed yaw and no gaze from the cascades.
    assert facts.yaw_score is None
    assert facts.gaze is None


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_crop_to_the_face_is_a_close_up(backend: str) -> None:
    face = np.ascontiguousarray(photo("astronaut")[40:200, 140:310])
    facts = detect_people(face, backend=backend)  # type: ignore[arg-type]
    assert len(facts.faces) == 1
    assert facts.framing == "close-up"
    assert facts.yaw == "front"


@pytest.mark.parametrize("backend", BACKENDS)
def test_head_and_shoulders_is_tighter_than_the_whole_picture(backend: str) -> None:
    """The top 300 pixels: head, shoulders and the collar ring."""
    order = ["close-up", "portrait", "waist-up", "full-body"]
    whole = detect_people(photo("astronaut"), backend=backend)  # type: ignore[arg-type]
    head = np.ascontiguousarray(photo("astronaut")[0:300, 80:380])
    top = detect_people(head, backend=backend)  # type: ignore[arg-type]
    assert whole.framing is not None and top.framing is not None
    assert order.index(top.framing) < order.index(whole.framing)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_mirrored_astronaut_has_the_mirrored_face(backend: str, size: int) -> None:
    image = photo("astronaut", size)
    facts = detect_people(image, backend=backend)  # type: ignore[arg-type]
    flipped = detect_people(mirror(image), backend=backend)  # type: ignore[arg-type]
    assert len(flipped.faces) == len(facts.faces) == 1
    cx, cy, width = centre_in_512(facts, size)
    fx, fy, fwidth = centre_in_512(flipped, size)
    assert abs((512 - fx) - cx) <= 8
    assert abs(fy - cy) <= 8
    assert abs(fwidth - width) <= 12
    assert flipped.yaw == facts.yaw == "front"
    assert flipped.expression == facts.expression
    if backend == "opencv":
        assert facts.yaw_score is None and flipped.yaw_score is None
    else:
        # Frontal: within a degree or two of zero both ways (measured -1.0..0.7),
        # too close to zero for its sign to mean anything; see the profile test.
        assert facts.yaw_score is not None and flipped.yaw_score is not None
        assert abs(facts.yaw_score) < 10 and abs(flipped.yaw_score) < 10


# --- a profile ------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_camera_man_is_turned_right_and_his_mirror_image_left(backend: str, size: int) -> None:
    image = photo("camera", size)
    facts = detect_people(image, backend=backend)  # type: ignore[arg-type]
    flipped = detect_people(mirror(image), backend=backend)  # type: ignore[arg-type]
    assert len(facts.faces) == len(flipped.faces) == 1
    cx, cy, width = centre_in_512(facts, size)
    # Measured: opencv (230, 145) 117-120 px wide (the profile box takes in some
    # hair), mediapipe (238, 161) 76 px wide.
    assert 200 <= cx <= 260
    assert 125 <= cy <= 175
    assert 50 <= width <= 150
    fx, _, _ = centre_in_512(flipped, size)
    assert 252 <= fx <= 312
    assert facts.yaw == "right"
    assert flipped.yaw == "left"
    # A face seen from the side cannot be a close-up of a frontal smile.
    assert facts.framing in ("portrait", "waist-up", "full-body")
    assert facts.expression != "smiling"
    if backend == "opencv":
        assert facts.sources["yaw"] == "opencv:profile-cascade"
        assert facts.yaw_score is None
    else:
        # Measured about +50 and -53 degrees.
        assert facts.yaw_score is not None and flipped.yaw_score is not None
        assert facts.yaw_score > 30
        assert flipped.yaw_score < -30


# --- gaze (mediapipe only) ---------------------------------------------------------


@pytest.mark.faces
def test_mediapipe_gaze_at_the_camera_and_away() -> None:
    astronaut = detect_people(photo("astronaut"), backend="mediapipe")
    camera_man = detect_people(photo("camera"), backend="mediapipe")
    assert astronaut.gaze == "camera"
    assert camera_man.gaze == "away"
    assert astronaut.sources["gaze"] == "mediapipe:iris"


# --- no people ------------------------------------------------------------------


def gradient() -> RGB:
    ramp = np.tile(np.linspace(0, 255, 1024, dtype=np.uint8), (768, 1))
    return np.ascontiguousarray(np.stack([ramp, ramp[:, ::-1], ramp], axis=-1))


NO_PEOPLE = {
    "coffee": lambda: photo("coffee", 1024),
    "cat": lambda: photo("chelsea", 1024),
    "rocket": lambda: photo("rocket", 1024),
    "gradient": gradient,
    "grey": lambda: np.full((600, 800, 3), 128, dtype=np.uint8),
}


@pytest.mark.parametrize("name", sorted(NO_PEOPLE))
@pytest.mark.parametrize("backend", BACKENDS)
def test_pictures_without_people_have_no_faces(backend: str, name: str) -> None:
    facts = detect_people(NO_PEOPLE[name](), backend=backend)  # type: ignore[arg-type]
    assert facts == PeopleFacts(backend=backend)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
def test_faces_below_the_minimum_share_are_ignored(backend: str) -> None:
    """Her face is about 0.19 of the picture's side."""
    settings = PeopleSettings(min_face_share=0.3)
    facts = detect_people(photo("astronaut"), settings, backend)  # type: ignore[arg-type]
    assert facts.faces == []
    assert facts.framing is None


# --- settings, geometry, errors -------------------------------------------------


def test_settings_read_kebab_case_and_forbid_unknown_keys() -> None:
    settings = PeopleSettings.model_validate({"min-face-share": 0.1, "detect-size": 320})
    assert settings.min_face_share == 0.1
    assert settings.detect_size == 320
    assert PeopleSettings.model_validate({"smile_min_neighbors": 9}).smile_min_neighbors == 9
    with pytest.raises(ValidationError):
        PeopleSettings.model_validate({"min-face-size": 0.1})
    with pytest.raises(ValidationError):
        PeopleSettings.model_validate({"portrait-below": 6.0})  # above waist-up-below
    dumped = PeopleSettings().model_dump(by_alias=True)
    assert "close-up-face-share" in dumped
    assert PeopleSettings.model_validate(dumped) == PeopleSettings()


@pytest.mark.parametrize(
    ("box", "height", "expected"),
    [
        ((0, 60, 50, 50), 150, "close-up"),  # 0.8 face heights below
        ((0, 0, 450, 450), 1000, "close-up"),  # 11 below, but 45 % of the height
        ((0, 100, 100, 100), 300, "portrait"),  # 1.0 below: cut at the chest
        ((0, 0, 100, 100), 300, "waist-up"),  # 2.0 below: cut at the waist
        ((0, 0, 40, 40), 260, "full-body"),  # 5.5 below: the knees and more
    ],
)
def test_framing_from_face_counts_face_heights_below(
    box: tuple[int, int, int, int], height: int, expected: str
) -> None:
    assert framing_from_face(box, height, PeopleSettings()) == expected


def test_a_profile_found_both_ways_takes_the_stronger_side() -> None:
    box = (10, 10, 40, 40)
    near = (12, 11, 40, 40)
    other = (100, 0, 60, 60)
    merged = people._merge_profiles([(box, 4, "left"), (near, 7, "right"), (other, 3, "left")])
    assert merged == [(other, 3, "left"), (near, 7, "right")]
    tie = people._merge_profiles([(box, 4, "left"), (near, 4, "right")])
    assert [side for _, _, side in tie] == [None]


def test_facts_survive_json() -> None:
    facts = detect_people(photo("astronaut"))
    assert PeopleFacts.model_validate_json(facts.model_dump_json()) == facts


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((64, 64), dtype=np.uint8),
        np.zeros((64, 64, 4), dtype=np.uint8),
        np.zeros((64, 64, 3), dtype=np.float32),
    ],
    ids=["grey", "rgba", "float"],
)
def test_only_rgb_bytes_are_accepted(array: np.ndarray) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        detect_people(array)


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown people backend"):
        detect_people(photo("astronaut", 64), backend="dlib")  # type: ignore[arg-type]


def test_opencv_without_cascades_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """OpenCV 5 wheels ship no Haar cascades."""
    people._load_cascades.cache_clear()
    monkeypatch.setattr("cv2.data.haarcascades", str(tmp_path))
    try:
        with pytest.raises(PeopleBackendUnavailable, match=r"opencv-python-headless>=4\.8,<5"):
            detect_people(photo("astronaut", 64))
    finally:
        monkeypatch.undo()
        people._load_cascades.cache_clear()


def test_mediapipe_missing_says_to_install_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(people, "_mediapipe_models", [])
    monkeypatch.setitem(sys.modules, "mediapipe", None)  # import mediapipe -> ImportError
    with pytest.raises(PeopleBackendUnavailable, match=r"lintcap\[faces\]"):
        detect_people(photo("astronaut", 64), backend="mediapipe")


def test_auto_backend_is_mediapipe_where_the_faces_extra_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lintcap.image import analyser

    assert analyser.AnalysisSettings().people_backend_used() == "mediapipe"
    real_find_spec = analyser.importlib.util.find_spec

    def without_mediapipe(name: str, *args: object) -> object:
        return None if name == "mediapipe" else real_find_spec(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(analyser.importlib.util, "find_spec", without_mediapipe)
    analyser._installed.cache_clear()  # looked up once per process
    try:
        assert analyser.AnalysisSettings().people_backend_used() == "opencv"
        settings = analyser.AnalysisSettings(people_backend="mediapipe")
        assert settings.people_backend_used() == "mediapipe"
        # The resolved backend is part of the cache key: facts of one never pass for the other.
        assert analyser.AnalysisSettings().cache_key() != settings.cache_key()
    finally:
        analyser._installed.cache_clear()


@pytest.mark.parametrize("backend", ["opencv", "mediapipe"])
def test_images_too_small_for_a_detector_are_not_judged(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No detector finds a face in 16 pixels (bench/people_min_size.py), so none
    runs: the facts say "not judged", which is not "no face"."""
    from lintcap.image.facts import ImageFacts

    def detector(*args: object) -> PeopleFacts:
        raise AssertionError("a detector ran")

    monkeypatch.setattr(people, "_detect_opencv", detector)
    monkeypatch.setattr(people, "_detect_mediapipe", detector)
    face = photo("astronaut")[68:166, 178:272]
    tiny = np.ascontiguousarray(cv2.resize(face, (16, 16), interpolation=cv2.INTER_AREA))
    facts = detect_people(tiny, backend=backend)  # type: ignore[arg-type]
    assert facts.not_judged == "image too small: 16 px short side, under 17"
    assert (facts.faces, facts.framing, facts.yaw, facts.expression) == ([], None, None, None)
    assert ImageFacts(sha256="0" * 64, people=facts).measures()["faces"] is None
    assert PeopleFacts.model_validate_json(facts.model_dump_json()) == facts
    assert detect_people(photo("astronaut", 12), backend=backend).not_judged  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="a detector ran"):  # 17 px: judged
        detect_people(np.zeros((17, 400, 3), dtype=np.uint8), backend=backend)  # type: ignore[arg-type]
    judged = PeopleSettings(min_image_side=8)
    with pytest.raises(AssertionError, match="a detector ran"):
        detect_people(tiny, judged, backend)  # type: ignore[arg-type]


@pytest.mark.faces
@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_the_fallback_face_is_the_opencv_backends_main_face(name: str) -> None:
    rgb = photo(name)
    gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    settings = PeopleSettings(profile_scan_needs_body=False)
    pose = people._Pose(people._mediapipe(), rgb)
    face, source = people._haar_main_face(rgb, settings, gray, pose)
    expected = people._detect_opencv(rgb, settings, gray)
    assert face is not None and face == expected.faces[0]
    assert source == expected.sources["faces"]


@pytest.mark.faces
def test_profile_scans_wait_for_a_body(monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[str] = []
    scan = people._profile_hits

    def counted(*args: object) -> object:
        scans.append("profile")
        return scan(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(people, "_profile_hits", counted)
    rgb = photo("coffee")  # no face and no body: nothing for the pose model
    waited = detect_people(rgb, PeopleSettings(), "mediapipe")
    assert scans == []
    scanned = detect_people(rgb, PeopleSettings(profile_scan_needs_body=False), "mediapipe")
    assert scans == ["profile"]
    assert waited == scanned and waited.faces == []
