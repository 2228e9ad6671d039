"""Check kinds over image facts: measurements against bounds, duplicates.

Like :mod:`lintcap.engine.checks`, the only place where these rules'
semantics live in code; every number comes from the rule file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from statistics import median
from typing import Any

from lintcap.engine.checks import Finding
from lintcap.engine.spec import (
    Bound,
    DuplicatesCheck,
    GradeCase,
    GradeCheck,
    ImageMeasureCheck,
    MeasureCase,
    SetLook,
    UniformGradeCheck,
)
from lintcap.image.facts import ImageFacts


def _holds(bound: Bound, value: Any) -> bool:
    if value is None:
        return False
    if bound.in_ is not None and str(value) not in bound.in_:
        return False
    if bound.above is not None and not (isinstance(value, int | float) and value > bound.above):
        return False
    return bound.below is None or (isinstance(value, int | float) and value < bound.below)


def image_measure(check: ImageMeasureCheck, facts: ImageFacts) -> Finding | None:
    """The first case whose every bound holds, with the measurements as
    message values (``{short-side}``, ``{blur-effect}``, ``{label}``)."""
    measures = facts.measures()
    for case in check.cases:
        if case_matches(case, measures):
            # ``{name%}``: a share (0-1) written as a percentage, for messages.
            return Finding(values=_values(measures, case.label))
    return None


def _values(measures: dict[str, Any], label: str) -> dict[str, Any]:
    """Message values: every measurement, ``{name%}`` for shares, the label."""
    values = {name: _shown(value) for name, value in measures.items()}
    values.update({f"{name}%": f"{value:.1%}" for name, value in measures.items() if _share(value)})
    from lintcap.engine.run import render

    values["label"] = render(label, values) if "{" in label else label
    return values


def case_matches(case: MeasureCase, measures: dict[str, Any]) -> bool:
    """Whether every bound of ``case`` holds for these measurements."""
    return all(_holds(bound, measures.get(name)) for name, bound in case.when.items())


def _share(value: Any) -> bool:
    return isinstance(value, float) and 0.0 <= value <= 1.0


def _shown(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return value


def duplicates(
    check: DuplicatesCheck, images: Sequence[tuple[int, ImageFacts]], displays: Sequence[str]
) -> list[Finding]:
    """Each image that repeats an earlier one (in path order) is a finding
    naming the first; the first itself is not."""
    findings: list[Finding] = []
    if check.method == "exact":
        first_of: dict[str, int] = {}
        for item, facts in images:
            if not facts.sha256 or facts.info is None:
                continue
            if facts.sha256 in first_of:
                other = displays[first_of[facts.sha256]]
                findings.append(Finding(item=item, values={"other": other, "distance": 0}))
            else:
                first_of[facts.sha256] = item
        return findings
    seen: list[tuple[int, int]] = []
    exact: dict[str, list[int]] = defaultdict(list)
    for item, facts in images:
        if facts.phash is None:
            continue
        exact[facts.sha256].append(item)
        if len(exact[facts.sha256]) > 1:
            continue  # the same bytes: the exact check's finding, not this one's
        bits = int(facts.phash, 16)
        match = _nearest(bits, seen, check.max_distance)
        if match is not None:
            first, distance = match
            values = {"other": displays[first], "distance": distance}
            findings.append(Finding(item=item, values=values))
        seen.append((item, bits))
    return findings


def _nearest(
    bits: int, seen: Sequence[tuple[int, int]], max_distance: int
) -> tuple[int, int] | None:
    """The closest earlier hash within ``max_distance`` bits. Hashes are
    compared as integers (XOR and a bit count): a dataset of thousands of
    images makes millions of pairs."""
    best: tuple[int, int] | None = None
    for item, other in seen:
        distance = (bits ^ other).bit_count()
        if distance <= max_distance and (best is None or distance < best[1]):
            best = (item, distance)
    return best


# --- grades judged against the set ---------------------------------------------


def graded_images(check: GradeCheck, images: Sequence[tuple[int, ImageFacts]]) -> list[Finding]:
    """Images that look graded *and* stand out from the rest of the set on
    the grade's own measurement. A grade the set as a whole shows is the
    set's look (:func:`uniform_grade`), not reported image by image; a set
    too small to compare with is judged image by image."""
    measured = [(item, facts.measures()) for item, facts in images if facts.quality is not None]
    judged = len(measured) >= check.min_images
    looks = {look.label for look, _ in _set_looks(check.looks, measured)} if judged else set()
    # The set's centre and spread of each case's measurement, once for the
    # set rather than once for each image that looks graded.
    centres = (
        {case.measure: _centre_and_spread(case.measure, measured) for case in check.cases}
        if judged
        else {}
    )
    findings = []
    for item, measures in measured:
        for case in check.cases:
            if case.label in looks or not case_matches(case, measures):
                continue
            values = _values(measures, case.label)
            if judged:
                departure = _departure(check, case, measures, centres[case.measure])
                if departure is None:
                    continue
                values.update(departure)
            else:
                values.update(
                    {
                        "measure": case.measure,
                        "value": _shown(measures.get(case.measure)),
                        "against": f"fewer than {check.min_images} images to compare with",
                    }
                )
            findings.append(Finding(item=item, values=values))
            break
    return findings


def uniform_grade(
    check: UniformGradeCheck, images: Sequence[tuple[int, ImageFacts]]
) -> list[Finding]:
    """One finding for a set graded alike: the first look whose bound holds
    for the set's median, with the images that show it."""
    measured = [(item, facts.measures()) for item, facts in images if facts.quality is not None]
    if len(measured) < check.min_images:
        return []
    for look, centre in _set_looks(check.looks, measured):
        items = [item for item, m in measured if _holds(look.median, m.get(look.measure))]
        values = {
            "label": look.label,
            "measure": look.measure,
            "median": _shown(centre),
            "count": len(items),
            "total": len(measured),
        }
        return [Finding(values=values, related=items)]
    return []


