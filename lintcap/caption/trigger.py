"""Infer the trigger word when none is configured.

The trigger is the word that leads the captions: the most common first word,
accepted only when it leads a clear majority (the share lives in the rules'
settings) and is not an ordinary English word such as an article.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel

_FIRST_WORD = re.compile(r"\s*([^\s,.:;!?]+)")


class TriggerGuess(BaseModel):
    word: str
    count: int
    total: int


def first_word(text: str) -> str | None:
    match = _FIRST_WORD.match(text)
    return match.group(1) if match else None


def infer_trigger(
    texts: Iterable[str],
    min_share: float,
    min_captions: int,
    common_words: frozenset[str],
) -> TriggerGuess | None:
    firsts = [word for word in map(first_word, texts) if word]
    if len(firsts) < min_captions:
        return None
    counts = Counter(firsts)
    word, count = counts.most_common(1)[0]
    if word.lower() in common_words or word.lower() == "[trigger]":
        return None
    if count / len(firsts) < min_share:
        return None
    return TriggerGuess(word=word, count=count, total=len(firsts))
