"""Adopting lintcap on an existing dataset: baseline, --add-ignores, ALL in
per-file-ignores, severity per rule in the config. Captions and caption rules
only, in process."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from PIL import Image

from lintcap.cli import cli
from lintcap.config import Config
from lintcap.engine.spec import load_rulebook

#: C001 (error) and C007 (warning).
BAD = "OHWX, a photo of a woman. The image shows a red wool coat. close-up, from side"
GOOD = "ohwx, a photo of a man in a grey suit in an office. He is smiling. close-up, soft lighting"


def dataset(folder: Path, config: str = "") -> Path:
    folder.mkdir(parents=True)
    for stem, text in {"a": BAD, "b": BAD.replace("woman", "girl"), "c": GOOD}.items():
        Image.new("RGB", (8, 8)).save(folder / f"{stem}.png")
        (folder / f"{stem}.txt").write_text(text, encoding="utf-8")
    (folder / "lintcap.toml").write_text(f'trigger = "ohwx"\n{config}', encoding="utf-8")
    return folder


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def codes(out: str) -> list[str]:
    return sorted(
        f"{line.split(':')[0].rsplit('/', 1)[-1]} {line.split()[2]}"
        for line in out.splitlines()
        if ".txt:" in line
    )


def test_baseline_hides_known_findings_until_their_caption_changes(tmp_path: Path) -> None:
    data = dataset(tmp_path / "data", 'baseline = "baseline.json"\n')
    select = ("--select", "C001,C007")
    code, _, err = run("check", data, *select, "--baseline", tmp_path / "none.json")
    assert code == 2 and "--write-baseline" in err
    code, _, err = run("check", data, *select, "--write-baseline", data / "baseline.json")
    assert code == 0 and "Wrote 4 findings" in err
    recorded = json.loads((data / "baseline.json").read_text())["findings"]
    assert {(e["path"], e["code"]) for e in recorded} == {
        ("a.txt", "C001"),
        ("a.txt", "C007"),
        ("b.txt", "C001"),
        ("b.txt", "C007"),
    }
    code, out, _ = run("check", data, *select)
    assert code == 0 and codes(out) == [] and "4 findings in the baseline not shown." in out
    # An unrelated edit (c.txt, still clean) leaves them hidden ...
    (data / "c.txt").write_text(GOOD.replace("grey", "blue"), encoding="utf-8")
    assert codes(run("check", data, *select)[1]) == []
    # ... an edit to a.txt re-surfaces a.txt's findings: they are about new text.
    (data / "a.txt").write_text(BAD.replace("red", "green"), encoding="utf-8")
    code, out, _ = run("check", data, *select)
    assert code == 1
    assert codes(out) == ["a.txt C001", "a.txt C007"]
    assert "2 findings in the baseline not shown." in out


def test_add_ignores_then_all_and_the_printed_folder_key(tmp_path: Path) -> None:
    data = dataset(tmp_path / "data")
    select = ("--select", "C001,C007,D001")
    assert codes(run("check", data, *select)[1])  # findings to begin with
    code, _, err = run("check", data, *select, "--add-ignores")
    assert code == 0 and "Added 5 codes for 3 files" in err
    config = (data / "lintcap.toml").read_text()
    assert config.startswith('trigger = "ohwx"\n')  # what was there is kept
    assert '"a.txt" = ["C001", "C007"]' in config
    code, out, _ = run("check", data, *select)
    assert code == 0 and "Found" not in out
    # ALL, keyed on the folder as printed (the set's D001) and on a file.
    (data / "lintcap.toml").write_text(
        f'trigger = "ohwx"\n[per-file-ignores]\n"{data.name}/" = ["ALL"]\n"a.txt" = ["ALL"]\n'
    )
    code, out, _ = run("check", data, *select)
    assert codes(out) == ["b.txt C001", "b.txt C007"]
    assert "D001" not in out


def test_severity_in_config(tmp_path: Path) -> None:
    data = dataset(tmp_path / "data", '[severity]\nC001 = "warning"\nC = "info"\n')
    code, out, _ = run("check", data, "--select", "C001,C007")
    assert code == 0  # C001 is no longer an error
    lines = [line for line in out.splitlines() if ".txt:" in line]
    assert all(": warning C001 " in line for line in lines if "C001" in line)
    assert all(": info C007 " in line for line in lines if "C007" in line)  # the prefix
    listed = run("rules", "list", "--config", data / "lintcap.toml")[1]
    row = next(line for line in listed.splitlines() if "C001" in line)
    assert "warning" in row
    (data / "lintcap.toml").write_text('[severity]\nX9 = "error"\n')
    code, _, err = run("check", data)
    assert code == 2 and "severity: 'X9' matches no rule code" in err


def test_heuristic_detectors_are_not_errors_by_default() -> None:
    book = load_rulebook(Config())
    rule = book.rule("W001")
    assert rule is not None and rule.severity.value == "warning"
