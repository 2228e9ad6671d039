"""The source of the modules that decide a cached result, as part of its key.

A cache keyed on settings alone serves an old result after the code that
computes it changed (a new reading rule, a new parse): the keys of the parse
cache and of the image text facts take in the bytes of the modules that
decide them, so that an edited module never reads a result of the old one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def add_sources(digest: _Digest, folder: Path, names: tuple[str, ...]) -> None:
    """Feed the bytes of each module ``names`` of ``folder`` to ``digest``
    (a missing or unreadable one adds nothing: an installed wheel has them all)."""
    for name in names:
        with contextlib.suppress(OSError):
            digest.update((folder / name).read_bytes())
