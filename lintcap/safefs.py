"""File access that a hostile dataset cannot turn against the user.

A dataset is somebody else's folder: a "caption" may be a FIFO (``open``
blocks forever), a link to ``/dev/zero`` (``read`` never ends) or to
``/etc/shadow`` (a secret echoed in an error), and a folder lintcap writes
into may be a link that points anywhere. Everything here opens without
blocking, checks what it opened (``fstat`` after ``open``, so there is no
window between the check and the use) and reads at most a given number of
bytes; everything that creates does so relative to an open folder, one
component at a time, with ``O_NOFOLLOW``/``O_EXCL``, so no link is followed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a folder or a link where a file was expected."""


class TooLarge(OSError):
    """The file holds more bytes than the caller allows."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"{size:,} bytes (limit {limit:,})")
        self.size = size
        self.limit = limit


def kind_of(mode: int) -> str:
    """``a FIFO``, ``a character device``, ... for a non-regular ``st_mode``."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(
    path: str | os.PathLike[str], *, follow: bool = True, at: int | None = None
) -> int:
    """A read-only descriptor of ``path`` if it is a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for
    a writer; the ``fstat`` of the open descriptor then refuses it (and any
    device) with :class:`NotRegularFile`. ``follow=False`` also refuses a
    final symbolic link (``ELOOP``, reported as not a regular file). ``at``:
    a folder descriptor that a relative ``path`` starts from."""
    flags = os.O_RDONLY | _NONBLOCK | _CLOEXEC | (0 if follow else _NOFOLLOW)
    try:
        descriptor = os.open(path, flags, dir_fd=at)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise NotRegularFile(errno.ELOOP, "a symbolic link, not followed") from None
        raise
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"{kind_of(mode)}, not a regular file")
        if _NONBLOCK:  # regular files ignore it, but keep later reads plain
            os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def read_regular(
    path: str | os.PathLike[str],
    max_bytes: int,
    *,
    follow: bool = True,
    at: int | None = None,
) -> bytes:
    """The bytes of the regular file ``path``; :class:`TooLarge` beyond
    ``max_bytes`` (checked on the open file and again while reading, so a
    file that grows, or lies about its size, is still cut off)."""
    descriptor = open_regular(path, follow=follow, at=at)
    parts: list[bytes] = []
    total = 0
    try:
        size = os.fstat(descriptor).st_size
        if size > max_bytes:
            raise TooLarge(size, max_bytes)
        # First the size said and one byte more, then (the file grew, or its
        # size lied: /proc) on to the limit. Asking for the whole limit at
        # once allocated it on every read: 1 MiB for each image-cache entry,
        # 24 us of the 28 it took (bench/endtoend.py, 5,000 of them).
        want = size + 1
        while total <= max_bytes:
            part = os.read(descriptor, min(want, max_bytes + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
            want = 1 << 20
    finally:
        os.close(descriptor)
    if total > max_bytes:
        raise TooLarge(total, max_bytes)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def open_binary(path: str | os.PathLike[str], *, follow: bool = True) -> BinaryIO:
    """:func:`open_regular` as a binary file object (for Pillow, hashing)."""
    return os.fdopen(open_regular(path, follow=follow), "rb")


def open_folder(path: str | os.PathLike[str], *, follow: bool = True, at: int | None = None) -> int:
    """A descriptor of the folder ``path`` (relative to folder ``at`` when given);
    ``follow=False`` refuses a link (``ELOOP``/``ENOTDIR``)."""
    flags = os.O_RDONLY | _DIRECTORY | _CLOEXEC | (0 if follow else _NOFOLLOW)
    return os.open(path, flags, dir_fd=at)


def make_folders(base: int, names: list[str], *, create: bool = True) -> tuple[int, bool]:
    """Walk (creating where missing, unless ``create`` is false) ``names``
    below the open folder ``base`` without following any link; return the
    last folder's descriptor and whether this call created the first missing
    one. A component that exists as a link or a file, or is missing when
    nothing may be created, raises ``OSError`` (``ELOOP``/``ENOTDIR``/
    ``EEXIST``/``ENOENT``)."""
    current = os.dup(base)
    created_any = False
    try:
        for name in names:
            if not name or name in {".", ".."} or "/" in name:
                raise OSError(errno.EINVAL, f"invalid folder name {name!r}")
            if create:
                try:
                    os.mkdir(name, 0o777, dir_fd=current)
                    created_any = created_any or name == names[0]
                except FileExistsError:
                    pass
            following = open_folder(name, follow=False, at=current)
            os.close(current)
            current = following
    except BaseException:
        os.close(current)
        raise
    return current, created_any


def create_exclusive(folder: int, name: str, data: bytes, mode: int = 0o644) -> None:
    """Write a new file ``name`` in the open ``folder``; never follows a link
    and never replaces anything (``O_CREAT|O_EXCL|O_NOFOLLOW``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    descriptor = os.open(name, flags, mode, dir_fd=folder)
    try:
        _write_all(descriptor, data)
    except BaseException:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=folder)
        raise
    os.close(descriptor)


def replace_file(folder: int, name: str, data: bytes) -> bool:
    """Put ``data`` in ``name`` in the open ``folder`` at once: written to a
    new hidden file beside it, then swapped in (a reader sees the old file or
    the new one, never half of one). False, with nothing left behind, when
    it could not be written; for caches, which are never worth an error."""
    temporary = f".{secrets.token_hex(6)}.tmp"
    try:
        create_exclusive(folder, temporary, data)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary, dir_fd=folder)
        return False
    return True


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def exists_nofollow(path: Path) -> bool:
    """Whether anything (a link included) is at ``path``; never raises."""
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True
