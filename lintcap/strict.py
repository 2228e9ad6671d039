"""How every settings block read from a rule file or a config is validated.

Rule files and ``lintcap.toml`` spell keys in kebab case (``min-face-share``)
while the models use Python names (``min_face_share``); a key the model does
not know is refused, so a misspelt setting is an error at load time rather
than a setting silently ignored. Each settings model says
``model_config = STRICT`` (a shared base class would hide from ruff that the
model is pydantic's, and its field defaults would be flagged as mutable class
attributes).
"""

from __future__ import annotations

from pydantic import ConfigDict


def kebab(name: str) -> str:
    """``min_face_share`` as a rule file spells it: ``min-face-share``."""
    return name.replace("_", "-")


STRICT = ConfigDict(extra="forbid", alias_generator=kebab, populate_by_name=True)
