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
