"""Discovery: find image/caption pairs the way the trainers do.

* sidecar captions: ``img.jpg`` + ``img.txt`` (the extension is configurable;
  kohya's default is ``.caption``);
* recursive, hidden files and folders skipped (ai-toolkit);
* kohya ``N_name`` folders: ``N`` repeats, ``name`` the class tokens;
* Hugging Face ``metadata.jsonl`` (``file_name`` plus ``text`` or ``caption``).

When an image has both a sidecar and a ``metadata.jsonl`` row, the sidecar is
linted by default (``caption-source = "auto"``): it is what the trainers read
(ai-toolkit's load_caption opens ``<stem><caption_ext>`` beside the image,
ostris/ai-toolkit:toolkit/dataloader_mixins.py:344-351 @27a03a91; kohya
sd-scripts reads ``<stem><caption_extension>`` in read_caption,
kohya-ss/sd-scripts:library/train_util.py:1946-1968 @48d368fa; neither opens
metadata.jsonl). ``"metadata"`` lints the rows instead, ``"sidecar"`` ignores
metadata.jsonl. Either way, when the two sources disagree or one lacks an
entry the other has, one ``caption-sources-differ`` problem per metadata file
names the files.

What does not pair up (a caption without an image, an image without a caption,
a path that leaves the dataset root) is recorded as a :class:`Problem`, never
raised.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections import defaultdict
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from pydantic import BaseModel

from lintcap.models import Problem
from lintcap.safefs import read_regular

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
CaptionSource = Literal["auto", "sidecar", "metadata"]
#: Bytes of a sidecar read to compare it with its metadata.jsonl row.
_COMPARE_BYTES = 64 * 1024
#: A metadata.jsonl holds every caption of a set: its own, larger bound.
METADATA_MAX_BYTES = 64 * 1024 * 1024
#: Files named in a caption-sources-differ problem's message, per list.
_NAMED = 3
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


def display_path(path: Path, cwd: str | None = None) -> str:
    """Path as the user should read it: relative to the working directory
    when below it, like ruff prints paths. ``cwd`` is ``os.getcwd()`` read
    once by a caller that shows many paths (a system call per path was 2 %
    of a warm 100,000-caption run)."""
    text = os.fspath(path)
    if cwd is None:
        cwd = os.getcwd()
    if text.startswith(cwd + os.sep):
        return text[len(cwd) + 1 :].replace(os.sep, "/")
    return text.replace(os.sep, "/")


def discover(
    paths: list[Path],
    caption_extensions: list[str],
    scope: Scope | None = None,
    caption_source: CaptionSource = "auto",
    overrides: Mapping[Path, bytes] | None = None,
) -> Dataset:
    """Find every item under ``paths`` (folders or single files); ``scope``
    leaves out what the config excludes (lintcap.scope). ``overrides`` gives
    a metadata.jsonl's bytes instead of the file's (how fix re-lints its
    edits before writing)."""
    overrides = overrides or {}
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
            # One file's partners are no whole dataset: sources are not compared.
            _discover_files(
                root.parent,
                partners,
                extensions,
                found,
                problems,
                caption_source,
                overrides,
                compare=False,
            )
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
        _discover_files(
            root,
            _walk(root, problems, scope),
            extensions,
            items,
            problems,
            caption_source,
            overrides,
        )
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
            if scope is not None and scope.excluded(entry.path, _is_dir(entry)):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            elif entry.is_symlink() and _is_dir(entry):
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


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is a folder, following a link; a link loop (ELOOP)
    or any other error is "not a folder" (the file pass reports it)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _discover_files(
    root: Path,
    files: list[_Entry],
    extensions: list[str],
    items: list[Item],
    problems: list[Problem],
    caption_source: CaptionSource = "auto",
    overrides: Mapping[Path, bytes] | None = None,
    compare: bool = True,
) -> None:
    """Pair the files found under ``root``: sidecars by folder and stem, and
    metadata.jsonl rows; ``caption_source`` decides for an image with both."""
    real_root = root.resolve()
    images: dict[tuple[str, str], list[str]] = defaultdict(list)
    captions: dict[tuple[str, str], str] = {}
    metadata_files: list[Path] = []
    for folder, name, symlink in files:
        path = os.path.join(folder, name)
        if symlink:
            try:
                target = Path(path).resolve()
            except (OSError, RuntimeError) as exc:  # a loop (ELOOP): unreadable, not a crash
                loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
                detail = "symlink loop" if loop else getattr(exc, "strerror", None) or str(exc)
                problems.append(
                    Problem(kind="unreadable", path=display_path(Path(path)), detail=detail)
                )
                continue
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
    rows: dict[str, list[Item]] = defaultdict(list)
    if caption_source != "sidecar":
        for metadata in metadata_files:
            found: list[Item] = []
            _read_metadata(root, metadata, found, problems, (overrides or {}).get(metadata))
            for row in found:
                rows[str(row.image)].append(row)
    paired: set[str] = set()
    as_path = _PathMaker()
    root_text = str(root)
    for key, group in images.items():
        caption = captions.get(key)
        caption_path = as_path(caption) if caption is not None else None
        own = []
        for image in group:
            paired.add(image)
            if rows.get(image) and (caption is None or caption_source == "metadata"):
                items.extend(rows[image])
            else:
                own.append(image)
                repeats, class_tokens = _kohya_folder_of(root_text, os.path.dirname(image))
                items.append(
                    Item(
                        root=root,
                        image=as_path(image),
                        caption_path=caption_path,
                        repeats=repeats,
                        class_tokens=class_tokens,
                    )
                )
        if caption is not None and len(own) > 1:
            problems.append(
                Problem(
                    kind="shared-caption",
                    path=display_path(Path(caption)),
                    detail="captions " + ", ".join(os.path.basename(i) for i in own),
                )
            )
    # Rows for images the walk did not pair (another extension, a hidden folder).
    for image, entries in rows.items():
        if image not in paired:
            items.extend(entries)
    for metadata in metadata_files if compare else []:
        problem = _compare_sources(metadata, rows, images, captions, caption_source)
        if problem is not None:
            problems.append(problem)
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


def _compare_sources(
    metadata: Path,
    rows: dict[str, list[Item]],
    images: dict[tuple[str, str], list[str]],
    captions: dict[tuple[str, str], str],
    caption_source: CaptionSource,
) -> Problem | None:
    """One problem when ``metadata``'s rows and the sidecars of the images it
    covers disagree, or either lacks an entry the other has."""
    folder = str(metadata.parent)
    mine = {image: [r for r in entries if r.caption_path == metadata]
            for image, entries in rows.items()}  # fmt: skip
    mine = {image: entries for image, entries in mine.items() if entries}
    differ: list[tuple[str, str]] = []
    only_rows: list[str] = []
    only_sidecars: list[str] = []
    sidecar_of = {image: captions.get(key) for key, group in images.items() for image in group}
    for image, entries in sorted(mine.items()):
        sidecar = sidecar_of.get(image)
        row = f"{display_path(metadata)}:{entries[0].metadata_line}"
        if sidecar is None:
            only_rows.append(row)
            continue
        text = _read_small(Path(sidecar))
        for entry in entries:
            if text is None or text.strip() != (entry.metadata_text or "").strip():
                differ.append(
                    (display_path(Path(sidecar)), f"{display_path(metadata)}:{entry.metadata_line}")
                )
                break
    for key, caption in sorted(captions.items()):
        under = key[0] == folder or key[0].startswith(folder + os.sep)
        if under and key in images and not any(i in mine for i in images[key]):
            only_sidecars.append(display_path(Path(caption)))
    if not mine or (len(only_rows) == len(mine) and not only_sidecars):
        return None  # no rows, or no sidecars beside them: nothing to compare
    if not (differ or only_rows or only_sidecars):
        return None
    used = {"auto": "the sidecars", "sidecar": "the sidecars", "metadata": "the metadata rows"}
    pairs = [f"{a} vs {b}" for a, b in differ]
    parts = []
    if differ:
        parts.append(f"{len(differ)} sidecar(s) differ from their row ({_names(pairs)})")
    if only_rows:
        parts.append(f"{len(only_rows)} row(s) have no sidecar ({_names(only_rows)})")
    if only_sidecars:
        parts.append(f"{len(only_sidecars)} sidecar(s) have no row ({_names(only_sidecars)})")
    related = [name for pair in differ for name in pair] + only_rows + only_sidecars
    return Problem(
        kind="caption-sources-differ",
        path=display_path(metadata),
        detail="; ".join(parts)
        + f'; linted {used[caption_source]} (caption-source = "{caption_source}")',
        related=related,
    )


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_NAMED])
    return shown + (f" and {len(names) - _NAMED} more" if len(names) > _NAMED else "")


def _read_small(path: Path) -> str | None:
    """A sidecar's text for comparison (bounded; None when unreadable)."""
    try:
        data = read_regular(path, _COMPARE_BYTES)  # never a FIFO or a device
    except OSError:
        return None
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


