"""The trainers' configs, read into training plans (see ``aitoolkit`` and
``kohya``), and the ``--args`` string of training arguments."""

from __future__ import annotations

import shlex
from pathlib import Path

from lintcap.gate.plan import PlannedDataset, Trainer, TrainerConfigError, TrainingPlan

__all__ = [
    "PlannedDataset",
    "Trainer",
    "TrainerConfigError",
    "TrainingPlan",
    "load_ai_toolkit",
    "load_kohya",
    "split_args",
]


def load_ai_toolkit(path: Path) -> list[TrainingPlan]:
    from lintcap.gate.aitoolkit import load_ai_toolkit as load

    return load(path)


def load_kohya(path: Path, command: list[str]) -> TrainingPlan:
    from lintcap.gate.kohya import load_kohya as load

    return load(path, command)


def split_args(value: str | None) -> list[str]:
    """``--args "..."`` as the shell would split it; one clear line when it cannot."""
    if not value:
        return []
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise TrainerConfigError(f"--args: {exc} (check the quotes)") from None
