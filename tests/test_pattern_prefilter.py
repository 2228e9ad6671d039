"""Forbids patterns skip a caption that lacks a word every match must hold
(lintcap.engine.patterns.required): the matches stay those of the pattern
run on every caption, and a pattern whose required words are not known for
certain (regex-only syntax) is always run."""

from __future__ import annotations

import random

import pytest

from lintcap.config import Config
from lintcap.engine import patterns
from lintcap.engine.spec import ForbidsCheck, load_rulebook

_PIECES = [
    "(",
    ")",
    "((",
    "))",
    "(hat:1.2)",
    "[",
    "]",
    "{",
    "}",
    "|",
    " - Copy",
    " (2)",
    ".png",
    ".JPG",
    "IMG_1234",
    "DSC 0042",
    "20230101_120000",
    "Negative prompt: x",
    "STEPS: 20, Sampler: Euler",
    "[trigger]",
    "\u017f",  # long s
    "K",
    "İ",
    "abd",
    "Ab",
    ",",
    "\n",
]


def _shipped_patterns() -> list[tuple[str, bool]]:
    book = load_rulebook(Config())
    return sorted(
        {
            (pattern, rule.check.ignore_case)
            for rule in book.rules
            if isinstance(rule.check, ForbidsCheck)
            for pattern in rule.check.patterns
        }
    )


def _texts(count: int) -> list[str]:
    rng = random.Random(8)
    words = ["a", "photo", "of", "woman", "red", "dress", "smiling", "close-up", "copy", "img"]
    texts = []
    for _ in range(count):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        for _ in range(rng.randint(0, 4)):
            spot = rng.randrange(len(text) + 1)
            text = text[:spot] + rng.choice(_PIECES) + text[spot:]
        texts.append(text)
    return texts


def test_shipped_patterns_match_as_without_the_prefilter() -> None:
    shipped = _shipped_patterns()
    assert len(shipped) >= 10
    assert sum(patterns.required(p, ic) is not None for p, ic in shipped) >= 10
    for text in _texts(400):
        for pattern, ignore_case in shipped:
            plain = patterns.compiled(pattern, ignore_case).finditer(text)
            found = patterns.matches(pattern, text, ignore_case)
            assert [m.span() for m in found] == [m.span() for m in plain], (pattern, text)


def test_required_words_of_literals_branches_and_repeats() -> None:
    assert patterns.required(r"(?s)x*(?:negative prompt\s*:|steps\s*:)", True) == (
        True,
        frozenset({"negative prompt", "steps"}),
    )
    assert patterns.required(r"colou?r", False) == (False, frozenset({"colo"}))
    assert patterns.required(r"(?i)Steps", False) == (True, frozenset({"steps"}))
    assert patterns.required(r"\s+-\s+Copy", False) == (False, frozenset({"Copy"}))
    # Nothing is required of a pattern that may match without any literal.
    assert patterns.required(r"(a|)\d+", True) is None
    assert patterns.required(r"[a-z]+", True) is None


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"(?:abc){e<=1}", "abd"),  # fuzzy matching: regex only
        (r"(?:abc){1<=e<=1}", "abd"),
        (r"[[:alpha:]]+", "word"),  # a POSIX class: re reads a nested set
        (r"\p{Lu}x", "Ax"),  # re rejects it
        (r"(?-i:A)b", "AB"),  # a flag scoped to a group
    ],
)
def test_regex_only_syntax_is_always_run(pattern: str, text: str) -> None:
    assert patterns.required(pattern, True) is None
    assert patterns.matches(pattern, text, True)


def test_text_outside_ascii_is_always_searched() -> None:
    """U+017F (long s) matches 's' when case is ignored: a lower-cased search
    for 'steps' would miss it, so such text goes to the pattern."""
    assert patterns.matches(r"steps", "\u017fteps", True)
    assert patterns.matches(r"k", "\u212a", True)  # the Kelvin sign


def test_a_rules_patterns_looked_at_once_miss_no_match() -> None:
    """``may_match`` (one look for all of a rule's patterns) is False only
    where none of them matches, for each shipped forbids rule, and it skips
    most of these texts for some rule (it would be no test otherwise)."""
    book = load_rulebook(Config())
    rules = [
        (tuple(rule.check.patterns), rule.check.ignore_case)
        for rule in book.rules
        if isinstance(rule.check, ForbidsCheck) and len(rule.check.patterns) > 1
    ]
    assert len(rules) >= 2
    skipped = 0
    for text in _texts(400):
        for rule_patterns, ignore_case in rules:
            if patterns.may_match(rule_patterns, text, ignore_case):
                continue
            skipped += 1
            for pattern in rule_patterns:
                assert not list(patterns.compiled(pattern, ignore_case).finditer(text)), text
    assert skipped > 100


def test_any_required_words() -> None:
    """The union of the patterns' words, less those holding another one;
    none when one pattern requires nothing, or the patterns fold differently."""
    assert patterns.any_required((r"dscf\d", r"dsc\d", r"x\.png"), False) == (
        False,
        ("dsc", "x.png"),
    )
    assert patterns.any_required((r"Steps", r"(a|)\d+"), True) is None
    assert patterns.any_required((r"(?i)Steps", r"copy"), False) is None
    assert not patterns.may_match((r"(?i)Steps",), "no such word", False)
    assert patterns.may_match((r"(?i)Steps",), "\u017fteps", False)  # not ASCII: searched
