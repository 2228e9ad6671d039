"""Image analysis: loading, measurements, the fact cache, the process pool,
and detection quality measured on a labelled set of real photographs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from imageset import MEASURED, Score, base_photo, build, evaluate
from PIL import Image

from lintcap.config import Config
from lintcap.engine.run import lint
from lintcap.image import analyser
from lintcap.image.cache import CACHE_DIR_NAME
from lintcap.image.quality import blur_effect, estimate_jpeg_quality

#: Precision and recall each code reached on the labelled set
#: (bench/image_quality.py), less a small margin. A change that detects worse
#: fails here; one that detects better should raise these.
FLOORS: dict[str, tuple[float, float]] = {
    "I004": (0.85, 0.85),
    "I005": (0.75, 0.85),
    "I006": (0.75, 0.95),
    "I007": (0.95, 0.95),
    # Judged against the set (I008 0.50/0.60 -> 0.59/0.68): the synthetic
    # "generated-*" pictures have no dark pixel (lifted blacks) and the
    # orange cat photograph's casts stand out from this mixed set.
    "I008": (0.55, 0.65),
    "I009": (0.70, 0.95),
    "I010": (0.95, 0.95),
    "I011": (0.95, 0.95),
    "I012": (0.95, 0.95),
    # The falloff condition: no dark-backdrop portrait is a vignette any more
    # (real photographs: precision 0.47 -> 1.00), one faint edit is missed.
    "I013": (0.75, 0.75),
    # The learned text detector (the text extra, installed by dev): more
    # watermarks found; real lettering on the darkened rocket's launch tower
    # costs precision. The centre watermarks repeated across the set are
    # found by the set-level pass (lintcap.image.repeated): 0.80 / 0.60.
    # Reading the unsure lines (lintcap.image.wording): the 3 false W001
    # lines do not read as text, 1.00 / 0.60.
    "W001": (0.95, 0.55),
    "W002": (0.95, 0.80),
    "W003": (0.75, 0.95),
    "D002": (0.95, 0.95),
    "D003": (0.95, 0.85),
}


@pytest.fixture(scope="session")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Score]:
    folder = tmp_path_factory.mktemp("labelled")
    scores, _ = evaluate(folder, build(folder), jobs=2)
    return scores


@pytest.mark.parametrize("code", MEASURED)
def test_detection_reaches_its_floor(labelled: dict[str, Score], code: str) -> None:
    score = labelled[code]
    precision, recall = FLOORS[code]
    assert score.precision >= precision, f"{code} precision {score.precision:.2f} ({score})"
    assert score.recall >= recall, f"{code} recall {score.recall:.2f} ({score})"


def test_every_measured_code_has_a_floor() -> None:
    assert set(FLOORS) == set(MEASURED)


# --- measurements ----------------------------------------------------------------


@pytest.mark.parametrize("quality", [15, 40, 75, 95])
def test_jpeg_quality_is_read_from_the_quantisation_tables(quality: int) -> None:
    buffer = io.BytesIO()
    Image.fromarray(base_photo("coffee")).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as image:
        estimate = estimate_jpeg_quality(dict(image.quantization))
    assert estimate is not None and abs(estimate - quality) <= 2


def test_blur_effect_grows_with_blur_whatever_the_photo() -> None:
    for name in ("camera", "coffee", "chelsea"):
        gray = cv2.cvtColor(base_photo(name), cv2.COLOR_RGB2GRAY)
        values = [
            blur_effect(cv2.GaussianBlur(gray, (0, 0), s) if s else gray) for s in (0, 1, 2, 4)
        ]
        assert values == sorted(values), (name, values)
        assert values[0] < 0.7 < values[-1], (name, values)


def _dataset(tmp_path: Path, images: dict[str, Image.Image | bytes]) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    for name, image in images.items():
        if isinstance(image, bytes):
            (root / name).write_bytes(image)
        else:
            image.save(root / name)
        (root / name).with_suffix(".txt").write_text("ohwx, a photo of a woman.", encoding="utf-8")
    return root


def _findings(root: Path, **config: object) -> dict[str, set[str]]:
    settings = Config.model_validate(
        {"select": ["I", "W", "F006", "F009"], "cache": False, **config}
    )
    found: dict[str, set[str]] = {}
    for diagnostic in lint([root], settings).diagnostics:
        found.setdefault(Path(diagnostic.path or "").name, set()).add(diagnostic.code)
    return found


def test_exif_orientation_is_applied_and_reported(tmp_path: Path) -> None:
    photo = Image.fromarray(base_photo("coffee"))  # 600 x 400
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif.tobytes())
    root = _dataset(tmp_path, {"turned.jpg": buffer.getvalue(), "upright.jpg": photo})
    facts = analyser.analyse_image(
        root / "turned.jpg", "turned.jpg", "x", analyser.AnalysisSettings()
    )
    assert facts.info is not None
    assert (facts.info.width, facts.info.height) == (400, 600)
    found = _findings(root)
    assert "I012" in found["turned.jpg"] and "I012" not in found.get("upright.jpg", set())


def test_transparent_pixels_are_measured(tmp_path: Path) -> None:
    rgba = np.dstack([base_photo("chelsea"), np.full((300, 451), 255, np.uint8)])
    rgba[:150, :, 3] = 0  # the top half is cut out
    opaque = Image.fromarray(rgba.copy()).convert("RGB")
    root = _dataset(tmp_path, {"cutout.png": Image.fromarray(rgba), "opaque.png": opaque})
    facts = analyser.analyse_image(root / "cutout.png", "c", "x", analyser.AnalysisSettings())
    assert facts.info is not None and facts.info.has_alpha
    assert facts.info.transparent_share == pytest.approx(0.5, abs=0.01)
    found = _findings(root)
    assert "I011" in found["cutout.png"] and "I011" not in found.get("opaque.png", set())


def test_cmyk_sixteen_bit_and_palette_images_are_analysed(tmp_path: Path) -> None:
    photo = Image.fromarray(base_photo("astronaut"))
    deep = Image.fromarray((np.asarray(photo.convert("L"), np.uint16) * 257).astype(np.uint16))
    root = _dataset(
        tmp_path,
        {
            "cmyk.jpg": photo.convert("CMYK"),
            "deep.png": deep,
            "palette.png": photo.convert("P"),
        },
    )
    settings = analyser.AnalysisSettings()
    deep_facts = analyser.analyse_image(root / "deep.png", "deep.png", "x", settings)
    assert deep_facts.info is not None and deep_facts.info.bits_per_channel == 16
    assert deep_facts.colour is not None and deep_facts.colour.contrast > 150  # not clipped
    for name in ("cmyk.jpg", "palette.png"):
        facts = analyser.analyse_image(root / name, name, "x", settings)
        assert facts.problems == [] and facts.quality is not None, name
    assert not any(codes & {"F006"} for codes in _findings(root).values())


def test_truncated_image_and_bomb_are_findings_not_crashes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(base_photo("coffee")).save(buffer, "JPEG")
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")  # 400 Mpx, tiny file
    root = _dataset(tmp_path, {"cut.jpg": truncated, "bomb.png": bomb.getvalue()})
    found = _findings(root)
    assert found["cut.jpg"] == {"F006"}
    assert found["bomb.png"] == {"F009"}


# --- cache and pool --------------------------------------------------------------


def _photos(tmp_path: Path, count: int = 5) -> Path:
    images: dict[str, Image.Image | bytes] = {}
    for index in range(count):
        rgb = base_photo(("astronaut", "coffee", "chelsea", "rocket", "camera")[index % 5])
        if index >= 5:
            rgb = np.ascontiguousarray(rgb[:, ::-1])
        images[f"{index:03d}.jpg"] = Image.fromarray(rgb)
    return _dataset(tmp_path, images)


def _codes(root: Path, **config: object) -> list[tuple[str, str | None, str]]:
    settings = Config.model_validate({"select": ["I", "W", "D"], **config})
    result = lint([root], settings)
    return [(d.code, d.path, d.message) for d in result.diagnostics]


def test_second_run_decodes_no_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _photos(tmp_path)
    decodes: list[Path] = []
    original = analyser.load_image

    def counting(path: Path, *args: object) -> object:
        decodes.append(path)
        return original(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(analyser, "load_image", counting)
    config = Config(select=["I", "W", "D"], jobs=1)
    first = lint([root], config)
    assert len(decodes) == 5 and first.images_analysed == 5
    assert (root / CACHE_DIR_NAME / ".gitignore").read_text().strip().endswith("*")
    decodes.clear()
    second = lint([root], config)
    assert decodes == [] and second.images_cached == 5 and second.images_analysed == 0
    assert second.diagnostics == first.diagnostics


def test_corrupt_cache_files_are_misses(tmp_path: Path) -> None:
    root = _photos(tmp_path)
    expected = _codes(root, jobs=1)
    files = sorted((root / CACHE_DIR_NAME).rglob("*.json"))
    assert len(files) == 5
    files[0].write_bytes(b"")  # truncated
    files[1].write_bytes(b"\x00\xff not json")
    files[2].write_text(json.dumps({"sha256": "0" * 64}))  # someone else's facts
    files[3].write_text('{"sha256": 42}')  # the wrong shape
    assert _codes(root, jobs=1) == expected
    settings = Config(select=["I", "W", "D"], jobs=1)
    assert lint([root], settings).images_cached == 5  # rewritten by the run before


def test_unwritable_cache_does_not_break_the_run(tmp_path: Path) -> None:
    root = _photos(tmp_path, 2)
    (root / CACHE_DIR_NAME).write_text("a file where the cache folder should be")
    assert _codes(root, jobs=1) == _codes(root, cache=False)


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    root = _photos(tmp_path, 6)
    command = [sys.executable, "-m", "lintcap", "check", "--select", "I,W,D", "--format", "json"]
    runs = [
        subprocess.Popen([*command, str(root)], stdout=subprocess.PIPE, text=True) for _ in "ab"
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [1, 1]
    assert outputs[0] == outputs[1] and json.loads(outputs[0])
    assert len(list((root / CACHE_DIR_NAME).rglob("*.json"))) == 6
    assert not list((root / CACHE_DIR_NAME).rglob("*.tmp"))


def test_process_pool_gives_the_serial_result(tmp_path: Path) -> None:
    root = _photos(tmp_path, 8)
    assert _codes(root, jobs=2, cache=False) == _codes(root, jobs=1, cache=False)


#: cleanvision's checks: only the decode, the face boxes, quality and hashes.
EQUAL_WORK = ["I004", "I005", "I006", "I007", "I001", "I003", "D002", "D003"]


def test_equal_work_decodes_once_and_runs_no_text_or_people_detector(
    tmp_path: Path,
    analyser_calls: Callable[[list[str]], dict[str, int]],
) -> None:
    root = _photos(tmp_path, 3)
    stages = ["load_image", "detect_faces", "find_text", "detect_people", "measure_overlay"]
    calls = analyser_calls(stages)
    result = lint([root], Config(select=EQUAL_WORK, jobs=1, cache=False))
    # measure_overlay here is the border bars alone (decode family), no text search.
    assert calls == {
        "load_image": 3, "detect_faces": 3, "find_text": 0, "detect_people": 0, "measure_overlay": 3
    }  # fmt: skip
    facts = [item.image_facts for item in result.items if item.image_facts is not None]
    assert all(f.people is None and f.face_boxes is not None and f.phash for f in facts)
    assert all(
        sorted(f.families) == ["colour", "decode", "faces", "hash", "quality"] for f in facts
    )


def test_a_run_that_needs_more_measures_only_the_missing_families(
    tmp_path: Path,
    analyser_calls: Callable[[list[str]], dict[str, int]],
) -> None:
    """The cache keeps families apart: after an equal-work run, a run of every
    image rule measures text and people only (quality and hashes come from
    the cache), and its findings are those of a cold run; a narrower run
    after it sees no more than it would cold."""
    root = _photos(tmp_path, 2)
    cold_all = _codes(root, jobs=1, cache=False)
    cold_equal = _codes(root, select=EQUAL_WORK, jobs=1, cache=False)
    calls = analyser_calls(["measure_quality", "perceptual_hash", "find_text"])
    assert _codes(root, select=EQUAL_WORK, jobs=1) == cold_equal
    assert calls == {"measure_quality": 2, "perceptual_hash": 2, "find_text": 0}
    assert _codes(root, jobs=1) == cold_all
    learned = analyser.AnalysisSettings().text_backend() == "learned"  # the text extra
    assert calls == {"measure_quality": 2, "perceptual_hash": 2, "find_text": 2 if learned else 0}
    result = lint([root], Config(select=EQUAL_WORK, jobs=1))
    assert result.images_cached == 2 and result.images_analysed == 0
    assert [(d.code, d.path, d.message) for d in result.diagnostics] == cold_equal
    narrow = [item.image_facts for item in result.items if item.image_facts is not None]
    assert len(narrow) == 2 and all(f.people is None and f.overlay for f in narrow)
    assert all(f.overlay and f.overlay.text_detector == "morphology" for f in narrow)
    assert len(list((root / CACHE_DIR_NAME).rglob("*.json"))) == 2  # one entry per image


def test_text_rules_get_the_perceptual_hash_their_set_level_pass_reads() -> None:
    """lintcap.image.repeated compares pictures by perceptual hash: a run of
    the text rules alone measures it too, as a run with D003 does."""
    text_only = analyser.AnalysisSettings(families=frozenset({"text"}))
    assert text_only.wanted() == ("decode", "hash", "text")
    assert analyser.AnalysisSettings(families=frozenset({"quality"})).wanted() == (
        "decode", "faces", "colour", "quality"
    )  # fmt: skip


def test_a_cached_reading_problem_serves_every_selection(
    tmp_path: Path,
    analyser_calls: Callable[[list[str]], dict[str, int]],
) -> None:
    """A file that cannot be decoded has no other family to measure: once
    cached, a run that reads more families does not try it again."""
    buffer = io.BytesIO()
    Image.fromarray(base_photo("coffee")).save(buffer, "JPEG")
    root = _dataset(tmp_path, {"cut.jpg": buffer.getvalue()[:2000]})
    first = lint([root], Config(select=["I001", "F006"], jobs=1))
    calls = analyser_calls(["load_image"])
    second = lint([root], Config(select=["I", "W", "D002", "D003", "F006"], jobs=1))
    assert calls == {"load_image": 0} and second.images_cached == 1
    broken = [[d.message for d in run.diagnostics if d.code == "F006"] for run in (first, second)]
    assert len(broken[0]) == 1 and broken[0] == broken[1]


def test_settings_are_part_of_the_cache_key() -> None:
    small = analyser.AnalysisSettings(size=512)
    assert small.cache_key() != analyser.AnalysisSettings().cache_key()
    assert analyser.AnalysisSettings().cache_key() == analyser.AnalysisSettings().cache_key()


def test_the_text_key_takes_in_the_code_that_decides_text_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited reading or classifying module must not serve the text facts
    cached by the old one: the text family's key changes with its source."""
    shipped = analyser.TEXT_SOURCE
    for name in analyser.TEXT_MODULES:
        (tmp_path / name).write_bytes((shipped / name).read_bytes())

    def text_key() -> str:
        analyser._FAMILY_KEYS.clear()
        return analyser.AnalysisSettings().family_keys()["text"]

    before = text_key()
    monkeypatch.setattr(analyser, "TEXT_SOURCE", tmp_path)
    assert text_key() == before
    with (tmp_path / "wording.py").open("a") as module:
        module.write("# a new reading rule\n")
    edited = text_key()
    monkeypatch.setattr(analyser, "TEXT_SOURCE", shipped)
    assert edited != before and text_key() == before


