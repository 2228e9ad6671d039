"""The fact cache: ``.lintcap_cache/`` beside the dataset, like ruff's.

One JSON file per image, named by the file's content hash and the analysis
key (analyser version, OpenCV version, settings). A hit needs no decode. The
cache is an optimisation and nothing more: an unreadable, truncated or
foreign file is a miss, a failed write is ignored, and concurrent runs are
safe because every write is a rename of a complete temporary file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from lintcap.image.facts import ImageFacts

CACHE_DIR_NAME = ".lintcap_cache"


class FactCache:
    def __init__(self, root: Path, key: str) -> None:
        self.folder = root / "images" / key
        self.root = root
        self.key = key

    def _path(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.json"

    def get(self, sha256: str) -> ImageFacts | None:
        try:
            data = self._path(sha256).read_bytes()
            facts = ImageFacts.model_validate_json(data)
        except (OSError, ValueError, ValidationError):
            return None
        return facts if facts.sha256 == sha256 else None

    def put(self, facts: ImageFacts) -> None:
        path = self._path(facts.sha256)
        with contextlib.suppress(OSError):
            self._ensure_root()
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(facts.model_dump_json().encode())
                os.replace(temporary, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise

    def _ensure_root(self) -> None:
        """A new cache folder gets a ``.gitignore`` of ``*`` so that it never
        ends up in the dataset's repository."""
        if not (self.root / ".gitignore").exists():
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / ".gitignore").write_text("# Created by lintcap.\n*\n", encoding="utf-8")
