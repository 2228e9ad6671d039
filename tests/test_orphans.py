"""A worker ends once the run that started it is gone (lintcap.orphans)."""

from __future__ import annotations

import multiprocessing
import subprocess
import time

from lintcap.orphans import exit_with


def _worker(run_pid: int) -> None:
    exit_with(run_pid, interval=0.05)
    time.sleep(30)  # a worker waiting on its queue


def test_a_worker_ends_when_its_run_is_gone() -> None:
    run = subprocess.Popen(["sleep", "30"])
    worker = multiprocessing.get_context("spawn").Process(target=_worker, args=(run.pid,))
    worker.start()
    try:
        worker.join(1.0)
        assert worker.is_alive()  # the run is there: the worker works on
        run.kill()
        run.wait()
        worker.join(10)
        assert not worker.is_alive() and worker.exitcode == 1
    finally:
        run.kill()
        worker.kill()
