"""Repeated n-grams (``repetition`` without ``consecutive``) are counted on
the caption's own words: lower-casing may split a word ("İ" lower-cases to
"i" and a combining dot, which is no word character), so the words are
found first and lower-cased after, and the finding's span is where the
repeated words are."""

from __future__ import annotations

from collections.abc import Callable

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


def test_a_sentence_said_twice_is_found_with_or_without_the_pair_shortcut(
    parse: Callable[[str], ParsedCaption],
) -> None:
    """C008's sentence test is skipped for ASCII captions whose word pairs
    all differ (a sentence of four words or more said twice repeats a pair):
    on random captions, with sentences repeated, reworded and cut, the
    finding is the one the sentence-by-sentence test gives."""
    import random
    import re

    from lintcap.engine.checks import _loops

    check = RepetitionCheck(kind="repetition", unit="ngram", n=4, max_count=2, consecutive=True)
    rng = random.Random(8)
    vocabulary = [
        "a",
        "woman",
        "red",
        "coat",
        "stands",
        "in",
        "the",
        "park",
        "near",
        "old",
        "tree",
        "with",
        "dog",
        "at",
        "dusk",
    ]
    for _ in range(300):
        sentences = [
            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 7))).capitalize()
            for _ in range(rng.randint(1, 4))
        ]
        if rng.random() < 0.5:
            sentences.insert(rng.randrange(len(sentences) + 1), rng.choice(sentences).upper())
        caption = parse("ohwx, " + ". ".join(sentences) + ".")
        said = [
            " ".join(re.findall(r"\w+", caption.slice(sentence).lower()))
            for sentence in caption.sentences
        ]
        long_enough = [key for key in said if len(key.split()) >= check.n]
        twice = len(long_enough) != len(set(long_enough))
        found = _loops(check, caption)
        if not twice and found:  # a loop of words back to back, not a sentence
            assert found[0].values["count"] > 2 or len(found[0].values["phrase"].split()) >= 8
        else:
            assert bool(found) == twice, caption.text


def test_ascii_words_on_bytes_are_the_patterns_words() -> None:
    """An ASCII caption's words are found on its bytes (a translation table,
    then a split): the words ``\\w+`` finds in the lower-cased text, on random
    strings of every ASCII character (controls, underscores, digits)."""
    import random
    import re

    from lintcap.engine.checks import _lower_words

    rng = random.Random(6)
    alphabet = [chr(code) for code in range(128)] + list("aZ9 _")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert _lower_words(text) == re.findall(r"\w+", text.lower()), repr(text)
