"""Apply text edits to one caption."""

from __future__ import annotations

from collections.abc import Iterable

from lintcap.models import Edit


def apply_edits(text: str, edits: Iterable[Edit]) -> tuple[str, int]:
    """Apply non-overlapping ``edits`` to ``text``; returns the new text and
    how many edits were applied.

    Edits are taken in order of position (the first given wins a tie); one
    that overlaps an edit already taken is left for the next round of the
    fixer, which re-lints first, so its offsets are computed on the new text.
    """
    taken: list[Edit] = []
    last_end = -1
    insertions: set[int] = set()
    for edit in sorted(dict.fromkeys(edits), key=lambda e: (e.start, e.end)):
        if edit.start < last_end:
            continue  # overlaps an edit already taken
        if edit.start == edit.end:
            if edit.start in insertions:
                continue  # two insertions at one point: their order would be a guess
            insertions.add(edit.start)
        taken.append(edit)
        last_end = max(last_end, edit.end)
    for edit in reversed(taken):
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text, len(taken)
