"""lintcap as a pre-commit hook, end to end: the real ``pre-commit`` installed
as the git hook of a real repository, and real commits that it blocks or lets
through.

The hooks are the ones this checkout publishes in ``.pre-commit-hooks.yaml``
(their ``files`` filter, ``pass_filenames`` and ``args``), run as ``repo:
local`` hooks with ``language: system`` and the entry pointed at the Python
running the tests. The ``language: python`` of the manifest would make
pre-commit build a virtual environment and pip-install lintcap with spaCy,
OpenCV and the rest from PyPI (``pre-commit try-repo`` does the same): minutes,
and a network the tests must not need. The interpreter running the tests
already has this checkout's lintcap installed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import TRIGGER, photo

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

CAPTIONS = {
    "001": (
        f"{TRIGGER}, a photo of a woman wearing a red wool coat, standing on a city street "
        "at night. She is smiling. close-up, from side, looking at viewer, neon lighting"
    ),
    "002": (
        f"{TRIGGER}, a photo of a woman wearing a white spacesuit, sitting in a kitchen. "
        "She looks serious. upper body, front view, looking away, soft lighting"
    ),
    "003": (
        f"{TRIGGER}, a photo of a woman wearing a blue denim jacket, standing in a park in the "
        "morning. She is laughing. cowboy shot, from below, looking up, natural lighting"
    ),
}


def _environment(home: Path) -> dict[str, str]:
    """A clean environment: no user or system git config, no inherited
    GIT_DIR/GIT_INDEX_FILE (as when pytest itself runs inside a git hook),
    pre-commit's cache in the test's own folder."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "PRE_COMMIT_HOME": str(home / "pre-commit-cache"),
        "PRE_COMMIT_COLOR": "never",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    # PYTHONPATH: the lintcap under test when it is not the installed one.
    for name in ("SYSTEMROOT", "TMPDIR", "TEMP", "TMP", "PYTHONPATH"):  # Windows and tmp need
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class Repo:
    """A git repository in a temporary folder, with pre-commit installed."""

    def __init__(self, path: Path, hooks: list[dict[str, Any]]) -> None:
        self.path = path
        self.env = _environment(path.parent / "home")
        (path.parent / "home").mkdir()
        path.mkdir()
        self.git("init", "-q")
        self.git("config", "user.name", "lintcap tests")
        self.git("config", "user.email", "tests@lintcap.invalid")
        self.git("config", "commit.gpgsign", "false")
        config = {"repos": [{"repo": "local", "hooks": hooks}]}
        (path / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        self.run(sys.executable, "-m", "pre_commit", "install")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            args,
            cwd=self.path,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        if check:
            assert result.returncode == 0, (args, result.stdout)
        return result

    def git(self, *args: str) -> str:
        return self.run("git", *args).stdout

    def commit(self, message: str) -> subprocess.CompletedProcess[str]:
        """``git commit``, which runs the installed pre-commit hook."""
        return self.run("git", "commit", "-m", message, check=False)

    def commits(self) -> int:
        return int(self.git("rev-list", "--count", "HEAD"))

    def write_dataset(self, folder: str = "data") -> Path:
        """Three real photographs with good captions and a lintcap.toml."""
        root = self.path / folder
        root.mkdir()
        base = photo(size=512)
        for index, (stem, caption) in enumerate(CAPTIONS.items()):
            base.rotate(index * 3).save(root / f"{stem}.jpg", quality=85)
            (root / f"{stem}.txt").write_text(caption, encoding="utf-8")
        (root / "lintcap.toml").write_text(f'trigger = "{TRIGGER}"\n', encoding="utf-8")
        return root


def _published_hook(hook_id: str, **overrides: Any) -> dict[str, Any]:
    """The hook as ``.pre-commit-hooks.yaml`` publishes it, run from this
    checkout: ``language: system`` and the test interpreter's lintcap."""
    hooks = {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))}
    hook = dict(hooks[hook_id])
    program, command, *flags = hook["entry"].split()
    assert (program, command, hook["language"]) in {
        ("lintcap", "check", "python"),
        ("lintcap", "fix", "python"),
    }
    hook["entry"] = " ".join([shlex.quote(sys.executable), "-m", "lintcap", command, *flags])
    hook["language"] = "system"
    return {**hook, **overrides}


