"""The trainers' vocabularies (keys, job and process types, optimizers), kept
as data in ``rules/trainers/*.yaml`` with the source lines they come from."""

from __future__ import annotations

from functools import cache
from typing import Any

from lintcap.lazy import safe_load_yaml
from lintcap.resources import rules_dir


@cache
def vocabulary(name: str) -> dict[str, Any]:
    with open(rules_dir() / "trainers" / f"{name}.yaml", encoding="utf-8") as handle:
        data = safe_load_yaml(handle)
    assert isinstance(data, dict), f"rules/trainers/{name}.yaml must be a mapping"
    return data
