"""Phrase lexicons by category (clothing, lighting, framing, ...).

Lexicons are plain text files, one phrase per line, under ``rules/lexicons``;
the file stem is the category. Users extend them from their config. Phrases
are compared lower-cased with underscores read as spaces, the way WD14 tags
are written either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from lintcap.resources import lexicons_dir


class Lexicon(BaseModel):
    """Phrases per category, normalised, in file order, without duplicates."""

    categories: dict[str, list[str]]

    def phrases(self, category: str) -> list[str]:
        return self.categories.get(category, [])


def normalise_phrase(phrase: str) -> str:
    return " ".join(phrase.replace("_", " ").lower().split())


def read_lexicon_file(path: Path) -> list[str]:
    """Read one lexicon file: one phrase a line, ``#`` comments, blanks skipped."""
    phrases: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            phrases.append(normalise_phrase(line))
    return phrases


def load_lexicon(
    folder: Path | None = None, extra: Mapping[str, list[str]] | None = None
) -> Lexicon:
    """Load every ``*.txt`` in ``folder`` (the shipped lexicons by default)
    and add the user's ``extra`` phrases per category."""
    folder = folder or lexicons_dir()
    categories: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.txt")):
        categories[path.stem] = read_lexicon_file(path)
    for category, phrases in (extra or {}).items():
        categories.setdefault(category, []).extend(normalise_phrase(p) for p in phrases)
    return Lexicon(
        categories={
            name: list(dict.fromkeys(p for p in items if p)) for name, items in categories.items()
        }
    )
