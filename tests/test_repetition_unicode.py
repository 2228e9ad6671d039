"""Repeated n-grams (``repetition`` without ``consecutive``) are counted on
the caption's own words: lower-casing may split a word ("İ" lower-cases to
"i" and a combining dot, which is no word character), so the words are
found first and lower-cased after, and the finding's span is where the
repeated words are."""

from __future__ import annotations

from lintcap.caption.parse import ParsedCaption
from lintcap.engine.checks import CheckContext, repetition
from lintcap.engine.spec import RepetitionCheck


def test_words_that_lower_case_apart_are_one_word() -> None:
    check = RepetitionCheck(kind="repetition", unit="ngram", n=2, max_count=2)
    text = "xİy zÖ xİy zÖ xİy zÖ, done"
    [finding] = repetition(check, ParsedCaption(text=text), CheckContext())
    assert finding.values == {"phrase": "xi̇y zö", "count": 3}
    assert text[finding.span.start : finding.span.end] == "xİy zÖ xİy zÖ"


def test_ascii_and_unicode_captions_count_the_same_words() -> None:
    """An ASCII caption is lower-cased whole (no call per word): its counts
    and spans match those of the same caption with one non-ASCII word,
    which takes the word-by-word path."""
    check = RepetitionCheck(kind="repetition", unit="ngram", n=2, max_count=2)
    context = CheckContext()
    ascii_text = "Red HAT red hat RED Hat, done"
    unicode_text = ascii_text.replace("done", "dön")
    [plain] = repetition(check, ParsedCaption(text=ascii_text), context)
    [mixed] = repetition(check, ParsedCaption(text=unicode_text), context)
    assert plain.values == mixed.values == {"phrase": "red hat", "count": 3}
    assert plain.span == mixed.span
