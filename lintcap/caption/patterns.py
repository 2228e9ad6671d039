"""Token patterns by category: what a sentence says, not only which phrase it uses.

Lexicons find phrases written verbatim ("soft lighting"); captions written as
prose say the same thing in sentences ("Warm amber light bathes the scene",
"Her mouth is closed", "a calm, thoughtful expression"). Those are found with
spaCy ``Matcher`` token patterns over the tokens the blank pipeline already
made (no trained model: only token attributes such as ``LOWER``, ``IS_PUNCT``
and ``IS_ALPHA``, with ``IN``/``NOT_IN`` lists and ``OP`` quantifiers).

Patterns are data: ``rules/patterns/<category>.yaml`` holds ``words`` (named
word lists) and ``patterns`` (lists of token dicts). A list value written as
``$name`` stands for the word list ``name``, so one list of light words serves
many patterns. The file stem is the category of every hit, like a lexicon file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from lintcap.lazy import safe_load_yaml
from lintcap.resources import rules_dir

Pattern = list[dict[str, Any]]


class LabelledPattern(BaseModel):
    """Patterns whose matches count as one phrase, ``label`` ("mouth open"):
    the variety classes and the frequency rules read the label, not the words."""

    model_config = ConfigDict(extra="forbid")

    label: str
    tokens: list[Pattern] = Field(min_length=1)


class PatternError(ValueError):
    """A pattern file that cannot be read; the message names the file."""


class PatternFile(BaseModel):
    """One ``rules/patterns/*.yaml`` file as written."""

    model_config = ConfigDict(extra="forbid")

    words: dict[str, list[str]] = {}
    #: Unlabelled patterns: cues that the category is described.
    patterns: list[Pattern] = []
    labelled: list[LabelledPattern] = []


class PatternSet(BaseModel):
    """A category's patterns: label ("" for cues) -> token patterns."""

    by_label: dict[str, list[Pattern]]


def patterns_dir() -> Path:
    return rules_dir() / "patterns"


def _resolve(value: Any, words: dict[str, list[str]], where: str) -> Any:
    """Replace ``$name`` strings by their word list, lower-cased, everywhere."""
    if isinstance(value, str) and value.startswith("$"):
        if value[1:] not in words:
            raise PatternError(f"{where}: unknown word list {value!r}")
        return [w.lower() for w in words[value[1:]]]
    if isinstance(value, dict):
        return {key: _resolve(item, words, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, words, where) for item in value]
    return value


def read_pattern_file(path: Path) -> PatternSet:
    """One file's patterns with word lists substituted. Structure errors raise
    :class:`PatternError`; spaCy checks the token attributes when they are added."""
    try:
        raw = safe_load_yaml(path.read_text(encoding="utf-8")) or {}
        parsed = PatternFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise PatternError(f"{path.name}: {' '.join(str(exc).split())[:300]}") from exc
    by_label: dict[str, list[Pattern]] = {}
    if parsed.patterns:
        by_label[""] = [_resolve(p, parsed.words, path.name) for p in parsed.patterns]
    for entry in parsed.labelled:
        label = " ".join(entry.label.lower().split())
        by_label.setdefault(label, []).extend(
            _resolve(p, parsed.words, path.name) for p in entry.tokens
        )
    return PatternSet(by_label=by_label)


def load_patterns(folder: Path | None = None) -> dict[str, PatternSet]:
    """Every ``*.yaml`` in ``folder`` (the shipped patterns by default), by category."""
    folder = folder or patterns_dir()
    if not folder.is_dir():
        return {}
    return {path.stem: read_pattern_file(path) for path in sorted(folder.glob("*.yaml"))}


def _values(token: dict[str, Any]) -> set[str] | None:
    """The words a token may be (its ``LOWER`` value or ``IN`` list), or None."""
    lower = token.get("LOWER")
    if isinstance(lower, str):
        return {lower}
    if isinstance(lower, dict) and isinstance(lower.get("IN"), list) and len(lower) == 1:
        return {str(word) for word in lower["IN"]}
    return None


#: How many tokens a ``*`` or ``+`` token is taken to cover when sizing search windows.
STAR_TOKENS = 4


def _repeats(token: dict[str, Any]) -> tuple[int, int]:
    """How many caption tokens a pattern token takes, least and most, by its
    ``OP`` (spaCy's quantifiers: ``?``, ``*``, ``+``, ``!``, ``{n}``,
    ``{n,m}``, ``{n,}``, ``{,m}``); an unbounded repeat counts as STAR_TOKENS.
    ``!`` takes one token that is *not* the token's words."""
    op = token.get("OP")
    if op is None or op == "!":
        return 1, 1
    bounded = {"?": (0, 1), "*": (0, STAR_TOKENS), "+": (1, STAR_TOKENS)}
    if op in bounded:
        return bounded[op]
    if isinstance(op, str) and op.startswith("{") and op.endswith("}"):
        low, _, high = op[1:-1].partition(",")
        least = int(low) if low.isdigit() else 0
        if "," not in op:
            return least, least
        return least, int(high) if high.isdigit() else max(least, STAR_TOKENS)
    return 0, STAR_TOKENS  # an unknown quantifier: assume nothing


def holds_its_words(token: dict[str, Any]) -> bool:
    """Whether every match of a pattern holds one of this token's words: it
    lists them (``LOWER``, ``IN``) and must match at least once, not negated
    (``!``: any word but these) nor skippable (``?``, ``*``, ``{0,m}``)."""
    return token.get("OP") != "!" and _repeats(token)[0] >= 1 and bool(_values(token))


class Anchors(BaseModel):
    """Words of which every match of a category holds one, and how far a
    match reaches before and after that word, in tokens."""

    words: frozenset[str]
    before: int
    after: int


def _width(token: dict[str, Any]) -> int:
    """Tokens a pattern token is taken to cover: a repeated one (``*``, ``+``)
    up to STAR_TOKENS, a range (``{n,m}``) up to its most, any other one."""
    return _repeats(token)[1]


def anchor_words(sets: dict[str, PatternSet], common: frozenset[str]) -> Anchors | None:
    """The anchors of these patterns, or None when some pattern has no word
    every match of it holds. Per pattern: of the tokens it cannot skip and
    that list their words, the one with fewest ``common`` words (articles,
    pronouns, auxiliaries, prepositions), then fewest words (the most
    selective). The matcher then runs only around these words: spaCy's ``IN``
    predicates are Python calls per token and pattern, too slow to run over
    every token of every caption."""
    words: set[str] = set()
    before = after = 0
    for pattern_set in sets.values():
        for patterns in pattern_set.by_label.values():
            for pattern in patterns:
                best: int | None = None
                best_score = (0, 0)
                for index, token in enumerate(pattern):
                    values = _values(token) if holds_its_words(token) else None
                    if not values:
                        continue
                    score = (-len(values & common), -len(values))
                    if best is None or score > best_score:
                        best, best_score = index, score
                if best is None:
                    return None
                words |= _values(pattern[best]) or set()
                before = max(before, sum(_width(t) for t in pattern[:best]))
                after = max(after, sum(_width(t) for t in pattern[best + 1 :]))
    return Anchors(words=frozenset(words), before=before, after=after)
