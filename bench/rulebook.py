"""Which shipped rules read a fact family, from the rule book itself: the
benches leave such rules out of a run (stand-in images, a run without the
text search) and must not keep hand lists that go stale when a rule is added."""

from __future__ import annotations


def codes_reading(select: str, fact: str) -> tuple[str, ...]:
    """The codes, sorted, of the rules ``--select select`` picks whose needs
    (:func:`lintcap.engine.run.needs_for`) include ``fact``, a field of
    :class:`lintcap.analyse.Needs` such as ``image_analysis`` or ``image_text``."""
    from lintcap.config import Config
    from lintcap.engine.run import needs_for
    from lintcap.engine.select import select_rules
    from lintcap.engine.spec import load_rulebook

    config = Config(select=select.split(","))
    book = load_rulebook(config)
    chosen = select_rules(book, config.preset, config.select, [], [])
    return tuple(sorted(rule.code for rule in chosen if getattr(needs_for([rule]), fact)))
