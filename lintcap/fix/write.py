"""Compare-and-swap writes: a caption ends up with its old bytes, lintcap's
new bytes, or somebody else's edit, and never loses an edit silently.

``write_atomically(path, data, expected)`` replaces the file at ``path``
with ``data`` only if it still holds ``expected`` (the bytes the caller read
and edited). Anything else raises :class:`WriteRefused` with a reason a user
can act on; the caller reports it per file and goes on with the others.
:mod:`lintcap.fix.run` and :mod:`lintcap.fix.llm.run` use it for sidecar
captions, and anything else that rewrites a file of the dataset should too.

Why a check-then-rename is not enough: an editor that saves between the
check and the rename loses its edit (39 of 40 in the report of issue 13).
The swap here closes that window:

1. Re-read ``path`` (through a link that stays inside the dataset: the link
   stays a link and its target is rewritten) and compare with ``expected``;
   refuse a file that is not regular, has other hard links (the other names
   would keep the old text), is read-only (its owner said so), or whose
   owner, group or extended attributes the new file could not keep.
2. Write ``data`` to a new temporary file in the same folder (a short name,
   ``O_CREAT|O_EXCL|O_NOFOLLOW``, so long caption names cannot break it),
   with the original's mode, owner, group (when allowed: as root, or the
   same owner) and extended attributes, and fsync it.
3. Swap the two names in one step (``renameat2(RENAME_EXCHANGE)``): the
   caption's name now holds the new file and the temporary name holds
   whatever was at the caption's name at that instant. Nothing was deleted.
4. Verify what was swapped out: the same inode that was re-read in step 1,
   still holding ``expected``. Only then is it unlinked. If an edit landed
   in between (in place, or by an editor's own rename), swap back: the edit
   is at the caption's name again and the write is refused ("it changed on
   disk"). If the new file was itself edited in that instant, it is kept as
   ``NAME.lintcap-conflict`` beside the caption, and the refusal says so.

What this guarantees: an edit whose write completes before step 4's
verification is never lost, and a file that changed is reported, not counted
as fixed. An edit through a descriptor opened before the swap and written
after the verification (microseconds) still lands on the old inode; no
rename-based writer can prevent that, and editors save by truncating and
writing, or by their own rename, both of which are covered.

Where ``RENAME_EXCHANGE`` does not exist (not Linux, or a file system that
refuses it), a hard link of the original keeps it reachable across an
ordinary rename, and the same verification decides between keeping the new
file and restoring the old one; an editor's rename in the few microseconds
between the link and the rename is the one edit that fallback can miss.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import stat
import sys
from pathlib import Path

from lintcap.safefs import NotRegularFile, TooLarge, read_regular

#: A caption rewritten here is never larger than this (lintcap's own limit
#: for reading captions is far below it; this only bounds the re-read).
MAX_FILE_BYTES = 64 * 1024 * 1024
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class WriteRefused(Exception):
    """The file was not written; the message says why (one line)."""


def write_atomically(
    path: Path,
    data: bytes,
    expected: bytes,
    *,
    root: Path | None = None,
    allow_hard_links: bool = False,
    allow_read_only: bool = False,
) -> None:
    """Replace the file at ``path`` with ``data`` if it still holds
    ``expected``; see the module docstring for the protocol. ``root``: a
    link at ``path`` must point inside it. Raises :class:`WriteRefused`."""
    target = _target(path, root)
    before = _check(target, expected, allow_hard_links, allow_read_only)
    folder = target.parent
    temporary = folder / f".lc{secrets.token_hex(4)}.tmp"
    try:
        _write_copy(temporary, data, before, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise WriteRefused(f"cannot write it: {_reason(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    try:
        _swap(target, temporary, before, expected, data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    _fsync_folder(folder)


def _target(path: Path, root: Path | None) -> Path:
    """The file to rewrite: ``path``, or the file its link points to (the
    link itself stays). A link leaving ``root`` is refused."""
    if not os.path.islink(path):
        return path
    try:
        resolved = Path(os.path.realpath(path, strict=True))
    except (OSError, RuntimeError) as exc:
        raise WriteRefused(f"cannot follow its link: {_reason(exc)}") from None
    if root is not None:
        real_root = Path(os.path.realpath(root))
        if resolved != real_root and real_root not in resolved.parents:
            raise WriteRefused("it is a link to a file outside the dataset; not written")
    return resolved


def _check(
    target: Path, expected: bytes, allow_hard_links: bool, allow_read_only: bool
) -> os.stat_result:
    """Re-read ``target``: it must be a regular, singly linked, writable
    file holding ``expected``. Returns its status as read."""
    try:
        first = os.stat(target)
        current = read_regular(target, MAX_FILE_BYTES, follow=False)
        status = os.stat(target)
    except (NotRegularFile, TooLarge) as exc:
        raise WriteRefused(f"cannot read it again: {exc.strerror}") from None
    except OSError as exc:
        raise WriteRefused(f"cannot read it again: {_reason(exc)}") from None
    if current != expected or _changed(first, status):
        raise WriteRefused("it changed on disk since it was read; not written")
    if status.st_nlink > 1 and not allow_hard_links:
        raise WriteRefused(
            f"it has {status.st_nlink} hard links: rewriting would split them "
            "(the other names would keep the old text); not written (--force-write splits them)"
        )
    if not status.st_mode & 0o222 and not allow_read_only:
        raise WriteRefused(
            f"it is read-only (mode {stat.S_IMODE(status.st_mode):04o}); not written "
            "(--force-write writes it)"
        )
    return status


def _write_copy(temporary: Path, data: bytes, original: os.stat_result, target: Path) -> None:
    """The new file: ``data`` with the original's mode, owner, group and
    extended attributes, flushed to disk."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
        stream.flush()
        _keep_owner(stream.fileno(), original)
        os.fchmod(stream.fileno(), stat.S_IMODE(original.st_mode))
        _copy_xattrs(target, stream.fileno())
        os.fsync(stream.fileno())


