"""Which rules run: preset, then select / extend-select / ignore, as in ruff.

Codes and prefixes are interchangeable (``C``, ``C00``, ``C001``; ``ALL``).
The preset gives the default selection (every rule but the preset's
``ignore``) and tunes rule parameters and severities. A preset's ignores
survive ``select``: ``--preset flux-style --select C,A`` still leaves out the
A rules flux-style ignores; naming a code in full (``--select A001``) runs it.
"""

from __future__ import annotations

from collections.abc import Iterable

from lintcap.engine.spec import Rule, RuleBook, apply_params


class SelectionError(ValueError):
    """A code or preset that does not exist."""


def matches(code: str, selectors: Iterable[str]) -> bool:
    return any(s == "ALL" or code.startswith(s) for s in selectors)


def _validate(selectors: Iterable[str], book: RuleBook, what: str) -> None:
    codes = [rule.code for rule in book.rules]
    for selector in selectors:
        if selector != "ALL" and not any(code.startswith(selector) for code in codes):
            raise SelectionError(f"{what}: {selector!r} matches no rule code")


def select_rules(
    book: RuleBook,
    preset: str,
    select: list[str] | None,
    extend_select: list[str],
    ignore: list[str],
) -> list[Rule]:
    """The rules to run, with the preset's parameters and severities applied."""
    if preset not in book.presets:
        known = ", ".join(sorted(book.presets))
        raise SelectionError(f"unknown preset {preset!r} (known: {known})")
    chosen = book.presets[preset]
    for what, selectors in (
        ("select", select or []),
        ("extend-select", extend_select),
        ("ignore", ignore),
    ):
        _validate(selectors, book, what)
    # A code the user names in full overrides the preset's ignore; a prefix
    # (--select C,A) or ALL does not: the preset ignores it for a reason.
    named = {selector for selector in [*(select or []), *extend_select] if len(selector) == 4}
    rules = []
    for rule in book.rules:
        allowed = rule.code in named or not matches(rule.code, chosen.ignore)
        on = matches(rule.code, select) if select is not None else True
        on = (on or matches(rule.code, extend_select)) and allowed
        on = on and not matches(rule.code, ignore)
        if not on:
            continue
        if rule.code in chosen.params:
            rule = apply_params(rule, chosen.params[rule.code])
        if rule.code in chosen.severity:
            rule = rule.model_copy(update={"severity": chosen.severity[rule.code]})
        rules.append(rule)
    return rules
