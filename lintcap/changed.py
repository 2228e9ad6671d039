"""From the files a commit touches to the datasets to re-check, and back.

The pre-commit hook passes only the staged files, but dataset rules (variety,
duplicates, tag style, a phrase in most captions) need the whole set. So
``lintcap check --whole-dataset FILES`` lints the dataset each file belongs
to, with the image facts from the cache (only the changed images are decoded),
and reports what concerns the commit: findings on the staged files and on
their partners (a caption's image, an image's caption), and findings about
the set as a whole. Findings on untouched files were there before the commit;
``lintcap check DATASET`` shows them.

The dataset of a file is its folder; a kohya repeat folder (``10_ohwx``) is a
subset, so its dataset is the folder above it, where kohya's ``train_data_dir``
points.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from lintcap.models import Diagnostic

_KOHYA_REPEATS = re.compile(r"^\d+_.+")


def relevant_paths(paths: Sequence[Path], caption_extensions: Sequence[str]) -> list[Path]:
    """The paths that can belong to a dataset: folders, images (those the
    trainers skip too, for F007), captions, metadata.jsonl. pre-commit passes
    every staged file its ``files``/``types_or`` let through (a README.md, a
    .toml); those are not dataset content and are dropped."""
    from lintcap.dataset import (
        IMAGE_EXTENSIONS,
        METADATA_FILE,
        UNSUPPORTED_IMAGE_EXTENSIONS,
    )

    captions = {e if e.startswith(".") else f".{e}" for e in caption_extensions}
    kept = []
    for path in paths:
        suffix = path.suffix.lower()
        if (
            path.is_dir()
            or path.name == METADATA_FILE
            or suffix in IMAGE_EXTENSIONS
            or suffix in UNSUPPORTED_IMAGE_EXTENSIONS
            or path.suffix in captions
        ):
            kept.append(path)
    return kept


def dataset_folders(paths: Sequence[Path]) -> list[Path]:
    """The dataset folder of each path (folders stay as given), without repeats."""
    folders: dict[Path, None] = {}
    for path in paths:
        folder = path if path.is_dir() else path.parent
        if _KOHYA_REPEATS.match(folder.name) and folder.parent != folder:
            folder = folder.parent
        folders.setdefault(folder, None)
    return list(folders)


def concerning(diagnostics: Sequence[Diagnostic], paths: Sequence[Path]) -> list[Diagnostic]:
    """The findings on ``paths``, on their partners (same folder and stem) and
    on whole datasets (their path is a folder)."""
    stems = {_stem_key(path) for path in paths if not path.is_dir()}
    folders = {path.resolve() for path in paths if path.is_dir()}
    kept = []
    for diagnostic in diagnostics:
        where = diagnostic.path
        if where is None or where.endswith("/"):
            kept.append(diagnostic)
            continue
        target = Path(where)
        if _stem_key(target) in stems or any(
            folder == target.resolve() or folder in target.resolve().parents for folder in folders
        ):
            kept.append(diagnostic)
    return kept


def _stem_key(path: Path) -> tuple[Path, str]:
    resolved = path.resolve()
    return resolved.parent, resolved.stem
