"""Check kinds over the dataset view: set size, variety, caption-image agreement.

They read :class:`~lintcap.variety.ItemView` (what each item shows and says)
and, for agreement, the image measurements; every number comes from the rule
file. Each dataset finding names the files it counted (``related``), so a
user knows which images to add, replace or re-caption.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from lintcap.analyse import ItemFacts
from lintcap.engine.checks import CheckContext, Finding
from lintcap.engine.image_checks import case_matches
from lintcap.engine.spec import AgreementCheck, DatasetSizeCheck, VarietyCheck
from lintcap.variety import ItemView, Observed

ViewCheck = Callable[[Any, Sequence[ItemView], Sequence[ItemFacts], CheckContext], list[Finding]]


def dataset_size(
    check: DatasetSizeCheck,
    views: Sequence[ItemView],
    facts: Sequence[ItemFacts],
    ctx: CheckContext,
) -> list[Finding]:
    images = [view.image for view in views if view.image is not None]
    bounds = check.bounds(ctx.subject_kind)
    low, high = bounds.sweet_spot
    kind = f" for a {ctx.subject_kind} set" if ctx.subject_kind else ""
    values = {"count": len(images), "sweet-spot": f"{low}-{high}{kind}"}
    if len(images) < bounds.min:
        return [Finding(values={**values, "label": f"fewer than {bounds.min}"})]
    if bounds.max is not None and len(images) > bounds.max:
        return [Finding(values={**values, "label": f"more than {bounds.max}"})]
    return []


def variety(
    check: VarietyCheck,
    views: Sequence[ItemView],
    facts: Sequence[ItemFacts],
    ctx: CheckContext,
) -> list[Finding]:
    """One finding per rule when the spread falls short, with per-class counts,
    which source answered, and the files behind the short or dominant classes."""
    known = [(view, view.observed(check.dimension)) for view in views if view.image is not None]
    counted = [(view, seen) for view, seen in known if seen.value is not None]
    if len(counted) < check.min_known:
        return []
    groups: dict[str, list[int]] = {}
    for view, seen in counted:
        groups.setdefault(str(seen.value), []).append(view.index)
    for wanted in check.require:
        groups.setdefault(wanted, [])
    problems: list[str] = []
    related: list[int] = []
    short = [name for name in check.require if len(groups[name]) < check.min_each]
    if short:
        problems.append(
            ", ".join(f"{name} in {len(groups[name])}" for name in short)
            + f" (at least {check.min_each} each wanted)"
        )
        related = [index for name, members in groups.items() if name not in short
                   for index in members]  # fmt: skip
    present = [name for name, members in groups.items() if members]
    if len(present) < check.min_classes:
        names = ", ".join(present) or "nothing"
        problems.append(f"only {names} seen, at least {check.min_classes} kinds wanted")
    top, top_members = max(groups.items(), key=lambda kv: len(kv[1]))
    share = len(top_members) / len(counted)
    if share > check.max_share:
        problems.append(
            f"{top} in {len(top_members)} of {len(counted)} ({share:.0%}, "
            f"at most {check.max_share:.0%} wanted)"
        )
        related = top_members
    if not problems:
        return []
    counts = ", ".join(
        f"{name} {len(members)}"
        for name, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    unknown = len(known) - len(counted)
    values = {
        "dimension": check.dimension,
        "detail": "; ".join(problems),
        "counts": counts + (f", unknown {unknown}" if unknown else ""),
        "sources": _sources([seen for _, seen in counted]),
    }
    return [Finding(values=values, related=related or [v.index for v, _ in counted])]


def _sources(observed: Sequence[Observed]) -> str:
    """Which source answered, e.g. "12 image and caption agree, 5 image over
    the caption, 1 image alone"."""
    tally = {"agree": 0, "over": 0, "image": 0, "caption": 0}
    for seen in observed:
        if seen.disagrees:
            tally["over"] += 1
        elif seen.source == "both":
            tally["agree"] += 1
        elif seen.source is not None:
            tally[seen.source] += 1
    labels = {
        "agree": "image and caption agree",
        "over": "image over the caption",
        "image": "image alone",
        "caption": "caption alone",
    }
    return ", ".join(f"{tally[key]} {label}" for key, label in labels.items() if tally[key])


def agreement(
    check: AgreementCheck,
    views: Sequence[ItemView],
    facts: Sequence[ItemFacts],
    ctx: CheckContext,
) -> list[Finding]:
    """Per item: the caption says one framing/angle/expression and the image
    shows another, or a monochrome image's caption does not say so."""
    findings: list[Finding] = []
    for view, item in zip(views, facts, strict=True):
        if item.parsed is None or item.image_facts is None:
            continue
        if ctx.subject_kind is None or ctx.subject_kind in check.people_subjects:
            findings.extend(_disagreements(check, view))
        monochrome = _monochrome_label(check, item)
        if monochrome is not None and not _says_monochrome(check, item.parsed.text):
            findings.append(
                Finding(
                    item=view.index,
                    values={"detail": f"the image is {monochrome}; the caption does not say so"},
                )
            )
    return findings


def _disagreements(check: AgreementCheck, view: ItemView) -> list[Finding]:
    found: list[Finding] = []
    framing = view.framing
    if check.framing is not None and framing.disagrees:
        order = check.framing.order
        if framing.image in order and framing.caption in order:
            steps = abs(order.index(str(framing.image)) - order.index(str(framing.caption)))
            if steps >= check.framing.min_steps:
                found.append(_contradiction(view, "framing", framing))
    angle = view.angle
    if angle.disagrees and _conflict(check.angle_conflicts, angle):
        found.append(_contradiction(view, "angle", angle))
    expression = view.expression
    shown = expression.image
    if shown in check.expressions_to_caption and expression.caption != shown:
        if expression.caption is None:
            detail = (
                f"expression: the image shows {shown} ({expression.image_source}); "
                "the caption says nothing of it"
            )
            found.append(Finding(item=view.index, values={"detail": detail}))
        else:
            found.append(_contradiction(view, "expression", expression))
    return found


def _conflict(pairs: Sequence[tuple[str, str]], seen: Observed) -> bool:
    return any({seen.image, seen.caption} == {a, b} for a, b in pairs)


def _contradiction(view: ItemView, dimension: str, seen: Observed) -> Finding:
    detail = (
        f"{dimension}: the caption says {seen.caption} ('{seen.caption_phrase}'), "
        f"the image shows {seen.image} ({seen.image_source})"
    )
    return Finding(item=view.index, span=seen.caption_span, values={"detail": detail})


def _monochrome_label(check: AgreementCheck, item: ItemFacts) -> str | None:
    if item.image_facts is None or item.image_facts.info is None:
        return None
    measures = item.image_facts.measures()
    return next((case.label for case in check.monochrome if case_matches(case, measures)), None)


def _says_monochrome(check: AgreementCheck, text: str) -> bool:
    lowered = text.lower()
    return any(
        re.search(r"(?<!\w)" + re.escape(phrase.lower()) + r"(?!\w)", lowered)
        for phrase in check.monochrome_phrases
    )


VIEW_CHECKS: dict[str, ViewCheck] = {
    "dataset-size": dataset_size,
    "variety": variety,
    "agreement": agreement,
}
