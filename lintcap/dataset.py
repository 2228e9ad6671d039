"""Discovery: find image/caption pairs the way the trainers do.

* sidecar captions: ``img.jpg`` + ``img.txt`` (the extension is configurable;
  kohya's default is ``.caption``);
* recursive, hidden files and folders skipped (ai-toolkit);
* kohya ``N_name`` folders: ``N`` repeats, ``name`` the class tokens;
* Hugging Face ``metadata.jsonl`` (``file_name`` plus ``text`` or ``caption``).

What does not pair up (a caption without an image, an image without a caption,
a path that leaves the dataset root) is recorded as a :class:`Problem`, never
raised.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel

from lintcap.models import Problem

if TYPE_CHECKING:
    from lintcap.scope import Scope

#: Images the trainers read: ai-toolkit .jpg .jpeg .png .webp
#: (ostris/ai-toolkit:toolkit/data_loader.py:39, at 27a03a91), kohya sd-scripts
#: those and .bmp (kohya-ss/sd-scripts:library/train_util.py:104, at 48d368fa).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
#: Read by kohya sd-scripts only: paired as images, and an F007 warning that
#: ai-toolkit skips them.
KOHYA_ONLY_EXTENSIONS = frozenset({".bmp"})
#: Image files the trainers skip or cannot read: worth a finding, not silence.
UNSUPPORTED_IMAGE_EXTENSIONS = frozenset(
    {
        ".gif",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".jxl",
        ".psd",
        ".svg",
        ".ico",
        ".dng",
        ".cr2",
        ".nef",
        ".arw",
    }
)
METADATA_FILE = "metadata.jsonl"
_KOHYA_FOLDER = re.compile(r"^(\d+)_(.+)$")


class Item(BaseModel):
    """One training example: an image and where its caption comes from."""

    root: Path
    image: Path | None = None
    caption_path: Path | None = None
    #: For metadata.jsonl captions: the 1-based line and the decoded text.
    metadata_line: int | None = None
    metadata_text: str | None = None
    metadata_raw: str | None = None
    repeats: int | None = None
    class_tokens: str | None = None

    @property
    def key(self) -> str:
        """A stable identity for sorting and caching."""
        return str(self.image or self.caption_path)


class Dataset(BaseModel):
    roots: list[Path]
    items: list[Item]
    problems: list[Problem] = []


def display_path(path: Path) -> str:
    """Path as the user should read it: relative to the working directory
    when below it, like ruff prints paths."""
    text = os.fspath(path)
    cwd = os.getcwd()
    if text.startswith(cwd + os.sep):
        return text[len(cwd) + 1 :].replace(os.sep, "/")
    return text.replace(os.sep, "/")


def discover(
    paths: list[Path], caption_extensions: list[str], scope: Scope | None = None
) -> Dataset:
    """Find every item under ``paths`` (folders or single files); ``scope``
    leaves out what the config excludes (lintcap.scope)."""
    extensions = [e if e.startswith(".") else f".{e}" for e in caption_extensions]
    _kohya_root.cache_clear()  # folders as they are now
    items: list[Item] = []
    problems: list[Problem] = []
    roots: list[Path] = []
    for given in paths:
        root = Path(os.path.abspath(given))
        if root.is_file():
            # A single image or caption: check it with its partners (a
            # metadata.jsonl beside it may hold its caption).
            folder = str(root.parent)
            partners = [
                _Entry(folder, entry.name, entry.is_symlink())
                for entry in sorted(os.scandir(folder), key=lambda e: e.name)
                if (os.path.splitext(entry.name)[0] == root.stem or entry.name == METADATA_FILE)
                and not (scope is not None and scope.excluded(entry.path))
            ]
            found: list[Item] = []
            _discover_files(root.parent, partners, extensions, found, problems)
            items.extend(
                item
                for item in found
                if root.name == METADATA_FILE
                or (item.image is not None and item.image.stem == root.stem)
                or item.caption_path == root
            )
            roots.append(root.parent)
            continue
        roots.append(root)
        _discover_files(root, _walk(root, problems, scope), extensions, items, problems)
    # Overlapping paths ("data" and "data/a.jpg") must not count a file twice.
    unique_items = {(str(i.image), str(i.caption_path), i.metadata_line): i for i in items}
    unique_problems = {(p.kind, p.path, p.line): p for p in problems}
    return Dataset(
        roots=roots,
        items=sorted(unique_items.values(), key=lambda item: item.key),
        problems=sorted(unique_problems.values(), key=lambda p: (p.path, p.line or 0)),
    )


class _Entry(NamedTuple):
    """A file found by the walk; strings, not Paths: discovery touches every
    file of the tree and pathlib would dominate its cost."""

    folder: str
    name: str
    symlink: bool


def _walk(root: Path, problems: list[Problem], scope: Scope | None = None) -> list[_Entry]:
    """Every non-hidden, non-excluded file below ``root``; symlinked folders
    are not followed (one pointing outside the root is a problem)."""
    real_root = root.resolve()
    entries: list[_Entry] = []
    folders = [str(root)]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as scan:
                listing = sorted(scan, key=lambda entry: entry.name)
        except OSError as exc:
            problems.append(
                Problem(
                    kind="unreadable", path=display_path(Path(folder)), detail=exc.strerror or ""
                )
            )
            continue
        for entry in listing:
            if entry.name.startswith("."):
                continue
            if scope is not None and scope.excluded(entry.path, entry.is_dir()):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif entry.is_symlink() and entry.is_dir():
                if not _inside(Path(entry.path).resolve(), real_root):
                    problems.append(
                        Problem(
                            kind="outside-root",
                            path=display_path(Path(entry.path)),
                            detail="folder symlink points outside the dataset root, "
                            f"to {os.readlink(entry.path)}",
                        )
                    )
            else:
                entries.append(_Entry(folder, entry.name, entry.is_symlink()))
    return entries


def _discover_files(
    root: Path,
    files: list[_Entry],
    extensions: list[str],
    items: list[Item],
    problems: list[Problem],
) -> None:
    """Pair the files found under ``root``: sidecars by folder and stem,
    metadata.jsonl entries first."""
    real_root = root.resolve()
    images: dict[tuple[str, str], list[str]] = defaultdict(list)
    captions: dict[tuple[str, str], str] = {}
    metadata_files: list[Path] = []
    for folder, name, symlink in files:
        path = os.path.join(folder, name)
        if symlink:
            target = Path(path).resolve()
            if not _inside(target, real_root):
                problems.append(
                    Problem(
                        kind="outside-root",
                        path=display_path(Path(path)),
                        detail=f"symlink points outside the dataset root, to {os.readlink(path)}",
                    )
                )
                continue
            if not target.exists():
                problems.append(
                    Problem(
                        kind="unreadable",
                        path=display_path(Path(path)),
                        detail=f"broken symlink to {os.readlink(path)}",
                    )
                )
                continue
        stem, extension = os.path.splitext(name)
        suffix = extension.lower()
        if name == METADATA_FILE:
            metadata_files.append(Path(path))
        elif suffix in IMAGE_EXTENSIONS:
            images[(folder, stem)].append(path)
            if suffix in KOHYA_ONLY_EXTENSIONS:
                problems.append(
                    Problem(
                        kind="unsupported-format",
                        path=display_path(Path(path)),
                        detail=f"ai-toolkit skips {suffix} files (kohya sd-scripts reads them)",
                    )
                )
        elif suffix in UNSUPPORTED_IMAGE_EXTENSIONS:
            problems.append(
                Problem(
                    kind="unsupported-format",
                    path=display_path(Path(path)),
                    detail=f"{suffix} files are not read by ai-toolkit or kohya sd-scripts",
                )
            )
        elif extension in extensions:
            captions[(folder, stem)] = path
    listed: set[str] = set()
    for metadata in metadata_files:
        listed |= {str(p) for p in _read_metadata(root, metadata, items, problems)}
    for key, group in images.items():
        unlisted = [image for image in group if image not in listed]
        caption = captions.get(key)
        caption_path = Path(caption) if caption is not None else None
        for image in unlisted:
            items.append(_item(root, Path(image), caption_path))
        if caption is not None and len(unlisted) > 1:
            problems.append(
                Problem(
                    kind="shared-caption",
                    path=display_path(Path(caption)),
                    detail="captions " + ", ".join(os.path.basename(i) for i in unlisted),
                )
            )
    for key, caption in captions.items():
        if key not in images and not _kohya_root(key[0]):
            problems.append(
                Problem(
                    kind="orphan-caption",
                    path=display_path(Path(caption)),
                    detail=f"no image named {key[1]}.*",
                )
            )


@cache
def _kohya_root(folder: str) -> bool:
    """Whether ``folder`` holds kohya repeat folders (``10_ohwx``): kohya reads
    only those subfolders of ``train_data_dir`` and never a file beside them
    (kohya-ss/sd-scripts:library/config_util.py:627-636 at 48d368fa: files are
    skipped, folders without a repeat count ignored), so a ``notes.txt`` there
    is not an orphan caption."""
    try:
        with os.scandir(folder) as scan:
            return any(
                entry.is_dir(follow_symlinks=False) and _KOHYA_FOLDER.match(entry.name)
                for entry in scan
            )
    except OSError:
        return False


def _item(root: Path, image: Path, caption: Path | None) -> Item:
    repeats, class_tokens = _kohya_folder(root, image)
    return Item(
        root=root, image=image, caption_path=caption, repeats=repeats, class_tokens=class_tokens
    )


def _kohya_folder(root: Path, image: Path) -> tuple[int | None, str | None]:
    """Repeats and class tokens from the nearest ``N_name`` folder at or under root."""
    return _kohya_folder_of(str(root), os.path.dirname(str(image)))


@cache
def _kohya_folder_of(root: str, folder: str) -> tuple[int | None, str | None]:
    if folder != root and not folder.startswith(root + os.sep):
        return None, None
    below = folder[len(root) :].split(os.sep)
    for name in [*reversed(below), os.path.basename(root)]:
        match = _KOHYA_FOLDER.match(name)
        if match:
            return int(match.group(1)), match.group(2)
    return None, None


def _read_metadata(
    root: Path, metadata: Path, items: list[Item], problems: list[Problem]
) -> set[Path]:
    """Items from a Hugging Face ``metadata.jsonl``; returns the images it lists."""
    listed: set[Path] = set()
    folder = metadata.parent
    shown = display_path(metadata)
    real_folder = folder.resolve()
    try:
        lines = metadata.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(kind="bad-metadata", path=shown, detail=str(exc)))
        return listed
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(
                    kind="bad-metadata", path=shown, line=number, detail=f"invalid JSON: {exc.msg}"
                )
            )
            continue
        if not isinstance(record, dict) or not isinstance(record.get("file_name"), str):
            problems.append(
                Problem(kind="bad-metadata", path=shown, line=number, detail="no file_name string")
            )
            continue
        column = "text" if "text" in record else "caption" if "caption" in record else None
        text = record.get(column) if column else None
        if not isinstance(text, str):
            problems.append(
                Problem(
                    kind="bad-metadata",
                    path=shown,
                    line=number,
                    detail="no text or caption string",
                )
            )
            continue
        name = record["file_name"]
        image = folder / name
        if (
            os.path.isabs(name)
            or not _inside(Path(os.path.abspath(image)), real_folder)
            or (image.exists() and not _inside(image.resolve(), root.resolve()))
        ):
            problems.append(
                Problem(
                    kind="outside-root",
                    path=shown,
                    line=number,
                    detail=f"file_name {name!r} leaves the dataset folder",
                )
            )
            continue
        image = Path(os.path.abspath(image))
        if not image.exists():
            problems.append(
                Problem(
                    kind="orphan-caption", path=shown, line=number, detail=f"{name} does not exist"
                )
            )
            continue
        listed.add(image)
        repeats, class_tokens = _kohya_folder(root, image)
        items.append(
            Item(
                root=root,
                image=image,
                caption_path=metadata,
                metadata_line=number,
                metadata_text=text,
                metadata_raw=raw,
                repeats=repeats,
                class_tokens=class_tokens,
            )
        )
    return listed


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