#: pathlib's own way to a folder's entry (``Path.iterdir`` takes it), where
#: the Python running has one; else the public join.
_CHILD = getattr(Path, "_make_child_relpath", None)


class _PathMaker:
    """``Path(path)`` for the files the walk found (``os.path.join(folder,
    name)``, ``name`` an entry of ``folder``), made from the folder's Path
    (one per folder) and the name: the same Path, without parsing the whole
    string again (a fifth of the cost: two Paths an item were ~3 % of a warm
    100,000-caption run)."""

    def __init__(self) -> None:
        self._folders: dict[str, Path] = {}

    def __call__(self, path: str) -> Path:
        folder, name = os.path.split(path)
        parent = self._folders.get(folder)
        if parent is None:
            parent = self._folders[folder] = Path(folder)
        return _CHILD(parent, name) if _CHILD is not None else parent / name


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
    root: Path,
    metadata: Path,
    items: list[Item],
    problems: list[Problem],
    data: bytes | None = None,
) -> set[Path]:
    """Items from a Hugging Face ``metadata.jsonl`` (or ``data``, its bytes as
    fix holds them); returns the images it lists. Lines end at ``\n`` only,
    as JSON Lines readers split them (a U+2028 inside a string is text)."""
    listed: set[Path] = set()
    folder = metadata.parent
    shown = display_path(metadata)
    real_folder = folder.resolve()
    try:
        data = data if data is not None else read_regular(metadata, METADATA_MAX_BYTES)
        raw_text = data.decode("utf-8")
        lines = [line.removesuffix("\r") for line in raw_text.split("\n")]
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
        except RecursionError:
            problems.append(
                Problem(
                    kind="bad-metadata", path=shown, line=number, detail="JSON nested too deeply"
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
        unusable = _not_unicode(name, "file_name") or _not_unicode(text, column or "text")
        if unusable:
            problems.append(Problem(kind="bad-metadata", path=shown, line=number, detail=unusable))
            continue
        image = folder / name
        try:
            leaves = (
                os.path.isabs(name)
                or not _inside(Path(os.path.abspath(image)), real_folder)
                or (image.exists() and not _inside(image.resolve(), root.resolve()))
            )
            exists = image.exists()
        except (OSError, ValueError, RuntimeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(
                Problem(
                    kind="bad-metadata",
                    path=shown,
                    line=number,
                    detail=f"file_name {_short(name)!r} cannot be used: {reason}",
                )
            )
            continue
        if leaves:
            problems.append(
                Problem(
                    kind="outside-root",
                    path=shown,
                    line=number,
                    detail=f"file_name {_short(name)!r} leaves the dataset folder",
                )
            )
            continue
        image = Path(os.path.abspath(image))
        if not exists:
            problems.append(
                Problem(
                    kind="orphan-caption",
                    path=shown,
                    line=number,
                    detail=f"{_short(name)} does not exist",
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


def _not_unicode(value: str, field: str) -> str | None:
    """Why ``value`` cannot be used (a lone surrogate such as ``\\ud800``,
    which JSON allows and UTF-8 cannot encode), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"{field} holds a lone surrogate (U+{ord(value[exc.start]):04X}), not text"
    return None


def _short(name: str, limit: int = 80) -> str:
    """A file name as a message shows it: at most ``limit`` characters."""
    return name if len(name) <= limit else f"{name[: limit - 20]}...({len(name):,} characters)"


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
