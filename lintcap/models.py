"""Data models shared by every stage: findings, problems found while reading, edits.

Everything here is a plain pydantic model so that it serialises to JSON as-is.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict


class Severity(str, Enum):
    """How bad a finding is; ordered so that ``--fail-on`` can compare."""

    info = "info"
    warning = "warning"
    error = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.info: 0, Severity.warning: 1, Severity.error: 2}


class Edit(BaseModel):
    """Replace ``text[start:end]`` of a caption with ``replacement``."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    replacement: str


class Problem(BaseModel):
    """Something wrong with a file, found while discovering or reading it.

    Problems are facts, not findings: the ``file-problem`` check kind turns
    them into diagnostics so that their codes, severities and wording stay in
    the rule files.
    """

    kind: str
    path: str
    detail: str = ""
    line: int | None = None
    column: int | None = None
    #: Edits to the caption text that would remove the problem (F005: join lines).
    edits: list[Edit] = []
    #: The files (``metadata.jsonl:LINE`` for a metadata row) the problem is about.
    related: list[str] = []


class Location(BaseModel):
    """A 1-based region of a file; all ``None`` for a whole-file finding."""

    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None


class Diagnostic(BaseModel):
    """One finding, as every report format sees it."""

    code: str
    name: str
    severity: Severity
    message: str
    path: str | None
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    fixable: bool = False
    #: "safe" or "unsafe" when fixable: unsafe fixes apply only with --unsafe-fixes.
    applicability: str | None = None
    edits: list[Edit] = []
    #: The files a dataset finding counted (e.g. the images seen from the
    #: front), so a user knows what to add or re-caption.
    related: list[str] = []

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path or "", self.line or 0, self.column or 0, self.code)
