"""``lintcap gate``: one verdict on a training run before it starts.

Read the trainer's config, lint every dataset it names with the config's
caption extension and trigger, check the config against the data and the GPU
(``T`` rules), and only then hand the process over to the training command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lintcap.config import Config
from lintcap.dataset import display_path
from lintcap.engine.run import LintResult, lint, load_rulebook, make_diagnostic, render
from lintcap.engine.select import select_rules
from lintcap.engine.spec import TrainingCheck
from lintcap.gate.checks import TRAINING_CHECKS, GateContext, repeats_per_image
from lintcap.gate.gpu import gpu_facts
from lintcap.gate.trainers import (
    Trainer,
    TrainerConfigError,
    TrainingPlan,
    load_ai_toolkit,
    load_kohya,
)
from lintcap.models import Diagnostic, Location, Severity


class GateResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: TrainingPlan
    datasets: list[LintResult]
    training: list[Diagnostic]
    repeats_per_image: float | None
    verdict: Literal["pass", "fail"]
    blocking: list[Diagnostic]


def load_plan(
    trainer: Trainer, config_path: Path, args: list[str], command: list[str]
) -> TrainingPlan:
    if trainer == "ai-toolkit":
        return load_ai_toolkit(config_path)
    return load_kohya(config_path, args, command)


def gate(
    trainer: Trainer,
    config_path: Path,
    config: Config,
    *,
    args: list[str] | None = None,
    command: list[str] | None = None,
    gpu_check: bool = True,
) -> GateResult:
    plan = load_plan(trainer, config_path, args or [], command or [])
    book = load_rulebook(config)
    results = []
    for dataset in plan.datasets:
        if not dataset.folder.is_dir():
            raise TrainerConfigError(
                f"{config_path}: dataset folder {display_path(dataset.folder)} does not exist"
            )
        trigger = dataset.trigger or plan.trigger or config.trigger
        settings = config.model_copy(
            update={"caption_extension": [dataset.caption_extension], "trigger": trigger}
        )
        results.append(lint([dataset.folder], settings, book))
    context = GateContext(
        plan=plan,
        datasets=list(zip(plan.datasets, results, strict=True)),
        gpu=gpu_facts() if gpu_check else None,
    )
    training = []
    selected = select_rules(book, config.preset, config.select, config.extend_select, config.ignore)
    for rule in selected:
        if not isinstance(rule.check, TrainingCheck):
            continue
        if rule.check.property == "gpu" and not gpu_check:
            continue
        for path, detail in TRAINING_CHECKS[rule.check.property](rule.check, context):
            message = render(rule.message, {"detail": detail})
            training.append(make_diagnostic(rule, path, Location(), message, []))
    threshold = Severity(config.fail_on).rank
    everything = [d for r in results for d in r.diagnostics] + training
    blocking = [d for d in everything if d.severity.rank >= threshold]
    return GateResult(
        plan=plan,
        datasets=results,
        training=training,
        repeats_per_image=repeats_per_image(plan, context.datasets),
        verdict="fail" if blocking else "pass",
        blocking=blocking,
    )
