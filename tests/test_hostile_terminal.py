"""Hostile input, group "terminal": control characters and bidi overrides
in file names and captions never reach a terminal raw. Text output escapes
them; JSON keeps its own escapes; the HTML report shows them escaped."""

from __future__ import annotations

import json
from pathlib import Path

from lintcap.report.escape import field_safe, terminal_safe
from tests.conftest import TRIGGER, photo
from tests.hostile import lintcap

#: A window title (OSC 0), a clear screen (CSI 2J), a clipboard write (OSC 52),
#: a right-to-left override, a C1 CSI and a DEL.
NAME = "a\x1b]0;pwned\x07\x1b[2J\u202egpj.exe"
CAPTION = f"{TRIGGER}, a woman \x1b]52;c;SGVsbG8=\x07 in \x9b31m red \x7f coat\u2066"
RAW = ("\x1b", "\x07", "\u202e", "\x9b", "\x7f", "\u2066")


def _dataset(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    photo(size=16).save(root / f"{NAME}.png")
    (root / f"{NAME}.txt").write_text(CAPTION, encoding="utf-8")
    return root


def test_escape_functions() -> None:
    """Promise: every C0/C1 control, DEL, bidi control and lone surrogate is escaped."""
    assert terminal_safe("a\x1bb\u202ec\x00d\n\te\udcff") == "a\\x1bb\\u202ec\\x00d\n\te\\udcff"
    assert field_safe("a\nb\u2028") == "a\\x0ab\\u2028"
    assert terminal_safe("plain, ünïcode 日本") == "plain, ünïcode 日本"


def test_text_output_escapes_paths_and_captions(tmp_path: Path) -> None:
    """Promise: no raw ESC, BEL, C1, DEL or bidi control in text output (paths,
    messages that quote captions, the statistics), with or without colour."""
    root = _dataset(tmp_path)
    for extra in ([], ["--statistics"]):
        run = lintcap("check", "--isolated", "--trigger", TRIGGER, *extra, root)
        assert run.exit_code in {0, 1}, run.stderr
        assert "\\x1b]0;pwned" in run.stdout
        assert not any(char in run.stdout + run.stderr for char in RAW)


def test_fix_notes_escape_paths(tmp_path: Path) -> None:
    """Promise: the per-file notes of fix (a read-only caption) are escaped too."""
    root = _dataset(tmp_path)
    caption = root / f"{NAME}.txt"
    caption.write_text(CAPTION.replace(TRIGGER, TRIGGER.upper()), encoding="utf-8")
    caption.chmod(0o444)
    run = lintcap("fix", "--isolated", "--trigger", TRIGGER, "--select", "C001", root)
    assert "not written" in run.stdout
    assert not any(char in run.stdout + run.stderr for char in RAW)


def test_json_keeps_json_escapes(tmp_path: Path) -> None:
    """Promise: JSON output round-trips the real name (its own escapes, no raw ESC)."""
    root = _dataset(tmp_path)
    run = lintcap("check", "--isolated", "--trigger", TRIGGER, "--format", "json", root)
    assert "\x1b" not in run.stdout
    paths = {d["path"] for d in json.loads(run.stdout)}
    assert any(NAME in (path or "") for path in paths)


def test_html_report_shows_controls_escaped(tmp_path: Path) -> None:
    """Promise: the HTML report holds no raw control or bidi character from the data."""
    root = _dataset(tmp_path)
    report = tmp_path / "report.html"
    run = lintcap("check", "--isolated", "--trigger", TRIGGER, "--html", report, root)
    assert run.exit_code in {0, 1}, run.stderr
    page = report.read_text(encoding="utf-8")
    assert "\\x1b]0;pwned" in page
    assert not any(char in page for char in RAW)