def test_manifest_and_config_are_valid() -> None:
    for command, path in (
        ("validate-manifest", MANIFEST),
        ("validate-config", ROOT / ".pre-commit-config.yaml"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "pre_commit", command, str(path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    ids = [hook["id"] for hook in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))]
    assert ids == ["lintcap", "lintcap-dataset", "lintcap-fix"]


def test_commit_with_an_error_in_a_caption_is_refused(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo", [_published_hook("lintcap")])
    data = repo.write_dataset()
    repo.git("add", "-A")
    first = repo.commit("Add the dataset")
    assert first.returncode == 0, first.stdout
    assert re.search(r"lintcap \(staged captions and images\)\.+Passed", first.stdout)
    assert repo.commits() == 1

    # The trigger is missing: C001, an error. Only this caption is staged.
    (data / "002.txt").write_text(CAPTIONS["002"].removeprefix(f"{TRIGGER}, "), encoding="utf-8")
    repo.git("add", "data/002.txt")
    refused = repo.commit("Reword 002")
    assert refused.returncode != 0, refused.stdout
    assert re.search(r"lintcap \(staged captions and images\)\.+Failed", refused.stdout)
    assert re.search(
        r"data/002.txt:1:1: error C001 (\[\*\] )?caption must begin with the trigger 'ohwx'",
        refused.stdout,
    )
    # The whole dataset is re-checked, and only what blocks on the staged
    # caption is reported (--concise): the errors, then one line.
    assert "at or above error in 3 images, 3 captions" in refused.stdout
    assert not re.search(r"data/00[13]\.", refused.stdout)
    assert not re.search(r": (warning|info) ", refused.stdout)
    assert len([line for line in refused.stdout.splitlines() if "data/" in line]) == 1
    assert repo.commits() == 1
    assert repo.git("diff", "--cached", "--name-only").split() == ["data/002.txt"]

    # Fixed (and reworded, or there would be nothing to commit).
    (data / "002.txt").write_text(
        CAPTIONS["002"].replace("white spacesuit", "white space suit"), encoding="utf-8"
    )
    repo.git("add", "data/002.txt")
    accepted = repo.commit("Reword 002")
    assert accepted.returncode == 0, accepted.stdout
    assert re.search(r"lintcap \(staged captions and images\)\.+Passed", accepted.stdout)
    assert repo.commits() == 2
    assert repo.git("log", "-1", "--format=%s").strip() == "Reword 002"


def test_dataset_hook_lints_the_whole_folder(tmp_path: Path) -> None:
    """A new trigger in lintcap.toml stages no caption: the per-file hook has
    nothing to lint, the dataset hook re-lints every caption and refuses."""
    repo = Repo(
        tmp_path / "repo",
        [_published_hook("lintcap"), _published_hook("lintcap-dataset", args=["data"])],
    )
    data = repo.write_dataset()
    repo.git("add", "-A")
    first = repo.commit("Add the dataset")
    assert first.returncode == 0, first.stdout
    assert re.search(r"lintcap \(whole dataset\)\.+Passed", first.stdout)

    (data / "lintcap.toml").write_text('trigger = "zkw"\n', encoding="utf-8")
    repo.git("add", "data/lintcap.toml")
    refused = repo.commit("Rename the trigger")
    assert refused.returncode != 0, refused.stdout
    assert re.search(
        r"lintcap \(staged captions and images\)\.+\(no files to check\)Skipped", refused.stdout
    )
    assert re.search(r"lintcap \(whole dataset\)\.+Failed", refused.stdout)
    flagged = re.findall(r"data/(\d+)\.txt:1:1: error C001 ", refused.stdout)
    assert flagged == ["001", "002", "003"]
    assert repo.commits() == 1


def test_fix_hook_rewrites_the_staged_caption(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo", [_published_hook("lintcap-fix")])
    data = repo.write_dataset()
    # A fixable caption committed without the hook: not staged later, so the
    # hook must leave it alone.
    (data / "001.txt").write_text(CAPTIONS["001"].replace(TRIGGER, TRIGGER.upper(), 1))
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "Add the dataset")

    # Wrong-case trigger: C001's safe fix rewrites it; pre-commit fails the
    # commit because the hook changed a file, and the fixed file is left to stage.
    (data / "003.txt").write_text(CAPTIONS["003"].replace(TRIGGER, TRIGGER.upper(), 1))
    repo.git("add", "data/003.txt")
    changed = repo.commit("Reword 003")
    assert changed.returncode != 0, changed.stdout
    assert "files were modified by this hook" in changed.stdout
    assert (data / "003.txt").read_text(encoding="utf-8") == CAPTIONS["003"]
    assert (data / "001.txt").read_text().startswith(TRIGGER.upper())  # not staged: untouched
    # The set is judged whole (3 images), not as the staged subset of one.
    assert "D001 3 images" in changed.stdout and "1 image:" not in changed.stdout
    assert repo.commits() == 1


def test_whole_dataset_maps_files_to_their_sets_and_back(tmp_path: Path) -> None:
    from lintcap.changed import concerning, dataset_folders
    from lintcap.models import Diagnostic, Severity

    kohya = tmp_path / "train" / "10_ohwx"
    plain = tmp_path / "plain"
    for folder in (kohya, plain):
        folder.mkdir(parents=True)
    staged = [kohya / "a.txt", kohya / "b.jpg", plain / "c.txt"]
    # A kohya repeat folder is a subset: its dataset is train_data_dir above it.
    assert dataset_folders(staged) == [tmp_path / "train", plain]

    def finding(path: str) -> Diagnostic:
        return Diagnostic(code="X001", name="x", severity=Severity.error, message="m", path=path)

    kept = concerning(
        [
            finding(str(kohya / "a.jpg")),  # the staged caption's image
            finding(str(kohya / "b.txt")),  # the staged image's caption
            finding(str(kohya / "z.txt")),  # untouched: not reported
            finding(str(tmp_path / "train") + "/"),  # the set as a whole
        ],
        staged,
    )
    assert [Path(d.path or "").name for d in kept] == ["a.jpg", "b.txt", "train"]
