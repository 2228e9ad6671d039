"""Native writes to fd 2 inside the block are dropped; stderr works again after it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lintcap.image.quiet import native_stderr_silenced


def test_native_stderr_is_silenced_only_inside_the_block(capfd: pytest.CaptureFixture[str]) -> None:
    os.write(2, b"before\n")
    with native_stderr_silenced():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_stderr_is_restored_when_the_block_raises(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), native_stderr_silenced():
        raise RuntimeError("the model failed to load")
    os.write(2, b"still here\n")
    assert capfd.readouterr().err == "still here\n"


def test_mediapipe_leaves_stderr_clean_in_a_fresh_process() -> None:
    # A fresh interpreter: the models are built once per process, and the
    # lines come from building them and from their first frame.
    code = (
        "import numpy as np, skimage.data\n"
        "from lintcap.image.people import PeopleSettings, detect_people\n"
        "facts = detect_people(skimage.data.astronaut(), PeopleSettings(), 'mediapipe')\n"
        "print(len(facts.faces))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # the astronaut's face was found
    assert done.stderr == ""
