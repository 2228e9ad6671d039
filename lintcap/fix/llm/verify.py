"""The verdict on one proposal: a model's rewrite is accepted only when the
linter can show that it is better and lost nothing.

A proposal is re-linted like any caption (``lint(..., overrides=...)``), and
accepted only if

* the caption still opens with the trigger (in its configured case, when
  the original had it);
* it stays within the length rule's limit (the ``length`` rules, C011);
* every finding it was asked to resolve is gone;
* it adds no finding of its own (same code and message, counted);
* it repeats nothing the original did not: the trigger no more often, no
  word n-gram (the n of the ``repetition`` rules, C008) more often than
  once or than the original had it. C008 tolerates a phrase said twice in
  any caption; a rewrite that says its caption twice is a loop all the same;
* every tag of the original survives, as a tag or in a sentence;
* every lexicon category of the original (clothing, setting, lighting, ...)
  is still described;

where tags and categories that lay only inside the span of a resolved
finding whose rule says ``may-drop`` (an intrinsic trait, boilerplate, a
loop, a contradicted phrase) may go, and categories that a ``forbids`` rule
forbids are never protected. The first failed test names the rejection.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from lintcap.caption.parse import ParsedCaption, Span, tag_key
from lintcap.models import Diagnostic

RejectReason = Literal[
    "empty",
    "unchanged",
    "trigger-not-first",
    "too-long",
    "finding-remains",
    "new-finding",
    "repeats",
    "tag-lost",
    "category-lost",
]


class Verdict(BaseModel):
    accepted: bool
    reason: RejectReason | None = None
    #: What exactly failed, for the user and for the model's next try.
    detail: str = ""

    @classmethod
    def reject(cls, reason: RejectReason, detail: str) -> Verdict:
        return cls(accepted=False, reason=reason, detail=detail)


class Baseline(BaseModel):
    """The caption as it was handed to the model, and what it was asked to fix."""

    parsed: ParsedCaption
    #: Findings on this caption before the rewrite.
    diagnostics: list[Diagnostic]
    #: The findings the model was asked to resolve.
    requested: list[Diagnostic]
    #: Spans (in ``parsed.text``) whose text the resolved findings may drop.
    droppable: list[Span] = []
    #: Lexicon categories no rewrite has to keep (those a rule forbids).
    unprotected: frozenset[str] = frozenset()
    #: Word n-gram length of the selected looping rules (None: none selected).
    loop_n: int | None = None


_WORD = re.compile(r"\w+")  # as lintcap.engine.checks counts words
_FENCE = re.compile(r"^```[\w-]*\s*\n?(.*?)\n?```$", re.DOTALL)
_LABEL = re.compile(r"^(?:(?:the\s+)?(?:rewritten|new|revised|fixed)\s+)?caption\s*:\s*", re.I)
_QUOTES = ("\"'`\u201c\u201d\u2018\u2019", "\"'`\u201c\u201d\u2018\u2019")


def clean_output(raw: str) -> str:
    """The caption in a model's answer: code fences, a lead-in line ending
    with ':', a 'Caption:' label and surrounding quotes removed."""
    text = raw.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    text = _LABEL.sub("", text).strip()
    while len(text) >= 2 and text[0] in _QUOTES[0] and text[-1] in _QUOTES[1]:
        text = text[1:-1].strip()
    return text


def span_of(text: str, diagnostic: Diagnostic) -> Span | None:
    """The character span of a finding in ``text`` from its 1-based line and
    column (how sidecar captions are located)."""
    if diagnostic.line is None or diagnostic.column is None:
        return None
    start = _offset(text, diagnostic.line, diagnostic.column)
    end_line = diagnostic.end_line or diagnostic.line
    end_column = diagnostic.end_column or diagnostic.column
    end = _offset(text, end_line, end_column)
    return Span(start, max(start, end))


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    index = min(line, len(lines)) - 1
    return min(len(text), sum(len(x) + 1 for x in lines[:index]) + column - 1)


def verify(
    baseline: Baseline,
    proposal: ParsedCaption,
    after: Sequence[Diagnostic],
    trigger: str | None,
    too_long: str | None,
) -> Verdict:
    """Judge ``proposal`` (parsed by the re-lint that produced ``after``, its
    findings). ``too_long`` is the length rule's message when it is over."""
    text = proposal.text
    if not text.strip():
        return Verdict.reject("empty", "the answer holds no caption")
    if text.strip() == baseline.parsed.text.strip():
        return Verdict.reject("unchanged", "the caption came back unchanged")
    if trigger and not _opens_with(proposal, trigger, exact=_opens_with(baseline.parsed, trigger)):
        return Verdict.reject(
            "trigger-not-first", f"the caption must begin with the trigger '{trigger}'"
        )
    if too_long is not None:
        return Verdict.reject("too-long", too_long)
    requested = Counter(_key(d) for d in baseline.requested)
    remaining = [d for d in after if _key(d) in requested]
    if remaining:
        first = remaining[0]
        return Verdict.reject("finding-remains", f"{first.code} still: {first.message}")
    before = Counter(_key(d) for d in baseline.diagnostics)
    for key, count in Counter(_key(d) for d in after).items():
        if count > before[key]:
            return Verdict.reject("new-finding", f"new {key[0]}: {key[1]}")
    repeated = _repeated(baseline, proposal)
    if repeated is not None:
        return Verdict.reject("repeats", repeated)
    lost_tag = _lost_tag(baseline, proposal)
    if lost_tag is not None:
        return Verdict.reject("tag-lost", f"tag '{lost_tag}' is gone")
    lost = sorted(_protected_categories(baseline) - proposal.categories())
    if lost:
        return Verdict.reject("category-lost", f"no longer describes: {', '.join(lost)}")
    return Verdict(accepted=True)


