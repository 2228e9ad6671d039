"""Cold parsing over forked workers (lintcap.caption.parallel): the same
parses in the same order as one process, and a dead worker loses nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from lintcap.caption import parallel
from lintcap.caption.parse import CaptionParser, ParsedCaption
from lintcap.config import Config
from lintcap.engine import run
from lintcap.engine.run import lint
from tests.test_fix_safety import TRIGGER, write_set


class PidParser:
    """Stands in for CaptionParser: says which process parsed each text."""

    def __init__(self, die_on: str | None = None, hang_on: str | None = None) -> None:
        self.main = os.getpid()
        self.die_on = die_on
        self.hang_on = hang_on

    def parse(self, text: str) -> ParsedCaption:
        if text == self.die_on and os.getpid() != self.main:
            os._exit(3)  # a worker killed mid-share
        if text == self.hang_on and os.getpid() != self.main:
            time.sleep(600)  # a worker stuck (a lock held at the fork)
        return ParsedCaption(text=f"{os.getpid()}:{text}")


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL_CAPTIONS", 4)
    monkeypatch.setattr(parallel, "_can_fork", lambda: True)  # whatever threads pytest runs


@pytest.mark.usefixtures("forking")
def test_shares_are_parsed_by_forked_workers_in_order() -> None:
    texts = [f"caption {i}" for i in range(9)]
    parser = PidParser()
    parsed = parallel.parse_many(texts, parser, jobs=3)  # type: ignore[arg-type]
    assert [p.text.split(":", 1)[1] for p in parsed] == texts
    pids = [int(p.text.split(":", 1)[0]) for p in parsed]
    assert pids[:3] == [parser.main] * 3  # the first share is parsed here
    assert parser.main not in pids[3:]  # the other two by workers
    # Too few texts, or one job: everything here.
    assert {p.text.split(":")[0] for p in parallel.parse_many(texts[:3], parser, 3)} == {  # type: ignore[arg-type]
        str(parser.main)
    }
    assert {p.text.split(":")[0] for p in parallel.parse_many(texts, parser, 1)} == {  # type: ignore[arg-type]
        str(parser.main)
    }


@pytest.mark.usefixtures("forking")
def test_a_dead_workers_share_is_parsed_here() -> None:
    texts = [f"caption {i}" for i in range(8)]
    parser = PidParser(die_on="caption 5")
    parsed = parallel.parse_many(texts, parser, jobs=2)  # type: ignore[arg-type]
    assert [p.text.split(":", 1)[1] for p in parsed] == texts
    assert {p.text.split(":")[0] for p in parsed[4:]} == {str(parser.main)}


@pytest.mark.usefixtures("forking")
def test_a_stuck_workers_share_is_parsed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that never answers does not hang the run: past the wait its
    share is parsed here and the worker is killed."""
    monkeypatch.setattr(parallel, "MIN_WAIT_SECONDS", 0.5)
    texts = [f"caption {i}" for i in range(8)]
    parser = PidParser(hang_on="caption 5")
    started = time.monotonic()
    parsed = parallel.parse_many(texts, parser, jobs=2)  # type: ignore[arg-type]
    assert time.monotonic() - started < 30
    assert [p.text.split(":", 1)[1] for p in parsed] == texts
    assert {p.text.split(":")[0] for p in parsed[4:]} == {str(parser.main)}


@pytest.mark.usefixtures("forking")
def test_no_fork_possible_parses_everything_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """fork refused (a process limit: EAGAIN, or ENOMEM) is no traceback:
    every share is parsed here."""

    def refused() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", refused)
    texts = [f"caption {i}" for i in range(8)]
    parser = PidParser()
    parsed = parallel.parse_many(texts, parser, jobs=3)  # type: ignore[arg-type]
    assert [p.text.split(":", 1)[1] for p in parsed] == texts
    assert {p.text.split(":")[0] for p in parsed} == {str(parser.main)}


@pytest.fixture
def parse_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The process of each CaptionParser.parse call, in this process: a
    forked worker's calls are its own, so this lists this process's share."""
    calls: list[int] = []
    real = CaptionParser.parse

    def parse(self: CaptionParser, text: str) -> ParsedCaption:
        calls.append(os.getpid())
        return real(self, text)

    monkeypatch.setattr(CaptionParser, "parse", parse)
    return calls


def test_a_parallel_cold_run_finds_what_one_process_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_pids: list[int]
) -> None:
    captions: dict[str, str | bytes] = {
        f"{i:02}": f"{TRIGGER}, a photo of a woman in a {colour} coat, standing. close-up, smiling"
        for i, colour in enumerate(["red", "blue", "green", "grey", "red", "black"])
    }
    root = write_set(tmp_path / "set", captions)
    one = lint([root], Config(trigger=TRIGGER, select=["C", "A"], cache=False, jobs=1))
    parse_pids.clear()
    monkeypatch.setattr(parallel, "MIN_PARALLEL_CAPTIONS", 2)
    # Earlier tests in the same process leave threads running (the image pool's,
    # onnxruntime's), which makes _can_fork refuse: this test is about the result.
    monkeypatch.setattr(parallel, "_can_fork", lambda: True)
    two = lint([root], Config(trigger=TRIGGER, select=["C", "A"], cache=False, jobs=2))
    assert len(parse_pids) == 3  # this process's share; 5 distinct texts, the rest in a worker
    assert [p.parsed for p in two.items] == [p.parsed for p in one.items]
    assert two.diagnostics == one.diagnostics


def test_without_jobs_a_cold_run_parses_on_every_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_pids: list[int]
) -> None:
    # --jobs unset: as many parse processes as the image pool would have.
    captions: dict[str, str | bytes] = {
        f"{i:02}": f"{TRIGGER}, a photo of a woman in a {colour} coat, standing"
        for i, colour in enumerate(["red", "blue", "green", "grey"])
    }
    root = write_set(tmp_path / "set", captions)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_CAPTIONS", 2)
    monkeypatch.setattr(parallel, "_can_fork", lambda: True)  # as above
    asked: list[int] = []
    real_parse_many = parallel.parse_many

    def parse_many(texts: Any, parser: CaptionParser, jobs: int) -> list[ParsedCaption]:
        asked.append(jobs)
        return real_parse_many(texts, parser, jobs)

    monkeypatch.setattr(parallel, "parse_many", parse_many)
    monkeypatch.setattr(run, "default_jobs", lambda: 2)
    result = lint([root], Config(trigger=TRIGGER, select=["C"], cache=False))
    assert asked == [2]
    assert len(parse_pids) == 2  # this process's half; the other half in the forked worker
    assert all(item.parsed is not None for item in result.items)
