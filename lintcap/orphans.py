"""Worker processes that end when the lintcap run that started them is gone.

A pool's workers wait on their queue for the next task; when the run dies
without shutting the pool down (SIGTERM from a cancelled CI job or
``timeout``, SIGKILL, the OOM killer) nobody tells them, and the image
workers' parent is the fork server, which outlives the run too: they waited
forever. Each worker watches the run's process instead."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

#: How often a worker looks whether the run is still there (seconds).
WATCH_INTERVAL_SECONDS = 1.0


def exit_with(run_pid: int, interval: float = WATCH_INTERVAL_SECONDS) -> None:
    """End this process (``os._exit``: no cleanup, as the run's own death
    had none) once process ``run_pid`` no longer exists; watched from a
    daemon thread, so the work itself is not slowed."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            try:
                os.kill(run_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except OSError:  # exists, owned by another user: not ours to judge
                pass

    threading.Thread(target=watch, name="lintcap-run-watch", daemon=True).start()


def end_workers(pool: ProcessPoolExecutor, kill: bool = False) -> None:
    """Terminate (SIGTERM), or ``kill`` (SIGKILL), every worker of ``pool``
    now, whatever it is doing: the executor has no public way to end its
    workers before Python 3.14 (``terminate_workers``), and the processes it
    holds are plain ones (a worker already gone is left alone)."""
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(OSError, ValueError):
            process.kill() if kill else process.terminate()
