"""A caption runs only the token patterns whose required words it holds
(lintcap.caption.parse_patterns): the matches, their order included, stay
those of each category's whole matcher on the same windows."""

from __future__ import annotations

import random

from spacy.tokens import Doc

from lintcap.caption.nlp import CaptionNLP
from lintcap.caption.parse_patterns import PatternSubsets, required_words
from lintcap.caption.patterns import load_patterns


def _whole_matchers(nlp: CaptionNLP, doc: Doc) -> list[tuple[int, int, int]]:
    """The matches of every category's whole matcher on the windows around
    its anchor words (what ran before patterns were chosen per caption)."""
    lowers = doc.to_array(nlp._lower).tolist()
    size, found = len(doc), []
    for matcher, anchors, before, after, _ in nlp._searches:
        if anchors is None:
            found.extend(matcher(doc))
            continue
        where = [index for index, word in enumerate(lowers) if word in anchors]
        if not where:
            continue
        start, end = max(0, where[0] - before), min(size, where[0] + after + 1)
        for index in where[1:]:
            low = max(0, index - before)
            if low > end:
                found.extend((m, s + start, e + start) for m, s, e in matcher(doc[start:end]))
                start = low
            end = min(size, index + after + 1)
        found.extend((m, s + start, e + start) for m, s, e in matcher(doc[start:end]))
    return found


def _pattern_words() -> list[str]:
    """Every word a shipped pattern names, and some that none does."""
    words: set[str] = set()
    for pattern_set in load_patterns().values():
        for patterns in pattern_set.by_label.values():
            for pattern in patterns:
                for token in pattern:
                    lower = token.get("LOWER")
                    if isinstance(lower, str):
                        words.add(lower)
                    elif isinstance(lower, dict):
                        words.update(str(w) for w in lower.get("IN", []))
    return [*sorted(words), "woman", "red", "coat", ",", ".", "very", "the", "of"]


def test_chosen_patterns_find_the_whole_matchers_matches_in_order(nlp: CaptionNLP) -> None:
    rng = random.Random(12)
    words = _pattern_words()
    found = 0
    for _ in range(1500):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 14)))
        doc = nlp.doc(text)
        whole = _whole_matchers(nlp, doc)
        assert nlp._pattern_matches(doc) == whole, text
        found += len(whole)
    assert found > 1000  # the captions do match, many patterns at once


def test_a_pattern_missing_a_required_word_is_left_out(nlp: CaptionNLP) -> None:
    pattern = [{"LOWER": {"IN": ["mouth", "lips"]}}, {"LOWER": "is", "OP": "?"}, {"LOWER": "open"}]
    assert required_words(pattern) == [frozenset({"mouth", "lips"}), frozenset({"open"})]
    other = [{"IS_ALPHA": True}, {"LOWER": "smile", "OP": "+"}]
    from spacy.matcher import Matcher

    full = Matcher(nlp.nlp.vocab)
    full.add("a", [pattern], greedy="LONGEST")
    full.add("b", [other], greedy="LONGEST")
    subsets = PatternSubsets(nlp.nlp.vocab, full, [("a", pattern), ("b", other)])

    def ids(text: str) -> set[int]:
        return {token.lower for token in nlp.nlp.make_doc(text)}

    assert subsets.matcher_for(ids("a calm face")) is None
    assert subsets.matcher_for(ids("her mouth, its lips")) is None  # "open" is required too
    assert subsets.matcher_for(ids("her lips open, a smile")) is full
    only_a = subsets.matcher_for(ids("her mouth is open"))
    assert only_a is not None and only_a is not full and len(only_a) == 1
    doc = nlp.nlp.make_doc("her mouth is open")
    assert only_a(doc) == full(doc) and len(full(doc)) == 1
    assert subsets.matcher_for(ids("lips open")) is only_a  # made once, then kept


def test_negated_and_ranged_tokens_are_read_alike_by_both_prefilters() -> None:
    """A negated token (``!``: any word but these) or one that may be
    skipped (``{0,2}``) holds none of its words in every match: neither the
    per-caption subsets nor the anchor windows may wait for them; a range
    widens the window by its most."""
    from lintcap.caption.patterns import PatternSet, _width, anchor_words, holds_its_words

    pattern = [
        {"LOWER": "not", "OP": "!"},
        {"LOWER": {"IN": ["very", "so"]}, "OP": "{0,2}"},
        {"LOWER": "big", "OP": "{2}"},
        {"LOWER": "smile"},
    ]
    assert [holds_its_words(token) for token in pattern] == [False, False, True, True]
    assert required_words(pattern) == [frozenset({"big"}), frozenset({"smile"})]
    assert [_width(token) for token in pattern] == [1, 2, 2, 1]
    anchors = anchor_words({"x": PatternSet(by_label={"a": [pattern]})}, frozenset())
    # The first of the equally selective held tokens; the window reaches
    # over "not" (1) and up to two of "very"/"so" before it, "smile" after.
    assert anchors is not None
    assert (anchors.words, anchors.before, anchors.after) == ({"big"}, 3, 1)
