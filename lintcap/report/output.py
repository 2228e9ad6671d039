"""``-o/--output-file``: the report goes to a file, written whole or not at all.

The report is built in memory and written to a temporary file beside the
target, then moved over it (``os.replace``), so a reader never sees half a
report. Only a regular file is replaced: a folder, a device, a FIFO or a
symbolic link at the target is refused (writing through a link would put the
report somewhere the user did not name).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class OutputFileError(Exception):
    """The report cannot be written where the user asked."""


def check_output_file(path: Path) -> None:
    """Refuse before the run what cannot be written after it."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputFileError(f"cannot write {path}: it is {kind}")
    folder = path.parent
    if not folder.is_dir():
        raise OutputFileError(f"cannot write {path}: no folder {folder}")


def write_output_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    check_output_file(path)
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # as a plain open() would create it
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputFileError(f"cannot write {path}: {exc.strerror or exc}") from None
