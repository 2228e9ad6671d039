"""Report formats: one module per format, each a function of the lint result."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from lintcap.engine.run import LintResult
from lintcap.report import github, json_format, junit, sarif, text

Writer = Callable[[LintResult, IO[str]], None]

FORMATS: dict[str, Writer] = {
    "text": text.write,
    "json": json_format.write,
    "sarif": sarif.write,
    "github": github.write,
    "junit": junit.write,
}
