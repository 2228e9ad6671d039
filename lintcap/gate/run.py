"""``lintcap gate``: one verdict on a training run before it starts.

Read the trainer's config into a plan (``aitoolkit``, ``kohya``), list the
images the trainer will find and build the caption it will train each on
(``captions``), lint those captions (house style: reported, never blocking),
check the plan against the data and the GPU (``T`` rules: trainer
consequences, blocking at ``fail-on``), and only then hand the process over
to the training command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lintcap.config import Config
from lintcap.dataset import Dataset, Item
from lintcap.engine.run import lint, load_rulebook, make_diagnostic, render
from lintcap.engine.select import select_rules
from lintcap.engine.spec import RuleBook, TrainingCheck
from lintcap.gate import passes
from lintcap.gate.captions import (
    TrainerCaption,
    ai_toolkit_caption,
    find_images,
    inside,
    kohya_caption,
    read_metadata,
)
from lintcap.gate.checks import TRAINING_CHECKS, DatasetRun, GateContext, kohya_epoch_batches
from lintcap.gate.gpu import gpu_facts
from lintcap.gate.plan import PlannedDataset, Trainer, TrainerConfigError, TrainingPlan
from lintcap.gate.vocabulary import vocabulary
from lintcap.models import Diagnostic, Location, Severity

__all__ = ["GateResult", "TrainerConfigError", "gate", "load_plans"]

#: Dataset findings the gate states in the trainer's terms instead: a missing
#: caption (T010, once per dataset), an image below the training size (T007,
#: by the trainer's bucketing), a multi-line caption (T008 for kohya, which
#: reads the first line; ai-toolkit reads them all).
_REPLACED = frozenset({"F001", "I002", "F005"})


class GateResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    plans: list[TrainingPlan]
    #: The step count of each plan (kohya epochs resolved).
    steps: list[int | None]
    runs: list[DatasetRun]
    #: House-style findings on the captions as the trainer builds them.
    caption_findings: list[Diagnostic]
    training: list[Diagnostic]
    verdict: Literal["pass", "fail"]
    blocking: list[Diagnostic]

    @property
    def plan(self) -> TrainingPlan:
        return self.plans[0]

    @property
    def findings(self) -> list[Diagnostic]:
        return [*self.training, *self.caption_findings]


def load_plans(
    trainer: Trainer, config_path: Path, args: list[str], command: list[str]
) -> list[TrainingPlan]:
    if trainer == "ai-toolkit":
        from lintcap.gate.aitoolkit import load_ai_toolkit

        return load_ai_toolkit(config_path)
    from lintcap.gate.kohya import load_kohya, script_arguments

    return [load_kohya(config_path, [*args, *script_arguments(command)], " ".join(command))]


def gate(
    trainer: Trainer,
    config_path: Path,
    config: Config,
    *,
    args: list[str] | None = None,
    command: list[str] | None = None,
    gpu_check: bool = True,
) -> GateResult:
    plans = load_plans(trainer, config_path, args or [], command or [])
    book = load_rulebook(config)
    runs: list[DatasetRun] = []
    for index, plan in enumerate(plans):
        for dataset in plan.datasets:
            runs.append(_read_dataset(index, plan, dataset, config, book))
    steps: list[int | None] = []
    for index, plan in enumerate(plans):
        mine = [r for r in runs if r.plan_index == index]
        counts = [len(r.captions) for r in mine]
        batches = kohya_epoch_batches(plan, mine) if plan.trainer == "kohya" else None
        plan_steps = passes.resolve_steps(plan, counts, batches)
        steps.append(plan_steps)
        for run, value in zip(mine, passes.passes_per_image(plan, counts, plan_steps), strict=True):
            run.passes = value
    context = GateContext(
        plans=plans, steps=steps, runs=runs, gpu=gpu_facts() if gpu_check else None
    )
    training: list[Diagnostic] = []
    selected = select_rules(book, config.preset, config.select, config.extend_select, config.ignore)
    for rule in selected:
        if not isinstance(rule.check, TrainingCheck):
            continue
        if rule.check.property == "gpu" and not gpu_check:
            continue
        for path, detail, related in TRAINING_CHECKS[rule.check.property](rule, context):
            message = render(rule.message, {"detail": detail})
            training.append(make_diagnostic(rule, path, Location(), message, [], related))
    if any(d.code == "T014" for d in training):
        # kohya refuses the config before reading any caption: a caption
        # extension "mismatch" would only be the refused key's echo.
        training = [d for d in training if d.code != "T001"]
    threshold = Severity(config.fail_on).rank
    also_blocking = set(vocabulary("gate")["blocking_codes"])
    caption_findings = [d for r in runs for d in r.lint.diagnostics]
    everything = training + caption_findings
    blocking = [
        d
        for d in everything
        if d.severity.rank >= threshold and (d.code.startswith("T") or d.code in also_blocking)
    ]
    return GateResult(
        plans=plans,
        steps=steps,
        runs=runs,
        caption_findings=caption_findings,
        training=training,
        verdict="fail" if blocking else "pass",
        blocking=blocking,
    )


def _read_dataset(
    index: int, plan: TrainingPlan, dataset: PlannedDataset, config: Config, book: RuleBook
) -> DatasetRun:
    """The trainer's view of one dataset, and the lint of the captions it builds."""
    metadata: dict[str, str] | None = None
    error = None
    if dataset.caption_source == "metadata":
        metadata, images, error = read_metadata(dataset, plan.trainer)
    else:
        images = find_images(dataset, plan.trainer)
    build = ai_toolkit_caption if plan.trainer == "ai-toolkit" else kohya_caption
    captions: list[TrainerCaption] = [build(image, dataset, metadata) for image in images]
    sizes = [_size(c.image) if inside(c.image, dataset.folder) else None for c in captions]
    items = []
    overrides: dict[Path, bytes] = {}
    root = dataset.folder if dataset.folder.is_dir() else dataset.folder.parent
    for number, caption in enumerate(captions, start=1):
        if caption.source == "sidecar" and caption.problem is None and caption.caption_file:
            items.append(Item(root=root, image=caption.image, caption_path=caption.caption_file))
            overrides[caption.caption_file] = caption.text.encode("utf-8")
        elif caption.source == "metadata" and dataset.metadata_file is not None:
            items.append(
                Item(
                    root=root,
                    image=caption.image,
                    caption_path=dataset.metadata_file,
                    metadata_line=number,
                    metadata_text=caption.text,
                    metadata_raw="",
                )
            )
        else:  # no caption the trainer reads: counted as an image (T010 says what it trains on)
            items.append(Item(root=root, image=caption.image))
    trigger = dataset.trigger or plan.trigger or config.trigger
    settings = config.model_copy(
        update={"caption_extension": [dataset.caption_extension], "trigger": trigger}
    )
    result = lint([root], settings, book, overrides, dataset=Dataset(roots=[root], items=items))
    # A missing caption is one training finding per dataset (T010), not one per image.
    result.diagnostics = [d for d in result.diagnostics if d.code not in _REPLACED]
    return DatasetRun(
        plan_index=index,
        dataset=dataset,
        captions=captions,
        sizes=sizes,
        lint=result,
        metadata_error=error,
    )


def _size(image: Path) -> tuple[int, int] | None:
    from lintcap.image.load import probe_image

    try:
        probe = probe_image(image, str(image), 2**31, False)
    except Exception:  # a broken image is the image rules' finding, not a crash here
        return None
    header = probe.header
    if header is None or not header.width or not header.height:
        return None
    return (header.width, header.height)
