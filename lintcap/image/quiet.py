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
