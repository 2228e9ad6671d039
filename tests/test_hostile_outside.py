"""Hostile input, group "outside": nothing outside the dataset (or the
report the user named) is read or written through a link, a device or a
name that looks like an option. Each test names the promise it checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from lintcap.config import Config
from lintcap.engine.run import lint
from lintcap.image.cache import CACHE_DIR_NAME, FactCache
from lintcap.image.facts import ImageFacts
from tests.conftest import TRIGGER, photo
from tests.hostile import is_root, lintcap, tree, within

SHA = "ab" + "0" * 62
FACTS = ImageFacts(sha256=SHA, phash="0123456789abcdef")


def _warnings() -> tuple[list[str], object]:
    seen: list[str] = []
    return seen, seen.append


# --- the fact cache ----------------------------------------------------------


def test_symlinked_cache_root_is_refused_nothing_written_outside(tmp_path: Path) -> None:
    """Promise: nothing written outside; one warning; the run goes on uncached."""
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / CACHE_DIR_NAME).symlink_to(outside)
    seen, warn = _warnings()
    cache = FactCache(data / CACHE_DIR_NAME, "key", warn=warn)  # type: ignore[arg-type]
    cache.put(FACTS)
    cache.put(FACTS)
    assert cache.get(SHA) is None
    assert tree(outside) == {}
    assert len(seen) == 1 and "symbolic link" in seen[0]


@pytest.mark.parametrize("inner", ["images", "images/key", "images/key/ab"])
def test_symlinked_folder_inside_the_cache_is_not_followed(tmp_path: Path, inner: str) -> None:
    """Promise: nothing written outside, whichever folder of the cache is the link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "data" / CACHE_DIR_NAME
    link = root / inner
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    seen, warn = _warnings()
    cache = FactCache(root, "key", warn=warn)  # type: ignore[arg-type]
    cache.put(FACTS)
    assert cache.get(SHA) is None
    assert tree(outside) == {}
    assert len(seen) <= 1


def test_dangling_gitignore_link_creates_nothing(tmp_path: Path) -> None:
    """Promise: nothing written outside (a dangling .gitignore link's target stays absent)."""
    target = tmp_path / "planted"
    root = tmp_path / "data" / CACHE_DIR_NAME
    root.mkdir(parents=True)
    (root / ".gitignore").symlink_to(target)
    FactCache(root, "key").put(FACTS)
    assert not target.exists()
    assert FactCache(root, "key").get(SHA) == FACTS  # the cache itself still works


def test_cache_dir_in_an_existing_folder_gets_no_gitignore(tmp_path: Path) -> None:
    """Promise: a .gitignore is written only into a cache folder lintcap created."""
    work_tree = tmp_path / "repo"
    work_tree.mkdir()
    FactCache(work_tree, "key").put(FACTS)
    assert not (work_tree / ".gitignore").exists()
    fresh = tmp_path / "repo" / "made" / CACHE_DIR_NAME
    FactCache(fresh, "key").put(FACTS)
    assert (fresh / ".gitignore").read_text().strip().endswith("*")
    assert not (tmp_path / "repo" / "made" / ".gitignore").exists()


def test_cache_file_linked_to_a_secret_is_not_read(tmp_path: Path) -> None:
    """Promise: nothing read outside: a cache entry that is a link is a miss,
    even when its target holds valid facts."""
    secret = tmp_path / "secret.json"
    secret.write_text(FACTS.model_dump_json())
    root = tmp_path / "data" / CACHE_DIR_NAME
    FactCache(root, "key").put(FACTS)
    entry = root / "images" / "key" / "ab" / f"{SHA}.json"
    entry.unlink()
    entry.symlink_to(secret)
    assert FactCache(root, "key").get(SHA) is None


def test_cache_file_that_is_a_fifo_is_a_miss_not_a_hang(tmp_path: Path) -> None:
    """Promise: finishes (a FIFO is never opened for a blocking read)."""
    root = tmp_path / "data" / CACHE_DIR_NAME
    FactCache(root, "key").put(FACTS)
    entry = root / "images" / "key" / "ab" / f"{SHA}.json"
    entry.unlink()
    os.mkfifo(entry)
    with within(10):
        assert FactCache(root, "key").get(SHA) is None


