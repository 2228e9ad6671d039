"""Check kinds over image facts: measurements against bounds, duplicates.

Like :mod:`lintcap.engine.checks`, the only place where these rules'
semantics live in code; every number comes from the rule file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from lintcap.engine.checks import Finding
from lintcap.engine.spec import Bound, DuplicatesCheck, ImageMeasureCheck, MeasureCase
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
            values = {name: _shown(value) for name, value in measures.items()}
            # ``{name%}``: a share (0-1) written as a percentage, for messages.
            values.update(
                {f"{name}%": f"{value:.1%}" for name, value in measures.items() if _share(value)}
            )
            values["label"] = case.label
            return Finding(values=values)
    return None


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
