"""How the image work is cut up and shared: the pool's tasks, what its fork
server imports, and the quality measures' shared pieces (each must give the
numbers the plain computation gives)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lintcap.image import pool, quality
from lintcap.image.analyser import AnalysisSettings
from lintcap.image.facts import ImageInfo
from lintcap.image.load import LoadedImage


@pytest.mark.parametrize("count", [1, 4, 23, 200, 1000])
@pytest.mark.parametrize("workers", [1, 2, 16])
def test_tasks_hold_every_image_once_and_shrink_to_one(count: int, workers: int) -> None:
    misses = [(index, f"sha{index}") for index in range(count)]
    batches = pool.batched(misses, workers)
    assert [item for batch in batches for item in batch] == misses
    sizes = [len(batch) for batch in batches]
    assert all(1 <= size <= pool.MAX_BATCH_IMAGES for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # large first, the last ones small
    assert sizes[-1] == 1
    if count == 1000 and workers == 2:
        assert sizes[0] == pool.MAX_BATCH_IMAGES and len(batches) < 100


def test_fork_server_imports_mediapipe_only_for_its_people_backend() -> None:
    every = AnalysisSettings(people_backend="mediapipe")
    assert pool.preloaded_packages(every) == ["mediapipe"]
    faces_only = every.model_copy(update={"families": frozenset({"quality"})})
    assert pool.preloaded_packages(faces_only) == ["mediapipe"]  # quality reads the face boxes
    assert pool.preloaded_packages(every.model_copy(update={"people_backend": "opencv"})) == []
    text_only = every.model_copy(update={"families": frozenset({"text"})})
    assert pool.preloaded_packages(text_only) == []


def test_block_step_sums_are_the_plain_sums() -> None:
    gray = np.random.default_rng(3).integers(0, 256, (61, 83), dtype=np.uint8)
    wide = gray.astype(np.int64)
    columns = quality._step_sums(gray[:, 1:], gray[:, :-1], axis=0)
    rows = quality._step_sums(gray[1:, :], gray[:-1, :], axis=1)
    assert np.array_equal(columns, np.abs(np.diff(wide, axis=1)).sum(axis=0))
    assert np.array_equal(rows, np.abs(np.diff(wide, axis=0)).sum(axis=1))
    assert columns.dtype == rows.dtype == np.float64


def test_quality_gives_the_numbers_of_each_measure_alone() -> None:
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    rgb[:20, :20] //= 4  # a dark corner: a vignette of one corner
    gray = np.asarray(rgb.mean(axis=2), dtype=np.uint8)
    measured = quality.measure_quality(rgb, gray, None, None, None, gray)
    assert measured.vignette == round(quality.vignette(gray), 4)
    assert measured.vignette_falloff == round(quality.vignette_falloff(gray), 4)
    assert measured.blockiness == round(quality.blockiness(gray), 4)


def test_colour_residual_bins_lightness_by_eight_levels() -> None:
    """The bins come from the 8-bit lightness (``>> 3``); the float division
    they replaced gives the same spread."""
    rng = np.random.default_rng(7)
    lightness = rng.integers(0, 256, 5000, dtype=np.uint8)
    a = rng.normal(0, 9, 5000).astype(np.float32)
    b = (lightness.astype(np.float32) / 20).astype(np.float32)  # explained by lightness
    bins = np.minimum((lightness.astype(np.float32) / 8).astype(np.int32), 31)
    expected = 0.0
    for channel in (a, b):
        for level in range(32):
            values = channel[bins == level].astype(np.float64)
            if values.size:
                expected += float(values.var() * values.size) / lightness.size
    assert quality._colour_residual(lightness, a, b) == pytest.approx(np.sqrt(expected), rel=1e-9)
    assert quality._colour_residual(lightness, a, a * 0) > quality._colour_residual(lightness, b, b)


def test_colour_planes_are_made_once_an_image_and_change_nothing() -> None:
    rng = np.random.default_rng(9)
    rgb = rng.integers(30, 256, (120, 160, 3), dtype=np.uint8)
    rgb[:12] = 0  # a border bar: the content box leaves it out
    gray = np.asarray(rgb.mean(axis=2), dtype=np.uint8)
    loaded = LoadedImage(ImageInfo(), rgb, gray, gray, None)
    content = (0, 12, 160, 108)
    planes = quality.shared_colour_planes(loaded, content)
    assert quality.shared_colour_planes(loaded, content) is planes
    assert quality.shared_colour_planes(loaded, None) is not planes
    alone = quality.measure_quality(rgb, gray, None, None, content, gray)
    shared = quality.measure_quality(rgb, gray, None, None, content, gray, planes)
    assert shared == alone and alone.clipped_shadows == 0.0  # the black bar is not counted
    colour = quality.measure_colour(rgb, gray, content, planes)
    assert colour == quality.measure_colour(rgb, gray, content)
    assert colour != quality.measure_colour(rgb, gray, None)  # the bar's pixels differ


@pytest.mark.parametrize("jobs", [1, 2])
def test_meanwhile_runs_once_while_the_images_are_analysed(jobs: int, tmp_path: Path) -> None:
    # The run parses its captions there: with a pool, before this process
    # waits for the workers' results; without one, after the images.
    images = _six_images(tmp_path)
    calls: list[int] = []
    settings = AnalysisSettings(families=frozenset({"colour"}))
    facts, stats = pool.analyse_all(
        images, settings, None, jobs, show_progress=False, meanwhile=lambda: calls.append(1)
    )
    assert calls == [1]
    assert stats.analysed == 6 and all(f.colour is not None for f in facts)


def _six_images(folder: Path) -> list[tuple[Path, str]]:
    from PIL import Image

    images = []
    for index in range(6):
        path = folder / f"{index}.png"
        Image.new("RGB", (24, 24), (index * 40, 0, 0)).save(path)
        images.append((path, path.name))
    return images


def test_meanwhile_runs_while_the_pool_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tasks are submitted from a thread: the first submit waits for the
    # fork server to import the analyser, and this thread parses meanwhile.
    # Here each submit waits (10 s at most) for ``meanwhile`` to have begun.
    import threading
    from concurrent.futures import ProcessPoolExecutor

    begun = threading.Event()
    waited: list[bool] = []
    submit = ProcessPoolExecutor.submit

    def submit_after_meanwhile(self: ProcessPoolExecutor, *args: Any) -> Any:
        waited.append(begun.wait(10))
        return submit(self, *args)

    def meanwhile() -> None:
        assert threading.current_thread() is threading.main_thread()
        begun.set()

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit_after_meanwhile)
    settings = AnalysisSettings(families=frozenset({"colour"}))
    facts, stats = pool.analyse_all(
        _six_images(tmp_path), settings, None, 2, show_progress=False, meanwhile=meanwhile
    )
    assert waited and all(waited)
    assert stats.analysed == 6 and all(f.colour is not None for f in facts)


def test_an_error_while_the_pool_starts_ends_the_run(tmp_path: Path) -> None:
    import threading

    def meanwhile() -> None:
        raise KeyError("a parse went wrong")

    settings = AnalysisSettings(families=frozenset({"colour"}))
    with pytest.raises(KeyError, match="a parse went wrong"):
        pool.analyse_all(
            _six_images(tmp_path), settings, None, 2, show_progress=False, meanwhile=meanwhile
        )
    assert not [t for t in threading.enumerate() if t.name == "lintcap-submit"]


@pytest.mark.parametrize(
    ("bars", "expected"),
    [
        ({"top": 5, "bottom": 3}, (5, 3, 0, 0)),
        ({"left": 7, "right": 2}, (0, 0, 7, 2)),
        ({}, (0, 0, 0, 0)),
    ],
)
def test_border_bars_are_counted_line_by_line(
    bars: dict[str, int], expected: tuple[int, int, int, int]
) -> None:
    from lintcap.image.facts import Overlay
    from lintcap.image.overlay import _borders

    rng = np.random.default_rng(1)
    gray = rng.integers(40, 220, (60, 80)).astype(np.uint8)  # busy: no line is flat
    ink = {"top": 10, "bottom": 250, "left": 12, "right": 245}
    for side, size in bars.items():
        if side == "top":
            gray[:size] = ink[side]
        elif side == "bottom":
            gray[-size:] = ink[side]
        elif side == "left":
            gray[:, :size] = ink[side]
        else:
            gray[:, -size:] = ink[side]
    overlay = Overlay()
    _borders(gray, overlay)
    found = (overlay.border_top, overlay.border_bottom, overlay.border_left, overlay.border_right)
    assert found == expected