# --- people facts in the run -------------------------------------------------------


def test_focus_is_measured_on_the_face_not_the_background(tmp_path: Path) -> None:
    """A sharp face on a blurred background (a portrait's bokeh) passes I004;
    the same picture blurred all over does not."""
    rgb = cv2.resize(base_photo("astronaut"), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    bokeh = cv2.GaussianBlur(rgb, (0, 0), 6)
    face = (slice(60, 420), slice(320, 600))  # the head, at 1024 px, with a margin
    bokeh[face] = rgb[face]
    root = _dataset(
        tmp_path,
        {
            "portrait.jpg": Image.fromarray(bokeh),
            "blurred.jpg": Image.fromarray(cv2.GaussianBlur(rgb, (0, 0), 6)),
        },
    )
    facts = analyser.analyse_image(root / "portrait.jpg", "p", "x", analyser.AnalysisSettings())
    assert facts.quality is not None and facts.quality.blur_region == "subject"
    found = _findings(root)
    assert "I004" not in found.get("portrait.jpg", set())
    assert "I004" in found["blurred.jpg"]


@pytest.mark.faces
def test_mediapipe_backend_runs_through_the_linter(tmp_path: Path) -> None:
    """I004 reads the face detector's box alone; a people rule (A010) gets
    the face mesh's facts on the same face."""
    root = _dataset(tmp_path, {"a.jpg": Image.fromarray(base_photo("astronaut"))})
    settings = Config(select=["I004"], people_backend="mediapipe", cache=False)
    [item] = lint([root], settings).items
    assert item.image_facts is not None and item.image_facts.people is None
    [box] = item.image_facts.face_boxes or []
    from lintcap.report.html import _boxes

    assert [b.kind for b in _boxes(item)] == ["face"]  # the report shows the box measured on
    settings = Config(select=["A010"], people_backend="mediapipe", cache=False)
    [item] = lint([root], settings).items
    assert item.image_facts is not None and item.image_facts.people is not None
    people = item.image_facts.people
    assert people.backend == "mediapipe" and people.faces == [box] and people.yaw == "front"


def test_perceptual_hash_is_imagehashs_phash() -> None:
    """lintcap computes imagehash's phash itself (no scipy in the install):
    the same DCT, the same bits, the same hex string, so cached hashes and
    near-duplicate distances are unchanged."""
    import cv2
    import imagehash
    import scipy.fftpack

    from lintcap.image.hashing import bits_to_hex, perceptual_hash

    generator = np.random.default_rng(3)
    for _ in range(50):
        bits = generator.integers(0, 2, (8, 8)).astype(bool)
        assert bits_to_hex(bits) == str(imagehash.ImageHash(bits))
    for name in ("coffee", "astronaut", "camera", "chelsea"):
        gray = np.asarray(Image.fromarray(base_photo(name)).convert("L"))
        thumbnail = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float64)
        dct = scipy.fftpack.dct(scipy.fftpack.dct(thumbnail, axis=0), axis=1)[:8, :8]
        assert perceptual_hash(gray) == str(imagehash.ImageHash(dct > np.median(dct)))


