"""Analyse many images: content hashes, cache look-ups, then the misses in a
process pool, with a progress bar when a person is watching."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lintcap.engine.patterns import PatternTimeout
from lintcap.image.analyser import AnalysisSettings, analyse_image, merge, present, restrict
from lintcap.image.cache import FactCache
from lintcap.image.facts import ImageFacts
from lintcap.image.hashing import content_hash
from lintcap.image.people import PeopleBackendUnavailable
from lintcap.image.quiet import silence_worker_stderr
from lintcap.image.text import TextBackendUnavailable
from lintcap.lazy import cv2
from lintcap.models import Problem
from lintcap.orphans import end_workers, exit_with

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

#: Fewer misses than this are analysed in this process: a pool costs more to start.
MIN_POOL_IMAGES = 4
#: Most images one task sends a worker. One task an image cost about 0.3 ms
#: of pickling (the settings with each) and queueing at both ends, a third
#: of analysing a small image (bench/endtoend.py: 3 of 15 CPU s for 5,000
#: 16 x 16 JPEGs); a batch pays it once. Small enough that the workers end
#: together and that a progress bar moves.
MAX_BATCH_IMAGES = 32


@dataclass
class PoolStats:
    analysed: int = 0
    cached: int = 0
    failures: list[str] = field(default_factory=list)


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def analyse_all(
    images: Sequence[tuple[Path, str]],
    settings: AnalysisSettings,
    cache: FactCache | None,
    jobs: int,
    show_progress: bool | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[list[ImageFacts], PoolStats]:
    """Facts for each ``(path, display)``, in order: the wanted families,
    from the cache where it holds them under the current keys; the others
    are measured (only those) and added to the cache's entry.

    ``meanwhile`` is called once, while the pool's workers analyse (this
    process would only wait for them), or after the images where there is
    no pool: the run parses its captions there (bench/endtoend.py)."""
    stats = PoolStats()
    keys = settings.family_keys()
    results: list[ImageFacts | None] = [None] * len(images)
    misses: list[tuple[int, str]] = []
    known: dict[int, ImageFacts] = {}
    for index, (path, display) in enumerate(images):
        try:
            sha256 = content_hash(path)
        except OSError as exc:
            problem = Problem(kind="unreadable", path=display, detail=exc.strerror or str(exc))
            results[index] = ImageFacts(sha256="", problems=[problem])
            continue
        cached = cache.get(sha256) if cache is not None else None
        if cached is not None:
            for problem in cached.problems:
                problem.path = display  # the same bytes may live under another name
            have = present(cached, keys)
            if have >= set(keys):
                results[index] = restrict(cached, have)
                stats.cached += 1
                continue
            known[index] = cached
        misses.append((index, sha256))
    if show_progress is None:
        show_progress = sys.stderr.isatty() and len(misses) > 1
    analysed = _analyse(
        images, misses, settings, jobs, show_progress, known, meanwhile or (lambda: None)
    )
    for index, facts in analysed:
        results[index] = facts
        stats.analysed += 1
        if cache is not None and facts.sha256:
            cache.put(merge(known.get(index), facts))
    return [facts for facts in results if facts is not None], stats


def _analyse(
    images: Sequence[tuple[Path, str]],
    misses: list[tuple[int, str]],
    settings: AnalysisSettings,
    jobs: int,
    show_progress: bool,
    known: dict[int, ImageFacts],
    meanwhile: Callable[[], None],
) -> Iterator[tuple[int, ImageFacts]]:
    with _progress(show_progress) as progress:
        task = progress.add_task("analysing images", total=len(misses))
        if jobs <= 1 or len(misses) < MIN_POOL_IMAGES:
            for index, sha256 in misses:
                path, display = images[index]
                yield index, _safe_analyse(path, display, sha256, settings, known.get(index))
                progress.advance(task)
            meanwhile()
            return
        workers = min(jobs, len(misses))
        shas = dict(misses)
        left: list[int] = []
        batches = batched(misses, workers)
        with (
            ProcessPoolExecutor(
                max_workers=workers,
                mp_context=_context(settings),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            ) as pool,
            _stopped_on_exit(pool),
        ):
            tasks = [
                (
                    _safe_analyse,  # looked up here, where a test may stand in for it
                    [(*images[index], sha256, known.get(index)) for index, sha256 in batch],
                    settings,
                )
                for batch in batches
            ]
            futures = dict(zip(_submitted_meanwhile(pool, tasks, meanwhile), batches, strict=True))
            for future in as_completed(futures):
                batch = futures[future]
                try:
                    results = future.result()
                except BrokenProcessPool:
                    # A worker died: its images and those not done, one by one below.
                    left += [index for index, _ in batch]
                    continue
                for (index, _), facts in zip(batch, results, strict=True):
                    yield index, facts
                    progress.advance(task)
        for index, facts in _isolate(images, sorted(left), shas, settings, known):
            yield index, facts
            progress.advance(task)


def _submitted_meanwhile(
    pool: ProcessPoolExecutor,
    tasks: list[tuple[Callable[..., ImageFacts], list[Any], AnalysisSettings]],
    meanwhile: Callable[[], None],
) -> list[Future[list[ImageFacts]]]:
    """``tasks`` submitted to ``pool`` from a thread of their own while this
    one runs ``meanwhile``. The first submit starts the workers, and with
    them the fork server, which imports the analyser (and mediapipe) before
    it forks one: about half a second that this thread would only wait
    (bench/endtoend.py). The workers come from the fork server, and the parse
    forks no worker of its own while another thread runs
    (:func:`lintcap.caption.parallel.parse_many`): nothing is forked from a
    process that holds this thread."""
    futures: list[Future[list[ImageFacts]]] = []
    failed: list[BaseException] = []

    def submit_all() -> None:
        try:
            futures.extend(pool.submit(_analyse_batch, *task) for task in tasks)
        except BaseException as exc:  # raised again in the caller's thread
            failed.append(exc)

    submitter = threading.Thread(target=submit_all, name="lintcap-submit", daemon=True)
    submitter.start()
    try:
        meanwhile()
    finally:
        submitter.join()
    if failed:
        raise failed[0]
    return futures


def batched(misses: list[tuple[int, str]], workers: int) -> list[list[tuple[int, str]]]:
    """``misses`` cut into the tasks the workers take in turn, each a
    quarter of a worker's share of what is left (at most
    MAX_BATCH_IMAGES), so the last tasks hold one image or two: with tasks
    of one size, one worker analysed the last batch alone while the other
    waited (200 images on 2 workers: batches of 25, up to 3 s of a core
    idle at the end)."""
    batches = []
    start = 0
    while start < len(misses):
        size = max(1, min(MAX_BATCH_IMAGES, (len(misses) - start) // (workers * 4)))
        batches.append(misses[start : start + size])
        start += size
    return batches


@contextlib.contextmanager
def _stopped_on_exit(pool: ProcessPoolExecutor) -> Iterator[None]:
    """Leaving early (Ctrl-C, an error, a consumer that stops) stops the
    workers at once: a normal shutdown waits for each worker's batch. (A run
    killed outright cannot do this: its workers see it gone, lintcap.orphans.)"""
    try:
        yield
    except BaseException:
        end_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _isolate(
    images: Sequence[tuple[Path, str]],
    indexes: list[int],
    shas: dict[int, str],
    settings: AnalysisSettings,
    known: dict[int, ImageFacts],
) -> Iterator[tuple[int, ImageFacts]]:
    """The images a dead worker left, each in a one-worker pool: the image
    that kills its worker again is a finding (F006, with the reason), and
    the others are analysed as usual. A worker dies when the system kills it
    (out of memory) or a decoder crashes; neither may lose the run."""
    pool: ProcessPoolExecutor | None = None
    try:
        for index in indexes:
            if pool is None:
                pool = ProcessPoolExecutor(
                    1,
                    mp_context=_context(settings),
                    initializer=_init_worker,
                    initargs=(os.getpid(),),
                )
            path, display = images[index]
            try:
                yield (
                    index,
                    pool.submit(
                        _safe_analyse, path, display, shas[index], settings, known.get(index)
                    ).result(),
                )
            except BrokenProcessPool:
                pool.shutdown(wait=False)
                pool = None
                detail = "analysis failed: the worker analysing it died (killed, out of memory?)"
                yield (
                    index,
                    ImageFacts(
                        sha256="",
                        problems=[Problem(kind="undecodable", path=display, detail=detail)],
                    ),
                )
    finally:
        if pool is not None:
            pool.shutdown(wait=False)


def _context(settings: AnalysisSettings) -> multiprocessing.context.BaseContext:
    """Workers come from a fork server, not from this process: forking a
    process whose OpenCV (or spaCy, or rich) threads are running can deadlock.
    The server imports the analyser and loads its models once
    (:mod:`lintcap.image.worker`), so each worker starts warm."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lintcap.image.worker", *preloaded_packages(settings)])
    return context


