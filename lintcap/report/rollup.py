"""Roll-up of a code that fires on every caption of a set, for text output.

A rule that fires on every caption (a prose set with no tags, a style set
with no lighting word) says one thing about the set, not one thing per file:
printed caption by caption it buries every other finding. The text report
prints such a code once, with the count and an example; ``--verbose`` (and
every other format: JSON, SARIF, JUnit, GitHub) still has each finding.
"""

from __future__ import annotations

import os
from collections import defaultdict

from lintcap.models import Diagnostic


def roll_up(
    diagnostics: list[Diagnostic], captions: int
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """Split ``diagnostics`` into those printed one by one and one summary
    finding per code that fires on every one of the ``captions`` (two or
    more; a caption is a file, or a line of ``metadata.jsonl``)."""
    if captions < 2:
        return diagnostics, []
    places: dict[str, set[tuple[str, int | None]]] = defaultdict(set)
    for diagnostic in diagnostics:
        if diagnostic.path is not None and diagnostic.line is not None:
            places[diagnostic.code].add((diagnostic.path, diagnostic.line))
    everywhere = {code for code, seen in places.items() if len(seen) >= captions}
    if not everywhere:
        return diagnostics, []
    kept = [d for d in diagnostics if d.code not in everywhere or d.line is None]
    summaries = []
    for code in sorted(everywhere):
        members = [d for d in diagnostics if d.code == code and d.line is not None]
        summaries.append(_summary(members, len(places[code])))
    return kept, summaries


def _summary(members: list[Diagnostic], captions: int) -> Diagnostic:
    first = members[0]
    paths = sorted({d.path or "" for d in members})
    folder = os.path.commonpath(paths) if len(paths) > 1 else os.path.dirname(paths[0])
    same = all(d.message == first.message for d in members)
    what = first.message if same else f"e.g. {first.message}"
    count = f"{len(members)} findings" if len(members) != captions else "once each"
    return first.model_copy(
        update={
            "path": folder.rstrip("/") + "/",
            "line": None,
            "column": None,
            "message": f"{what} [on all {captions} captions, {count}; --verbose lists them]",
            "related": [],
            "edits": [],
        }
    )
