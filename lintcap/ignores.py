"""``per-file-ignores``: matching findings to the config's keys, and
``check --add-ignores``, which writes a key for each file with findings.

A key is a glob (``fnmatch``) matched against the finding's path relative to
the config's folder, against the path as printed, and against the file name;
a folder key (``data/``) matches the findings on the set in that folder.
``ALL`` among the codes ignores every code.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from lintcap.models import Diagnostic


def _relative(absolute: Path, base: Path) -> str:
    """``absolute`` relative to ``base``, or whole when outside it (POSIX form)."""
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def _candidates(printed: str, base: Path) -> set[str]:
    folder = printed.endswith("/")
    absolute = Path(os.path.abspath(printed))
    relative = _relative(absolute, base)
    names = {printed, printed.rstrip("/"), relative, absolute.name}
    if folder:
        names |= {relative + "/", absolute.name + "/"}
    return {name for name in names if name}


def relative_key(printed: str, base: Path) -> str:
    """The key ``--add-ignores`` writes for a printed path."""
    key = _relative(Path(os.path.abspath(printed)), base)
    return key + "/" if printed.endswith("/") and key != "." else key


def ignored(diagnostic: Diagnostic, per_file: Mapping[str, list[str]], base: Path) -> bool:
    if diagnostic.path is None:
        return False
    names = _candidates(diagnostic.path, base)
    for pattern, codes in per_file.items():
        if not any(c == "ALL" or diagnostic.code.startswith(c) for c in codes):
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for name in names):
            return True
    return False


def apply_per_file_ignores(
    diagnostics: list[Diagnostic], per_file: Mapping[str, list[str]], base: Path
) -> list[Diagnostic]:
    if not per_file:
        return diagnostics
    return [d for d in diagnostics if not ignored(d, per_file, base)]


def add_ignores(config_path: Path, diagnostics: Sequence[Diagnostic]) -> tuple[int, int]:
    """Add a per-file-ignores entry for every file with findings to the TOML
    file at ``config_path`` (created when missing; ``[tool.lintcap]`` in a
    pyproject.toml), keeping what is there. Returns (files, codes) added."""
    import tomlkit

    from lintcap.report.output import write_output_file

    base = config_path.resolve().parent
    wanted: dict[str, set[str]] = {}
    for diagnostic in diagnostics:
        if diagnostic.path:
            wanted.setdefault(relative_key(diagnostic.path, base), set()).add(diagnostic.code)
    text = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
    document = tomlkit.parse(text)
    table = document
    if config_path.name == "pyproject.toml":
        table = document.setdefault("tool", tomlkit.table()).setdefault("lintcap", tomlkit.table())
    ignores = table.setdefault("per-file-ignores", tomlkit.table())
    files = codes = 0
    for key, found in sorted(wanted.items()):
        current = {str(code) for code in ignores.get(key, [])}
        new = found - current
        if not new:
            continue
        files += 1
        codes += len(new)
        ignores[key] = sorted(current | found)
    if files:
        write_output_file(config_path, tomlkit.dumps(document), "config")
    return files, codes
