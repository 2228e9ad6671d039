"""One search of a forbids rule's joined patterns decides whether each
pattern is searched at all (lintcap.engine.patterns.any_match): it may say
yes when none matches, never no when one does."""

from __future__ import annotations

import random

import pytest

from lintcap.config import Config
from lintcap.engine import patterns
from lintcap.engine.spec import ForbidsCheck, load_rulebook


def _matches(pattern_list: tuple[str, ...], text: str, ignore_case: bool) -> bool:
    return any(True for p in pattern_list for _ in patterns.finditer(p, text, ignore_case))


def test_joined_search_never_misses_a_pattern_that_matches() -> None:
    """The shipped forbids rules' patterns (emphasis syntax, file names,
    negative prompts) on random strings of the characters they look for."""
    book = load_rulebook(Config())
    checks = [r.check for r in book.rules if isinstance(r.check, ForbidsCheck) and r.check.patterns]
    assert any(patterns._joined(tuple(c.patterns), c.ignore_case) for c in checks)
    rng = random.Random(0)
    alphabet = [*"()[]{}:|,. abc1\\-_", "2020", "img", ".png", " copy", "trigger"]
    said_no = 0
    for _ in range(4000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        for check in checks:
            joined = patterns.any_match(tuple(check.patterns), text, check.ignore_case)
            if _matches(tuple(check.patterns), text, check.ignore_case):
                assert joined, (text, check.patterns)
            said_no += not joined
    assert said_no > 1000  # and it does rule most texts out


@pytest.mark.parametrize(
    "pattern_list",
    [
        (r"(a)\1", "b"),  # a backreference: group numbers shift when joined
        (r"(?i)x", "y"),  # a flag for the whole pattern
        (r"(?P<w>a)(?P=w)", "b"),
        ("solo",),  # nothing to join
    ],
)
def test_patterns_that_cannot_be_joined_are_always_searched(
    pattern_list: tuple[str, ...],
) -> None:
    assert patterns._joined(pattern_list, False) is None
    assert patterns.any_match(pattern_list, "nothing here", False)


def test_joined_patterns_find_what_each_finds() -> None:
    joined = ("red (?:dress|coat)", r"\bimg_\d+")
    assert patterns.any_match(joined, "a woman in a red coat", True)
    assert patterns.any_match(joined, "IMG_4032 beach", True)
    assert not patterns.any_match(joined, "IMG_4032 beach", False)
    assert not patterns.any_match(joined, "a blue dress", True)
