"""lintcap fix: safe edits to a fixed point, atomic writes, nothing lost."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lintcap.config import Config
from lintcap.fix import run as fix_run
from lintcap.fix.edits import apply_edits, apply_fixes
from lintcap.fix.run import fix
from lintcap.models import Edit
from tests.conftest import TRIGGER, MakeDataset, photo, run_lintcap

GOOD = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)


def test_apply_edits_skips_overlaps_and_ambiguous_insertions() -> None:
    text = "abcdef"
    edits = [
        Edit(start=0, end=2, replacement="X"),
        Edit(start=1, end=3, replacement="Y"),  # overlaps the first
        Edit(start=4, end=4, replacement="1"),
        Edit(start=4, end=4, replacement="2"),  # second insertion at one point
        Edit(start=5, end=6, replacement=""),
    ]
    assert apply_edits(text, edits) == ("Xcd1e", 3)


def test_a_fix_is_applied_whole_or_not_at_all() -> None:
    text = "abcdef"
    move = [Edit(start=0, end=1, replacement=""), Edit(start=6, end=6, replacement=" a")]
    other = [Edit(start=6, end=6, replacement="!")]  # the same insertion point as the move
    # The move comes first and is taken; the other insertion waits for a re-lint.
    assert apply_fixes(text, [move, other]) == ("bcdef a", 1)
    # A fix blocked by an earlier one leaves no half: its insertion is not made either.
    blocker = [Edit(start=0, end=2, replacement="X")]
    blocked = [Edit(start=1, end=3, replacement=""), Edit(start=6, end=6, replacement=" bc")]
    assert apply_fixes(text, [blocker, blocked]) == ("Xcdef", 1)


def test_placeholder_tags_and_boilerplate_fixes(make_dataset: MakeDataset) -> None:
    root = make_dataset(
        {
            "placeholder": GOOD.replace(TRIGGER, "[trigger]", 1),
            "early-tags": GOOD.replace(
                "a photo of a woman wearing", "a photo of a woman, close-up, from side. She wears"
            ).replace(" close-up, from side,", ""),
            "opening": GOOD.replace("She is smiling.", "The image shows her smiling."),
            "hedge": GOOD.replace("She is smiling.", "She appears to be smiling."),
            "good": GOOD,
        }
    )
    before = {p.name: p.read_text() for p in root.glob("*.txt")}
    safe = run_lintcap("fix", root, "--select", "C")
    assert safe.returncode == 0, safe.stdout + safe.stderr
    assert (root / "placeholder.txt").read_text() == GOOD  # C002: [trigger] -> ohwx
    # C004 has no mechanical fix: moving a list changes what it describes.
    assert (root / "early-tags.txt").read_text() == before["early-tags.txt"]
    assert "C004" in safe.stdout
    # C007's cut is unsafe: untouched until asked for.
    assert (root / "opening.txt").read_text() == before["opening.txt"]
    unsafe = run_lintcap("fix", root, "--select", "C", "--unsafe-fixes")
    assert unsafe.returncode == 0, unsafe.stdout + unsafe.stderr
    assert "night. Her smiling. close-up" in (root / "opening.txt").read_text()
    # A hedge inside a sentence is reported, never cut: the sentence would break.
    assert (root / "hedge.txt").read_text() == before["hedge.txt"]
    assert "hedge.txt:1:" in unsafe.stdout and "C007" in unsafe.stdout
    assert (root / "good.txt").read_text() == GOOD


def test_fix_rewrites_what_is_safe(make_dataset: MakeDataset) -> None:
    root = make_dataset(
        {
            "case": GOOD.replace("ohwx", "OHWX", 1),
            "dup": GOOD + ", close-up",
            "medium": GOOD.replace("a photo of ", ""),
            "good": GOOD,
        }
    )
    (root / "case.txt").chmod(0o640)
    result = run_lintcap("fix", root)
    assert result.stderr == ""
    assert (root / "case.txt").read_text() == GOOD
    assert (root / "dup.txt").read_text() == GOOD
    assert stat.S_IMODE((root / "case.txt").stat().st_mode) == 0o640  # mode kept
    # C003's insertion is unsafe: not applied without --unsafe-fixes
    assert (root / "medium.txt").read_text() == GOOD.replace("a photo of ", "")
    assert "C003" in result.stdout and "Fixed 2 findings in 2 files:" in result.stdout
    assert result.returncode == 0  # C003 is a warning; nothing at error level remains
    unsafe = run_lintcap("fix", root, "--unsafe-fixes")
    assert (root / "medium.txt").read_text() == GOOD
    assert "Fixed 1 finding in 1 file:" in unsafe.stdout
    assert not list(root.glob(".*.tmp"))


def test_bom_and_multiline_are_fixed(make_dataset: MakeDataset) -> None:
    root = make_dataset({"bom": None, "lines": None, "good": GOOD})
    (root / "bom.txt").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    (root / "lines.txt").write_text(GOOD.replace(". close-up", ".\n\n close-up"))
    run_lintcap("fix", root)
    assert (root / "bom.txt").read_bytes() == GOOD.encode()
    assert (root / "lines.txt").read_text() == GOOD


def test_diff_writes_nothing(make_dataset: MakeDataset) -> None:
    root = make_dataset({"case": GOOD.replace("ohwx", "OHWX", 1), "good": GOOD})
    before = (root / "case.txt").read_bytes()
    result = run_lintcap("fix", root, "--diff")
    assert result.returncode == 1
    assert (root / "case.txt").read_bytes() == before
    assert f"--- a/{Path(root, 'case.txt').as_posix().lstrip('/')}\n" in result.stdout
    assert "-OHWX, a photo" in result.stdout and "+ohwx, a photo" in result.stdout
    clean = make_dataset({"a": GOOD, "b": GOOD}, folder="clean")
    assert run_lintcap("fix", clean, "--diff").returncode == 0


def test_undecodable_caption_is_never_written(make_dataset: MakeDataset) -> None:
    root = make_dataset({"bad": None, "good": GOOD})
    data = GOOD.replace("ohwx", "OHWX", 1).encode() + b" caf\xe9"
    (root / "bad.txt").write_bytes(data)
    run_lintcap("fix", root)
    assert (root / "bad.txt").read_bytes() == data


def test_file_changed_since_read_is_left_alone(
    make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_dataset({"case": GOOD.replace("ohwx", "OHWX", 1), "good": GOOD})
    real_lint = fix_run.lint
    calls = []

    def lint_then_someone_edits(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        result = real_lint(*args, **kwargs)
        if len(calls) == 1:
            (root / "case.txt").write_text("edited by hand meanwhile")
        return result

    monkeypatch.setattr(fix_run, "lint", lint_then_someone_edits)
    result = fix([root], Config(trigger=TRIGGER))
    [file_fix] = result.files
    assert not file_fix.written and "changed on disk" in (file_fix.refused or "")
    assert (root / "case.txt").read_text() == "edited by hand meanwhile"


caption_pieces = st.sampled_from(
    [
        "ohwx",
        "OHWX",
        "Ohwx",
        ",",
        ", ",
        ",,",
        " ",
        ".",
        "a photo of",
        "a woman",
        "close-up",
        "close_up",
        "long hair",
        "long_hair",
        "smile",
        "She smiles.",
        "\n",
        "[trigger]",
        "from side",
        "(smile:1.2)",
        "((",
        "))",
        "[hat]",
        " - Copy",
        ".png",
        " (2)",
    ]
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    captions=st.lists(st.lists(caption_pieces, max_size=12).map("".join), min_size=1, max_size=4)
)
# C016 alone would empty " - Copy" (rolled back); once C001 has added the
# trigger it no longer does, and the same run must then apply it.
@example(captions=[" - Copy"])
def test_fixing_twice_equals_fixing_once(
    tmp_path_factory: pytest.TempPathFactory, captions: list[str]
) -> None:
    root = tmp_path_factory.mktemp("idempotent")
    image = photo(size=16)
    for index, caption in enumerate(captions):
        image.save(root / f"{index}.jpg")
        (root / f"{index}.txt").write_text(caption)
    config = Config(trigger=TRIGGER)
    fix([root], config, unsafe=True)
    once = {p.name: p.read_bytes() for p in root.glob("*.txt")}
    second = fix([root], config, unsafe=True)
    assert {p.name: p.read_bytes() for p in root.glob("*.txt")} == once
    assert second.files == []


def test_sigkill_mid_run_leaves_every_caption_old_or_new(make_dataset: MakeDataset) -> None:
    count = 60
    old = GOOD.replace("ohwx", "OHWX", 1)
    root = make_dataset({f"{i:03d}": old for i in range(count)})
    script = (
        "import time, sys\n"
        "from pathlib import Path\n"
        "from lintcap.fix import write\n"
        "from lintcap.fix.run import fix\n"
        "from lintcap.config import Config\n"
        "real = write.write_atomically\n"
        "def slow(*a, **k):\n"
        "    real(*a, **k); print('wrote', flush=True); time.sleep(0.02)\n"
        "import lintcap.fix.run as r; r.write_atomically = slow\n"
        f"fix([Path({str(root)!r})], Config(trigger={TRIGGER!r}))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    written = 0
    while written < 10:
        line = process.stdout.readline()
        assert line, "the fixer ended before it was killed"
        written += line.startswith("wrote")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    contents = [p.read_text() for p in sorted(root.glob("*.txt"))]
    assert len(contents) == count
    assert set(contents) <= {old, GOOD}
    assert 10 <= contents.count(GOOD) < count
    time.sleep(0)  # nothing else to wait for: the kill was synchronous


def test_captions_that_do_not_settle_are_named(make_dataset: MakeDataset) -> None:
    # Each repeat's removal reaches back to the first copy: one per round.
    thrice = GOOD + ", close-up, close-up"
    root = make_dataset({"thrice": thrice, "good": GOOD})
    config = Config(trigger=TRIGGER, select=["C009"])
    short = fix([root], config, write=False, max_rounds=1)
    assert [Path(name).name for name in short.unsettled] == ["thrice.txt"]
    settled = fix([root], config, write=False)
    assert settled.unsettled == []
    (file_fix,) = settled.files
    assert file_fix.after == GOOD
