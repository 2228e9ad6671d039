"""The fact cache: ``.lintcap_cache/`` beside the dataset, like ruff's.

One JSON entry per image, named by the file's content hash, holding the fact
families measured so far, each with the key of the settings it was measured
under (analyser version, OpenCV version, settings); a run takes the families
it reads whose keys match, measures the others and writes the entry back
with them added. A full hit needs no decode. A run's first
:data:`PACK_AFTER` entries are files of their own (a hook's run on a few
images writes no more); the others go into packs of many entries
(:mod:`lintcap.image.packs`): creating a file per image cost more than
measuring a small one. An entry file wins over a pack (it is written after
the packs that hold its image, which drop it when they are written). The
cache is an optimisation and nothing more: an unreadable, truncated, foreign
or oversized file is a miss, a failed write is ignored, and concurrent runs
are safe because every write is a rename of a complete temporary file.

The cache folder usually lives inside a dataset somebody else made, so it is
handled as hostile ground (:mod:`lintcap.safefs`): every folder below the
cache's parent is created and entered without following links, files are
created with ``O_EXCL|O_NOFOLLOW`` and read only when they are regular files
of bounded size. A cache folder (or a folder inside it) that is a link is
refused with one warning and the run goes on without a cache. The
``.gitignore`` of ``*`` is written only into a cache folder this run created:
never into a folder that already existed (``cache-dir`` pointing into a work
tree must not hide the user's files from git).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from lintcap.image.facts import ImageFacts
from lintcap.image.packs import MAX_PACKS, PACK_FOLDER, read_packs, remove_packs, write_pack
from lintcap.safefs import (
    create_exclusive,
    make_folders,
    open_folder,
    read_regular,
    replace_file,
)

CACHE_DIR_NAME = ".lintcap_cache"
#: The image facts' folder under ``images/``: one entry per image holds every
#: fact family measured so far, each with the key of its settings
#: (:mod:`lintcap.image.analyser`), so the folder itself is not per settings.
IMAGE_CACHE_LAYOUT = "families-1"
#: A facts file is a few kB; anything larger is not ours.
MAX_ENTRY_BYTES = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GITIGNORE = b"# Created by lintcap.\n*\n"
#: Subfolders kept open at least, whatever the open-file limit.
_MIN_OPEN_FOLDERS = 8
#: Entries a cache writes as files of their own before it packs the rest.
PACK_AFTER = 16
#: Entries held for a pack before it is written (a run stopped midway keeps
#: what it wrote).
FLUSH_EVERY = 1024


@cache
def _open_folders_kept() -> int:
    """How many of the 256 subfolders stay open: all of them under Linux's
    usual limit of 1,024 open files, fewer under a lower one (macOS: 256),
    so that the images the analysis opens meanwhile are not refused."""
    try:
        import resource  # POSIX only
    except ImportError:
        return _MIN_OPEN_FOLDERS
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return _MIN_OPEN_FOLDERS
    if soft == resource.RLIM_INFINITY:
        return 256
    return max(_MIN_OPEN_FOLDERS, min(256, soft // 4))


def _stderr_warning(message: str) -> None:
    sys.stderr.write(f"lintcap: warning: {message}\n")


class FactCache:
    #: The folder under the cache root that holds this kind of facts.
    kind = "images"

    def __init__(self, root: Path, key: str, warn: Callable[[str], None] = _stderr_warning) -> None:
        self.folder = root / self.kind / key
        self.root = root
        self.key = key
        self._warn = warn
        self._descriptor: int | None = None
        #: The open two-hex-digit folders below it, by name, least recently
        #: used first (at most 256, fewer under a low open-file limit):
        #: opened once a run, not once an image (each open, mkdir and close
        #: was a system call of its own: about a third of what caching the
        #: facts of a 16 x 16 JPEG cost, bench/endtoend.py).
        self._subfolders: dict[str, int] = {}
        #: Folders a read found missing (the key's folder: "", or a
        #: subfolder's name), not looked for again until this cache makes
        #: them: a cold run looks up every image before it writes any.
        self._missing: set[str] = set()
        #: Set once the cache is refused (a link, a file in the way): no reads, no writes.
        self.disabled = False
        #: Entries written so far as files of their own (at most PACK_AFTER).
        self._written = 0
        #: Entries waiting for the next pack, by image hash.
        self._pending: dict[str, bytes] = {}
        #: The packs' entries and the names of the packs read (read once).
        self._packed: dict[str, bytes] | None = None
        self._pack_names: list[str] = []

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def close(self) -> None:
        """Write what waits for a pack, then close the folders."""
        self.flush()
        for descriptor in self._subfolders.values():
            with contextlib.suppress(OSError):
                os.close(descriptor)
        self._subfolders.clear()
        if self._descriptor is not None:
            with contextlib.suppress(OSError):
                os.close(self._descriptor)
            self._descriptor = None

    def get(self, sha256: str) -> ImageFacts | None:
        if not _SHA256.match(sha256):
            return None
        data = self._pending.get(sha256)
        if data is None:
            sub = self._subfolder(sha256[:2], create=False)
            data = _read_entry(sub, f"{sha256}.json") if sub is not None else None
        if data is None:
            data = self._packs().get(sha256)
        try:
            facts = ImageFacts.model_validate_json(data) if data is not None else None
        except (ValueError, ValidationError):
            return None
        return facts if facts is not None and facts.sha256 == sha256 else None

    def put(self, facts: ImageFacts) -> None:
        if not _SHA256.match(facts.sha256):
            return
        if self._written >= PACK_AFTER:
            self._pending[facts.sha256] = facts.model_dump_json().encode()
            if len(self._pending) >= FLUSH_EVERY:
                self.flush()
            return
        self._written += 1
        sub = self._subfolder(facts.sha256[:2], create=True)
        if sub is None:
            return
        replace_file(sub, f"{facts.sha256}.json", facts.model_dump_json().encode())

    def flush(self) -> None:
        """Write the entries waiting for a pack as one pack; with more than
        :data:`~lintcap.image.packs.MAX_PACKS` packs read, fold those into it.
        Entry files of the same images are removed: they would win over it."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        folder = self._key_folder(create=True)
        if folder is None:
            return
        try:
            packs, _ = make_folders(folder, [PACK_FOLDER])
        except OSError:
            return
        try:
            packed = self._packs()  # folded into the new pack when there are many
            folded = self._pack_names if len(self._pack_names) >= MAX_PACKS else []
            if not write_pack(packs, {**packed, **pending} if folded else pending):
                return
            remove_packs(packs, folded)
            if folded:
                self._pack_names = []
            packed.update(pending)
            for sha256 in pending:
                if sha256[:2] not in self._missing:  # a file there would win over the pack
                    self._remove_entry(sha256)
        finally:
            os.close(packs)

    def _packs(self) -> dict[str, bytes]:
        """The packs' entries, read on first use (none without a folder)."""
        if self._packed is None:
            self._packed = {}
            folder = self._key_folder(create=False)
            if folder is not None:
                with contextlib.suppress(OSError):
                    packs = open_folder(PACK_FOLDER, follow=False, at=folder)
                    try:
                        self._packed, self._pack_names = read_packs(packs, MAX_ENTRY_BYTES)
                    finally:
                        os.close(packs)
        return self._packed

    def _remove_entry(self, sha256: str) -> None:
        sub = self._subfolder(sha256[:2], create=False)
        if sub is not None:
            with contextlib.suppress(OSError):
                os.unlink(f"{sha256}.json", dir_fd=sub)

    def _subfolder(self, name: str, create: bool) -> int | None:
        """The open folder ``name`` below the key's folder (made when
        ``create``, never through a link); None when it is missing or
        refused. Kept open for the next entry of the same folder."""
        sub = self._subfolders.pop(name, None)
        if sub is not None:
            self._subfolders[name] = sub  # the most recently used is kept longest
            return sub
        if not create and name in self._missing:
            return None
        folder = self._key_folder(create=create)
        if folder is None:
            return None
        try:
            if create:
                sub, _ = make_folders(folder, [name])
            else:
                sub = open_folder(name, follow=False, at=folder)
        except FileNotFoundError:
            self._missing.add(name)
            return None
        except OSError:
            return None
        self._missing.discard(name)  # it may be closed below and looked for again
        if len(self._subfolders) >= _open_folders_kept():
            oldest = next(iter(self._subfolders))
            with contextlib.suppress(OSError):
                os.close(self._subfolders.pop(oldest))
        self._subfolders[name] = sub
        return sub

    def _key_folder(self, create: bool) -> int | None:
        """The open ``images/KEY`` folder, made on the first write; None when
        there is none yet (a read) or the cache is refused."""
        if self.disabled:
            return None
        if self._descriptor is not None:
            return self._descriptor
        if not create and "" in self._missing:
            return None
        try:
            self._descriptor = self._open(create)
        except FileNotFoundError:
            if create:
                self._refuse("its folder cannot be created")
            else:
                self._missing.add("")
            return None
        except OSError as exc:
            self._refuse(_why(exc))
        return self._descriptor

    def _open(self, create: bool) -> int:
        anchor, missing = _existing_ancestor(self.root)
        if missing and not create:
            raise FileNotFoundError(self.root)
        base = open_folder(anchor)
        try:
            if missing:
                root, created = make_folders(base, missing)
            else:  # it exists: it must be a folder, not a link to one
                root, created = open_folder(self.root.name, follow=False, at=base), False
        finally:
            os.close(base)
        try:
            if created:
                # This run made the cache folder itself: keep it out of git.
                with contextlib.suppress(OSError):
                    create_exclusive(root, ".gitignore", _GITIGNORE)
            folder, _ = make_folders(root, [self.kind, self.key], create=create)
            return folder
        finally:
            os.close(root)

    def _refuse(self, why: str) -> None:
        self.disabled = True
        self._warn(f"not using the cache at {self.root}: {why}; running without a cache")


def _existing_ancestor(root: Path) -> tuple[Path, list[str]]:
    """The nearest existing folder at or above ``root``'s parent, and the
    names from it down to ``root`` (empty when ``root`` exists)."""
    root = Path(os.path.abspath(root))
    missing: list[str] = []
    current = root
    while not os.path.lexists(current):
        missing.insert(0, current.name)
        if current.parent == current:
            break
        current = current.parent
    if not missing:
        return root.parent, []
    return current, missing


def _read_entry(folder: int, name: str) -> bytes | None:
    """A cache file's bytes if it is a regular file (no link, FIFO or
    device) of at most :data:`MAX_ENTRY_BYTES`; None otherwise."""
    try:
        return read_regular(name, MAX_ENTRY_BYTES, follow=False, at=folder)
    except OSError:
        return None


def _why(exc: OSError) -> str:
    if exc.errno in {errno.ELOOP, errno.ENOTDIR}:
        return "it (or a folder inside it) is a symbolic link or not a folder"
    if exc.errno == errno.EEXIST:
        return "a file is in the way of one of its folders"
    return exc.strerror or str(exc)
