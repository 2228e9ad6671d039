"""Caption source: sidecars win over metadata.jsonl by default (what the
trainers read), a config key chooses, disagreements are one finding naming
the files; dataset findings name ``metadata.jsonl:LINE``; ``fix`` edits
metadata.jsonl rows in place, keeping everything else of the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lintcap.config import Config
from lintcap.engine.run import lint
from lintcap.fix.run import fix

_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _both(root: Path) -> Path:
    """Three images with sidecars and a metadata.jsonl: row 2 disagrees with
    its sidecar, image c has no row, image d has a row and no sidecar."""
    root.mkdir()
    for name in "abcd":
        (root / f"{name}.png").write_bytes(_PNG)
    (root / "a.txt").write_text("zkw, a man on a pier at dusk\n", encoding="utf-8")
    (root / "b.txt").write_text("zkw, a man in a red coat", encoding="utf-8")
    (root / "c.txt").write_text("zkw, a man by a lake", encoding="utf-8")
    rows = [
        {"file_name": "a.png", "text": "zkw, a man on a pier at dusk"},
        {"file_name": "b.png", "text": "zkw, a man in a blue coat"},
        {"file_name": "d.png", "text": "zkw, a man on a roof"},
    ]
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def _captions(result_items: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {Path(f.item.image).name: f.reference for f in result_items}


def test_sidecars_win_by_default_and_disagreement_is_one_finding(tmp_path: Path) -> None:
    root = _both(tmp_path / "d")
    result = lint([root], Config(trigger="zkw", select=["F013", "C001"]))
    sources = _captions(result.items)
    assert sources["a.png"].endswith("a.txt") and sources["b.png"].endswith("b.txt")
    assert sources["d.png"].endswith("metadata.jsonl:3")  # only the row has it
    [finding] = [d for d in result.diagnostics if d.code == "F013"]
    assert "1 sidecar(s) differ from their row" in finding.message
    assert "b.txt vs" in finding.message and "metadata.jsonl:2" in finding.message
    assert "1 row(s) have no sidecar" in finding.message
    assert "1 sidecar(s) have no row" in finding.message
    assert 'linted the sidecars (caption-source = "auto")' in finding.message
    assert any(r.endswith("metadata.jsonl:2") for r in finding.related)
    assert any(r.endswith("c.txt") for r in finding.related)


@pytest.mark.parametrize(
    ("source", "b_from", "d_found"),
    [("metadata", "metadata.jsonl:2", True), ("sidecar", "b.txt", False)],
)
def test_caption_source_key(tmp_path: Path, source: str, b_from: str, d_found: bool) -> None:
    root = _both(tmp_path / "d")
    config = Config.model_validate({"caption-source": source, "select": ["F001", "F013"]})
    result = lint([root], config)
    sources = _captions(result.items)
    assert sources["b.png"].endswith(b_from)
    assert any(d.code == "F001" and d.path.endswith("d.png") for d in result.diagnostics) != (
        d_found
    )
    assert any(d.code == "F013" for d in result.diagnostics) == (source == "metadata")


def test_metadata_only_set_is_not_a_disagreement(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "a.png").write_bytes(_PNG)
    (root / "metadata.jsonl").write_text('{"file_name": "a.png", "text": "zkw, a man"}\n')
    assert lint([root], Config(select=["F013"])).diagnostics == []


def _rows(root: Path, lines: list[str], ending: str = "\n") -> Path:
    root.mkdir()
    for index in range(len(lines)):
        (root / f"{index}.png").write_bytes(_PNG)
    (root / "metadata.jsonl").write_bytes((ending.join(lines) + ending).encode("utf-8"))
    return root


def test_related_names_metadata_lines_and_c001_columns_agree(tmp_path: Path) -> None:
    lines = [
        f'{{"file_name": "{i}.png", "text": "a caf\\u00e9 photo of zkw, a man in a red coat"}}'
        for i in range(6)
    ]
    root = _rows(tmp_path / "r", lines)
    result = lint([root], Config(trigger="zkw", select=["C001", "D008"]))
    c001 = [d for d in result.diagnostics if d.code == "C001"]
    assert len(c001) == 6
    raw = lines[0]
    assert raw[c001[0].column - 1 :].startswith("zkw")  # the location's column is raw
    assert "column" not in c001[0].message  # the message names words, not an offset
    assert "after 'a café photo of'" in c001[0].message
    [d008] = [d for d in result.diagnostics if d.code == "D008"]
    assert [r.rsplit("/", 1)[-1] for r in d008.related] == [
        f"metadata.jsonl:{n}" for n in range(1, 7)
    ]


def test_fix_edits_metadata_rows_in_place(tmp_path: Path) -> None:
    lines = [
        '{"file_name": "0.png", "text": "a photo of zkw, a man in a caf\\u00e9", "id": 7}',
        '{"text": "zkw, a man with a \\"hat\\"", "file_name": "1.png"}',
        '{"file_name":"2.png","text":"zkw, a man on a boat","extra":[1,2]}',
    ]
    root = _rows(tmp_path / "f", lines, ending="\r\n")
    result = fix([root], Config(trigger="zkw", select=["C001"]))
    assert result.fixes == 1 and result.files[0].written
    data = (root / "metadata.jsonl").read_bytes().decode("utf-8")
    new = data.split("\r\n")
    assert new[0] == (
        '{"file_name": "0.png", "text": "zkw, a photo of a man in a caf\\u00e9", "id": 7}'
    )
    assert new[1:] == [*lines[1:], ""]  # the other lines, byte for byte, CRLF kept
    assert lint([root], Config(trigger="zkw", select=["C001"])).diagnostics == []


def test_fix_says_why_a_row_is_not_edited(tmp_path: Path) -> None:
    # The key is written with an escape ("te\u0078t" is "text" to a JSON
    # reader): the caption cannot be found verbatim, so no edit is safe.
    lines = ['{"file_name": "0.png", "te\\u0078t": "a photo of zkw, a man"}']
    root = _rows(tmp_path / "n", lines)
    before = (root / "metadata.jsonl").read_bytes()
    result = fix([root], Config(trigger="zkw", select=["C001"]))
    assert result.fixes == 0
    assert any("metadata.jsonl:1: C001 not fixed" in note for note in result.rolled_back)
    assert (root / "metadata.jsonl").read_bytes() == before


def test_llm_fix_leaves_metadata_rows_alone_and_says_so(tmp_path: Path) -> None:
    from lintcap.fix.llm.run import llm_fix
    from tests.scripted_llm import ScriptedBackend

    lines = [
        f'{{"file_name": "{i}.png", "text": "zkw, a man in a red coat on a bench {i}"}}'
        for i in range(3)
    ]
    root = _rows(tmp_path / "l", lines)
    before = (root / "metadata.jsonl").read_bytes()
    backend = ScriptedBackend({})
    result = llm_fix([root], Config(trigger="zkw", select=["A003"]), backend)
    assert backend.requests == []  # no row, and never the whole file, is sent
    assert [s.split(":")[1] for s in result.skipped] == ["1", "2", "3"]
    assert "A003 not sent to the model" in result.skipped[0]
    assert result.files == [] and (root / "metadata.jsonl").read_bytes() == before


def test_a_fifo_sidecar_or_metadata_file_is_never_read(tmp_path: Path) -> None:
    import os

    root = tmp_path / "fifo"
    root.mkdir()
    (root / "a.png").write_bytes(_PNG)
    (root / "b.png").write_bytes(_PNG)
    os.mkfifo(root / "a.txt")  # opening it for reading would wait for a writer
    (root / "b.txt").write_text("zkw, a man by a lake", encoding="utf-8")
    rows = [{"file_name": "a.png", "text": "zkw, a man"}, {"file_name": "b.png", "text": "zkw"}]
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = lint([root], Config(select=["F013"]))
    [finding] = result.diagnostics
    assert "2 sidecar(s) differ" in finding.message  # a.txt unreadable counts as differing
    os.remove(root / "metadata.jsonl")
    os.mkfifo(root / "metadata.jsonl")
    result = lint([root], Config(select=["F011"]))
    assert [d.code for d in result.diagnostics] == ["F011"]
    assert "not a regular file" in result.diagnostics[0].message


def test_caption_source_flag(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lintcap.cli import cli

    root = _both(tmp_path / "d")
    runner = CliRunner()
    auto = runner.invoke(cli, ["check", str(root), "--select", "F013", "--isolated"])
    assert auto.exit_code == 0 and 'linted the sidecars (caption-source = "auto")' in auto.output
    rows = ["check", str(root), "--select", "F013", "--isolated", "--caption-source", "metadata"]
    shown = runner.invoke(cli, rows).output
    assert 'linted the metadata rows (caption-source = "metadata")' in shown
    ignored = ["check", str(root), "--select", "F013", "--isolated", "--caption-source", "sidecar"]
    assert "F013" not in runner.invoke(cli, ignored).output