def _set_looks(
    looks: Sequence[SetLook], measured: Sequence[tuple[int, dict[str, Any]]]
) -> list[tuple[SetLook, float]]:
    """The looks whose bound holds for the set's median, with that median."""
    held = []
    for look in looks:
        centre = _median_of(look.measure, measured)
        if centre is None or not _holds(look.median, centre):
            continue
        if all(_holds(bound, _median_of(name, measured)) for name, bound in look.also.items()):
            held.append((look, centre))
    return held


def _numbers(name: str, measured: Sequence[tuple[int, dict[str, Any]]]) -> list[float]:
    """One measurement over the images that have it."""
    values = [m.get(name) for _, m in measured]
    return [float(v) for v in values if isinstance(v, int | float)]


def _median_of(name: str, measured: Sequence[tuple[int, dict[str, Any]]]) -> float | None:
    """The median of one measurement over the images that have it."""
    numbers = _numbers(name, measured)
    return median(numbers) if numbers else None


def _centre_and_spread(
    name: str, measured: Sequence[tuple[int, dict[str, Any]]]
) -> tuple[float, float] | None:
    """The median of one measurement over the images that have it and its
    robust spread (1.4826 times the median absolute deviation); None when no
    image has it."""
    numbers = _numbers(name, measured)
    if not numbers:
        return None
    centre = median(numbers)
    return centre, 1.4826 * median(abs(v - centre) for v in numbers)


def _departure(
    check: GradeCheck,
    case: GradeCase,
    measures: dict[str, Any],
    centre_and_spread: tuple[float, float] | None,
) -> dict[str, Any] | None:
    """How far the image's ``case.measure`` lies from the set's median, when
    that is beyond ``spreads`` robust spreads (``centre_and_spread``: of
    :func:`_centre_and_spread`) and ``min-step`` of the bound in the graded
    direction; else None."""
    bound = case.when[case.measure]
    value = measures.get(case.measure)
    if not isinstance(value, int | float) or centre_and_spread is None:
        return None
    centre, spread = centre_and_spread
    limit = bound.above if bound.above is not None else bound.below
    assert limit is not None  # GradeCase validates it
    step = max(check.spreads * spread, check.min_step * abs(limit))
    beyond = value - centre if bound.above is not None else centre - value
    if beyond <= step:
        return None
    shown = _shown(centre)
    return {
        "measure": case.measure,
        "value": _shown(value),
        "median": shown,
        "against": f"the set's median {shown}",
    }
