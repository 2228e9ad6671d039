"""Report formats: one module per format, each a function of the lint result.

A format's module is imported when it is asked for, so that building the
command line (``lintcap --help``) imports none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from lintcap.engine.run import LintResult

Writer = Callable[["LintResult", IO[str]], None]

#: Format name → module of lintcap.report holding its ``write``.
_MODULES = {
    "text": "text",
    "json": "json_format",
    "sarif": "sarif",
    "github": "github",
    "junit": "junit",
}


class _Formats(Mapping[str, Writer]):
    """``FORMATS[name]`` imports the format's module on first use."""

    def __getitem__(self, name: str) -> Writer:
        module = importlib.import_module(f"lintcap.report.{_MODULES[name]}")
        writer: Writer = module.write
        return writer

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FORMATS: Mapping[str, Writer] = _Formats()
