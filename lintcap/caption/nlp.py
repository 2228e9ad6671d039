"""The spaCy side of caption analysis: one tokenisation, lexicon matches.

A blank English pipeline is the default: its tokenizer is fast (about 15,000
captions a second here) and needs no model download. A trained pipeline
(``spacy-model`` in the config, a package name or a path) is used only when
configured; then part-of-speech tags sharpen the sentence/tag split.
"""

from __future__ import annotations

from dataclasses import dataclass

import spacy
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from lintcap.caption.lexicon import Lexicon

#: Lexicon files that are word lists for the parser, not phrase categories.
WORD_LIST_CATEGORIES = frozenset({"function-words"})


class ModelLoadError(Exception):
    """The configured spaCy pipeline could not be loaded."""


@dataclass(frozen=True, slots=True)
class Hit:
    """A lexicon phrase found in a caption, by character offsets."""

    category: str
    start: int
    end: int
    phrase: str


class CaptionNLP:
    """Tokenise captions and find lexicon phrases in them."""

    def __init__(self, lexicon: Lexicon, model: str | None = None) -> None:
        if model:
            try:
                self.nlp = spacy.load(model)
            except (OSError, ValueError, ImportError) as exc:
                raise ModelLoadError(f"cannot load spaCy pipeline {model!r}: {exc}") from exc
        else:
            self.nlp = spacy.blank("en")
        self.trained = bool(model) and any(
            name in self.nlp.pipe_names for name in ("tagger", "morphologizer")
        )
        self.function_words = frozenset(lexicon.phrases("function-words"))
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for category, phrases in lexicon.categories.items():
            if category in WORD_LIST_CATEGORIES or not phrases:
                continue
            self.matcher.add(category, [self.nlp.make_doc(p) for p in phrases])
        self._labels = {self.nlp.vocab.strings[c]: c for c in lexicon.categories}

    def doc(self, text: str) -> Doc:
        """Tokenise ``text`` once. Underscores read as spaces (WD14 tags),
        which keeps every character offset unchanged."""
        flat = text.replace("_", " ")
        return self.nlp(flat) if self.trained else self.nlp.make_doc(flat)

    def hits(self, doc: Doc) -> list[Hit]:
        found = []
        for match_id, start, end in self.matcher(doc):
            span = doc[start:end]
            found.append(
                Hit(
                    category=self._labels[match_id],
                    start=span.start_char,
                    end=span.end_char,
                    phrase=span.text.lower(),
                )
            )
        found.sort(key=lambda h: (h.start, -h.end))
        return found
