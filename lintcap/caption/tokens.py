"""Estimated text-encoder token counts, without the encoders' vocabularies.

CLIP's BPE and T5's SentencePiece both give common English words one token
and split rare or long words, numbers and punctuation into several. The
estimate below charges one token per common-length word, one more per five
letters beyond seven, one per digit and one per punctuation mark. On captions
it errs high, which is the safe side for a "too long" finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_PIECE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_")


def token_pieces(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield ``(start, end, tokens)`` for each word, digit or mark in ``text``."""
    for match in _PIECE.finditer(text):
        length = match.end() - match.start()
        first = match.group()[0]
        if first.isalpha() and length > 7:
            cost = 1 + -(-(length - 7) // 5)
        else:
            cost = 1
        yield match.start(), match.end(), cost


def offset_after_tokens(text: str, budget: int) -> tuple[int, int | None]:
    """Total estimated tokens, and the offset of the first piece past ``budget``."""
    total = 0
    cut: int | None = None
    for start, _end, cost in token_pieces(text):
        total += cost
        if cut is None and total > budget:
            cut = start
    return total, cut
