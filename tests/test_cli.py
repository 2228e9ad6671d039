"""The command line as a user meets it: output formats, exit codes, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import MakeDataset, run_lintcap

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)


def test_json_output_fields(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": "OHWX, a photo of a woman in a coat.", "b": GOOD, "c": None})
    result = run_lintcap("check", root, "--format", "json", "--select", "C001,F001")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    keys = {
        "code",
        "severity",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "message",
        "fixable",
    }
    assert all(keys <= set(f) for f in findings)
    by_code = {f["code"]: f for f in findings}
    assert (by_code["C001"]["line"], by_code["C001"]["column"]) == (1, 1)
    assert (by_code["C001"]["end_line"], by_code["C001"]["end_column"]) == (1, 5)
    assert by_code["C001"]["fixable"] is True
    assert by_code["F001"]["line"] is None and by_code["F001"]["column"] is None
    assert by_code["F001"]["path"].endswith("c.jpg")


def test_text_output_is_grouped_and_summarised(make_dataset: MakeDataset) -> None:
    root = make_dataset(
        {"a": "OHWX, a photo of a woman in a coat.", "b": "a photo of a woman", "c": GOOD}
    )
    result = run_lintcap("check", root, "--select", "C001")
    lines = result.stdout.splitlines()
    findings = [line for line in lines if re.search(r":\d+:\d+: error C001 \[\*\] ", line)]
    assert len(findings) == 2
    assert findings[0].split(":")[0].endswith("a.txt") and findings[1].split(":")[0].endswith(
        "b.txt"
    )
    assert "Found 2 findings (2 errors)" in lines[-2]
    assert lines[-1] == "[*] 2 fixable with `lintcap fix`."
    assert "\x1b[" not in result.stdout  # no colour when not on a terminal


def test_exit_codes_and_fail_on(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": GOOD, "b": GOOD.replace("She is smiling. ", "") + ", close-up"})
    clean = run_lintcap("check", root, "--select", "C001")
    assert clean.returncode == 0 and "All checks passed" in clean.stdout
    warning_only = run_lintcap("check", root, "--select", "C009")
    assert warning_only.returncode == 0 and "C009" in warning_only.stdout
    assert run_lintcap("check", root, "--select", "C009", "--fail-on", "warning").returncode == 1


def test_usage_errors_exit_2_without_traceback(make_dataset: MakeDataset, tmp_path: Path) -> None:
    root = make_dataset({"a": GOOD})
    cases = [
        ("check", tmp_path / "does-not-exist"),
        ("check", root, "--select", "Q"),
        ("check", root, "--preset", "nope"),
        ("check", root, "--format", "xml"),
        ("rules", "explain", "Z999"),
    ]
    for args in cases:
        result = run_lintcap(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.strip(), args


def test_bad_config_file_exit_2(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": GOOD}, config='trigger = "ohwx"\nunknown-key = 1\n')
    result = run_lintcap("check", root)
    assert result.returncode == 2
    assert "lintcap.toml" in result.stderr and "unknown-key" in result.stderr


def test_cli_flags_win_over_config(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": "zkw, a photo of a woman in a coat."}, config='trigger = "ohwx"\n')
    assert run_lintcap("check", root, "--select", "C001").returncode == 1
    assert run_lintcap("check", root, "--select", "C001", "--trigger", "zkw").returncode == 0
    assert (
        run_lintcap("check", root, "--select", "C001", "--isolated").returncode == 0
    )  # inferred zkw


def test_inferred_trigger_is_reported(make_dataset: MakeDataset) -> None:
    root = make_dataset({f"{i}": f"zkw, a photo of a man {i}" for i in range(4)}, config=None)
    result = run_lintcap("check", root, "--select", "C001")
    assert "Trigger 'zkw' inferred: in 4 of 4 captions (100%), first in 4" in result.stdout


def test_statistics(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": "OHWX, a photo", "b": "OHWX, a photo of a man", "c": None})
    result = run_lintcap("check", root, "--statistics", "--select", "C001,F001")
    table = result.stdout[result.stdout.index("Findings per code") :]
    assert re.search(r"2\s*│\s*C001", table) and re.search(r"1\s*│\s*F001", table)


def test_rules_list_and_explain() -> None:
    listing = run_lintcap("rules", "list")
    assert listing.returncode == 0
    for code in ("F001", "C001", "C012", "A007"):
        assert code in listing.stdout
    explain = run_lintcap("rules", "explain", "c005")
    assert explain.returncode == 0
    assert explain.stdout.startswith("C005 no-sentence")
    assert "T5" in explain.stdout


def test_caption_extension_flag(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": GOOD})
    (root / "a.txt").rename(root / "a.caption")
    missing = run_lintcap("check", root, "--select", "F001", "--format", "json")
    [finding] = json.loads(missing.stdout)
    assert finding["code"] == "F001" and "a.caption" in finding["message"]
    found = run_lintcap("check", root, "--select", "F001", "--caption-extension", ".caption")
    assert found.returncode == 0
