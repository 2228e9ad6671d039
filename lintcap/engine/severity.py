"""Severity from the user's config: ``[severity]`` in lintcap.toml or
``[tool.lintcap.severity]`` in pyproject.toml, ``C004 = "warning"``.

A key is a code, a prefix or ``ALL``; the longest key that matches a code wins
(``C = "info"`` with ``C001 = "error"`` keeps C001 an error), and it wins over
the rule file and the preset. A key that matches no rule is an error, as in
``--select``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lintcap.engine.select import SelectionError
from lintcap.engine.spec import Rule, RuleBook
from lintcap.models import Severity


def validate_severity(book: RuleBook, overrides: Mapping[str, Severity]) -> None:
    codes = [rule.code for rule in book.rules]
    for key in overrides:
        if key != "ALL" and not any(code.startswith(key) for code in codes):
            raise SelectionError(f"severity: {key!r} matches no rule code")


def configured(code: str, overrides: Mapping[str, Severity]) -> Severity | None:
    """The severity the config gives ``code``, if any."""
    best: tuple[int, Severity] | None = None
    for key, severity in overrides.items():
        length = 0 if key == "ALL" else len(key)
        if (key == "ALL" or code.startswith(key)) and (best is None or length > best[0]):
            best = (length, Severity(severity))
    return best[1] if best else None


def apply_severity(rules: list[Rule], overrides: Mapping[str, Severity]) -> list[Rule]:
    """``rules`` with the config's severities."""
    if not overrides:
        return rules
    changed = []
    for rule in rules:
        severity = configured(rule.code, overrides)
        if severity is not None and severity != rule.severity:
            rule = rule.model_copy(update={"severity": severity})
        changed.append(rule)
    return changed
