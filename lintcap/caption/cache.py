"""Parsed captions cached beside the image facts: a warm run parses nothing
that did not change.

Parsing (tokenising, the lexicon and pattern matchers) is most of the cost of
the caption rules. The parse is a pure function of the caption text and of
what the parser is built from: the trigger, the parser settings, the lexicons,
the token patterns, spaCy's version and pipeline, and lintcap's own parsing
code. :func:`parse_key` hashes all of it, so a changed lexicon or parser is a
miss, never a stale parse.

One file per key (``captions/KEY/parses.pack``, JSON: text hash → parse), not
one per caption: a run of 100,000 captions reads and writes one file. It holds
the parses of the last run with that key, so it never grows beyond the
dataset. The folders are those of :class:`~lintcap.image.cache.FactCache`,
with its rules for hostile ground (no link followed, regular files of bounded
size, writes as renames of complete temporary files); an unreadable, foreign
or oversized file is a miss, a failed write is ignored.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from lintcap.caption.parse import ParsedCaption
from lintcap.caption.spans import LexiconHit, Segment, Span, Tag
from lintcap.image.cache import FactCache
from lintcap.safefs import read_regular, replace_file
from lintcap.sourcekey import add_sources

#: Bump when the stored form changes.
FORMAT_VERSION = "1"
PACK_NAME = "parses.pack"
#: 256 MiB: a parse of a 30-word caption with tags takes about 1.2 KB
#: (bench/captions.py: 20,000 parses, 23.9 MB), so about 200,000 such parses;
#: a larger set is parsed again, not cached. (64 MiB held only ~55,000:
#: a warm run of 100,000 captions parsed them all again.)
MAX_PACK_BYTES = 256 << 20
#: A parse's JSON next to its caption's UTF-8 bytes: at most ~12 times them
#: plus ~300 bytes with its key (one-letter tags, control characters:
#: tests/test_parse_cache.py), so a pack of these captions' parses holds at
#: most 32 times their bytes plus 1 KiB each. A larger pack is not read:
#: validating takes many times a pack's size in memory (a span ``[0,0]`` is 6
#: bytes of JSON, ~70 of objects), which a planted pack must not multiply.
PACK_BYTES_PER_TEXT_BYTE = 32
PACK_BYTES_PER_CAPTION = 1024
#: The modules whose code decides what a parse holds.
_PARSER_MODULES = (
    "parse.py",
    "parse_patterns.py",
    "nlp.py",
    "spans.py",
    "patterns.py",
    "lexicon.py",
)

_PACK = TypeAdapter(dict[str, ParsedCaption])


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def pack_limit(texts: Iterable[str]) -> int:
    """The most bytes a pack of the parses of ``texts`` can take (at most
    :data:`MAX_PACK_BYTES`)."""
    total = sum(
        PACK_BYTES_PER_CAPTION
        + PACK_BYTES_PER_TEXT_BYTE * len(text.encode("utf-8", "surrogatepass"))
        for text in texts
    )
    return min(MAX_PACK_BYTES, total)


def parse_key(*parts: Any) -> str:
    """What, besides a caption's text, its parse depends on: ``parts`` (the
    trigger, settings, lexicons, patterns, pipeline) and the source of the
    parsing modules, so that an edited parser never reads an old parse."""
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    folder = Path(__file__).resolve().parent
    add_sources(digest, folder, _PARSER_MODULES)
    digest.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _inside(parse: ParsedCaption) -> bool:
    """Whether every span of ``parse`` lies inside its text, as a parse's
    do (the pack is untrusted input: a span outside is a miss)."""
    length = len(parse.text)
    if not 0 <= parse.body_start <= length or parse.words < 0:
        return False
    single = [s for s in (parse.trigger, parse.medium, parse.trailing_separator) if s is not None]
    spans: Iterable[Span | Tag | Segment | LexiconHit] = itertools.chain(
        single,
        parse.trigger_mentions,
        parse.trigger_repeats,
        parse.placeholders,
        parse.sentences,
        parse.tags,
        parse.segments,
        parse.empty_tags,
        parse.hits,
    )
    return all(0 <= span.start <= span.end <= length for span in spans)


class ParseCache(FactCache):
    """The parses of one key: :meth:`load` them all, :meth:`save` them all."""

    kind = "captions"

    def load(self, max_bytes: int = MAX_PACK_BYTES) -> dict[str, ParsedCaption]:
        """The pack's parses; none when it is larger than ``max_bytes``
        (:func:`pack_limit` of the captions to parse), unreadable or foreign."""
        folder = self._key_folder(create=False)
        if folder is None:
            return {}
        try:
            data = read_regular(PACK_NAME, max_bytes, follow=False, at=folder)
            parses = _PACK.validate_json(data)
        except (OSError, ValueError, ValidationError):
            return {}
        # The schema says nothing of offsets: a parse whose spans leave its
        # text (a hand-made or broken pack) would fail in the checks' slicing.
        return {digest: parse for digest, parse in parses.items() if _inside(parse)}

    def save(self, parses: dict[str, ParsedCaption]) -> None:
        data = _PACK.dump_json(parses)
        if len(data) > MAX_PACK_BYTES:
            return
        folder = self._key_folder(create=True)
        if folder is None:
            return
        replace_file(folder, PACK_NAME, data)
