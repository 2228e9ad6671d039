"""Helpers for the hostile-input tests: the command line run in this process
(click's runner: exit code, stdout and stderr as a user sees them, without
the cost of a new interpreter) and a few hostile file kinds."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from lintcap.cli import cli


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def lintcap(*args: str | os.PathLike[str], cwd: Path | None = None) -> Run:
    """``lintcap ARGS`` in this process."""
    runner = CliRunner()
    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(old)
    return Run(result.exit_code, result.stdout, result.stderr)


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder``: a file's bytes, a link's target."""
    found: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[key] = path.read_bytes()
    return found


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (TimeoutError) instead of hanging when the body takes longer:
    the promise "finishes within a bound" for FIFOs, devices and slow input."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_llm_answer_is_text_or_one_line(raw: bytes) -> None:
    """The promise for any bytes a server answers: the LLM client returns text
    (a ``str`` that encodes as UTF-8) or raises an LlmError of one line (exit 2
    at the command line); never another exception."""
    from lintcap.fix.llm import backends
    from lintcap.fix.llm.backends import LlmError

    try:
        text = backends._answer(raw, "server")
    except LlmError as exc:
        assert "\n" not in str(exc), str(exc)
    else:
        assert isinstance(text, str)
        text.encode("utf-8")
