"""Apply text edits to one caption.

A *fix* is the list of edits of one finding; it is applied whole or not at
all. Moving a tag, for one, deletes it in one place and inserts it in
another: taking the deletion without the insertion would lose text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lintcap.models import Edit


def apply_fixes(text: str, fixes: Iterable[Sequence[Edit]]) -> tuple[str, int]:
    """Apply each fix whose edits overlap no edit already taken; returns the
    new text and how many fixes were applied.

    Fixes are taken in order of their first edit's position (the first given
    wins a tie); one that overlaps is left for the fixer's next round, which
    re-lints first, so its offsets are computed on the new text. Two
    insertions at one point overlap: their order would be a guess.
    """
    taken: list[Edit] = []
    applied = 0
    groups = [sorted(set(fix), key=_position) for fix in fixes if fix]
    for group in sorted(groups, key=lambda edits: _position(edits[0])):
        if any(_overlaps(edit, other) for edit in group for other in taken):
            continue
        if any(_overlaps(a, b) for i, a in enumerate(group) for b in group[i + 1 :]):
            continue  # a fix at odds with itself is a bug in its check: skip it
        taken.extend(group)
        applied += 1
    for edit in sorted(taken, key=_position, reverse=True):
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text, applied


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, int]:
    """Apply single-edit fixes (each edit its own fix)."""
    return apply_fixes(text, ([edit] for edit in edits))


def _position(edit: Edit) -> tuple[int, int]:
    return edit.start, edit.end


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end
