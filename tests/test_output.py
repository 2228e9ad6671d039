"""Daily use of check and fix: what the text output says and how it is controlled
(severity, [*], footers, colour, -q, --summary, -o, --exit-zero, --show-fixes),
JSON fixes, a diff that git applies, and a reader that goes away.

Captions only and caption rules only (``--select C``), in process through
click's runner, so that these stay fast; the broken pipe and ``git apply``
need a real process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from lintcap.cli import cli

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)
#: C001 (error, safe fix: the trigger's case) and C007 (warning, unsafe fix).
BAD = "OHWX, a photo of a woman. The image shows a red wool coat. close-up, from side"


def captions(folder: Path, texts: dict[str, str], newline: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, text in texts.items():
        Image.new("RGB", (8, 8)).save(folder / f"{stem}.png")  # never opened by caption rules
        (folder / f"{stem}.txt").write_text(text + ("\n" if newline else ""), encoding="utf-8")
    (folder / "lintcap.toml").write_text('trigger = "ohwx"\n', encoding="utf-8")
    return folder


def run(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return captions(tmp_path / "data", {"a": BAD, "b": GOOD})


def finding_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if ".txt:" in line]


def test_severity_on_every_line_errors_first_and_fixable_markers(data: Path) -> None:
    code, out, _ = run("check", data, "--select", "C001,C007")
    assert code == 1
    lines = finding_lines(out)
    assert len(lines) == 2
    # The error comes first whatever the columns.
    assert ": error C001 [*] " in lines[0]
    assert ": warning C007 [~] " in lines[1]
    assert "[*] 1 fixable with `lintcap fix` (1 more with `--unsafe-fixes`)." in out
    assert "in 2 images, 2 captions, 2 rules." in out


def test_quiet_and_summary(data: Path) -> None:
    _, quiet, _ = run("check", data, "--select", "C001,C007", "-q")
    assert len(finding_lines(quiet)) == 2 and "Found" not in quiet and "fixable" not in quiet
    _, summary, _ = run("check", data, "--select", "C001,C007", "--summary")
    assert not finding_lines(summary)
    assert "1  error   C001 [*] " in summary and "1  warning C007 [~] " in summary
    assert "Found 2 findings (1 error, 1 warning)" in summary


def test_exit_zero(data: Path) -> None:
    assert run("check", data, "--select", "C001")[0] == 1
    assert run("check", data, "--select", "C001", "--exit-zero")[0] == 0


def test_colour_control(data: Path) -> None:
    args = ("check", data, "--select", "C001")
    assert "\x1b[" not in run(*args)[1]  # not a terminal
    assert "\x1b[" in run(*args, "--color", "always")[1]
    assert "\x1b[" in run(*args, env={"FORCE_COLOR": "1"})[1]
    assert "\x1b[" not in run(*args, "--color", "never", env={"FORCE_COLOR": "1"})[1]
    assert "\x1b[" not in run(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})[1]


def test_output_file_and_refusals(data: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out, _ = run("check", data, "--select", "C001", "--format", "json", "-o", report)
    assert code == 1 and out == ""
    findings = json.loads(report.read_text())
    assert [f["code"] for f in findings] == ["C001"]
    code, _, err = run("check", data, "--select", "C001", "-o", tmp_path)
    assert code == 2 and "it is a folder" in err
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "elsewhere.txt")
    code, _, err = run("check", data, "--select", "C001", "-o", link)
    assert code == 2 and "not a regular file" in err
    assert not (tmp_path / "elsewhere.txt").exists()


def test_json_fix_has_ruffs_shape(data: Path) -> None:
    _, out, _ = run("check", data, "--select", "C001,C007", "--format", "json")
    by_code = {f["code"]: f for f in json.loads(out)}
    assert by_code["C001"]["fix"] == {
        "applicability": "safe",
        "edits": [
            {
                "content": "ohwx",
                "location": {"row": 1, "column": 1},
                "end_location": {"row": 1, "column": 5},
            }
        ],
    }
    assert by_code["C007"]["fix"]["applicability"] == "unsafe"
    _, out, _ = run("check", data, "--select", "C006", "--format", "json")
    assert all(f["fix"] is None for f in json.loads(out))


def test_show_fixes(data: Path) -> None:
    _, out, _ = run("check", data, "--select", "C001", "--show-fixes")
    assert "    fix (safe): replace 'OHWX' with 'ohwx' at 1:1" in out


def test_check_fix_is_fix(data: Path) -> None:
    code, out, _ = run("check", data, "--select", "C001,C007", "--fix")
    assert (data / "a.txt").read_text() == BAD.replace("OHWX", "ohwx")
    assert "Fixed 1 finding in 1 file:" in out
    assert "Skipped 1 unsafe fix (C007)" in out
    assert code == 0  # C007 is a warning
    code, _, err = run("check", data, "--unsafe-fixes")
    assert code == 2 and "--unsafe-fixes needs --fix" in err


FIX_DIFF = [sys.executable, "-m", "lintcap", "fix", "data", "--select", "C"]
FIX_DIFF += ["--unsafe-fixes", "--diff"]


def fix_diff(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lintcap fix data --select C --unsafe-fixes --diff`` as a real process in
    ``cwd``, so that the diff names paths the way ``git apply`` there reads them."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "lintcap",
            "fix",
            "data",
            "--select",
            "C",
            "--unsafe-fixes",
            "--diff",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_diff_applies_with_git(tmp_path: Path) -> None:
    data = captions(tmp_path / "data", {"a": BAD, "c": "ohwx, a photo of a man"})
    captions(tmp_path / "data", {"b": BAD + ", smiling"}, newline=True)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    before = {p.name: p.read_bytes() for p in data.glob("*.txt")}
    done = fix_diff(tmp_path)
    assert done.returncode == 1
    assert "\\ No newline at end of file" in done.stdout
    assert "would change" in done.stderr and "would change" not in done.stdout
    assert {p.name: p.read_bytes() for p in data.glob("*.txt")} == before  # nothing written
    patch = tmp_path / "fix.diff"
    patch.write_text(done.stdout)
    check = subprocess.run(["git", "apply", "--check", str(patch)], cwd=tmp_path, text=True)
    assert check.returncode == 0
    subprocess.run(["git", "apply", str(patch)], cwd=tmp_path, check=True)
    fixed = fix_diff(tmp_path)
    assert fixed.stdout == ""  # the applied patch is what fix would have written
    assert (data / "b.txt").read_text().endswith("\n")  # the final newline kept


def test_broken_pipe_exits_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lintcap", "rules", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before lintcap writes
    err = process.stderr.read().decode()
    assert process.wait() == 1
    assert err == ""


def test_errors_come_first_within_a_file() -> None:
    from lintcap.models import Diagnostic, Severity
    from lintcap.report.text import _by_file

    def finding(path: str, line: int, severity: Severity) -> Diagnostic:
        return Diagnostic(
            code="X", name="x", severity=severity, message="m", path=path, line=line, column=1
        )

    groups = _by_file(
        [
            finding("b.txt", 1, Severity.info),
            finding("a.txt", 1, Severity.warning),
            finding("a.txt", 3, Severity.error),
            finding("a.txt", 2, Severity.error),
        ]
    )
    assert [[(d.path, d.line) for d in group] for group in groups] == [
        [("a.txt", 2), ("a.txt", 3), ("a.txt", 1)],
        [("b.txt", 1)],
    ]


def test_shares_are_printed_as_percentages(tmp_path: Path) -> None:
    image = Image.new("RGBA", (32, 32), (200, 100, 50, 255))
    image.paste((0, 0, 0, 0), (0, 0, 16, 32))  # the left half transparent
    image.save(tmp_path / "a.png")
    _, out, _ = run("check", tmp_path, "--select", "I011", "--no-cache", "--isolated", "-q")
    assert ": warning I011 50.0% of pixels are transparent" in out


def test_job_summary_is_appended_markdown(data: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r"}
    code, _, _ = run(
        "check", data, "--select", "C001,C007", "--job-summary", summary, "-q", env=env
    )
    assert code == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n## lintcap: Found 2 findings (1 error, 1 warning)")
    assert "| C001 | error | 1 | trigger-first |" in text
    assert "/o/r/security/code-scanning?query=tool%3Alintcap" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and ".txt" in line]
    assert len(rows) == 2 and rows[0].count("|") == 6  # messages cannot add cells


def test_action_runs_check_with_cache_and_summary() -> None:
    import yaml

    action = yaml.safe_load((Path(__file__).parent.parent / "action.yml").read_text())
    steps = {step["name"]: step for step in action["runs"]["steps"] if "name" in step}
    cache = steps["Cache lintcap's image facts"]
    assert cache["with"]["path"] == "**/.lintcap_cache"
    assert "hashFiles(" in cache["with"]["key"] and cache["with"]["restore-keys"]
    assert '--job-summary "$GITHUB_STEP_SUMMARY"' in steps["Check the dataset"]["run"]


def test_rules_list_follows_the_terminal_width_and_keeps_brackets() -> None:
    for columns in (100, 160):
        _, out, _ = run("rules", "list", env={"COLUMNS": str(columns)})
        assert max(len(line) for line in out.splitlines()) <= columns
        assert "[trigger]" in out  # rich markup would eat it
