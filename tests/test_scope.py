"""What is linted: exclude / extend-exclude, .gitignore, an empty folder,
single files, trainer-aware formats, files beside kohya repeat folders."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from lintcap.cli import cli
from lintcap.config import Config
from lintcap.dataset import discover
from lintcap.scope import Scope

CAPTION = "ohwx, a photo of a man in a grey suit. He is smiling. close-up, soft lighting"


def pair(path: Path, caption: str | None = CAPTION) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8)).save(path)
    if caption is not None:
        path.with_suffix(".txt").write_text(caption, encoding="utf-8")


def found(root: Path, config: Config) -> list[str]:
    dataset = discover([root], config.caption_extension, Scope.from_config(config))
    return sorted(
        str(item.image.relative_to(root)) for item in dataset.items if item.image is not None
    )


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_exclude_and_extend_exclude(tmp_path: Path) -> None:
    for name in ("a.jpg", "_rejected/b.jpg", "docs/c.png", "sub/d.bak.jpg", "sub/e.jpg"):
        pair(tmp_path / name)
    config = Config(extend_exclude=["_rejected/", "*.bak.jpg"])
    config.source = tmp_path / "lintcap.toml"
    assert found(tmp_path, config) == ["a.jpg", "docs/c.png", "sub/e.jpg"]
    replaced = Config(exclude=["docs/"])
    replaced.source = tmp_path / "lintcap.toml"
    assert "docs/c.png" not in found(tmp_path, replaced)
    assert "_rejected/b.jpg" in found(tmp_path, replaced)


def test_gitignore_is_respected_in_a_repository(tmp_path: Path) -> None:
    pair(tmp_path / "a.jpg")
    pair(tmp_path / "out" / "b.jpg")
    pair(tmp_path / "sub" / "c.jpg")
    pair(tmp_path / "sub" / "keep.jpg")
    (tmp_path / ".gitignore").write_text("out/\n*.jpg\n")
    (tmp_path / "sub" / ".gitignore").write_text("!keep.jpg\n")  # the deeper file wins
    config = Config()
    config.source = tmp_path / "lintcap.toml"
    assert found(tmp_path, config) == ["a.jpg", "out/b.jpg", "sub/c.jpg", "sub/keep.jpg"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # now a repository
    assert found(tmp_path, config) == ["sub/keep.jpg"]
    config.respect_gitignore = False
    assert len(found(tmp_path, config)) == 4


def test_excluded_folder_keeps_its_captions_out_of_the_report(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pair(data / "a.jpg")
    pair(data / "_rejected" / "b.jpg", caption=None)  # F001 if linted
    (data / "lintcap.toml").write_text('trigger = "ohwx"\nextend-exclude = ["_rejected/"]\n')
    code, out, _ = run("check", data, "--select", "F001")
    assert code == 0 and "_rejected" not in out and "1 image," in out


def test_nothing_found_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out, err = run("check", tmp_path / "empty")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "no images or captions found" in err


def test_a_single_file_is_not_a_dataset_of_one(tmp_path: Path) -> None:
    for index in range(3):
        pair(tmp_path / f"{index}.jpg")
    (tmp_path / "lintcap.toml").write_text('trigger = "ohwx"\n')
    code, out, _ = run("check", tmp_path / "0.txt", "--select", "C001,D001")
    assert code == 0
    assert "D001" not in out and "Dataset rules did not run" in out
    _, out, _ = run("check", tmp_path / "0.txt", "--select", "C001,D001", "--whole-dataset")
    assert "D001 3 images" in out  # judged with its set


def test_bmp_is_read_by_kohya_only(tmp_path: Path) -> None:
    pair(tmp_path / "a.bmp")
    (tmp_path / "lintcap.toml").write_text('trigger = "ohwx"\n')
    _, out, _ = run("check", tmp_path, "--select", "F001,F007")
    assert "a.bmp: warning F007" in out and "ai-toolkit skips .bmp files" in out
    assert "F001" not in out  # paired with its caption


def test_notes_beside_kohya_repeat_folders_are_not_orphan_captions(tmp_path: Path) -> None:
    pair(tmp_path / "10_ohwx man" / "a.jpg")
    (tmp_path / "notes.txt").write_text("shot in May")
    (tmp_path / "10_ohwx man" / "stray.txt").write_text("ohwx")  # inside: still F002
    dataset = discover([tmp_path], [".txt"])
    orphans = [Path(p.path).name for p in dataset.problems if p.kind == "orphan-caption"]
    assert orphans == ["stray.txt"]


def test_without_opencv_the_image_rules_are_skipped_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base install has no OpenCV (the images extra): caption, file and
    variety rules still run, the image rules are named as not run."""
    import lintcap.engine.run as engine

    monkeypatch.setattr(engine, "image_analysis_available", lambda: False)
    for index in range(3):
        pair(tmp_path / f"{index}.jpg")
    (tmp_path / "0.txt").write_text("OHWX, a photo of a man. close-up")
    (tmp_path / "lintcap.toml").write_text('trigger = "ohwx"\n')
    code, out, _ = run("check", tmp_path, "--select", "C001,I,W,D002,D004,A010")
    assert code == 1 and ": error C001 " in out
    findings = [
        line.split()[2] for line in out.splitlines() if ": error " in line or ": warning " in line
    ]
    assert findings and not [code for code in findings if code[0] in "IW" or code == "D002"]
    note = next(line for line in out.splitlines() if line.startswith("Image rules did not run"))
    assert "I001" in note and "W001" in note and "D002" in note and "A010" in note
    assert "D004" not in note  # variety counts what the captions say
    assert "pip install 'lintcap[images]'" in note
