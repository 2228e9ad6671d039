"""Silence native code that writes to the process's stderr directly.

MediaPipe's C++ side (TensorFlow Lite, absl) prints INFO and WARNING lines
("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires a
model with a single signature ...") straight to file descriptor 2 when its
graphs are built and first run. Python's logging cannot reach them, and
absl's own switches only take effect after ``absl::InitializeLog``, which
mediapipe never calls. Left alone they land in pre-commit output and CI logs
as noise that looks like errors, so lintcap points fd 2 at the null device
for the duration of those calls only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Route fd 2 to the null device inside the block, then restore it.

    If the descriptors cannot be duplicated (a closed stderr, a sandbox), the
    block runs unchanged: losing the silence is better than losing the run."""
    try:
        saved = os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        sys.stderr.flush()
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def silence_worker_stderr() -> None:
    """Point fd 2 of an image worker at the null device for its whole life.

    Some of mediapipe's lines come from its graph threads after the call that
    caused them has returned, out of reach of :func:`native_stderr_silenced`.
    A worker reports everything through its results (a failed measurement is
    an F006 finding, a killed worker is noticed by the pool), so nothing it
    writes to stderr is needed; the parent's stderr is left alone."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(null, 2)
    except OSError:
        pass
    finally:
        os.close(null)
