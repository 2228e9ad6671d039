"""Cold parsing spread over processes, when it pays.

Parsing is pure Python over spaCy's tokenizer, about 0.4-0.5 ms a caption on
one core of the development machine, so a cold run of thousands of captions
is bound by one core while the others idle. :func:`parse_many` splits the
texts into one share per job: this process parses the first share, workers
forked from it parse the others. Forked, not spawned: a worker starts with
the parser (spaCy's pipeline, the lexicon and pattern matchers) already
built, in a few milliseconds, where a fresh process would pay the second of
imports and matcher building again. The parses come back pickled (about
0.1 ms a caption both ways, a fifth of a parse), which is why small sets are
parsed here alone: below :data:`MIN_PARALLEL_CAPTIONS` the fork and the
pickling cost more than they save. The run gives it ``--jobs`` (``jobs``
in the config), by default one per core: on two cores 20,000 captions took
7.87 s for 9.19 and 7 % more CPU (bench/RESULTS.md; when other sessions
loaded the same two cores, as long and 12 % more CPU).

A worker that dies (killed, out of memory), cannot be forked or does not
answer in time (:data:`MIN_WAIT_SECONDS`) loses no parse: what it had is
parsed here.
Only where the platform forks safely (Linux): elsewhere, and in a process
that runs other threads, everything is parsed here.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as WaitedTooLong
from concurrent.futures.process import BrokenProcessPool

from lintcap.caption.parse import CaptionParser, ParsedCaption
from lintcap.orphans import end_workers, exit_with

#: Fewer texts to parse than this are parsed in this process alone.
MIN_PARALLEL_CAPTIONS = 1000

#: How long the workers' shares may take, from when this process has parsed
#: its own: a fixed wait plus this much per caption of a share (a parse takes
#: about 0.5 ms). A worker not done by then (stuck on a lock that another
#: thread held at the fork, stopped) is killed and its share parsed here.
MIN_WAIT_SECONDS = 60.0
SECONDS_PER_CAPTION = 0.05

#: The parser the forked workers inherit (set only while a pool runs).
_PARSER: list[CaptionParser] = []


def parse_many(texts: Sequence[str], parser: CaptionParser, jobs: int) -> list[ParsedCaption]:
    """The parse of each text, in order, over up to ``jobs`` processes."""
    if jobs < 2 or len(texts) < MIN_PARALLEL_CAPTIONS or not _can_fork():
        return [parser.parse(text) for text in texts]
    share = -(-len(texts) // jobs)
    own = texts[:share]
    shares = [list(texts[start : start + share]) for start in range(share, len(texts), share)]
    context = multiprocessing.get_context("fork")
    try:
        pool = ProcessPoolExecutor(
            len(shares), mp_context=context, initializer=exit_with, initargs=(os.getpid(),)
        )
    except OSError:  # no pipes left for its queues (too many open files)
        return [parser.parse(text) for text in texts]
    _PARSER[:] = [parser]
    stuck = False
    try:
        futures: list[Future[list[ParsedCaption]] | None] = [None] * len(shares)
        try:
            futures = [pool.submit(_parse_share, texts) for texts in shares]
        except OSError:  # fork refused (a process limit, memory): all of it here
            stuck = True  # and any worker it did start is killed
        parsed = [parser.parse(text) for text in own]
        deadline = time.monotonic() + MIN_WAIT_SECONDS + SECONDS_PER_CAPTION * share
        for future, texts_of in zip(futures, shares, strict=True):
            try:
                if future is None:
                    raise BrokenProcessPool("no worker")
                parsed += future.result(timeout=max(0.0, deadline - time.monotonic()))
            except BrokenProcessPool:
                parsed += [parser.parse(text) for text in texts_of]
            except WaitedTooLong:  # the builtin TimeoutError only from 3.11
                stuck = True
                parsed += [parser.parse(text) for text in texts_of]
    finally:
        _PARSER.clear()
        if stuck:  # killed, or shutting the pool down would wait for them
            end_workers(pool, kill=True)
        pool.shutdown(wait=True, cancel_futures=True)
    return parsed


def _parse_share(texts: list[str]) -> list[ParsedCaption]:
    parser = _PARSER[0]
    return [parser.parse(text) for text in texts]


def _can_fork() -> bool:
    """Fork only where it is the platform's own way (Linux) and no other
    thread runs here: a thread holding a lock at the fork would leave it
    held in the child forever."""
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
    )
