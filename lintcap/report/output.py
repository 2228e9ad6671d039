"""``-o/--output-file`` and the other files a run writes (a baseline, the
config ``--add-ignores`` edits): whole or not at all, only over a regular
file, never through a link (lintcap.report.target holds the rules and the
writer; this names the errors for the command line).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lintcap.report.target import OutputError, check_target, write_report


class OutputFileError(Exception):
    """The file cannot or must not be written where the user asked."""


def check_output_file(path: Path, what: str = "report", protected: Iterable[Path] = ()) -> None:
    """Refuse before the run what cannot be written after it."""
    try:
        check_target(path, what, protected)
    except OutputError as exc:
        raise OutputFileError(str(exc)) from None


def write_output_file(
    path: Path, text: str, what: str = "report", protected: Iterable[Path] = ()
) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    try:
        write_report(path, text.encode("utf-8"), what, protected)
    except OutputError as exc:
        raise OutputFileError(str(exc)) from None
