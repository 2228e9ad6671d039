"""How often the trainer shows each image: steps, epochs and passes.

ai-toolkit: every step draws ``gradient_accumulation`` batches
(jobs/process/BaseSDTrainProcess.py:2565); with a reg dataset, even steps draw
from it instead (:2574-2581); an epoch holds each dataset once per
resolution (config_modules.py:1095-1110), ``num_repeats`` times
(data_loader.py:452-454) and once more per flip (:575-592), batched by the
dataset's own batch size (data_loader.py:707-709). A lone dataset's passes are
therefore steps x batch x accumulation / images, whatever its resolutions
and repeats.

kohya: an epoch holds each subset's images num_repeats times, and the reg
images repeated to match the train images (train_util.py:2137-2182);
``max_train_steps`` counts optimizer steps of ``gradient_accumulation_steps``
batches; ``max_train_epochs`` sets steps = epochs x ceil(batches / accumulation)
(train_network.py:799-802). Passes for subset i:
steps x batch x accumulation x r_i / sum_j N_j r_j.
"""

from __future__ import annotations

import math

from lintcap.gate.plan import PlannedDataset, TrainingPlan


def batch_of(plan: TrainingPlan, dataset: PlannedDataset) -> int:
    return dataset.batch_size or plan.batch_size


def copies(plan: TrainingPlan, dataset: PlannedDataset) -> int:
    """Times one image appears in an epoch."""
    if plan.trainer == "ai-toolkit":
        return dataset.repeats * len(dataset.resolutions) * dataset.flips
    return dataset.repeats


def kohya_reg_repeats(plan: TrainingPlan, counts: list[int]) -> dict[int, float]:
    """Average repeats of a reg image, per [[datasets]] entry: its reg images
    are repeated until they match its train images with repeats
    (train_util.py:2137-2182, inside each DreamBoothDataset)."""
    train: dict[int, int] = {}
    reg: dict[int, int] = {}
    for dataset, count in zip(plan.datasets, counts, strict=True):
        side = reg if dataset.is_reg else train
        side[dataset.group] = side.get(dataset.group, 0) + count * (
            1 if dataset.is_reg else dataset.repeats
        )
    return {group: train.get(group, 0) / n for group, n in reg.items() if n}


def drawn(plan: TrainingPlan, dataset: PlannedDataset, reg_repeats: dict[int, float]) -> float:
    """Times one image of ``dataset`` appears in an epoch: :func:`copies`, or
    for a kohya reg image the average repeats of its [[datasets]] entry
    (``reg_repeats``, from :func:`kohya_reg_repeats`)."""
    if plan.trainer == "kohya" and dataset.is_reg:
        return reg_repeats.get(dataset.group, 0.0)
    return copies(plan, dataset)


def epoch_batches(plan: TrainingPlan, counts: list[int]) -> tuple[float, float]:
    """Batches per epoch of the train and of the reg datasets (fractional:
    bucket remainders aside)."""
    train = reg = 0.0
    reg_repeats = kohya_reg_repeats(plan, counts) if plan.trainer == "kohya" else {}
    for dataset, count in zip(plan.datasets, counts, strict=True):
        batches = count * drawn(plan, dataset, reg_repeats) / batch_of(plan, dataset)
        if dataset.is_reg:
            reg += batches
        else:
            train += batches
    return train, reg


def resolve_steps(
    plan: TrainingPlan, counts: list[int], kohya_batches: int | None = None
) -> int | None:
    """The step count; for kohya's --max_train_epochs, from the dataloader's length."""
    if plan.steps is not None:
        return plan.steps
    if plan.steps_source == "gui-epochs" and plan.epochs is not None:
        # bmaltais/kohya_ss kohya_gui/lora_gui.py:1690-1730: images with repeats,
        # doubled with reg images, over batch and accumulation, times epochs.
        images = sum(
            n * d.repeats for d, n in zip(plan.datasets, counts, strict=True) if not d.is_reg
        )
        factor = 2 if any(d.is_reg for d in plan.datasets) else 1
        return math.ceil(
            images / plan.batch_size / plan.gradient_accumulation * plan.epochs * factor
        )
    if plan.trainer == "kohya" and plan.epochs is not None:
        batches = kohya_batches
        if batches is None:
            train, reg = epoch_batches(plan, counts)
            batches = math.ceil(train + reg)
        return plan.epochs * math.ceil(batches / plan.gradient_accumulation)
    return None


def passes_per_image(
    plan: TrainingPlan, counts: list[int], steps: int | None
) -> list[float | None]:
    """Passes over each image of each dataset (in plan order)."""
    if steps is None:
        return [None] * len(plan.datasets)
    train, reg = epoch_batches(plan, counts)
    if plan.trainer == "ai-toolkit":
        reg_steps = steps // 2 + steps % 2 if reg else 0  # even steps 0, 2, 4, ...
        draws = {
            False: (steps - reg_steps) * plan.gradient_accumulation,
            True: reg_steps * plan.gradient_accumulation,
        }
        per_epoch = {False: train, True: reg}
    else:
        total = train + reg
        draws = {
            False: steps * plan.gradient_accumulation,
            True: steps * plan.gradient_accumulation,
        }
        per_epoch = {False: total, True: total}
    reg_repeats = kohya_reg_repeats(plan, counts) if plan.trainer == "kohya" else {}
    result: list[float | None] = []
    for dataset, count in zip(plan.datasets, counts, strict=True):
        batches = per_epoch[dataset.is_reg]
        if count == 0 or batches <= 0:
            result.append(None)
            continue
        result.append(draws[dataset.is_reg] / batches * drawn(plan, dataset, reg_repeats))
    return result
