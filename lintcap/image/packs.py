"""Many image-fact entries in one file: the fact cache's packs.

Creating a file is the dearest thing the cache did: on the development
machine's ext4 a cold run of 5,000 small images spent 0.9 to 2.2 CPU s
creating their 5,000 entry files (``bench/endtoend.py``), more than it spent
measuring them. A run that writes many entries writes them as one pack per
:data:`~lintcap.image.cache.FLUSH_EVERY` entries instead, in
``images/KEY/packs/``: one line an entry, ``SHA256 JSON``. JSON holds no raw
line break, so lines split cleanly.

Packs are named by the time they were written and read newest first, so the
newest entry of an image wins when several packs hold it (and the packs a
byte budget leaves unread are the oldest). A pack is written once (a rename of a
complete temporary file) and never changed; when more than :data:`MAX_PACKS`
are read, the next write folds every entry read into the new pack and
removes the packs it read (a pack another run writes meanwhile is not among
them). Reading follows the cache's rules for hostile ground: regular files
only, no link followed, a bounded number of bounded files, a line that is
not ``SHA256 JSON`` of at most the entry limit is skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time

from lintcap.safefs import TooLarge, read_regular, replace_file

PACK_FOLDER = "packs"
_PACK_NAME = re.compile(r"^\d{20}-[0-9a-f]{12}\.pack$")
_SHA256 = re.compile(rb"^[0-9a-f]{64}$")
#: Packs read before the next write folds them into one.
MAX_PACKS = 16
#: Packs read at most (the newest): a folder of thousands is not ours.
MAX_READ_PACKS = 64
#: Bytes read from all packs together (as the parse cache's pack).
MAX_PACKS_BYTES = 256 << 20


def read_packs(folder: int, max_entry: int) -> tuple[dict[str, bytes], list[str]]:
    """The entries of the packs in the open ``folder`` (image hash -> its
    JSON, the newest pack's when several hold it) and the names of the packs
    read. Unreadable packs and lines are skipped."""
    try:
        names = sorted(name for name in os.listdir(folder) if _PACK_NAME.match(name))
    except OSError:
        return {}, []
    entries: dict[str, bytes] = {}
    read: list[str] = []
    budget = MAX_PACKS_BYTES
    # Newest first, each image's first entry kept: when the byte budget runs
    # out, the packs left unread are the oldest (read oldest first, the
    # newest were skipped and a fold wrote their images' older facts anew).
    for name in reversed(names[-MAX_READ_PACKS:]):
        try:
            data = read_regular(name, budget, follow=False, at=folder)
        except TooLarge:
            break
        except OSError:
            continue
        budget -= len(data)
        read.append(name)
        for line in data.split(b"\n"):
            if len(line) > 65 + max_entry or line[64:65] != b" " or not _SHA256.match(line[:64]):
                continue
            entries.setdefault(line[:64].decode("ascii"), line[65:])
    return entries, read


def write_pack(folder: int, entries: dict[str, bytes]) -> bool:
    """One new pack of ``entries`` in the open ``folder``; False when it
    could not be written (the cache is an optimisation: nothing is raised)."""
    name = f"{time.time_ns():020d}-{secrets.token_hex(6)}.pack"
    data = b"".join(sha.encode("ascii") + b" " + json + b"\n" for sha, json in entries.items())
    return replace_file(folder, name, data)


def remove_packs(folder: int, names: list[str]) -> None:
    """Remove the packs ``names`` (folded into a newer one)."""
    for name in names:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=folder)
