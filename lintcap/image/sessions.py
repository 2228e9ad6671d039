"""One onnxruntime session per model per process, set up alike for every
model lintcap runs (the text detector, the recogniser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def single_thread_session(path: Path) -> Any:
    """An onnxruntime CPU session of the model at ``path`` on one thread:
    the analysis pool already runs one process per core, so more threads
    would only contend. Warnings about the graph are not printed."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
