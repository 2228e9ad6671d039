"""Infer the trigger word when none is configured.

A trigger is a rare token that the dataset's captions share: present in at
least ``min-share`` of them (``settings: trigger-inference:``), wherever it
stands ("a photo of ohwx woman, ..." gives ``ohwx``). Tokens keep their
inner ``_``, ``-`` and angle brackets (``kurokawa_rei``, ``kya-na``,
``<ringX>``), stop at commas (``purplecurly,The``), and a short tag that holds
a rare word is a candidate as a whole (``Yanagise Eika``, ``mclm style``).

Rare means: not a common English word, not a generic booru tag (both lists
ship as data in ``rules/lexicons/words/``), not a lexicon phrase, not a
number, a size or a decade (patterns in the settings); a token joined with
``_`` or ``-`` is common when all of its parts are (``long_hair``,
``two-story``). A rare word that does not open the captions must also look
made up (a digit, ``_``, ``-``, brackets, an inner capital, or at most
``max-short-length`` letters such as ``ohwx``): a mid-sentence brand
("a Hublot watch") or a trade word ("ceramic bezel") is not a trigger.

The guess keeps its evidence (share of captions, how many it opens, its
usual word position) so that reports can say why; C001 still reports a
trigger that is not first, which is a real finding.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, computed_field

from lintcap.resources import lexicons_dir

_FIRST_WORD = re.compile(r"\s*([^\s,.:;!?]+)")
#: A token: an angle-bracket token, or a word with inner ``_ - ' .`` joins.
_TOKEN = re.compile(r"<[^<>\s,]{1,40}>|[^\W_](?:[\w'\u2019]|[-.](?=\w))*")
_CHUNK_END = re.compile(r"[,;:.!?\n]\s*|\s+-\s+")
_MARKED = re.compile(r"[\d_<>-]|[a-z][A-Z]")
_SPLIT = re.compile(r"[_\-\s]+")


class TriggerGuess(BaseModel):
    """An inferred trigger and its evidence."""

    word: str
    #: Captions that hold it, of ``total``.
    count: int
    total: int
    #: Captions that open with it.
    leads: int = 0
    #: Its usual (median) word position, 1 = first.
    position: int = 1


class TriggerInfo(BaseModel):
    """The trigger a run used: configured, inferred (with evidence) or none."""

    word: str | None = None
    source: Literal["configured", "inferred", "none"] = "none"
    count: int = 0
    total: int = 0
    leads: int = 0
    position: int = 0
    #: Whether inference ran (the selected rules read the captions).
    searched: bool = False

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share(self) -> float:
        """Share of the captions that hold it (0 when not inferred)."""
        return round(self.count / self.total, 4) if self.total else 0.0

    def evidence(self) -> str:
        """``in 12 of 12 captions (100%), first in 12`` or ``..., usually word 4``."""
        where = (
            f"first in {self.leads}"
            if self.leads * 2 >= self.count
            else f"usually word {self.position}"
            + (f", first in {self.leads}" if self.leads else "")
        )
        return f"in {self.count} of {self.total} captions ({self.share:.0%}), {where}"


def first_word(text: str) -> str | None:
    match = _FIRST_WORD.match(text)
    return match.group(1) if match else None


@dataclass
class _Seen:
    captions: int = 0
    leads: int = 0
    positions: list[int] = field(default_factory=list)
    forms: Counter[str] = field(default_factory=Counter)
    chunk: bool = False


@cache
def _word_list(path: Path) -> frozenset[str]:
    if not path.is_file():
        return frozenset()
    return frozenset(
        " ".join(line.lower().replace("_", " ").split())
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )


def common_words(extra: Iterable[str] = ()) -> frozenset[str]:
    """The shipped English words and generic booru tags, plus ``extra``
    phrases (lexicon entries): each phrase and each of its words."""
    folder = lexicons_dir() / "words"
    words = set(_word_list(folder / "english.txt")) | _word_list(folder / "booru.txt")
    for phrase in extra:
        words.add(phrase)
        words.update(phrase.split())
    return frozenset(words)


class _Judge:
    def __init__(self, common: frozenset[str], patterns: list[str], max_short: int) -> None:
        self.common = common
        self.patterns = [re.compile(p, re.IGNORECASE) for p in patterns]
        self.max_short = max_short

    def common_word(self, word: str) -> bool:
        lowered = word.lower().strip("'\u2019")
        if lowered.endswith(("'s", "\u2019s")):
            lowered = lowered[:-2]
        if lowered in self.common or lowered.replace("_", " ") in self.common:
            return True
        if any(p.fullmatch(lowered) for p in self.patterns):
            return True
        if lowered.startswith("<") or lowered in {"[trigger]", "trigger"}:
            return lowered in {"[trigger]", "trigger"}
        parts = [p for p in _SPLIT.split(lowered) if p]
        return len(parts) > 1 and all(self.common_word(p) for p in parts)

    def made_up(self, word: str) -> bool:
        """Looks like a coined token wherever it stands."""
        core = word.strip("<>")
        short = core.isalpha() and core.islower() and len(core) <= self.max_short
        return bool(_MARKED.search(word)) or short


def _tokens(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(0)) for m in _TOKEN.finditer(text)]


def _chunks(text: str) -> list[tuple[int, str]]:
    """Comma/sentence-separated pieces with their start offsets."""
    pieces: list[tuple[int, str]] = []
    start = 0
    for match in _CHUNK_END.finditer(text):
        pieces.append((start, text[start : match.start()]))
        start = match.end()
    pieces.append((start, text[start:]))
    return [(s + len(p) - len(p.lstrip()), p.strip()) for s, p in pieces if p.strip()]


def infer_trigger(
    texts: Iterable[str],
    min_share: float,
    min_captions: int,
    common: frozenset[str],
    patterns: list[str] | None = None,
    max_short_length: int = 4,
    max_chunk_words: int = 3,
) -> TriggerGuess | None:
    """The best rare token (or short tag holding one) in ``min_share`` of the
    captions, or None. Ranked by the captions it opens, then its share, then
    length (a whole tag such as ``Yanagise Eika`` over its words)."""
    judge = _Judge(common, patterns or [], max_short_length)
    captions = [text for text in texts if text.strip()]
    if len(captions) < min_captions:
        return None
    seen: dict[str, _Seen] = defaultdict(_Seen)
    rare_cache: dict[str, bool] = {}

    def rare(word: str) -> bool:
        if word not in rare_cache:
            rare_cache[word] = not judge.common_word(word)
        return rare_cache[word]

    for text in captions:
        tokens = _tokens(text)
        index = {start: i for i, (start, _) in enumerate(tokens)}
        found: dict[str, tuple[str, int, bool]] = {}
        for position, (_, token) in enumerate(tokens, start=1):
            if rare(token):
                found.setdefault(token.lower(), (token, position, False))
        for start, chunk in _chunks(text):
            words = [w for _, w in _tokens(chunk)]
            if 2 <= len(words) <= max_chunk_words and any(rare(w) for w in words):
                key = " ".join(chunk.lower().split())
                found.setdefault(key, (" ".join(chunk.split()), index.get(start, 0) + 1, True))
        for key, (form, position, is_chunk) in found.items():
            entry = seen[key]
            entry.captions += 1
            entry.leads += position == 1
            entry.positions.append(position)
            entry.forms[form] += 1
            entry.chunk = is_chunk
    need = min_share * len(captions)
    best: tuple[tuple[int, int, int], TriggerGuess] | None = None
    for entry in seen.values():
        if entry.captions < need:
            continue
        form = entry.forms.most_common(1)[0][0]
        leading = entry.leads >= need
        words = [w for _, w in _tokens(form)]
        if not leading:
            if entry.chunk and not all(rare(w) for w in words):
                continue
            if not entry.chunk and not judge.made_up(form):
                continue
        guess = TriggerGuess(
            word=form,
            count=entry.captions,
            total=len(captions),
            leads=entry.leads,
            position=round(statistics.median(entry.positions)),
        )
        rank = (entry.leads, entry.captions, len(words))
        if best is None or rank > best[0]:
            best = (rank, guess)
    return best[1] if best else None
