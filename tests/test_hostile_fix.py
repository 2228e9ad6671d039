"""Hostile input, group "fix": ``lintcap fix`` is a compare-and-swap. No
concurrent edit is lost, a file that changed is reported (not counted as
fixed), a rewrite keeps what the file was (mode, owner, links, xattrs), and
every write error is a note about one file while the others are fixed."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lintcap.config import Config
from lintcap.fix import write as write_module
from lintcap.fix.run import fix, fix_failed
from lintcap.fix.write import WriteRefused, write_atomically
from tests.conftest import TRIGGER, photo
from tests.hostile import is_root, lintcap, within

OLD = "OHWX, a photo of a woman in a red coat on a street. She is smiling. close-up"
NEW = OLD.replace("OHWX", TRIGGER, 1)
CONFIG = Config(trigger=TRIGGER, select=["C001"], cache=False)


def _captions(root: Path, count: int, text: str = OLD) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    image = photo(size=16)
    paths = []
    for index in range(count):
        image.save(root / f"{index:03d}.png")
        path = root / f"{index:03d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


# --- concurrent edits ---------------------------------------------------------------

#: A second process that edits a caption the instant it sees a temporary
#: file appear in the folder (the moment fix holds its new file): the one
#: named in the temporary's name, else the next one in fix's (sorted) order.
#: ``inplace`` truncates and writes, as most editors and ``echo >`` do;
#: ``rename`` saves a new file over the name, as atomic-saving editors do.
_WRITER = textwrap.dedent(
    """
    import os, sys, time
    folder, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sorted(n for n in os.listdir(folder) if n.endswith(".txt"))
    edited, seen = [], set(os.listdir(folder))
    open(os.path.join(folder, ".ready"), "w").close()
    deadline = time.time() + 60
    stop = os.path.join(folder, ".stop")
    while len(edited) < count and time.time() < deadline and not os.path.exists(stop):
        for entry in os.listdir(folder):
            if entry in seen or not entry.endswith(".tmp"):
                continue
            seen.add(entry)
            named = [n for n in names if n in entry and n not in edited]
            pending = [n for n in names if n not in edited]
            for name in (named or pending)[:1]:
                text = "EDITED by the user " + name
                path = os.path.join(folder, name)
                if mode == "inplace":
                    with open(path, "w") as stream:
                        stream.write(text)
                else:
                    with open(path + ".swp", "w") as stream:
                        stream.write(text)
                    os.replace(path + ".swp", path)
                edited.append(name)
                print(name, flush=True)
    """
)


@pytest.mark.parametrize("mode", ["inplace", "rename"])
def test_no_concurrent_edit_is_lost(tmp_path: Path, mode: str) -> None:
    """Promise: file untouched by fix once the user edited it (no lost edit);
    every caption fix did not write is reported, and the exit verdict fails."""
    root = tmp_path / "data"
    count = 40
    _captions(root, count)
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root), mode, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    with within(60):
        while not (root / ".ready").exists():
            pass
        result = fix([root], CONFIG)
    (root / ".stop").touch()  # the writer finishes the edit in hand, then stops
    edited = set(writer.communicate(timeout=30)[0].split())
    assert edited, "the writer saw no temporary file: fix wrote nothing?"
    finals = {p.name: p.read_text() for p in root.glob("*.txt")}
    lost = [name for name in edited if not finals[name].startswith("EDITED")]
    assert lost == [], f"{len(lost)} of {len(edited)} concurrent edits lost: {lost}"
    by_name = {f.path.name: f for f in result.files}
    for name, text in finals.items():
        if not by_name[name].written:
            assert by_name[name].refused and "changed" in by_name[name].refused
        elif name not in edited:
            assert text == NEW
    assert fix_failed(result.files, result.remaining, CONFIG) == any(
        not f.written for f in result.files
    )


def test_edit_between_read_and_write_is_reported_not_counted(tmp_path: Path) -> None:
    """Promise: a file that changed under fix is reported and not counted as fixed."""
    (path,) = _captions(tmp_path / "data", 1)
    path.write_text("the user's version", encoding="utf-8")
    with pytest.raises(WriteRefused, match="changed on disk"):
        write_atomically(path, NEW.encode(), expected=OLD.encode())
    assert path.read_text() == "the user's version"


def _edit_after_the_copy(monkeypatch: pytest.MonkeyPatch, path: Path, text: str) -> None:
    """Make every write save ``text`` into ``path`` right after the new copy is
    written and before the swap: an editor's save in the narrowest window."""
    real = write_module._write_copy

    def edit_meanwhile(*args: object) -> None:
        real(*args)  # type: ignore[arg-type]
        path.write_text(text, encoding="utf-8")

    monkeypatch.setattr(write_module, "_write_copy", edit_meanwhile)


