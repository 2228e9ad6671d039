"""Where a report may be written (``--html PATH``, ``-o PATH``) and how.

A report path is typed by a user but may come from a file name in a
repository (a hook that passes ``--html=victim.txt``) or point at something
that must not be replaced: ``/dev/null`` (as root, a rename would replace the
device node with a report), a FIFO, a link (its target would keep the old
bytes while the link is replaced, or worse, be written through), or one of
the linted dataset's own files. So a target is refused unless it is absent
or a regular file outside the linted datasets, and the report is written to
a new temporary file in the same folder (short name, ``O_EXCL|O_NOFOLLOW``)
and renamed over the target after a last check that the target is still a
regular file: a reader never sees half a report, and an old one survives a
failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from lintcap.dataset import IMAGE_EXTENSIONS, METADATA_FILE
from lintcap.safefs import create_exclusive, kind_of, open_folder


class OutputError(Exception):
    """The report cannot or must not be written there (a usage error: exit 2)."""


def dataset_file(path: Path, roots: Iterable[Path], caption_extensions: Iterable[str]) -> bool:
    """Whether ``path`` is (or would be) a file lintcap reads in one of the
    datasets at ``roots``: an image, a caption or a ``metadata.jsonl``."""
    target = Path(os.path.abspath(path))
    inside = False
    for given in roots:
        root = Path(os.path.abspath(given))
        if root == target:
            return True
        folder = root if root.is_dir() else root.parent
        inside = inside or folder in target.parents
    if not inside:
        return False
    suffix = target.suffix.lower()
    captions = {e if e.startswith(".") else f".{e}" for e in caption_extensions}
    return suffix in IMAGE_EXTENSIONS or target.suffix in captions or target.name == METADATA_FILE


def check_target(path: Path, what: str, protected: Iterable[Path] = ()) -> None:
    """Refuse ``path`` as a place to write ``what`` unless it is absent or a
    regular file (no link, device, FIFO, folder) not in ``protected``."""
    prefix = f"cannot write the {what} to {path}"
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        status = None
    except OSError as exc:
        raise OutputError(f"{prefix}: {exc.strerror or exc}") from None
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise OutputError(f"{prefix}: it is {kind_of(status.st_mode)}, not a regular file")
    absolute = Path(os.path.abspath(path))
    if any(absolute == Path(os.path.abspath(p)) for p in protected):
        raise OutputError(f"{prefix}: it is a file of the linted dataset")
    folder = absolute.parent
    if not folder.is_dir():
        raise OutputError(f"{prefix}: no folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{prefix}: {folder} is not writable")


def write_report(path: Path, data: bytes, what: str, protected: Iterable[Path] = ()) -> None:
    """Write ``data`` to ``path`` atomically, only where :func:`check_target` allows."""
    protected = list(protected)
    check_target(path, what, protected)
    absolute = Path(os.path.abspath(path))
    prefix = f"cannot write the {what} to {path}"
    temporary = f".lintcap-{secrets.token_hex(4)}.tmp"
    try:
        folder = open_folder(absolute.parent)
    except OSError as exc:
        raise OutputError(f"{prefix}: {exc.strerror or exc}") from None
    try:
        create_exclusive(folder, temporary, data, 0o644)
        try:
            existing = os.lstat(absolute.name, dir_fd=folder)
        except FileNotFoundError:
            existing = None
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            raise OutputError(f"{prefix}: it is {kind_of(existing.st_mode)}, not a regular file")
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode), dir_fd=folder)
        os.replace(temporary, absolute.name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise OutputError(f"{prefix}: {exc.strerror or exc}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        raise
    finally:
        os.close(folder)
