"""``--format sarif``: a SARIF 2.1.0 log, for GitHub code scanning and other
SARIF viewers.

One run; ``tool.driver.rules`` holds the rules that have results (sorted by
code), so that ``ruleIndex`` points into it. Rule texts (message, *why*) come
from the shipped rule packs; a rule from a user's ``extend-rules`` file, which
the report does not see, is described by its findings' name.

Paths are relative to the working directory (``uriBaseId`` ``%SRCROOT%``), so
run lintcap from the repository root. A dataset-level finding points at its
folder; a finding about a whole file has no region.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from lintcap.engine.run import LintResult
from lintcap.engine.spec import Rule, load_rule_files
from lintcap.models import Diagnostic, Severity
from lintcap.resources import rules_dir

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/lintcap/"
SRCROOT = "%SRCROOT%"

LEVELS = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}


def write(result: LintResult, stream: IO[str]) -> None:
    json.dump(sarif_log(result), stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def sarif_log(result: LintResult) -> dict[str, Any]:
    codes = sorted({d.code for d in result.diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    first: dict[str, Diagnostic] = {}
    for diagnostic in result.diagnostics:
        first.setdefault(diagnostic.code, diagnostic)
    shipped = _shipped_rules()
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "lintcap",
                        "version": _version(),
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(first[code], shipped.get(code)) for code in codes],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "originalUriBaseIds": {SRCROOT: {"uri": _cwd_uri()}},
                "results": [_result(d, index[d.code]) for d in result.diagnostics],
                # What the run decided about the dataset, and the evidence.
                "properties": {
                    "trigger": result.trigger.model_dump(mode="json"),
                    "subject": result.subject.model_dump(mode="json"),
                },
            }
        ],
    }


def _rule(example: Diagnostic, rule: Rule | None) -> dict[str, Any]:
    if rule is None:
        return {
            "id": example.code,
            "name": example.name,
            "shortDescription": {"text": example.name.replace("-", " ")},
            "defaultConfiguration": {"level": LEVELS[example.severity]},
        }
    why = " ".join(rule.why.split())
    help_text = why if rule.fix is None else f"{why}\n\nFix: {rule.fix.description}"
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.message},
        "fullDescription": {"text": why},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }


def _result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": artifact_location(diagnostic.path)}
    region = _region(diagnostic)
    if region:
        physical["region"] = region
    result: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": LEVELS[diagnostic.severity],
        "message": {"text": diagnostic.message},
        "locations": [{"physicalLocation": physical}],
    }
    if diagnostic.related:
        # The files a dataset finding counted, so a viewer can list them.
        result["relatedLocations"] = [
            {"id": index, "physicalLocation": {"artifactLocation": artifact_location(path)}}
            for index, path in enumerate(diagnostic.related)
        ]
    return result


def _region(diagnostic: Diagnostic) -> dict[str, int]:
    if diagnostic.line is None:
        return {}
    region = {"startLine": diagnostic.line}
    if diagnostic.column is not None:
        region["startColumn"] = diagnostic.column
    if diagnostic.end_line is not None:
        region["endLine"] = diagnostic.end_line
    if diagnostic.end_column is not None:
        region["endColumn"] = diagnostic.end_column
    return region


def artifact_location(path: str | None) -> dict[str, str]:
    """A relative path becomes a ``%SRCROOT%``-based URI (an absolute one below
    the working directory is made relative first); any other absolute path a
    ``file:`` URI."""
    relative = relative_path(path)
    if relative is not None:
        return {"uri": quote(relative, safe="/"), "uriBaseId": SRCROOT}
    uri = Path(path or ".").resolve().as_uri()
    return {"uri": uri + "/" if (path or "").endswith("/") else uri}


def relative_path(path: str | None) -> str | None:
    """``path`` relative to the working directory, in posix form, keeping a
    folder's trailing slash (the working directory itself is ``./``, as is a
    finding without a path); None when it lies outside."""
    if path is None:
        return "./"
    if not (PurePosixPath(path).is_absolute() or os.path.isabs(path)):
        return path
    try:
        relative = Path(path).relative_to(Path.cwd()).as_posix()
    except ValueError:
        return None
    if relative == ".":
        return "./"
    return relative + "/" if path.endswith("/") else relative


def _cwd_uri() -> str:
    uri = Path.cwd().as_uri()
    return uri if uri.endswith("/") else uri + "/"


@lru_cache(maxsize=1)
def _shipped_rules() -> dict[str, Rule]:
    book = load_rule_files(sorted(rules_dir().glob("*.yaml")))
    return {rule.code: rule for rule in book.rules}


def _version() -> str:
    try:
        return version("lintcap")
    except PackageNotFoundError:
        from lintcap import __version__

        return __version__
