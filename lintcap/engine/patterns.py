"""User regexes with a time budget.

A rule file's ``patterns`` come from the user (``extend-rules``) and run on
every caption: ``(a+)+$`` backtracks for minutes on a 40-character caption.
Python's ``re`` cannot be interrupted, so patterns run on the ``regex``
package (the same syntax for everything ``re`` accepts) with a timeout per
search; a pattern that exceeds it stops the run with one line naming the
rule's pattern (exit 2), because silently skipping it would hide findings.
"""

from __future__ import annotations

import re
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
    """``regex`` matches of ``pattern`` in ``text``, each search bounded. An
    ASCII text that holds none of the words every match must contain
    (:func:`required`) is not searched; else one search first: most captions
    hold no match, and a search costs less than setting up the iteration
    (bench/captions.py runs 14 patterns a caption)."""
    needed = required(pattern, ignore_case)
    if needed is not None and text.isascii():
        folded, words = needed
        haystack = text.lower() if folded else text
        if not any(word in haystack for word in words):
            return []
    regex = compiled(pattern, ignore_case)
    try:
        if regex.search(text, timeout=TIMEOUT_S) is None:
            return []
        return list(regex.finditer(text, timeout=TIMEOUT_S))
    except TimeoutError:
        raise timeout_error(pattern) from None


def may_match(patterns: tuple[str, ...], text: str, ignore_case: bool = False) -> bool:
    """False when no pattern of ``patterns`` can match ``text``: an ASCII
    text that holds none of the words of :func:`any_required` (the words
    each pattern's matches need, together). One look at the text for a
    rule's patterns, not one a pattern (C015's seven, C016's five): most
    captions hold none of them. :func:`matches` still tests each pattern."""
    needed = any_required(patterns, ignore_case)
    if needed is None or not text.isascii():
        return True
    folded, words = needed
    haystack = text.lower() if folded else text
    return any(word in haystack for word in words)


@lru_cache(maxsize=256)
def any_required(
    patterns: tuple[str, ...], ignore_case: bool
) -> tuple[bool, tuple[str, ...]] | None:
    """The words of which every match of any of ``patterns`` holds one (the
    union of their :func:`required` words, less those that hold another one:
    a text with "dscf" holds "dsc"), and whether they are compared
    case-folded; None when a pattern has none, or they fold differently."""
    words: set[str] = set()
    folds: set[bool] = set()
    for pattern in patterns:
        needed = required(pattern, ignore_case)
        if needed is None:
            return None
        folds.add(needed[0])
        words.update(needed[1])
    if len(folds) != 1:
        return None
    kept = sorted(w for w in words if not any(o != w and o in w for o in words))
    return folds.pop(), tuple(kept)


def timeout_error(
    pattern: str, kind: str = "regex", origin: str = "", where: str = "one caption"
) -> PatternTimeout:
    """The one-line error for ``pattern`` running over its budget on
    ``where`` (the pattern cut to 60 characters; ``origin``: where the
    user wrote it, when not in a rule file)."""
    shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
    return PatternTimeout(
        f"the {kind} {shown!r}{origin} took over {TIMEOUT_S} s on {where} "
        "(catastrophic backtracking?): rewrite it without nested repeats"
    )


#: A ``{...}`` outside a character class that is not a plain repeat count:
#: ``regex`` reads ``{e<=1}`` (fuzzy matching) where ``re`` reads text.
_QUANTIFIER = re.compile(r"\{\d*(?:,\d*)?\}")


class _Unsure(Exception):
    """The pattern holds something whose required text is not derived."""


@lru_cache(maxsize=512)
def required(pattern: str, ignore_case: bool) -> tuple[bool, frozenset[str]] | None:
    """Words of which every match of ``pattern`` holds one, as ASCII text,
    and whether they are compared case-folded; None when none is known.

    Read from the parse of Python's ``re`` (the syntax ``regex`` shares)
    when the pattern uses nothing that ``regex`` reads otherwise: anything
    ``re`` rejects or warns about (``\\p{..}``, nested sets, regex-only flags),
    a brace that is not a repeat count (fuzzy matching), flags scoped to a
    group. Only literal ASCII characters become required words, and they
    are looked for only in ASCII text, where case folding is plain."""
    if not _braces_are_counts(pattern):
        return None
    import warnings

    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # Python 3.10
        import sre_parse  # type: ignore[no-redef]
    flags = re.IGNORECASE if ignore_case else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            parsed = sre_parse.parse(pattern, flags)
        words = _required_words(parsed.data, sre_parse)
    except (re.error, FutureWarning, DeprecationWarning, _Unsure, RecursionError):
        return None
    if not words:
        return None
    folded = bool(parsed.state.flags & re.IGNORECASE)
    return folded, frozenset(word.lower() for word in words) if folded else words


def _braces_are_counts(pattern: str) -> bool:
    """Whether every unescaped ``{`` outside a character class opens a repeat count."""
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1
            if pattern[index : index + 1] == "^":
                index += 1
            if pattern[index : index + 1] == "]":  # a leading ']' is a member
                index += 1
            continue
        elif char == "{" and not _QUANTIFIER.match(pattern, index):
            return False
        index += 1
    return True


def _required_words(data: Any, sre: Any) -> frozenset[str] | None:
    """Of the sequence ``data`` (a parse), the alternatives one of which any
    match holds, the longest such choice; None when nothing is required."""
    best: frozenset[str] | None = None

    def consider(option: frozenset[str] | None) -> None:
        nonlocal best
        if option and (best is None or min(map(len, option)) > min(map(len, best))):
            best = option

    run: list[str] = []
    for op, value in data:
        if op is sre.LITERAL and value < 128:
            run.append(chr(value))
            continue
        consider(frozenset({"".join(run)}) if run else None)
        run = []
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = value
            if add_flags or del_flags:
                raise _Unsure
            consider(_required_words(inner.data, sre))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            low, _high, inner = value
            if low >= 1:
                consider(_required_words(inner.data, sre))
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            consider(_required_words(value.data, sre))
        elif op is sre.BRANCH:
            options = [_required_words(branch.data, sre) for branch in value[1]]
            if all(options):
                consider(frozenset().union(*options))  # type: ignore[arg-type]
    consider(frozenset({"".join(run)}) if run else None)
    return best
