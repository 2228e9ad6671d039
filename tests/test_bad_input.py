"""Bad input is a finding with a file and a reason, never a traceback."""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lintcap.config import Config
from lintcap.engine.run import lint
from tests.conftest import TRIGGER, photo, run_lintcap

GOOD = f"{TRIGGER}, a photo of a woman in a white spacesuit, smiling. close-up, soft lighting"


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (a bomb's shape)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def bad_dataset(tmp_path: Path) -> Path:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "lintcap.toml").write_text(f'trigger = "{TRIGGER}"\n')

    def pair(stem: str, caption: bytes | None, ext: str = ".jpg") -> Path:
        image = root / f"{stem}{ext}"
        photo().save(image, quality=85) if ext == ".jpg" else photo().save(image)
        if caption is not None:
            (root / f"{stem}.txt").write_bytes(caption)
        return image

    (root / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    (root / "corrupt.txt").write_text(GOOD)
    buffer = io.BytesIO()
    photo(size=256).save(buffer, format="PNG")
    (root / "truncated.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    (root / "truncated.txt").write_text(GOOD)
    pair("latin1", GOOD.encode() + " café".encode("latin-1"))
    pair("bom", b"\xef\xbb\xbf" + GOOD.encode())
    pair("empty", b"")
    pair("blank", b"  \n ")
    pair("twolines", (GOOD + "\nfull body, outdoors").encode())
    pair("nocaption", None)
    (root / "orphan.txt").write_text(GOOD)
    outside = tmp_path / "outside.jpg"
    photo().save(outside)
    os.symlink(outside, root / "escape.jpg")
    (root / "escape.txt").write_text(GOOD)
    (root / "bomb.png").write_bytes(png_header(70_000, 70_000))
    (root / "bomb.txt").write_text(GOOD)
    frames = [photo(), photo().rotate(90)]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:])
    frames[0].save(root / "gif_in_disguise.png", format="GIF")
    (root / "gif_in_disguise.txt").write_text(GOOD)
    pair("huge", (GOOD + " lorem").encode() * 3000)
    return root


def findings_by_file(stdout: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for finding in json.loads(stdout):
        found.setdefault(Path(finding["path"]).name, set()).add(finding["code"])
    return found


def test_every_bad_file_is_a_finding_and_nothing_else_is_printed(bad_dataset: Path) -> None:
    result = run_lintcap("check", bad_dataset, "--format", "json", "--select", "F")
    assert result.returncode == 1
    assert result.stderr == ""
    found = findings_by_file(result.stdout)
    expected = {
        "corrupt.jpg": "F006",
        "truncated.png": "F006",
        "latin1.txt": "F004",
        "bom.txt": "F004",
        "empty.txt": "F003",
        "blank.txt": "F003",
        "twolines.txt": "F005",
        "nocaption.jpg": "F001",
        "orphan.txt": "F002",
        "escape.jpg": "F008",
        "bomb.png": "F009",
        "anim.gif": "F007",
        "gif_in_disguise.png": "F007",
        "huge.txt": "F009",
    }
    for name, code in expected.items():
        assert code in found.get(name, set()), f"{name}: expected {code}, got {found.get(name)}"


def test_text_report_names_file_and_reason(bad_dataset: Path) -> None:
    result = run_lintcap("check", bad_dataset, "--select", "F")
    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    bomb = next(line for line in lines if "bomb.png" in line)
    assert "F009" in bomb and "70,000 x 70,000" in bomb
    truncated = next(line for line in lines if "truncated.png" in line)
    assert "F006" in truncated
    latin1 = next(line for line in lines if "latin1.txt" in line)
    assert "F004" in latin1 and "0xe9" in latin1
    assert "Traceback" not in result.stdout


def test_positions_point_at_the_bad_byte_and_the_line_break(bad_dataset: Path) -> None:
    result = run_lintcap("check", bad_dataset, "--format", "json", "--select", "F004,F005")
    by_name = {Path(f["path"]).name: f for f in json.loads(result.stdout)}
    assert by_name["latin1.txt"]["line"] == 1
    assert by_name["latin1.txt"]["column"] == len(GOOD) + 5
    assert by_name["twolines.txt"]["line"] == 1
    assert by_name["twolines.txt"]["column"] == len(GOOD) + 1


def test_symlink_target_outside_is_not_read(bad_dataset: Path) -> None:
    result = run_lintcap("check", bad_dataset, "--format", "json", "--select", "F")
    escape = [f for f in json.loads(result.stdout) if Path(f["path"]).name == "escape.jpg"]
    assert [f["code"] for f in escape] == ["F008"]
    # escape.txt is then a caption without an image
    assert "F002" in findings_by_file(result.stdout)["escape.txt"]


def test_caption_rules_still_run_on_the_good_files(bad_dataset: Path) -> None:
    result = run_lintcap("check", bad_dataset, "--format", "json")
    assert result.returncode == 1
    assert result.stderr == ""
    codes = {f["code"] for f in json.loads(result.stdout)}
    assert codes >= {"F001", "F003", "F004", "F006", "F009"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    caption=st.binary(max_size=300),
    image=st.one_of(st.binary(max_size=200), st.just(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)),
)
def test_lint_never_raises_on_arbitrary_file_contents(
    tmp_path_factory: pytest.TempPathFactory, caption: bytes, image: bytes
) -> None:
    """Whatever bytes a caption or image holds, the run ends in findings."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "a.jpg").write_bytes(image)
    (root / "a.txt").write_bytes(caption)
    photo().save(root / "b.jpg")
    (root / "b.txt").write_bytes(caption)
    result = lint([root], Config(trigger=TRIGGER))
    codes = {d.code for d in result.diagnostics if d.path and d.path.endswith("a.jpg")}
    assert codes & {"F006", "F007"}, result.diagnostics  # garbage is never a valid image
    for diagnostic in result.diagnostics:
        assert diagnostic.message
