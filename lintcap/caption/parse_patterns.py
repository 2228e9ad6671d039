"""Which token patterns of a category can match a caption at all, found
before spaCy's ``Matcher`` runs.

A ``Matcher`` tests every pattern it holds at every token it is given, and
its ``IN`` lists are Python calls per token and pattern: on a cold run this
was most of the parse (``bench/endtoend.py``). Most patterns, though, need
several words of their own: "the image shows" needs one of the media words
*and* one of the opener verbs. A pattern one of whose required words is
missing from the caption cannot match anywhere in it, so it is left out of
the matcher that runs on that caption; a category none of whose patterns
can match is not run at all.

The matches stay exactly those of the category's whole matcher: a left-out
pattern would have found nothing, and spaCy filters overlapping matches
(``greedy``) per label among the matches found, so the others' matches,
their filtering and their order are unchanged. The windows the matcher runs
on (:meth:`lintcap.caption.nlp.CaptionNLP._pattern_matches`) are those of
the whole category, also unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lintcap.caption.patterns import Pattern, _values, holds_its_words

if TYPE_CHECKING:
    from spacy.matcher import Matcher
    from spacy.vocab import Vocab

#: Matchers kept per category, one per set of patterns that could match (a
#: few dozen sets on real caption sets; the bound keeps hostile input from
#: building one matcher per caption for ever).
MAX_SUBSET_MATCHERS = 256


def required_words(pattern: Pattern) -> list[frozenset[str]]:
    """For each token that every match of ``pattern`` must hold (a ``LOWER``
    value or ``IN`` list, not skippable nor negated:
    :func:`~lintcap.caption.patterns.holds_its_words`), the words it may be.
    A token known only by other attributes (``IS_ALPHA``, ``REGEX``,
    ``NOT_IN``) requires nothing here."""
    return [frozenset(_values(token) or ()) for token in pattern if holds_its_words(token)]


class PatternSubsets:
    """A category's patterns by label key, and a matcher for each set of
    them that can match some caption (made when first needed)."""

    def __init__(
        self,
        vocab: Vocab,
        full: Matcher,
        patterns: list[tuple[str, Pattern]],
    ) -> None:
        self._vocab = vocab
        self._full = full
        #: (label key, pattern) in the order they were added to ``full``.
        self._patterns = patterns
        #: word id -> bits of the requirements (of all patterns) it meets.
        self._meets: dict[int, int] = {}
        #: Per pattern, the bits of its requirements (0: needs no word).
        self._needs: list[int] = []
        bit = 0
        for _, pattern in patterns:
            needs = 0
            for words in required_words(pattern):
                for word in words:
                    word_id = vocab.strings.add(word)
                    self._meets[word_id] = self._meets.get(word_id, 0) | (1 << bit)
                needs |= 1 << bit
                bit += 1
            self._needs.append(needs)
        self._words = frozenset(self._meets)
        self._all = (1 << len(patterns)) - 1
        self._matchers: dict[int, Matcher] = {}

    def matcher_for(self, words: set[int]) -> Matcher | None:
        """The matcher of the patterns whose required words are all among
        ``words`` (the caption's lower-case word ids); None when there is
        no such pattern."""
        met = 0
        meets = self._meets
        for word in self._words.intersection(words):
            met |= meets[word]
        chosen = 0
        for index, needs in enumerate(self._needs):
            if needs & met == needs:
                chosen |= 1 << index
        if not chosen:
            return None
        if chosen == self._all:
            return self._full
        matcher = self._matchers.get(chosen)
        if matcher is None:
            matcher = self._build(chosen)
            if len(self._matchers) >= MAX_SUBSET_MATCHERS:
                self._matchers.clear()
            self._matchers[chosen] = matcher
        return matcher

    def _build(self, chosen: int) -> Matcher:
        """A matcher of the chosen patterns, each label's under its key in
        the order of the whole matcher (the patterns were validated there)."""
        from spacy.matcher import Matcher

        by_key: dict[str, list[Any]] = {}
        for index, (key, pattern) in enumerate(self._patterns):
            if chosen >> index & 1:
                by_key.setdefault(key, []).append(pattern)
        matcher = Matcher(self._vocab)
        for key, patterns in by_key.items():
            matcher.add(key, patterns, greedy="LONGEST")
        return matcher
