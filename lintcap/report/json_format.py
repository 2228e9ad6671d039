"""``--format json``: a JSON array of findings, one object each.

Lines and columns are 1-based and null where the finding is about a whole
file or the whole dataset; ``related`` lists the files a dataset finding
counted. With ``--statistics`` the output is an object instead:
``{"findings": [...], "statistics": {...}}``.
"""

from __future__ import annotations

import json
from typing import IO

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
    findings = [d.model_dump(mode="json", include=set(FIELDS)) for d in result.diagnostics]
    ordered = [{field: finding[field] for field in FIELDS} for finding in findings]
    payload: object = ordered
    if result.statistics is not None:
        payload = {"findings": ordered, "statistics": result.statistics.model_dump(mode="json")}
    json.dump(payload, stream, indent=2, ensure_ascii=False)
    stream.write("\n")
