"""Estimated text-encoder token counts, without the encoders' vocabularies.

CLIP's BPE and T5's SentencePiece both give common English words one token
and split rare or long words, numbers and punctuation into several. The
estimate below charges one token per common-length word, one more per five
letters beyond seven, one per digit and one per punctuation mark. On captions
it errs high, which is the safe side for a "too long" finding.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"[^\W\d_]+|\d|[^\w\s]|_")
_LONG_WORD = re.compile(r"[^\W\d_]{8,}")


def _cost(piece: str) -> int:
    if len(piece) > 7 and piece[0].isalpha():
        return 1 + -(-(len(piece) - 7) // 5)
    return 1


def estimate_tokens(text: str) -> int:
    """Estimated token count of ``text`` (one pass in C for the common case)."""
    pieces = len(_PIECE.findall(text))
    return pieces + sum(_cost(word) - 1 for word in _LONG_WORD.findall(text))


def offset_after_tokens(text: str, budget: int) -> tuple[int, int | None]:
    """Total estimated tokens, and the offset of the first piece past
    ``budget`` (None when the text fits)."""
    total = estimate_tokens(text)
    if total <= budget:
        return total, None
    spent = 0
    for match in _PIECE.finditer(text):
        spent += _cost(match.group())
        if spent > budget:
            return total, match.start()
    return total, None