def test_cache_file_with_a_non_hex_phash_is_a_miss(tmp_path: Path) -> None:
    """Promise: no internal error; a foreign cache entry is a miss."""
    root = tmp_path / "data" / CACHE_DIR_NAME
    FactCache(root, "key").put(FACTS)
    entry = root / "images" / "key" / "ab" / f"{SHA}.json"
    entry.write_text(FACTS.model_dump_json().replace("0123456789abcdef", "zz-not-hex"))
    assert FactCache(root, "key").get(SHA) is None


def test_lint_with_a_symlinked_cache_writes_nothing_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Promise: nothing written outside; the findings equal an uncached run's."""
    outside = tmp_path / "outside"
    outside.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    photo(size=64).save(data / "a.jpg")
    (data / "a.txt").write_text(f"{TRIGGER}, a woman")
    (data / CACHE_DIR_NAME).symlink_to(outside)
    config = Config(select=["I001"], jobs=1, trigger=TRIGGER)
    cached = lint([data], config)
    assert tree(outside) == {}
    assert capsys.readouterr().err.count("warning") == 1
    uncached = lint([data], config.model_copy(update={"cache": False}))
    assert cached.diagnostics == uncached.diagnostics


# --- report targets -------------------------------------------------------------


def _dataset(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    photo(size=64).save(data / "a.jpg")
    (data / "a.txt").write_text(f"{TRIGGER}, a woman", encoding="utf-8")
    return data


def test_html_refuses_a_symlink_and_leaves_its_target_alone(tmp_path: Path) -> None:
    """Promise: exit 2; the link and its target untouched."""
    data = _dataset(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / "report.html"
    link.symlink_to(victim)
    run = lintcap("check", "--select", "C001", "--html", link, data)
    assert run.exit_code == 2 and "symbolic link" in run.stderr
    assert link.is_symlink() and victim.read_text() == "keep"


def test_html_refuses_a_fifo_without_hanging(tmp_path: Path) -> None:
    """Promise: exit 2, finishes; the FIFO stays a FIFO."""
    data = _dataset(tmp_path)
    fifo = tmp_path / "report.html"
    os.mkfifo(fifo)
    with within(60):
        run = lintcap("check", "--select", "C001", "--html", fifo, data)
    assert run.exit_code == 2 and "FIFO" in run.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_html_refuses_a_device(tmp_path: Path) -> None:
    """Promise: exit 2 and the device stays a device. As root (CI) a device
    node of our own stands in for /dev/null, which a broken build would
    replace for the whole machine; a user cannot replace /dev/null, so
    there the real one is the target, refused the same way."""
    data = _dataset(tmp_path)
    if is_root():
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    else:
        device = Path("/dev/null")
    run = lintcap("check", "--select", "C001", "--html", device, data)
    assert run.exit_code == 2 and "character device" in run.stderr
    assert stat.S_ISCHR(os.lstat(device).st_mode)


def test_html_refuses_a_caption_of_the_dataset(tmp_path: Path) -> None:
    """Promise: exit 2; the caption untouched."""
    data = _dataset(tmp_path)
    run = lintcap("check", "--select", "C001", "--html", data / "a.txt", data)
    assert run.exit_code == 2 and "linted dataset" in run.stderr
    assert (data / "a.txt").read_text() == f"{TRIGGER}, a woman"


def test_html_replaces_a_regular_file_keeping_its_mode(tmp_path: Path) -> None:
    """Promise: a regular file is replaced atomically; its mode is kept; no temporary left."""
    data = _dataset(tmp_path)
    report = tmp_path / "out" / "report.html"
    report.parent.mkdir()
    report.write_text("old")
    report.chmod(0o600)
    run = lintcap("check", "--select", "C001", "--html", report, data)
    assert run.exit_code in {0, 1}, run.stderr
    assert report.read_text().startswith("<!")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]


def test_pre_commit_entries_that_take_file_names_end_with_double_dash() -> None:
    """Promise: a staged file named ``--html=victim.txt`` is a path, never an option."""
    manifest = Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml"
    hooks = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    for hook in hooks:
        if hook.get("pass_filenames", True):
            assert hook["entry"].split()[-1] == "--", hook["id"]


def test_option_like_file_name_after_double_dash_writes_nothing(tmp_path: Path) -> None:
    """Promise: file untouched (victim.txt) when the hook's ``--`` precedes the name."""
    data = _dataset(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    (data / "--html=victim.txt").write_text("x")
    run = lintcap("check", "--whole-dataset", "--", "--html=victim.txt", cwd=data)
    assert run.exit_code in {0, 1}, run.stderr
    assert victim.read_text() == "keep" and not (data / "victim.txt").exists()


# --- diff headers and foreign files ------------------------------------------------


def test_diff_quotes_a_file_name_with_a_newline(tmp_path: Path) -> None:
    """Promise: a name cannot forge a diff header (git's quoting)."""
    data = tmp_path / "data"
    data.mkdir()
    name = "a\n+++ other"
    photo(size=32).save(data / f"{name}.jpg")
    (data / f"{name}.txt").write_text(f"{TRIGGER}, a woman\nsmiling", encoding="utf-8")
    run = lintcap("fix", "--isolated", "--trigger", TRIGGER, "--diff", data, cwd=tmp_path)
    headers = [line for line in run.stdout.splitlines() if line.startswith(("---", "+++"))]
    assert headers, run.stdout
    assert all(line.startswith(('--- "', '+++ "')) for line in headers), headers
    assert all("\\n+++ other" in line for line in headers)


def test_extend_rules_pointing_at_a_secret_never_echoes_it(tmp_path: Path) -> None:
    """Promise: exit 2, one line, no content of the foreign file."""
    secret = tmp_path / "shadow"
    secret.write_text("root: $6$hashhashhash:19000:0:99999:7:::\ndaemon: '*:19000'\n")
    data = _dataset(tmp_path)
    (data / "lintcap.toml").write_text(f'extend-rules = ["{secret}"]\n')
    run = lintcap("check", data)
    assert run.exit_code == 2
    assert "hashhash" not in run.stderr + run.stdout and "19000" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_folders_a_read_found_missing_are_seen_once_this_cache_makes_them(tmp_path: Path) -> None:
    """Promise: the cache remembers missing folders (a cold run looks every
    image up first) but never hides what it writes itself afterwards, and
    it keeps one descriptor per folder, all closed by close()."""
    root = tmp_path / "data" / CACHE_DIR_NAME
    other = "cd" + "0" * 62
    cache = FactCache(root, "key")
    assert cache.get(SHA) is None and cache.get(other) is None
    assert not root.exists()  # a read creates nothing
    cache.put(FACTS)
    assert cache.get(SHA) == FACTS
    assert cache.get(other) is None  # its folder is missing: remembered
    cache.put(ImageFacts(sha256=other))
    assert cache.get(other) == ImageFacts(sha256=other)
    before = len(os.listdir("/proc/self/fd"))
    cache.close()
    assert len(os.listdir("/proc/self/fd")) == before - 3  # images/key, ab, cd


def test_open_cache_folders_stay_under_a_low_open_file_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: under a soft limit of 64 open files (macOS's is 256) the
    cache keeps at most a quarter of it open (16 subfolders, plus its key's
    folder), so the images the analysis opens meanwhile are not refused;
    entries in folders it closed are still read back, also where a read
    had found the folder missing before it was made."""
    import resource

    from lintcap.image import cache as cache_module

    monkeypatch.setattr(resource, "getrlimit", lambda which: (64, 4096))
    cache_module._open_folders_kept.cache_clear()
    try:
        cache = FactCache(tmp_path / CACHE_DIR_NAME, "key")
        names = [f"{prefix:02x}" + "0" * 62 for prefix in range(40)]
        before = len(os.listdir("/proc/self/fd"))
        cache.put(ImageFacts(sha256="ff" + "0" * 62))  # the key's folder exists...
        assert all(cache.get(name) is None for name in names)  # ...each subfolder seen missing
        for name in names:
            cache.put(ImageFacts(sha256=name))
        assert len(os.listdir("/proc/self/fd")) - before <= 16 + 1
        assert all(cache.get(name) == ImageFacts(sha256=name) for name in names)
        cache.close()
        assert len(os.listdir("/proc/self/fd")) == before
    finally:
        cache_module._open_folders_kept.cache_clear()