def _opens_with(parsed: ParsedCaption, trigger: str, exact: bool = True) -> bool:
    """Whether the caption opens with the trigger; with ``exact``, as written.

    The case is demanded only of a proposal whose original had it right (C001
    judges the case too, but it may be ignored): a rewrite may not make the
    trigger worse, and is not blamed for a case it was handed."""
    if parsed.trigger is None:
        return False
    return not exact or parsed.slice(parsed.trigger) == trigger


def _repeated(baseline: Baseline, proposal: ParsedCaption) -> str | None:
    """What the proposal repeats more often than the original (or than once)."""
    mentions = len(proposal.trigger_mentions)
    if mentions > max(1, len(baseline.parsed.trigger_mentions)):
        return f"the trigger appears {mentions} times"
    if baseline.loop_n is None:
        return None
    before = _grams(baseline.parsed.text, baseline.loop_n)
    for gram, count in _grams(proposal.text, baseline.loop_n).items():
        if count > max(1, before[gram]):
            return f"'{' '.join(gram)}' appears {count} times"
    return None


def _grams(text: str, n: int) -> Counter[tuple[str, ...]]:
    """Word n-grams, counted as the ``repetition`` check counts them."""
    words = _WORD.findall(text.lower())
    return Counter(zip(*(words[i:] for i in range(n)), strict=False))


def _key(diagnostic: Diagnostic) -> tuple[str, str]:
    return diagnostic.code, diagnostic.message


def _inside(start: int, end: int, spans: Sequence[Span]) -> bool:
    return any(span.start < end and start < span.end for span in spans)


def _lost_tag(baseline: Baseline, proposal: ParsedCaption) -> str | None:
    """The first tag of the baseline found neither among the proposal's
    tags nor, word for word, in its text (a tag may become part of a sentence)."""
    kept = {tag.key for tag in proposal.tags}
    flat = " " + " ".join(_words(proposal.text)) + " "
    for tag in baseline.parsed.tags:
        if not tag.key or tag.key in kept or _inside(tag.start, tag.end, baseline.droppable):
            continue
        if f" {' '.join(_words(tag.key))} " not in flat:
            return tag.text
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", tag_key(text).lower())


def _protected_categories(baseline: Baseline) -> set[str]:
    """Categories with a hit outside every droppable span."""
    return {
        hit.category
        for hit in baseline.parsed.hits
        if hit.category not in baseline.unprotected
        and not _inside(hit.start, hit.end, baseline.droppable)
    }
