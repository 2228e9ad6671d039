"""``lintcap fix``: apply the rules' fixes to a fixed point, then write.

Each round lints the whole dataset (dataset-level rules such as C010 need
every caption) with the captions' current text held in memory, applies the
edits of every fixable finding, and repeats until nothing changes or the
round limit is reached. Only then is anything written, each file atomically
and only if its bytes are still the ones that were read.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from lintcap.config import Config
from lintcap.dataset import discover, display_path
from lintcap.engine.run import LintResult, lint, load_rulebook
from lintcap.fix.edits import apply_fixes
from lintcap.fix.write import WriteRefused, write_atomically
from lintcap.models import Edit

MAX_ROUNDS = 10


class FileFix(BaseModel):
    path: Path
    display: str
    before: str
    after: str
    fixes: int
    written: bool = False
    refused: str | None = None

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=git_quote(self.display),
                tofile=git_quote(self.display),
            )
        )


class FixResult(BaseModel):
    files: list[FileFix]
    remaining: LintResult
    unsettled: list[str] = []

    @property
    def fixes(self) -> int:
        return sum(f.fixes for f in self.files)


def fix(
    paths: Sequence[Path],
    config: Config,
    *,
    unsafe: bool = False,
    write: bool = True,
    max_rounds: int = MAX_ROUNDS,
) -> FixResult:
    """Fix the datasets at ``paths``; write unless ``write`` is False."""
    book = load_rulebook(config)
    originals = _read_captions(paths, config)
    texts: dict[Path, str] = {}
    fixes: dict[Path, int] = {}
    overrides = dict(originals)
    result = lint(paths, config, book, overrides)
    for _ in range(max_rounds):
        changed = False
        for path, (new_text, findings) in _round(result, unsafe, overrides).items():
            texts[path] = new_text
            overrides[path] = new_text.encode("utf-8")
            fixes[path] = fixes.get(path, 0) + findings
            changed = True
        if not changed:
            break
        result = lint(paths, config, book, overrides)
    # Whatever would still change after the last round did not settle.
    unsettled = sorted(display_path(p) for p in _round(result, unsafe, overrides))
    files = []
    for path, new_text in sorted(texts.items()):
        original = originals[path]
        before = original.decode("utf-8", errors="replace").lstrip("\ufeff")
        file_fix = FileFix(
            path=path, display=display_path(path), before=before, after=new_text, fixes=fixes[path]
        )
        if write:
            try:
                write_atomically(path, overrides[path], expected=original)
                file_fix.written = True
            except WriteRefused as exc:
                file_fix.refused = str(exc)
        files.append(file_fix)
    return FixResult(files=files, remaining=result, unsettled=unsettled)


_GIT_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r"}


def git_quote(name: str) -> str:
    """A file name as git writes it in a diff header: as it is when plain,
    else in double quotes with C escapes and octal bytes (git's
    ``quote_c_style``), so a name holding a newline cannot forge a header."""
    try:
        data = name.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file system name holds
        data = name.encode("utf-8", errors="backslashreplace")
    if all(0x20 <= byte < 0x7F and byte not in b'"\\' for byte in data):
        return name
    parts = []
    for byte in data:
        if byte in _GIT_ESCAPES:
            parts.append(_GIT_ESCAPES[byte])
        elif byte in b'"\\':
            parts.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\{byte:03o}")
    return '"' + "".join(parts) + '"'


def _read_captions(paths: Sequence[Path], config: Config) -> dict[Path, bytes]:
    """The bytes of every sidecar caption that decodes: these, and only these,
    are what the fixer edits and what the writer checks against."""
    captions: dict[Path, bytes] = {}
    for item in discover(list(paths), config.caption_extension).items:
        path = item.caption_path
        if path is None or item.metadata_line is not None or path in captions:
            continue
        try:
            data = path.read_bytes()
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # unreadable or undecodable: never written (F004 / F012 say why)
        captions[path] = data
    return captions


def _round(
    result: LintResult, unsafe: bool, current: dict[Path, bytes]
) -> dict[Path, tuple[str, int]]:
    """New text (and the number of findings fixed) of each caption that the
    fixable findings of ``result`` would change."""
    changes = {}
    for path, (text, fixes, findings) in _pending_fixes(result, unsafe).items():
        new_text, applied = apply_fixes(text, fixes)
        if applied and path in current and new_text.encode("utf-8") != current[path]:
            changes[path] = (new_text, findings)
    return changes


def _pending_fixes(
    result: LintResult, unsafe: bool
) -> dict[Path, tuple[str, list[list[Edit]], int]]:
    """Fixes (each a finding's edits) per caption file from the fixable findings."""
    by_display = {
        f.caption_display: f
        for f in result.items
        if f.caption_display and f.text is not None and f.item.metadata_line is None
    }
    pending: dict[Path, tuple[str, list[list[Edit]], int]] = {}
    for diagnostic in result.diagnostics:
        if not diagnostic.fixable or (diagnostic.applicability == "unsafe" and not unsafe):
            continue
        facts = by_display.get(diagnostic.path) if diagnostic.path else None
        if facts is None or facts.text is None or facts.item.caption_path is None:
            continue
        text, fixes, count = pending.get(facts.item.caption_path, (facts.text, [], 0))
        pending[facts.item.caption_path] = (text, [*fixes, list(diagnostic.edits)], count + 1)
    return pending


def outcome_notes(files: Sequence[FileFix], unsettled: Sequence[str]) -> list[str]:
    """Lines a user must read after a fix: files not written, and why;
    captions whose fixes did not settle within the round limit."""
    notes = [f"{f.display}: not written: {f.refused}" for f in files if f.refused]
    notes += [f"{display}: fixes did not settle after {MAX_ROUNDS} rounds" for display in unsettled]
    return notes


def fix_failed(files: Sequence[FileFix], remaining: LintResult, config: Config) -> bool:
    """A fix fails (exit 1) when a file could not be written or findings at
    or above ``fail-on`` remain."""
    return any(f.refused for f in files) or config.fails(remaining.diagnostics)
