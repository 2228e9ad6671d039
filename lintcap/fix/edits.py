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
    new text and how many fixes were applied."""
    new_text, applied = apply_fixes_indexed(text, list(fixes))
    return new_text, len(applied)


def apply_fixes_indexed(text: str, fixes: Sequence[Sequence[Edit]]) -> tuple[str, list[int]]:
    """Apply each fix whose edits overlap no edit already taken; returns the
    new text and the indices (into ``fixes``) of the fixes applied.

    Fixes are taken in order of their first edit's position (the first given
    wins a tie); one that overlaps is left for the fixer's next round, which
    re-lints first, so its offsets are computed on the new text. Two
    insertions at one point overlap: their order would be a guess. So does an
    insertion at either end of another fix's replacement: "[trigger]" replaced
    and "a photo of " inserted right after it would glue into one word
    ("ohwxa photo of"), a result neither fix meant.
    """
    taken: list[Edit] = []
    applied: list[int] = []
    groups = [(i, sorted(set(fix), key=_position)) for i, fix in enumerate(fixes) if fix]
    for index, group in sorted(groups, key=lambda pair: _position(pair[1][0])):
        clash = (
            _overlaps(edit, other) or _touches(edit, other) for edit in group for other in taken
        )
        if any(clash):
            continue
        if any(_overlaps(a, b) for i, a in enumerate(group) for b in group[i + 1 :]):
            continue  # a fix at odds with itself is a bug in its check: skip it
        taken.extend(group)
        applied.append(index)
    for edit in sorted(taken, key=_position, reverse=True):
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text, sorted(applied)


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, int]:
    """Apply single-edit fixes (each edit its own fix)."""
    return apply_fixes(text, ([edit] for edit in edits))


def _position(edit: Edit) -> tuple[int, int]:
    return edit.start, edit.end


def _touches(a: Edit, b: Edit) -> bool:
    """An insertion at an end of a replacement (of another fix)."""
    if a.start == a.end and b.start != b.end:
        return a.start in (b.start, b.end)
    if b.start == b.end and a.start != a.end:
        return b.start in (a.start, a.end)
    return False


def _overlaps(a: Edit, b: Edit) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return a.start < b.end and b.start < a.end