def test_edit_during_the_swap_is_put_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Promise: no lost edit, even when the edit lands after the check and
    before the swap (the window a check-then-rename loses)."""
    (path,) = _captions(tmp_path / "data", 1)
    _edit_after_the_copy(monkeypatch, path, "saved by the editor meanwhile")
    with pytest.raises(WriteRefused, match="edit was kept"):
        write_atomically(path, NEW.encode(), expected=OLD.encode())
    assert path.read_text() == "saved by the editor meanwhile"
    assert sorted(p.name for p in path.parent.iterdir() if p.suffix != ".png") == ["000.txt"]


def test_the_link_fallback_also_keeps_the_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Promise: no lost edit where RENAME_EXCHANGE does not exist (the hard-link fallback)."""
    (path,) = _captions(tmp_path / "data", 2)[:1]
    monkeypatch.setattr(write_module, "_exchange", lambda a, b: False)
    write_atomically(path, NEW.encode(), expected=OLD.encode())
    assert path.read_text() == NEW
    other = tmp_path / "data" / "001.txt"
    _edit_after_the_copy(monkeypatch, other, "saved meanwhile")
    with pytest.raises(WriteRefused, match="changed"):
        write_atomically(other, NEW.encode(), expected=OLD.encode())
    assert other.read_text() == "saved meanwhile"


# --- what the file was, it stays ----------------------------------------------------------


def test_rewrite_keeps_mode_owner_and_xattrs(tmp_path: Path) -> None:
    """Promise: mode, owner and group (root: another user's file keeps its
    owner), and extended attributes survive the rewrite."""
    (path,) = _captions(tmp_path / "data", 1)
    path.chmod(0o640)
    owner = (4321, 4321) if is_root() else (os.getuid(), os.getgid())
    if is_root():
        os.chown(path, *owner)
    try:
        os.setxattr(path, "user.origin", b"camera-7")
        xattrs = True
    except OSError:
        xattrs = False  # the file system has none: mode and owner still checked
    write_atomically(path, NEW.encode(), expected=OLD.encode())
    status = path.stat()
    assert path.read_text() == NEW
    assert stat.S_IMODE(status.st_mode) == 0o640
    assert (status.st_uid, status.st_gid) == owner
    if xattrs:
        assert os.getxattr(path, "user.origin") == b"camera-7"


def test_symlinked_caption_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    """Promise: the link stays a link; its target (inside the dataset) gets the fix."""
    root = tmp_path / "data"
    (real,) = _captions(root / "texts", 1)
    photo(size=16).save(root / "linked.png")
    (root / "linked.txt").symlink_to(Path("texts") / "000.txt")
    (root / "texts" / "000.png").unlink()
    result = fix([root], CONFIG)
    assert [f.written for f in result.files] == [True]
    assert (root / "linked.txt").is_symlink()
    assert real.read_text() == NEW


def test_hard_linked_and_read_only_captions_are_reported_and_left_alone(tmp_path: Path) -> None:
    """Promise: file untouched and a note for each; the other caption is
    fixed; the exit code says some were not."""
    root = tmp_path / "data"
    linked, read_only, plain = _captions(root, 3)
    os.link(linked, tmp_path / "elsewhere.txt")
    read_only.chmod(0o444)
    result = fix([root], CONFIG)
    notes = {f.path.name: f.refused for f in result.files}
    assert "hard links" in (notes["000.txt"] or "")
    assert "read-only" in (notes["001.txt"] or "")
    assert notes["002.txt"] is None and plain.read_text() == NEW
    assert linked.read_text() == OLD and read_only.read_text() == OLD
    assert (tmp_path / "elsewhere.txt").read_text() == OLD
    assert fix_failed(result.files, result.remaining, CONFIG)


