"""bench/real_precision.py: the mirror it builds and how it scores findings
against hand labels, on a tiny corpus written here (CI never reads the real one)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

BENCH = Path(__file__).resolve().parents[1] / "bench" / "real_precision.py"


@pytest.fixture(scope="module")
def rp() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_precision", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_precision"] = module
    spec.loader.exec_module(module)
    return module


def _corpus(root: Path) -> Path:
    data = root / "datasets" / "toy"
    (data / "set" / "1_sub").mkdir(parents=True)
    (data / "SOURCE.txt").write_text("where it came from\n")
    (data / "set" / "a.txt").write_text("ohwx, a photo of a man")
    (data / "set" / "1_sub" / "b c .txt").write_text("ohwx, a photo of a man")
    (data / "set" / "metadata.jsonl").write_text('{"file_name": "a.png", "text": "x"}\n')
    (data / "images.txt").write_text(
        "# header\n"
        "set/a.png\t10\t1024x512\tPNG RGBA 8-bit\n"
        "set/1_sub/b c .jpg\t10\t600x900\tJPEG\n"
        "set/odd.jpg\t10\t600x400\tWEBP\n"
        "set/lfs.png\t132\t?\tgit-lfs pointer (real size 99 bytes)\n"
    )
    return root / "datasets"


def test_mirror_keeps_layout_and_makes_stand_ins(rp: ModuleType, tmp_path: Path) -> None:
    datasets = _corpus(tmp_path / "corpus")
    mirror = tmp_path / "mirror"
    units = [
        rp.Unit("toy", "set", None, ""),
        rp.Unit("toy", "old", None, "", images_like="set"),
    ]
    rp.build_mirror(datasets, mirror, units)
    toy = mirror / "toy"
    assert not (toy / "SOURCE.txt").exists() and not (toy / "images.txt").exists()
    assert (toy / "set" / "1_sub" / "b c .txt").read_text() == "ohwx, a photo of a man"
    assert (toy / "set" / "metadata.jsonl").read_bytes().endswith(b"}\n")
    with Image.open(toy / "set" / "a.png") as image:
        assert (image.format, image.mode) == ("PNG", "RGBA")
        assert image.width == 2 * image.height  # the aspect ratio of 1024x512
    with Image.open(toy / "set" / "1_sub" / "b c .jpg") as image:
        assert image.format == "JPEG"
    with Image.open(toy / "set" / "odd.jpg") as image:
        assert image.format == "WEBP"  # a WEBP named .jpg stays one
    pointer = (toy / "set" / "lfs.png").read_text()
    assert pointer.startswith("version https://git-lfs.github.com/spec/v1\n")
    assert "size 99\n" in pointer
    with Image.open(toy / "old" / "a.png") as image:  # a snapshot's stand-ins
        assert image.format == "PNG"


def test_findings_from_lintcap_json(rp: ModuleType) -> None:
    unit = rp.Unit("toy", "set", None, "")
    rows = [
        {"code": "A007", "path": "set", "line": None, "message": "'long hair' is in 9 of 9"},
        {"code": "C001", "path": "set/a.txt", "line": 1, "message": "must begin with 'ohwx'"},
        {"code": "C004", "path": "set/b.txt", "line": 1, "message": "tags come first"},
        {"code": "A007", "path": "set", "message": "'bow' (with 'red bow', 'hair bow') is in 9"},
    ]
    found = rp.parse_findings(unit, {"findings": rows, "statistics": {}})
    assert [(f.file, f.line, f.key) for f in found] == [
        ("set/", None, "long hair"),
        ("set/a.txt", 1, "ohwx"),
        ("set/b.txt", 1, ""),
        ("set/", None, "bow+red bow+hair bow"),  # a folded finding is its own fact
    ]


def test_score_precision_recall_and_unlabelled(rp: ModuleType) -> None:
    F, L, P = rp.Finding, rp.Label, rp.RealProblem
    findings = [
        F("toy", "set/a.txt", 1, "A001", "", "no clothing"),
        F("toy", "set/b.txt", 1, "A001", "", "no clothing"),
        F("toy", "set/c.txt", 1, "A001", "", "no clothing"),
        F("toy", "set/", None, "C013", "x", "duplicate", ("set/d.txt", "meta.jsonl:4")),
        F("toy", "set/e.txt", 1, "C009", "hat", "tag 'hat' twice"),
        F("toy", "set/", None, "A007", "very long hair", "'very long hair' is in 9 of 9"),
    ]
    labels = [
        L("toy", "set/*", None, "A001", "*", False, "no person in the set"),
        L("toy", "set/b.txt", 1, "A001", "", True, "a man, clothing unnamed"),
        L("toy", "set/", None, "C013", "x", True, "copies"),
        L("toy", "set/e.txt", 1, "C009", "scarf", True, "another tag"),
    ]
    problems = [
        P("toy", "set/d.txt", 1, "duplicate caption", "C013", "", ""),
        P("toy", "meta.jsonl", 4, "duplicate caption", "C013", "", ""),
        P("toy", "meta.jsonl", 5, "duplicate caption", "C013", "", ""),
        P("toy", "set/a.txt", 1, "trigger-not-first", "C001", "", ""),
        # A dataset finding reports the phrase it names, not every phrase.
        P("toy", "set/", None, "constant identity phrase", "A007", "long hair|hair", ""),
        P("toy", "set/", None, "constant identity phrase", "A007", "purple eyes", ""),
    ]
    result = rp.score(findings, labels, problems)
    # The exact label for b.txt wins over the folder-wide one.
    assert result.per_code["A001"]["true"] == 1 and result.per_code["A001"]["false"] == 2
    assert result.precision("A001") == pytest.approx(1 / 3)
    # A label for another key does not judge this finding: it stays unlabelled.
    assert result.precision("C009") is None
    assert [f.key for f in result.unlabelled] == ["hat", "very long hair"]
    assert result.overall() == (2, 4)
    assert result.recall["constant identity phrase"] == (1, 2, "A007")
    assert result.recall["duplicate caption"] == (2, 3, "C013")
    assert result.recall["trigger-not-first"] == (0, 1, "C001")
    assert {(p.file, p.line, p.key) for p in result.missed} == {
        ("meta.jsonl", 5, ""),
        ("set/a.txt", 1, ""),
        ("set/", None, "purple eyes"),
    }
    verdicts = rp.targets(result)
    assert verdicts[0] == "precision >= 0.9 for every code with n >= 5: met"  # A001 has n=3
    assert verdicts[1].startswith("overall precision >= 0.95: missed (0.50, n=4)")
    assert "recall >= 0.9 for duplicate caption: missed (2/3)" in verdicts
    assert "recall >= 0.9 for placeholder: no such problem in the labels" in verdicts
    table = rp.render(result, "toy")
    assert "| A001 | 3 | 3 | 1 | 2 | 0.33 | 0 |" in table
    assert "| duplicate caption | C013 | 2 | 3 | 0.67 |" in table


def test_label_files_round_trip(rp: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "findings.tsv").write_text(
        "# comment\n"
        "toy\tset/a.txt\t1\tC001\tohwx\ttrue\tmissing\n"
        "toy\tset/\t\tD001\t\tfalse\tstyle set\n"
    )
    labels = rp.read_labels(tmp_path / "findings.tsv")
    assert [(lab.line, lab.verdict) for lab in labels] == [(1, True), (None, False)]
    (tmp_path / "bad.tsv").write_text("toy\tset/a.txt\t1\tC001\t\tmaybe\tunsure\n")
    with pytest.raises(SystemExit, match="verdict must be true or false"):
        rp.read_labels(tmp_path / "bad.tsv")
