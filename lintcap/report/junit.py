"""``--format junit``: JUnit XML, for the test-report views of GitLab,
Jenkins, Azure Pipelines and the like.

One ``<testsuite name="lintcap">``. Each finding is a ``<testcase>`` whose
``classname`` is its file, so the views group findings by file: an error or
warning holds a ``<failure type="CODE">``, an info finding is ``<skipped>``
(shown, but failing nothing). One testcase per finding rather than one per
file with several failures, because those views show only the first failure
of a testcase; names are made unique within a file (``#2``) because some views
merge testcases of one name. A clean run is one passing testcase, so the view
still shows that the check ran.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from typing import IO

from lintcap.engine.run import LintResult
from lintcap.models import Diagnostic, Severity

SUITE = "lintcap"

#: Characters XML 1.0 cannot hold even escaped; a caption may contain them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write(result: LintResult, stream: IO[str]) -> None:
    root = junit_tree(result)
    ET.indent(root)
    stream.write(ET.tostring(root, encoding="unicode", xml_declaration=True))
    stream.write("\n")


def junit_tree(result: LintResult) -> ET.Element:
    cases = [_case(d) for d in result.diagnostics] or [_clean(result)]
    seen: Counter[tuple[str | None, str | None]] = Counter()
    for case in cases:
        key = (case.get("classname"), case.get("name"))
        seen[key] += 1
        if seen[key] > 1:
            case.set("name", f"{key[1]} #{seen[key]}")
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": "0",
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    suite.extend(cases)
    return root


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _case(diagnostic: Diagnostic) -> ET.Element:
    path = _xml(diagnostic.path or ".")
    message = _xml(diagnostic.message)
    position = _position(diagnostic)
    name = f"{diagnostic.code} {diagnostic.name}" + (f" at {position}" if position else "")
    attributes = {"classname": path, "name": name, "file": path, "time": "0"}
    if diagnostic.line is not None:
        attributes["line"] = str(diagnostic.line)
    case = ET.Element("testcase", attributes)
    where = f"{path}:{position}" if position else path
    detail = f"{where}: {diagnostic.code} [{diagnostic.severity.value}] {message}"
    if diagnostic.severity.rank >= Severity.warning.rank:
        failure = ET.SubElement(case, "failure", {"type": diagnostic.code, "message": message})
        failure.text = detail
    else:
        ET.SubElement(case, "skipped", {"message": f"{diagnostic.code} {message}"})
        ET.SubElement(case, "system-out").text = detail
    return case


def _position(diagnostic: Diagnostic) -> str:
    if diagnostic.line is None:
        return ""
    if diagnostic.column is None:
        return str(diagnostic.line)
    return f"{diagnostic.line}:{diagnostic.column}"


def _clean(result: LintResult) -> ET.Element:
    scanned = f"{result.images} images, {result.captions} captions, {result.rules} rules"
    case = ET.Element("testcase", {"classname": SUITE, "name": "no findings", "time": "0"})
    ET.SubElement(case, "system-out").text = f"All checks passed ({scanned})."
    return case
