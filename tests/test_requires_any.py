"""requires-any (A001-A005 and the like): met by a hit of any wanted category."""

from __future__ import annotations

from lintcap.caption.parse import ParsedCaption
from lintcap.caption.spans import LexiconHit
from lintcap.engine.checks import CheckContext, requires_any
from lintcap.engine.spec import RequiresAnyCheck


def test_requires_any_is_met_by_a_hit_of_any_wanted_category() -> None:
    """requires-any tests the hits' categories as a set: a hit of any one
    of the wanted categories, wherever it stands, meets it; others do not."""
    check = RequiresAnyCheck(kind="requires-any", categories=["framing", "angle"], min_words=2)
    text = "ohwx woman smiling outdoors at noon"

    def hit(category: str) -> LexiconHit:
        return LexiconHit(start=5, end=10, category=category, phrase="woman")

    def judged(*categories: str) -> int:
        caption = ParsedCaption(text=text, words=6, hits=[hit(c) for c in categories])
        return len(requires_any(check, caption, CheckContext()))

    assert judged() == 1
    assert judged("setting", "lighting") == 1
    assert judged("setting", "angle") == 0
    assert judged("framing") == 0