def preloaded_packages(settings: AnalysisSettings) -> list[str]:
    """What else the fork server imports for these settings: mediapipe when
    its people backend will run. Its import (which pulls in matplotlib) cost
    each worker about 0.37 CPU s; imported once in the server, the workers
    share it. It starts no thread, so the server may still fork; its graphs,
    which do start threads, are still built in each worker. (The server is
    started once a process: a later pool's list is not read.)"""
    wanted = settings.wanted()
    if ("faces" in wanted or "people" in wanted) and settings.people_backend_used() == "mediapipe":
        return ["mediapipe"]
    return []


def _init_worker(run_pid: int) -> None:
    exit_with(run_pid)  # the fork server, their parent, outlives a killed run
    # One process per core already: OpenCV's own threads would only contend.
    cv2.setNumThreads(1)
    silence_worker_stderr()


def _analyse_batch(
    analyse: Callable[..., ImageFacts],
    batch: list[tuple[Path, str, str, ImageFacts | None]],
    settings: AnalysisSettings,
) -> list[ImageFacts]:
    """One task of a worker: ``analyse`` on each image of ``batch``."""
    return [analyse(path, display, sha, settings, known) for path, display, sha, known in batch]


def _safe_analyse(
    path: Path,
    display: str,
    sha256: str,
    settings: AnalysisSettings,
    known: ImageFacts | None = None,
) -> ImageFacts:
    """A file that breaks a measurement is a finding about that file, not a
    crash of the run; a missing people backend, or a ``read-cues`` regex
    over its time budget, is the user's to fix."""
    try:
        return analyse_image(path, display, sha256, settings, known)
    except (PeopleBackendUnavailable, TextBackendUnavailable, PatternTimeout):
        raise
    except Exception as exc:
        detail = f"analysis failed: {type(exc).__name__}: {exc}"
        return ImageFacts(
            sha256="", problems=[Problem(kind="undecodable", path=display, detail=detail)]
        )


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> TaskID:
        return cast("TaskID", 0)

    def advance(self, task: TaskID) -> None:
        return None


def _progress(show: bool) -> Progress | _NoProgress:
    if not show:
        return _NoProgress()
    # rich only when a person watches (a tenth of a second of start-up).
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
