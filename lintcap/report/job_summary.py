"""``check --job-summary PATH``: a Markdown summary for GitHub's job page.

GitHub shows only about 10 annotations of each kind per step, so a large
dataset's findings are lost in the log; the job summary (the file named by
``$GITHUB_STEP_SUMMARY``, appended to) holds the counts per code, the first
findings, and a link to the code-scanning results when SARIF is uploaded.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import IO, TYPE_CHECKING

from lintcap.report.text import count_line, scanned

if TYPE_CHECKING:
    from lintcap.engine.run import LintResult
    from lintcap.models import Diagnostic

#: Findings listed one by one; the counts cover all of them.
FIRST_FINDINGS = 25


def _cell(text: str) -> str:
    """Table-cell text: no row breaks, no markup, no HTML."""
    flat = " ".join(text.split())
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "&#124;")):
        flat = flat.replace(char, entity)
    return flat.replace("`", "&#96;").replace("[", "&#91;").replace("*", "&#42;")


def code_scanning_link() -> str | None:
    """The repository's code-scanning page for lintcap's results, from the
    variables every GitHub Actions job has."""
    server = os.environ.get("GITHUB_SERVER_URL")
    repository = os.environ.get("GITHUB_REPOSITORY")
    if not server or not repository:
        return None
    return f"{server}/{repository}/security/code-scanning?query=tool%3Alintcap"


def write(result: LintResult, stream: IO[str]) -> None:
    diagnostics = result.diagnostics
    if not diagnostics:
        stream.write(f"## lintcap: all checks passed\n\n{scanned(result)}.\n\n")
        return
    stream.write(f"## lintcap: {count_line(diagnostics)}\n\nIn {scanned(result)}.\n\n")
    counts = Counter(d.code for d in diagnostics)
    example: dict[str, Diagnostic] = {}
    for diagnostic in diagnostics:
        example.setdefault(diagnostic.code, diagnostic)
    stream.write("| code | severity | findings | rule |\n|---|---|---:|---|\n")
    ordered = sorted(counts, key=lambda c: (-example[c].severity.rank, -counts[c], c))
    for code in ordered:
        first = example[code]
        stream.write(
            f"| {code} | {first.severity.value} | {counts[code]} | {_cell(first.name)} |\n"
        )
    shown = sorted(diagnostics, key=lambda d: (-d.severity.rank, d.sort_key()))
    stream.write(f"\n### First findings ({min(len(shown), FIRST_FINDINGS)} of {len(shown)})\n\n")
    stream.write("| file | line | severity | code | message |\n|---|---:|---|---|---|\n")
    for diagnostic in shown[:FIRST_FINDINGS]:
        line = "" if diagnostic.line is None else str(diagnostic.line)
        stream.write(
            f"| {_cell(diagnostic.path or '.')} | {line} | {diagnostic.severity.value} | "
            f"{diagnostic.code} | {_cell(diagnostic.message)} |\n"
        )
    link = code_scanning_link()
    stream.write("\nEvery finding: `lintcap check` locally")
    if link:
        stream.write(f", or [code scanning]({link}) when the SARIF report is uploaded")
    stream.write(".\n\n")
