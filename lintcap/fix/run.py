"""``lintcap fix``: apply the rules' fixes to a fixed point, then write.

Each round lints the whole dataset (dataset-level rules such as C010 need
every caption) with the captions' current text held in memory, applies the
edits of every fixable finding, and lints again. A caption whose new text
adds a finding of its own (a caption or file rule) that it did not have, or
loses the trigger, keeps its old text:
the round's edits to it are rolled back (retried one fix at a time, and a fix
that still does harm is reported with the reason and not tried again). This
repeats until nothing changes or the round limit is reached. Only then is
anything written, each file atomically and only if its bytes are still the
ones that were read.

A ``metadata.jsonl`` is edited like a caption file whose captions are JSON
strings: each edit of a row's caption is mapped to the raw columns of its
line (the ``text``/``caption`` value) with the replacement JSON-escaped in the
line's own style (``\\uXXXX`` when the line escapes non-ASCII), so every other
field, the key order, the escapes and the line endings stay as they were. A
row whose caption cannot be found verbatim in its line is not edited, and
the fix says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path

from pydantic import BaseModel

from lintcap.analyse import ItemFacts
from lintcap.config import Config
from lintcap.dataset import METADATA_MAX_BYTES, discover, display_path
from lintcap.engine.run import LintResult, lint, load_rulebook, needs_for
from lintcap.engine.spec import ForbidsCheck, RequiresAnyCheck
from lintcap.fix.diff import unified_diff
from lintcap.fix.edits import apply_fixes_indexed
from lintcap.fix.write import WriteRefused, write_atomically
from lintcap.models import Diagnostic, Edit
from lintcap.safefs import read_regular
from lintcap.scope import Scope

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
        """A diff ``git apply`` accepts (lintcap.fix.diff), names quoted as git does."""
        return unified_diff(self.before, self.after, self.display, quote=git_quote)


class FixResult(BaseModel):
    files: list[FileFix]
    remaining: LintResult
    unsettled: list[str] = []
    #: Fixes undone because re-linting found harm: "file: what, why".
    rolled_back: list[str] = []

    @property
    def fixes(self) -> int:
        return sum(f.fixes for f in self.files)


class _Pending(BaseModel):
    """The fixes a round would apply to one caption, each keyed by its finding."""

    text: str
    keys: list[str] = []
    fixes: list[list[Edit]] = []


class _Proposal(BaseModel):
    text: str
    keys: list[str]


def fix(
    paths: Sequence[Path],
    config: Config,
    *,
    unsafe: bool = False,
    write: bool = True,
    max_rounds: int = MAX_ROUNDS,
    only: Sequence[Path] | None = None,
    force: bool = False,
) -> FixResult:
    """Fix the datasets at ``paths``; write unless ``write`` is False.
    ``only``: edit just these files' captions, the datasets judged whole
    (``fix --whole-dataset``, the pre-commit hook on staged captions).
    ``force``: also rewrite read-only and hard-linked captions (``--force-write``)."""
    book = load_rulebook(config)
    originals = _read_captions(
        only if only is not None else paths, config, needs_for(book.rules).max_caption_bytes
    )
    fixes: dict[Path, int] = {}
    overrides = dict(originals)
    result = lint(paths, config, book, overrides)
    trigger = result.trigger.word
    # Harm is judged on the caption itself: a finding of a caption or file
    # rule it did not have, or a kind of description it loses. What a fix only
    # reveals is not harm: two captions now identical (dataset rules), or a
    # description that a caption with its trigger is now asked for (requires-any).
    own = frozenset(
        r.code
        for r in book.rules
        if r.scope in ("caption", "file") and not isinstance(r.check, RequiresAnyCheck)
    )
    cut = {c for r in book.rules if isinstance(r.check, ForbidsCheck) for c in r.check.categories}
    kept_categories = frozenset(set(_lexicon_categories(result)) - cut)
    # The subject is the dataset's, decided once from the captions as read: a
    # round's edits must not flip it (and with it which rules run).
    subject = result.subject
    if subject.kind is not None and config.subject.kind == "auto":
        pinned = config.subject.model_copy(update={"kind": subject.kind})
        config = config.model_copy(update={"subject": pinned})
    # A fix that harmed a caption is blocked for that caption as it then read;
    # once another fix changes the caption, the judgement no longer holds
    # (" - Copy" alone would be emptied by C016; after C001 added the trigger
    # it would not), so the block and its note are dropped and the fix is
    # judged again: one run does what two would.
    blocked: dict[Path, set[str]] = {}
    rolled_back_notes: dict[Path, list[str]] = {}
    one_at_a_time: set[Path] = set()
    for _ in range(max_rounds):
        proposals = _round(result, unsafe, overrides, blocked, one_at_a_time)
        if not proposals:
            break
        trial = {**overrides, **{p: q.text.encode("utf-8") for p, q in proposals.items()}}
        checked = lint(paths, config, book, trial)
        harmed = False
        as_read, as_fixed = _Index(result), _Index(checked)
        for path, proposal in proposals.items():
            harm = _harm(path, as_read, as_fixed, trigger, own, kept_categories)
            if harm is None:
                overrides[path] = trial[path]
                fixes[path] = fixes.get(path, 0) + len(proposal.keys)
                blocked.pop(path, None)
                rolled_back_notes.pop(path, None)
                continue
            harmed = True
            if len(proposal.keys) > 1 and path not in one_at_a_time:
                one_at_a_time.add(path)  # find the culprit: one fix per round
                continue
            blocked.setdefault(path, set()).update(proposal.keys)
            what = "; ".join(proposal.keys)
            rolled_back_notes.setdefault(path, []).append(
                f"{display_path(path)}: fix rolled back ({what}): {harm}"
            )
        result = lint(paths, config, book, overrides) if harmed else checked
    # Whatever would still change after the last round did not settle.
    unsettled = sorted(
        display_path(p) for p in _round(result, unsafe, overrides, blocked, one_at_a_time)
    )
    rolled_back = [note for notes in rolled_back_notes.values() for note in notes]
    # Fixable findings that no round could apply, and why (metadata.jsonl rows).
    _pending_fixes(result, unsafe, overrides, rolled_back)
    result.subject = subject
    files = []
    roots = {f.item.caption_path: f.item.root for f in result.items if f.item.caption_path}
    for path in sorted(fixes):
        original = originals[path]
        before = original.decode("utf-8", errors="replace").lstrip("\ufeff")
        file_fix = FileFix(
            path=path,
            display=display_path(path),
            before=before,
            after=overrides[path].decode("utf-8"),
            fixes=fixes[path],
        )
        if write:
            try:
                write_atomically(
                    path,
                    overrides[path],
                    expected=original,
                    root=roots.get(path),
                    allow_hard_links=force,
                    allow_read_only=force,
                )
                file_fix.written = True
            except WriteRefused as exc:
                file_fix.refused = str(exc)
        files.append(file_fix)
    return FixResult(files=files, remaining=result, unsettled=unsettled, rolled_back=rolled_back)


class _Index:
    """A lint result looked up by file: its items by caption path and its
    findings by every name they mention (path and related files), in order.
    Built once per round, so judging each proposed caption reads only what
    concerns it instead of every item and finding of the dataset."""

    def __init__(self, result: LintResult) -> None:
        self.items: dict[Path, list[ItemFacts]] = {}
        for facts in result.items:
            if facts.item.caption_path is not None:
                self.items.setdefault(facts.item.caption_path, []).append(facts)
        self._by_name: dict[str, list[tuple[int, Diagnostic]]] = {}
        for index, diagnostic in enumerate(result.diagnostics):
            for name in {diagnostic.path, *diagnostic.related} - {None}:
                assert name is not None
                self._by_name.setdefault(name, []).append((index, diagnostic))

    def concerning(self, facts: ItemFacts) -> list[Diagnostic]:
        """The findings about ``facts`` (lintcap's ``_concerns``), in the
        order the result lists them."""
        names = {facts.display, facts.caption_display, facts.image_display, facts.reference}
        found = {
            index: diagnostic
            for name in names - {None, ""}
            for index, diagnostic in self._by_name.get(name or "", [])
        }
        return [found[i] for i in sorted(found) if _concerns(found[i], facts)]


def _harm(
    path: Path,
    before: _Index,
    after: _Index,
    trigger: str | None,
    own: frozenset[str],
    categories: frozenset[str],
) -> str | None:
    """Why the caption at ``path`` is worse in ``after`` than in ``before``:
    the trigger lost, a kind of description (of ``categories``) lost, or a
    finding of one of the ``own`` codes it did not have (counted by code,
    since positions and counts in messages move with any edit); None when it
    is not. A metadata.jsonl is judged row by row."""
    new_rows = {f.item.metadata_line: f for f in after.items.get(path, [])}
    for old in before.items.get(path, []):
        new = new_rows.get(old.item.metadata_line)
        found = _harm_to(before, after, old, new, trigger, own, categories)
        if found is not None:
            return found if old.item.metadata_line is None else f"{old.reference}: {found}"
    return None


def _harm_to(
    before: _Index,
    after: _Index,
    old: ItemFacts | None,
    new: ItemFacts | None,
    trigger: str | None,
    own: frozenset[str],
    categories: frozenset[str],
) -> str | None:
    if old is None or new is None:
        return None
    if old.parsed is not None and new.parsed is not None:
        if trigger and old.parsed.trigger_mentions and not new.parsed.trigger_mentions:
            return f"the trigger '{trigger}' would be lost"
        if trigger and old.parsed.trigger is not None and new.parsed.trigger is None:
            return f"the caption would no longer begin with the trigger '{trigger}'"
        lost = sorted((old.parsed.categories() - new.parsed.categories()) & categories)
        if lost:
            return f"what it says about {', '.join(lost)} would be lost"
    had = Counter(d.code for d in before.concerning(old))
    for diagnostic in after.concerning(new):
        if diagnostic.code not in own:
            continue
        if had[diagnostic.code] <= 0:
            return f"it would add {diagnostic.code} ({diagnostic.message})"
        had[diagnostic.code] -= 1
    return None


def _lexicon_categories(result: LintResult) -> set[str]:
    return {hit.category for f in result.items if f.parsed for hit in f.parsed.hits}


def _concerns(diagnostic: Diagnostic, facts: ItemFacts) -> bool:
    if facts.item.metadata_line is not None:  # one row of a shared file
        own = (
            diagnostic.path == facts.caption_display and diagnostic.line == facts.item.metadata_line
        )
        return own or facts.reference in diagnostic.related
    names = {facts.display, facts.caption_display, facts.image_display} - {None, ""}
    return diagnostic.path in names or not names.isdisjoint(diagnostic.related)


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


def _read_captions(paths: Sequence[Path], config: Config, limit: int) -> dict[Path, bytes]:
    """The bytes of every caption file (sidecar or metadata.jsonl) that
    decodes: these, and only these, are what the fixer edits and what the
    writer checks against. ``limit``: the rule files' caption size limit
    (``needs_for(book.rules).max_caption_bytes`` of the caller's rule book)."""
    captions: dict[Path, bytes] = {}
    dataset = discover(
        list(paths), config.caption_extension, Scope.from_config(config), config.caption_source
    )
    for item in dataset.items:
        path = item.caption_path
        if path is None or path in captions:
            continue
        try:
            # The limit check applies: a FIFO, a device or a 1 MB caption is
            # check's finding, never something fix reads whole.
            data = read_regular(path, METADATA_MAX_BYTES if item.metadata_line else limit)
            data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # unreadable, too large or undecodable: never written (F-codes say why)
        captions[path] = data
    return captions


def _round(
    result: LintResult,
    unsafe: bool,
    current: dict[Path, bytes],
    blocked: dict[Path, set[str]],
    one_at_a_time: set[Path],
) -> dict[Path, _Proposal]:
    """New text (and the fixes it applies) of each caption that the fixable
    findings of ``result`` would change, leaving out fixes rolled back before."""
    changes = {}
    for path, pending in _pending_fixes(result, unsafe, current).items():
        keep = [i for i, key in enumerate(pending.keys) if key not in blocked.get(path, set())]
        if path in one_at_a_time:
            keep = sorted(keep, key=lambda i: min(e.start for e in pending.fixes[i]))[:1]
        if not keep:
            continue
        new_text, applied = apply_fixes_indexed(pending.text, [pending.fixes[i] for i in keep])
        if applied and path in current and new_text.encode("utf-8") != current[path]:
            keys = [pending.keys[keep[i]] for i in applied]
            changes[path] = _Proposal(text=new_text, keys=keys)
    return changes


def _pending_fixes(
    result: LintResult, unsafe: bool, current: dict[Path, bytes], skipped: list[str] | None = None
) -> dict[Path, _Pending]:
    """Fixes (each a finding's edits) per caption file from the fixable
    findings; a metadata.jsonl row's edits in the raw text of the file.
    Fixable findings that cannot be applied are named in ``skipped``."""
    by_display = {
        f.caption_display: f
        for f in result.items
        if f.caption_display and f.text is not None and f.item.metadata_line is None
    }
    rows: dict[tuple[str | None, int | None], ItemFacts] = {
        (f.caption_display, f.item.metadata_line): f
        for f in result.items
        if f.caption_display and f.text is not None and f.item.metadata_line is not None
    }
    pending: dict[Path, _Pending] = {}
    files: dict[Path, _JsonlText] = {}  # each metadata.jsonl decoded and split once
    for diagnostic in result.diagnostics:
        if not diagnostic.fixable or (diagnostic.applicability == "unsafe" and not unsafe):
            continue
        key = f"{diagnostic.code} {diagnostic.message}"
        row = rows.get((diagnostic.path, diagnostic.line))
        if row is not None and row.item.caption_path is not None:
            path = row.item.caption_path
            if path not in current:
                continue
            if path not in files:
                files[path] = _JsonlText(current[path].decode("utf-8"))
            file_text = files[path]
            edits = _row_edits(file_text, row, diagnostic.edits)
            if edits is None:
                if skipped is not None:
                    skipped.append(
                        f"{row.reference}: {diagnostic.code} not fixed: the caption is not "
                        "written verbatim in its JSON line (no edit could keep the line intact)"
                    )
                continue
            entry = pending.setdefault(path, _Pending(text=file_text.text))
            entry.keys.append(f"{row.reference} {key}")
            entry.fixes.append(edits)
            continue
        facts = by_display.get(diagnostic.path) if diagnostic.path else None
        if facts is None or facts.text is None or facts.item.caption_path is None:
            continue
        entry = pending.setdefault(facts.item.caption_path, _Pending(text=facts.text))
        entry.keys.append(key)
        entry.fixes.append(list(diagnostic.edits))
    return pending


class _JsonlText:
    """A metadata.jsonl's text split into lines, with the offset where each
    line starts: built once per file and round, not once per finding."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = list(accumulate((len(line) + 1 for line in self.lines), initial=0))


def _row_edits(file_text: _JsonlText, row: ItemFacts, edits: Sequence[Edit]) -> list[Edit] | None:
    """A metadata.jsonl row's caption edits as edits of the whole file: the
    row's line located by number, each offset mapped through the decoded
    caption's raw columns, each replacement JSON-escaped as the line escapes.
    None when the caption cannot be mapped (the line does not hold it verbatim)."""
    line = row.item.metadata_line
    columns = row.column_map
    if line is None or columns is None or row.text is None:
        return None
    lines = file_text.lines
    if line > len(lines) or lines[line - 1].removesuffix("\r") != row.item.metadata_raw:
        return None
    offset = file_text.starts[line - 1]
    raw = lines[line - 1]
    ascii_only = "\\u" in raw and raw.isascii()
    mapped = []
    for edit in edits:
        if not 0 <= edit.start <= edit.end <= len(row.text):
            return None
        escaped = json.dumps(edit.replacement, ensure_ascii=ascii_only)[1:-1]
        mapped.append(
            Edit(
                start=offset + columns[edit.start],
                end=offset + columns[edit.end],
                replacement=escaped,
            )
        )
    return mapped


def outcome_notes(
    files: Sequence[FileFix], unsettled: Sequence[str], rolled_back: Sequence[str] = ()
) -> list[str]:
    """Lines a user must read after a fix: files not written, and why; fixes
    rolled back, and why; captions whose fixes did not settle within the
    round limit."""
    notes = [f"{f.display}: not written: {f.refused}" for f in files if f.refused]
    notes += list(dict.fromkeys(rolled_back))
    notes += [f"{display}: fixes did not settle after {MAX_ROUNDS} rounds" for display in unsettled]
    return notes


def fix_failed(files: Sequence[FileFix], remaining: LintResult, config: Config) -> bool:
    """A fix fails (exit 1) when a file could not be written or findings at
    or above ``fail-on`` remain."""
    return any(f.refused for f in files) or config.fails(remaining.diagnostics)
