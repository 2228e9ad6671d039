"""``lintcap check --statistics``: the set in numbers.

Counts per angle, framing, expression and gaze (with the source that
answered), per medium phrase, setting and clothing phrase; the caption length
distribution; tag frequencies; findings per code. Computed from the dataset
view (:mod:`lintcap.variety`) and the findings, so the numbers are the ones
the rules judged. A pydantic model: the JSON output embeds it as-is; the
terminal rendering lives in :mod:`lintcap.report.statistics`.
"""

from __future__ import annotations

import statistics as stats
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

from lintcap.caption.trigger import TriggerInfo
from lintcap.models import Diagnostic
from lintcap.subject import SubjectDecision
from lintcap.variety import DIMENSIONS, Dimension, ItemView

#: Tags listed in the frequency table; the rest are summed up as "others".
TOP_TAGS = 20
#: Upper bounds (words) of the caption length histogram's buckets.
LENGTH_BUCKETS = (10, 25, 50, 75, 100, 150, 225)


class ClassCount(BaseModel):
    """One class of a dimension: how many items, and from which source."""

    value: str
    count: int
    #: image and caption agree / image alone or over the caption / caption alone
    both: int = 0
    image: int = 0
    caption: int = 0


class LengthSummary(BaseModel):
    captions: int
    min: int = 0
    median: float = 0.0
    mean: float = 0.0
    max: int = 0
    #: "11-25" -> number of captions with that many words.
    histogram: dict[str, int] = {}


class CodeCount(BaseModel):
    code: str
    name: str
    severity: str
    count: int


class Statistics(BaseModel):
    images: int
    captions: int
    #: Dimension ("angle", ...) -> its classes, most common first, then "unknown".
    variety: dict[str, list[ClassCount]]
    #: Lexicon category ("medium", "setting", "clothing") -> phrase -> captions naming it.
    phrases: dict[str, dict[str, int]]
    caption_words: LengthSummary
    tags: dict[str, int]
    other_tags: int = 0
    findings: list[CodeCount]
    #: The trigger the run used (configured, or inferred with its evidence).
    trigger: TriggerInfo | None = None
    #: The dataset's subject kind, where it came from and why.
    subject: SubjectDecision | None = None


def compute(
    views: Sequence[ItemView],
    diagnostics: Sequence[Diagnostic],
    trigger: TriggerInfo | None = None,
    subject: SubjectDecision | None = None,
) -> Statistics:
    images = [view for view in views if view.image is not None]
    tags = _tag_counts(views)
    # Most captions first, ties by the tag (as the phrases): a Counter's ties
    # keep the order of its sets' hashes, which changes from run to run.
    top = dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TAGS])
    return Statistics(
        images=len(images),
        captions=sum(1 for view in views if view.caption is not None),
        variety={dimension: _classes(images, dimension) for dimension in DIMENSIONS},
        phrases=_phrases(views),
        caption_words=_lengths([view.words for view in views if view.words is not None]),
        tags=top,
        other_tags=sum(tags.values()) - sum(top.values()),
        findings=_findings(diagnostics),
        trigger=trigger,
        subject=subject,
    )


def _classes(images: Sequence[ItemView], dimension: Dimension) -> list[ClassCount]:
    counts: dict[str, ClassCount] = {}
    unknown = 0
    for view in images:
        seen = view.observed(dimension)
        if seen.value is None:
            unknown += 1
            continue
        entry = counts.setdefault(seen.value, ClassCount(value=seen.value, count=0))
        entry.count += 1
        if seen.source == "both":
            entry.both += 1
        elif seen.source == "image":
            entry.image += 1
        else:
            entry.caption += 1
    ordered = sorted(counts.values(), key=lambda entry: (-entry.count, entry.value))
    if unknown:
        ordered.append(ClassCount(value="unknown", count=unknown))
    return ordered


def _phrases(views: Sequence[ItemView]) -> dict[str, dict[str, int]]:
    tallies: dict[str, Counter[str]] = {}
    for view in views:
        for category, phrases in view.phrases.items():
            tallies.setdefault(category, Counter()).update(set(phrases))
    return {
        category: dict(sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
        for category, tally in sorted(tallies.items())
    }


def _lengths(words: list[int]) -> LengthSummary:
    if not words:
        return LengthSummary(captions=0)
    histogram: dict[str, int] = {}
    low = 0
    for high in LENGTH_BUCKETS:
        histogram[f"{low + 1 if low else 0}-{high}"] = sum(
            1 for n in words if low < n <= high or (low == 0 and n == 0)
        )
        low = high
    histogram[f"over {low}"] = sum(1 for n in words if n > low)
    return LengthSummary(
        captions=len(words),
        min=min(words),
        median=float(stats.median(words)),
        mean=round(stats.fmean(words), 1),
        max=max(words),
        histogram=histogram,
    )


def _tag_counts(views: Sequence[ItemView]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for view in views:
        counts.update(set(view.tags))
    return counts


def _findings(diagnostics: Sequence[Diagnostic]) -> list[CodeCount]:
    counts: Counter[tuple[str, str, str]] = Counter(
        (d.code, d.name, d.severity.value) for d in diagnostics
    )
    return [
        CodeCount(code=code, name=name, severity=severity, count=count)
        for (code, name, severity), count in sorted(
            counts.items(), key=lambda kv: (-kv[1], kv[0][0])
        )
    ]