def test_force_write_rewrites_read_only_and_hard_linked_captions(tmp_path: Path) -> None:
    """Promise: when the user asks (--force-write), a read-only caption is
    fixed (and stays read-only) and a hard link is split (the other name
    keeps the old text)."""
    root = tmp_path / "data"
    linked, read_only = _captions(root, 2)
    os.link(linked, tmp_path / "elsewhere.txt")
    read_only.chmod(0o444)
    run = lintcap(
        "fix", "--isolated", "--trigger", TRIGGER, "--select", "C001", "--no-cache",
        "--force-write", root,
    )  # fmt: skip
    assert run.exit_code == 0, run.stdout + run.stderr
    assert linked.read_text() == NEW and read_only.read_text() == NEW
    assert stat.S_IMODE(read_only.stat().st_mode) == 0o444
    assert (tmp_path / "elsewhere.txt").read_text() == OLD


def test_cli_exit_code_and_notes_when_some_captions_are_not_written(tmp_path: Path) -> None:
    """Promise: exit 1, one note per file not written, the others fixed."""
    root = tmp_path / "data"
    read_only, plain = _captions(root, 2)
    read_only.chmod(0o444)
    run = lintcap("fix", "--isolated", "--trigger", TRIGGER, "--select", "C001", "--no-cache", root)
    assert run.exit_code == 1
    assert "000.txt: not written: it is read-only" in run.stdout
    assert plain.read_text() == NEW


# --- write errors are per-file notes ---------------------------------------------------------


def test_long_caption_name_is_fixed_with_a_short_temporary_name(tmp_path: Path) -> None:
    """Promise: a 250-character caption name is fixed (the temporary name is short)."""
    root = tmp_path / "data"
    root.mkdir()
    stem = "x" * 246
    photo(size=16).save(root / f"{stem}.png")
    (root / f"{stem}.txt").write_text(OLD, encoding="utf-8")
    result = fix([root], CONFIG)
    assert [f.written for f in result.files] == [True]
    assert (root / f"{stem}.txt").read_text() == NEW


def test_unwritable_folder_is_a_note_and_other_folders_are_fixed(tmp_path: Path) -> None:
    """Promise: a write error is a per-file note (no internal error); the other
    captions are fixed. As root, folder permissions do not stop writes, so a
    full disk (ENOSPC) stands in for them."""
    locked = _captions(tmp_path / "data" / "locked", 1)[0]
    free = _captions(tmp_path / "data" / "free", 1)[0]
    if is_root():
        real = os.open

        def no_space(path: object, flags: int, *args: object, **kwargs: object) -> int:
            if str(path).startswith(str(locked.parent)) and flags & os.O_CREAT:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(path, flags, *args, **kwargs)  # type: ignore[arg-type]

        patch = pytest.MonkeyPatch()
        patch.setattr(os, "open", no_space)
    else:
        locked.parent.chmod(0o555)
    try:
        result = fix([tmp_path / "data"], CONFIG)
    finally:
        if is_root():
            patch.undo()
        locked.parent.chmod(0o755)
    notes = {f.path.parent.name: f for f in result.files}
    assert notes["locked"].refused and "cannot write it" in notes["locked"].refused
    assert notes["free"].written and free.read_text() == NEW
    assert locked.read_text() == OLD


def test_fix_reads_captions_with_checks_size_limit(tmp_path: Path) -> None:
    """Promise: finishes; a 1 MB caption is check's finding (F-code), not a
    spaCy crash, and other captions are still fixed."""
    root = tmp_path / "data"
    big, plain = _captions(root, 2)
    big.write_text("OHWX, " + "a " * 500_000, encoding="utf-8")
    with within(60):
        result = fix([root], Config(trigger=TRIGGER, cache=False))
    assert plain.read_text().startswith(TRIGGER)
    assert big.read_text().startswith("OHWX")
    assert any("000.txt" in (d.path or "") for d in result.remaining.diagnostics)


def test_fifo_caption_is_a_finding_for_fix_not_a_hang(tmp_path: Path) -> None:
    """Promise: finishes; a FIFO named like a caption is never read."""
    root = tmp_path / "data"
    fifo, plain = _captions(root, 2)
    fifo.unlink()
    os.mkfifo(fifo)
    with within(60):
        result = fix([root], CONFIG)
    assert plain.read_text() == NEW
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [f.path.name for f in result.files] == ["001.txt"]
