"""The fact cache's packs (lintcap.image.packs): after its first PACK_AFTER
entries a cache writes many entries to one file; every entry reads back, an
entry file wins over a pack, many packs are folded into one, and a pack is
hostile ground like every cache file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from lintcap.image import cache as cache_module
from lintcap.image import packs
from lintcap.image.cache import CACHE_DIR_NAME, PACK_AFTER, FactCache
from lintcap.image.facts import ImageFacts, ImageInfo


def _sha(index: int) -> str:
    return hashlib.sha256(str(index).encode()).hexdigest()


def _facts(index: int, width: int = 64) -> ImageFacts:
    return ImageFacts(
        sha256=_sha(index),
        info=ImageInfo(format="JPEG", width=width, height=48),
        families={"decode": "d"},
    )


def _folder(root: Path) -> Path:
    return root / "images" / "key"


def _pack_files(root: Path) -> list[Path]:
    return sorted((_folder(root) / packs.PACK_FOLDER).glob("*.pack"))


def test_entries_after_the_first_ones_go_to_one_pack_and_read_back(tmp_path: Path) -> None:
    root = tmp_path / CACHE_DIR_NAME
    cache = FactCache(root, "key")
    for index in range(PACK_AFTER + 40):
        cache.put(_facts(index))
    assert cache.get(_sha(PACK_AFTER + 1)) == _facts(PACK_AFTER + 1)  # before it is written
    cache.close()
    assert len(list(_folder(root).glob("??/*.json"))) == PACK_AFTER
    assert len(_pack_files(root)) == 1
    again = FactCache(root, "key")
    assert all(again.get(_sha(index)) == _facts(index) for index in range(PACK_AFTER + 40))
    assert again.get(_sha(10_000)) is None


def _fill(root: Path, start: int, count: int) -> None:
    """``count`` entries past the files a cache writes first (fillers)."""
    cache = FactCache(root, "key")
    for index in range(PACK_AFTER):
        cache.put(_facts(1_000 + start + index))
    for index in range(start, start + count):
        cache.put(_facts(index))
    cache.close()


def test_an_entry_file_wins_over_a_pack_until_a_newer_pack_holds_the_image(
    tmp_path: Path,
) -> None:
    root = tmp_path / CACHE_DIR_NAME
    _fill(root, 0, 3)  # image 1 is packed
    FactCache(root, "key").put(_facts(1, width=80))  # a small run: an entry file
    assert FactCache(root, "key").get(_sha(1)) == _facts(1, width=80)
    cache = FactCache(root, "key")
    assert cache.get(_sha(1)) is not None  # a run looks its images up first
    for index in range(PACK_AFTER):
        cache.put(_facts(2_000 + index))
    cache.put(_facts(1, width=96))  # packed: the entry file is removed
    cache.close()
    assert not (_folder(root) / _sha(1)[:2] / f"{_sha(1)}.json").exists()
    assert FactCache(root, "key").get(_sha(1)) == _facts(1, width=96)


def test_many_packs_are_folded_into_one(tmp_path: Path) -> None:
    root = tmp_path / CACHE_DIR_NAME
    for run in range(packs.MAX_PACKS):
        _fill(root, 100 * run, 2)
    assert len(_pack_files(root)) == packs.MAX_PACKS
    _fill(root, 5_000, 2)  # reads the 16 packs before it writes: one pack of all
    assert len(_pack_files(root)) == 1
    cache = FactCache(root, "key")
    for run in [*range(packs.MAX_PACKS), 50]:
        assert cache.get(_sha(100 * run)) == _facts(100 * run), run
        assert cache.get(_sha(100 * run + 1)) == _facts(100 * run + 1), run


def _written_pack(root: Path) -> Path:
    _fill(root, 0, 2)
    [pack] = _pack_files(root)
    return pack


def test_a_pack_that_is_a_link_or_a_fifo_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / CACHE_DIR_NAME
    pack = _written_pack(root)
    outside = tmp_path / "outside.pack"
    pack.rename(outside)
    pack.symlink_to(outside)
    assert FactCache(root, "key").get(_sha(0)) is None
    pack.unlink()
    os.mkfifo(pack)  # read without blocking, refused
    assert FactCache(root, "key").get(_sha(0)) is None


def test_broken_lines_are_skipped_and_the_others_read(tmp_path: Path) -> None:
    root = tmp_path / CACHE_DIR_NAME
    pack = _written_pack(root)
    good = pack.read_bytes().splitlines()
    assert len(good) == 2
    huge = _sha(7).encode() + b" " + b"x" * (cache_module.MAX_ENTRY_BYTES + 1)
    planted = [b"garbage", good[0][:90], huge, b"../../etc " + good[1][65:], good[1], b""]
    pack.write_bytes(b"\n".join(planted))
    cache = FactCache(root, "key")
    assert cache.get(_sha(1)) == _facts(1)
    assert cache.get(_sha(0)) is None and cache.get(_sha(7)) is None
    # Under another image's hash, an entry is a miss (its own hash says so).
    pack.write_bytes(_sha(5).encode() + good[1][64:] + b"\n")
    assert FactCache(root, "key").get(_sha(5)) is None


def test_packs_past_the_byte_limit_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / CACHE_DIR_NAME
    pack = _written_pack(root)
    monkeypatch.setattr(packs, "MAX_PACKS_BYTES", pack.stat().st_size - 1)
    assert FactCache(root, "key").get(_sha(0)) is None
    monkeypatch.setattr(packs, "MAX_PACKS_BYTES", pack.stat().st_size)
    assert FactCache(root, "key").get(_sha(0)) == _facts(0)


def test_the_newest_packs_are_read_first_and_win_when_the_budget_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "packs"
    folder.mkdir()
    fd = os.open(folder, os.O_RDONLY)
    try:
        old = {_sha(1): b'{"width": 1}', _sha(2): b'{"width": 2}'}
        assert packs.write_pack(fd, old)
        new = {_sha(1): b'{"width": 10}'}
        assert packs.write_pack(fd, new)
        entries, read = packs.read_packs(fd, 1 << 20)
        assert entries == {_sha(1): b'{"width": 10}', _sha(2): b'{"width": 2}'}
        assert len(read) == 2
        # Room for the newest pack alone: its entry, not the older one's.
        newest = max(os.listdir(folder))
        monkeypatch.setattr(packs, "MAX_PACKS_BYTES", (folder / newest).stat().st_size)
        entries, read = packs.read_packs(fd, 1 << 20)
        assert entries == {_sha(1): b'{"width": 10}'} and read == [newest]
    finally:
        os.close(fd)