def test_near_duplicate_distance_is_the_hamming_distance_of_the_hashes() -> None:
    import imagehash

    from lintcap.engine.image_checks import _nearest

    first = Image.fromarray(base_photo("coffee"))
    second = first.resize((500, 333)).rotate(2)
    a, b = imagehash.phash(first), imagehash.phash(second)
    match = _nearest(int(str(a), 16), [(7, int(str(b), 16))], max_distance=64)
    assert match == (7, a - b)
    assert _nearest(int(str(a), 16), [(7, int(str(b), 16))], max_distance=(a - b) - 1) is None


def test_vignette_falloff_tells_a_vignette_from_a_dark_background() -> None:
    """Darker corners come from a vignette and from a subject lit before a
    dark backdrop; only the vignette darkens each edge towards its corners."""
    from lintcap.image.quality import vignette, vignette_falloff

    height, width = 240, 320
    y, x = np.ogrid[:height, :width]
    radius = np.hypot((x - width / 2) / (width / 2), (y - height / 2) / (height / 2))
    grey = np.full((height, width), 170.0)
    vignetted = (grey * np.clip(1 - 1.4 * np.clip(radius - 0.35, 0, None) ** 1.5, 0, 1)).astype(
        np.uint8
    )
    spotlit = np.full((height, width), 15, np.uint8)
    spotlit[60:180, 100:220] = 200  # a lit figure on a dark stage
    assert vignette(vignetted) > 0.3 and vignette(spotlit) > 0.3
    assert vignette_falloff(vignetted) > 0.1
    assert vignette_falloff(spotlit) < 0.02


@pytest.mark.parametrize("shape", [(1, 1), (1, 900), (900, 1)])
def test_one_pixel_thin_pictures_have_no_border_and_no_failure(
    shape: tuple[int, int], tmp_path: Path
) -> None:
    from lintcap.image.overlay import measure_overlay

    # Every family measured (they raised IndexError in the border bars, then
    # an OpenCV error halving the colour thumbnail to 0 pixels).
    path = tmp_path / "thin.png"
    Image.new("RGB", shape[::-1]).save(path)
    facts = analyser.analyse_image(path, "thin.png", "0" * 64, analyser.AnalysisSettings())
    assert facts.problems == [] and facts.colour is not None

    overlay = measure_overlay(np.zeros((*shape, 3), np.uint8), search_text=False)
    # A side under three pixels has no room for a bar (it used to raise IndexError).
    if shape[0] < 3:
        assert (overlay.border_top, overlay.border_bottom) == (0, 0)
    if shape[1] < 3:
        assert (overlay.border_left, overlay.border_right) == (0, 0)
