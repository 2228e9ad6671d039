"""User regexes with a time budget.

A rule file's ``patterns`` come from the user (``extend-rules``) and run on
every caption: ``(a+)+$`` backtracks for minutes on a 40-character caption.
Python's ``re`` cannot be interrupted, so patterns run on the ``regex``
package (the same syntax for everything ``re`` accepts) with a timeout per
search; a pattern that exceeds it stops the run with one line naming the
rule's pattern (exit 2), because silently skipping it would hide findings.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

#: Seconds one pattern may search one caption: a sane pattern takes
#: microseconds on a 64 KiB caption, a catastrophic one never ends.
TIMEOUT_S = 0.25


class PatternTimeout(Exception):
    """A rule's regex exceeded its time budget on a caption (a usage error)."""


@lru_cache(maxsize=512)
def compiled(pattern: str, ignore_case: bool) -> Any:
    """The pattern compiled by ``regex`` (raises ``regex.error`` when invalid)."""
    import regex

    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


def validate(pattern: str) -> None:
    """Raise ValueError when ``pattern`` does not compile."""
    import regex

    try:
        compiled(pattern, False)
    except regex.error as exc:
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None


def matches(pattern: str, text: str, ignore_case: bool = False) -> list[Any]:
    """``regex`` matches of ``pattern`` in ``text``, each search bounded. One
    search first: most captions hold no match, and a search costs less than
    setting up the iteration (bench/captions.py runs 14 patterns a caption)."""
    regex = compiled(pattern, ignore_case)
    try:
        if regex.search(text, timeout=TIMEOUT_S) is None:
            return []
        return list(regex.finditer(text, timeout=TIMEOUT_S))
    except TimeoutError:
        raise _timeout(pattern) from None


def _timeout(pattern: str) -> PatternTimeout:
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return PatternTimeout(
        f"the regex {shown!r} took over {TIMEOUT_S} s on one caption "
        "(catastrophic backtracking?): rewrite it without nested repeats"
    )
