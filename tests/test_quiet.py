"""Native writes to fd 2 inside the block are dropped; stderr works again after it."""

from __future__ import annotations

import os

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
