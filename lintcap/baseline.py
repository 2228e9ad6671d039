"""Adopting lintcap on an existing dataset: a baseline of known findings.

``lintcap check --write-baseline FILE`` records every current finding;
``baseline = "FILE"`` in the config (or ``--baseline FILE``) then hides the
findings it holds, so only new ones are reported. A finding is keyed on its
path (relative to the baseline's folder), its code and a hash of the content
it is about: the caption's text for a caption's finding, the image's bytes for
an image's, the message for a finding on the whole set. An edit to a caption
therefore re-surfaces its findings (they are about new text), while edits to
other files leave them hidden. Counts are kept per key, so a second finding of
the same code in the same unchanged caption is still new.

The file is JSON, sorted, one entry per line, so that it diffs well in git.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lintcap import safefs
from lintcap.models import Diagnostic

if TYPE_CHECKING:
    from lintcap.analyse import ItemFacts

FORMAT_VERSION = 1
#: Bytes of an image hashed at most: an image larger than this is keyed on
#: its first part and its size (such a file is an F009 finding anyway).
_MAX_HASHED = 256 * 1024 * 1024
#: A baseline holds one short entry per finding: 64 MiB is far beyond any real one.
_MAX_BASELINE_BYTES = 64 * 1024 * 1024

Key = tuple[str, str, str]


class BaselineError(Exception):
    """The baseline file cannot be read or written."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _file_digest(path: Path) -> str | None:
    try:
        with safefs.open_binary(path) as handle:
            data = handle.read(_MAX_HASHED)
            size = os.fstat(handle.fileno()).st_size
    except OSError:  # NotRegularFile (a FIFO would block a plain open) included
        return None
    return _digest(data + str(size).encode())


class ContentHashes:
    """The content hash of the file each finding is about, computed once."""

    def __init__(self, items: Sequence[ItemFacts]) -> None:
        self._captions: dict[str, ItemFacts] = {}
        self._images: dict[str, ItemFacts] = {}
        for facts in items:
            if facts.caption_display:
                self._captions[facts.caption_display] = facts
            if facts.image_display:
                self._images[facts.image_display] = facts
        self._cache: dict[str, str] = {}

    def of(self, diagnostic: Diagnostic) -> str:
        path = diagnostic.path or ""
        if path not in self._cache:
            self._cache[path] = self._compute(path, diagnostic)
        found = self._cache[path]
        return found or _digest(diagnostic.message.encode())

    def _compute(self, path: str, diagnostic: Diagnostic) -> str:
        caption = self._captions.get(path)
        if caption is not None:
            if caption.text is not None:
                return _digest(caption.text.encode("utf-8", errors="surrogatepass"))
            if caption.item.caption_path is not None:
                return _file_digest(caption.item.caption_path) or ""
        image = self._images.get(path)
        if image is not None:
            facts = image.image_facts
            if facts is not None and facts.sha256:
                return facts.sha256[:16]
            if image.item.image is not None:
                return _file_digest(image.item.image) or ""
        return ""  # the whole set, or a file lintcap did not read: keyed on the message


def _relative(path: str | None, base: Path) -> str:
    if not path:
        return "."
    trailing = "/" if path.endswith("/") else ""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(base).as_posix()
    except ValueError:
        relative = absolute.as_posix()
    return relative + trailing


def keys(diagnostics: Sequence[Diagnostic], items: Sequence[ItemFacts], base: Path) -> list[Key]:
    hashes = ContentHashes(items)
    return [(_relative(d.path, base), d.code, hashes.of(d)) for d in diagnostics]


def write_baseline(
    path: Path, diagnostics: Sequence[Diagnostic], items: Sequence[ItemFacts]
) -> int:
    """Record ``diagnostics`` in ``path`` (atomically); the number recorded."""
    from lintcap.report.output import OutputFileError, write_output_file

    base = Path(os.path.abspath(path)).parent
    counts = Counter(keys(diagnostics, items, base))
    entries = [
        {"path": p, "code": c, "hash": h, "count": n} for (p, c, h), n in sorted(counts.items())
    ]
    lines = ",\n".join("    " + json.dumps(entry, ensure_ascii=False) for entry in entries)
    body = f"[\n{lines}\n  ]" if entries else "[]"
    text = f'{{\n  "lintcap-baseline": {FORMAT_VERSION},\n  "findings": {body}\n}}\n'
    try:
        write_output_file(path, text, "baseline")
    except OutputFileError as exc:
        raise BaselineError(str(exc)) from None
    return len(diagnostics)


def read_baseline(path: Path) -> Counter[Key]:
    try:
        data = json.loads(safefs.read_regular(path, _MAX_BASELINE_BYTES).decode("utf-8"))
    except safefs.NotRegularFile as exc:
        raise BaselineError(f"baseline {path}: {exc.strerror}") from None
    except safefs.TooLarge as exc:
        raise BaselineError(f"baseline {path}: too large: {exc.strerror}") from None
    except FileNotFoundError:
        raise BaselineError(
            f"baseline {path} does not exist; create it with "
            f"`lintcap check --write-baseline {path}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or data.get("lintcap-baseline") != FORMAT_VERSION:
        raise BaselineError(f"baseline {path}: not a lintcap baseline (version {FORMAT_VERSION})")
    counts: Counter[Key] = Counter()
    for entry in data.get("findings", []):
        try:
            key = (str(entry["path"]), str(entry["code"]), str(entry["hash"]))
            counts[key] += int(entry.get("count", 1))
        except (KeyError, TypeError, ValueError):
            raise BaselineError(f"baseline {path}: malformed entry {entry!r:.80}") from None
    return counts


def filter_baseline(
    path: Path, diagnostics: Sequence[Diagnostic], items: Sequence[ItemFacts]
) -> tuple[list[Diagnostic], int]:
    """The findings not in the baseline at ``path``, and how many were hidden."""
    known = read_baseline(path)
    base = Path(os.path.abspath(path)).parent
    kept = []
    hidden = 0
    for diagnostic, key in zip(diagnostics, keys(diagnostics, items, base), strict=True):
        if known[key] > 0:
            known[key] -= 1
            hidden += 1
        else:
            kept.append(diagnostic)
    return kept, hidden
