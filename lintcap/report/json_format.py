"""``--format json``: a JSON array of findings, one object each.

Lines and columns are 1-based and null where the finding is about a whole
file or the whole dataset; ``related`` lists the files a dataset finding
counted. A fixable finding carries ``fix``, in ruff's shape:
``{"applicability": "safe"|"unsafe", "edits": [{"content", "location":
{"row", "column"}, "end_location": {...}}]}`` (1-based, in the caption file);
``null`` otherwise. With ``--statistics`` the output is an object instead:
``{"findings": [...], "statistics": {...}}``.
"""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

from lintcap.caption.spans import Span
from lintcap.models import Diagnostic

if TYPE_CHECKING:
    from lintcap.analyse import ItemFacts
    from lintcap.engine.run import LintResult

FIELDS = (
    "code",
    "name",
    "severity",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "message",
    "fixable",
    "related",
)


def write(result: LintResult, stream: IO[str]) -> None:
    by_caption = {f.caption_display: f for f in result.items if f.caption_display}
    entries = (_entry(d, by_caption.get(d.path or "")) for d in result.diagnostics)
    if result.statistics is not None:
        payload = {
            "findings": list(entries),
            "statistics": result.statistics.model_dump(mode="json"),
        }
        json.dump(payload, stream, indent=2, ensure_ascii=False)
        stream.write("\n")
        return
    # Streamed, one finding at a time, byte for byte what json.dump(list,
    # indent=2) writes: no second copy of every finding in memory.
    opened = False
    for entry in entries:
        stream.write(",\n  " if opened else "[\n  ")
        stream.write(json.dumps(entry, indent=2, ensure_ascii=False).replace("\n", "\n  "))
        opened = True
    stream.write("\n]\n" if opened else "[]\n")


def _entry(diagnostic: Diagnostic, facts: ItemFacts | None) -> dict[str, Any]:
    finding = diagnostic.model_dump(mode="json", include=set(FIELDS))
    entry = {field: finding[field] for field in FIELDS}
    entry["fix"] = fix_object(diagnostic, facts)
    return entry


def fix_object(diagnostic: Diagnostic, facts: ItemFacts | None) -> dict[str, Any] | None:
    """``{"applicability", "edits"}`` of a fixable finding, else None."""
    if not diagnostic.fixable or not diagnostic.edits:
        return None
    edits = []
    for edit in diagnostic.edits:
        where = facts.locate(Span(edit.start, edit.end)) if facts is not None else None
        edits.append(
            {
                "content": edit.replacement,
                "location": _point(where.line, where.column) if where else None,
                "end_location": _point(where.end_line, where.end_column) if where else None,
            }
        )
    return {"applicability": diagnostic.applicability, "edits": edits}


def _point(row: int | None, column: int | None) -> dict[str, int] | None:
    return None if row is None else {"row": row, "column": column or 1}