def _keep_owner(descriptor: int, original: os.stat_result) -> None:
    mine = os.fstat(descriptor)
    if (mine.st_uid, mine.st_gid) == (original.st_uid, original.st_gid):
        return
    try:
        os.fchown(descriptor, original.st_uid, original.st_gid)
    except PermissionError:
        raise OSError(
            errno.EPERM,
            f"it belongs to uid {original.st_uid}, gid {original.st_gid}, which a new "
            "file written by this user cannot keep",
        ) from None


def _copy_xattrs(source: Path, descriptor: int) -> None:
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(source)
    except OSError as exc:
        if exc.errno in {errno.ENOTSUP, errno.ENOSYS}:
            return
        raise
    for name in names:
        value = os.getxattr(source, name)
        try:
            os.setxattr(descriptor, name, value)
        except OSError as exc:
            raise OSError(exc.errno, f"cannot keep its extended attribute {name}") from None


def _swap(
    target: Path, temporary: Path, before: os.stat_result, expected: bytes, data: bytes
) -> None:
    """Put the new file at ``target`` and keep it only if what it replaced
    is exactly the file that was checked."""
    try:
        exchanged = _exchange(temporary, target)
    except OSError as exc:
        raise WriteRefused(f"cannot write it: {_reason(exc)}") from None
    if exchanged:
        if _untouched(temporary, before, expected, ctime=False):
            return  # the old file, now at the temporary name, is unlinked by the caller
        _restore_by_exchange(target, temporary, data)
        return
    _swap_with_link(target, temporary, before, expected, data)


def _exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` atomically; False where the system
    or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    function = getattr(libc, "renameat2", None) if libc is not None else None
    if function is None:
        return False
    result = function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in {errno.EINVAL, errno.ENOSYS, errno.ENOTSUP}:
        return False
    raise OSError(code, os.strerror(code))


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _untouched(path: Path, before: os.stat_result, expected: bytes, ctime: bool = True) -> bool:
    """Whether ``path`` is still the inode checked before, holding ``expected``."""
    try:
        status = os.stat(path, follow_symlinks=False)
        if (status.st_dev, status.st_ino) != (before.st_dev, before.st_ino):
            return False
        if _changed(before, status, ctime):
            return False
        return read_regular(path, MAX_FILE_BYTES, follow=False) == expected
    except OSError:
        return False


def _changed(before: os.stat_result, after: os.stat_result, ctime: bool = True) -> bool:
    """Whether the inode changed between two looks; ``ctime=False`` after a
    rename or a hard link of our own, which change it (metadata only); the
    content comparison that follows is what decides then."""
    keys = ("st_ino", "st_size", "st_mtime_ns", *(("st_ctime_ns",) if ctime else ()))
    return any(getattr(before, key) != getattr(after, key) for key in keys)


def _restore_by_exchange(target: Path, temporary: Path, data: bytes) -> None:
    """Somebody's edit was swapped out: swap it back, keep theirs."""
    try:
        _exchange(temporary, target)
    except OSError as exc:
        kept = target.with_name(f"{target.name}.lintcap-edit")
        with contextlib.suppress(OSError):
            os.replace(temporary, kept)
        raise WriteRefused(
            "it changed on disk while it was written, and the edit could not be put back "
            f"({_reason(exc)}): it is in {kept.name}"
        ) from None
    raise WriteRefused(_kept_note(target, temporary, data))


def _swap_with_link(
    target: Path, temporary: Path, before: os.stat_result, expected: bytes, data: bytes
) -> None:
    """The fallback: keep the original reachable by a hard link across an
    ordinary rename, verify it, restore it on a mismatch."""
    keeper = target.parent / f".lc{secrets.token_hex(4)}.old"
    try:
        os.link(target, keeper, follow_symlinks=False)
    except OSError as exc:
        raise WriteRefused(f"cannot write it: {_reason(exc)}") from None
    try:
        if not _untouched(keeper, before, expected, ctime=False):
            raise WriteRefused("it changed on disk since it was read; not written")
        try:
            os.replace(temporary, target)
        except OSError as exc:
            raise WriteRefused(f"cannot write it: {_reason(exc)}") from None
        if not _untouched(keeper, before, expected, ctime=False):
            os.replace(keeper, target)
            raise WriteRefused("it changed on disk while it was written; the edit was kept")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(keeper)


def _kept_note(target: Path, temporary: Path, data: bytes) -> str:
    """The refusal after a swap back; the new file is dropped unless it was
    edited in that instant too (then it is kept beside the caption)."""
    try:
        ours = read_regular(temporary, MAX_FILE_BYTES, follow=False)
    except OSError:
        ours = data
    if ours == data:
        return "it changed on disk while it was written; the edit was kept, not overwritten"
    conflict = target.with_name(f"{target.name}.lintcap-conflict")
    with contextlib.suppress(OSError):
        os.replace(temporary, conflict)
    return (
        "it changed on disk while it was written; the edit was kept, and an edit of "
        f"lintcap's version is in {conflict.name}"
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
