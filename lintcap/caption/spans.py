"""Span types of a parsed caption: character offsets into its text.

Typed named tuples, not models: a caption has 20-40 of them and parsing must
stay well under the ~100 µs that spaCy's blank tokenizer already takes per
caption (see bench/captions.py). Pydantic validates and serialises them as
fields of :class:`~lintcap.caption.parse.ParsedCaption`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple


class Span(NamedTuple):
    """Characters ``start:end`` of the caption text."""

    start: int
    end: int


class Tag(NamedTuple):
    """One comma-separated tag as written, and its comparison key."""

    start: int
    end: int
    text: str
    key: str


class Segment(NamedTuple):
    """A run of the caption that is either one sentence or a list of tags."""

    start: int
    end: int
    kind: Literal["sentence", "tags"]


class LexiconHit(NamedTuple):
    """A lexicon phrase, or a token pattern's match, found in the caption.

    ``phrase`` is the lexicon phrase as written, or a pattern's label ("mouth
    open"), so that synonyms count as one. A ``cue`` is an unlabelled pattern
    match ("wears a dark vest"): evidence that the category is described, but
    not a phrase to count or compare across captions."""

    start: int
    end: int
    category: str
    phrase: str
    cue: bool = False
