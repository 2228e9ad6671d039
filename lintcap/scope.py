"""What discovery leaves out: ``exclude`` / ``extend-exclude`` patterns and,
by default, what the dataset's git repository ignores, as ruff does.

Patterns are gitignore-style (``pathspec``), relative to the config's folder
(else the working directory): ``_rejected/``, ``docs/**/*.png``, ``*.bak.jpg``.
``.gitignore`` files are read from the repository's top (the nearest folder
holding ``.git``) down to each file's folder, a deeper file's patterns winning
as in git; outside a git repository none are read. An excluded folder is not
entered, so nothing below it is found.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from lintcap import safefs

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

    from lintcap.config import Config

#: Bytes of one .gitignore read at most.
_MAX_GITIGNORE = 1024 * 1024


class Scope:
    """Decides, for each file or folder discovery meets, whether it is left out."""

    def __init__(self, patterns: Sequence[str], base: Path, gitignore: bool = True) -> None:
        from pathspec import GitIgnoreSpec

        self.base = os.path.abspath(base)
        self.spec = GitIgnoreSpec.from_lines(list(patterns))
        #: Folder (relative) -> whether a pattern names it or one above it:
        #: asked once per folder, not once per file in it.
        self._folders: dict[str, bool] = {}
        self.gitignore = gitignore
        _git_top.cache_clear()  # a run sees the .gitignore files as they are now
        _gitignore.cache_clear()

    @classmethod
    def from_config(cls, config: Config) -> Scope:
        base = config.base_dir or Path.cwd()
        patterns = [*config.exclude, *config.extend_exclude]
        return cls(patterns, base, config.respect_gitignore)

    def excluded(self, path: str, is_dir: bool = False) -> bool:
        absolute = os.path.abspath(path)
        relative = _relative(absolute, self.base)
        suffix = "/" if is_dir else ""
        if relative is not None and self.spec.match_file(relative + suffix):
            return True
        # A pattern naming a folder excludes what is below it (``_rejected/``).
        if relative is not None and self._under_excluded_folder(relative):
            return True
        return self.gitignore and _git_ignored(absolute, is_dir)

    def _under_excluded_folder(self, relative: str) -> bool:
        folder = relative.rpartition("/")[0]
        known = self._folders.get(folder)
        if known is None:
            parts = folder.split("/") if folder else []
            known = any(
                self.spec.match_file("/".join(parts[: i + 1]) + "/") for i in range(len(parts))
            )
            self._folders[folder] = known
        return known


def _relative(absolute: str, base: str) -> str | None:
    if absolute == base:
        return None
    if absolute.startswith(base.rstrip(os.sep) + os.sep):
        return absolute[len(base.rstrip(os.sep)) + 1 :].replace(os.sep, "/")
    return None


@cache
def _git_top(folder: str) -> str | None:
    """The nearest folder at or above ``folder`` holding ``.git``."""
    if os.path.exists(os.path.join(folder, ".git")):
        return folder
    parent = os.path.dirname(folder)
    return None if parent == folder else _git_top(parent)


@cache
def _gitignore(folder: str) -> GitIgnoreSpec | None:
    path = os.path.join(folder, ".gitignore")
    try:  # a link, FIFO or device is no .gitignore: refused on the open file, no race
        with os.fdopen(safefs.open_regular(path, follow=False), "rb") as handle:
            lines = handle.read(_MAX_GITIGNORE).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def _git_ignored(absolute: str, is_dir: bool) -> bool:
    folder = os.path.dirname(absolute)
    top = _git_top(folder)
    if top is None:
        return False
    chain = [folder]
    while chain[-1] != top:
        chain.append(os.path.dirname(chain[-1]))
    verdict = False
    for ancestor in reversed(chain):  # the top first; deeper files win
        spec = _gitignore(ancestor)
        if spec is None:
            continue
        relative = _relative(absolute, ancestor)
        if relative is None:
            continue
        result = spec.check_file(relative + ("/" if is_dir else ""))
        if result.include is not None:
            verdict = result.include
    return verdict
