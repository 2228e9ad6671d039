"""``--format github``: GitHub Actions workflow commands, one line per
finding, which GitHub shows as annotations on the files of a pull request::

    ::error file=data/a.txt,line=1,col=1,endLine=1,endColumn=5,title=C001 trigger-first::caption …

Errors are ``error``, warnings ``warning`` and info findings ``notice``.
Values are escaped as GitHub's toolkit (``@actions/core``) escapes them.
"""

from __future__ import annotations

from typing import IO

from lintcap.engine.run import LintResult
from lintcap.models import Diagnostic, Severity
from lintcap.report.sarif import relative_path

COMMANDS = {Severity.error: "error", Severity.warning: "warning", Severity.info: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(diagnostic: Diagnostic) -> str:
    path = diagnostic.path
    properties: dict[str, str | int | None] = {
        "file": None if path is None else relative_path(path) or path,
        "line": diagnostic.line,
        "col": diagnostic.column,
        "endLine": diagnostic.end_line,
        "endColumn": diagnostic.end_column,
        "title": f"{diagnostic.code} {diagnostic.name}",
    }
    rendered = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None
    )
    return f"::{COMMANDS[diagnostic.severity]} {rendered}::{escape_data(diagnostic.message)}"


def write(result: LintResult, stream: IO[str]) -> None:
    for diagnostic in result.diagnostics:
        stream.write(command(diagnostic) + "\n")
