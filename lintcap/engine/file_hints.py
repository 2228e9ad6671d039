"""What an unreadable image really is, when its first bytes say so.

A file that Pillow cannot identify is often not a broken image at all: a
repository cloned without Git LFS holds, in place of each image, a
130-byte text pointer (``version https://git-lfs.github.com/spec/v1``).
Telling the user to run ``git lfs pull`` saves them guessing. The headers
and what they mean live in the rule (``hints`` in rules/files.yaml).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lintcap.engine.spec import FileHint
from lintcap.safefs import open_regular


def hint_for(path: Path, hints: Sequence[FileHint]) -> str | None:
    """The detail of the first hint whose header ``path`` starts with. Only a
    regular file is read, and only as many bytes as the longest header."""
    if not hints:
        return None
    size = max(len(hint.starts_with.encode("utf-8")) for hint in hints)
    try:
        descriptor = open_regular(path, follow=False)  # NotRegularFile is an OSError
    except OSError:
        return None
    try:
        head = os.read(descriptor, size)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    for hint in hints:
        if head.startswith(hint.starts_with.encode("utf-8")):
            return hint.detail
    return None
