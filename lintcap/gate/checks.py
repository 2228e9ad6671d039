"""The ``training`` check kind: one function per property of a training plan.

Each returns ``(path, detail)`` pairs; the rule's message template shows the
detail, its code and severity come from ``rules/training.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lintcap.dataset import display_path
from lintcap.engine.run import LintResult
from lintcap.engine.spec import TrainingCheck
from lintcap.gate.gpu import GpuFacts, free_disk_gb
from lintcap.gate.trainers import PlannedDataset, TrainingPlan

_OTHER_EXTENSIONS = (".txt", ".caption", ".cap")


class GateContext(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: TrainingPlan
    datasets: list[tuple[PlannedDataset, LintResult]]
    gpu: GpuFacts | None = None


Found = list[tuple[str, str]]
TrainingCheckFunction = Callable[[TrainingCheck, GateContext], Found]


def _config(context: GateContext) -> str:
    return display_path(context.plan.config_path)


def _folder(dataset: PlannedDataset) -> str:
    return display_path(dataset.folder).rstrip("/") + "/"


def _images(result: LintResult) -> list[Path]:
    return [f.item.image for f in result.items if f.item.image is not None]


def caption_extension(check: TrainingCheck, context: GateContext) -> Found:
    found = []
    for dataset, result in context.datasets:
        images = _images(result)
        with_configured = sum(
            1 for i in images if i.with_suffix(dataset.caption_extension).exists()
        )
        others = {
            ext: sum(1 for i in images if i.with_suffix(ext).exists())
            for ext in _OTHER_EXTENSIONS
            if ext != dataset.caption_extension
        }
        best = max(others.items(), key=lambda kv: kv[1], default=(None, 0))
        if images and with_configured == 0 and best[1]:
            found.append(
                (
                    _folder(dataset),
                    f"caption extension is {dataset.caption_extension!r} but no image has one; "
                    f"{best[1]} of {len(images)} have {best[0]!r} captions",
                )
            )
    return found


def trigger_case(check: TrainingCheck, context: GateContext) -> Found:
    found = []
    for dataset, result in context.datasets:
        trigger = dataset.trigger or context.plan.trigger
        variants: set[str] = set()
        placeholders = 0
        for facts in result.items:
            caption = facts.parsed
            if caption is None:
                continue
            placeholders += bool(caption.placeholders)
            if trigger:
                variants.update(
                    caption.slice(m)
                    for m in caption.trigger_mentions
                    if caption.slice(m) != trigger
                )
        if trigger and variants:
            found.append(
                (
                    _folder(dataset),
                    f"trigger is {trigger!r} but captions write {', '.join(sorted(variants))}",
                )
            )
        if not trigger and placeholders:
            found.append(
                (
                    _folder(dataset),
                    f"{placeholders} captions use [trigger] but the config sets no trigger_word",
                )
            )
    return found


def shuffle_trigger(check: TrainingCheck, context: GateContext) -> Found:
    return [
        (
            _config(context),
            f"{_folder(dataset)}: caption shuffling is on with keep_tokens "
            f"{dataset.keep_tokens}: the trigger is not kept first",
        )
        for dataset, _ in context.datasets
        if dataset.shuffle and dataset.keep_tokens < 1
    ]


def repeats_per_image(
    plan: TrainingPlan, datasets: list[tuple[PlannedDataset, LintResult]]
) -> float | None:
    """steps x batch x accumulation / (images x num_repeats x resolutions)."""
    if not plan.steps:
        return None
    weight = sum(
        len(_images(result)) * dataset.repeats * len(dataset.resolutions)
        for dataset, result in datasets
        if not dataset.is_reg
    )
    if weight == 0:
        return None
    return plan.steps * plan.batch_size * plan.gradient_accumulation / weight


def repeats(check: TrainingCheck, context: GateContext) -> Found:
    value = repeats_per_image(context.plan, context.datasets)
    if value is None or _within(value, check):
        return []
    return [
        (
            _config(context),
            f"each image is seen about {value:.1f} times; the preset wants {_range(check)}",
        )
    ]


def learning_rate(check: TrainingCheck, context: GateContext) -> Found:
    rate = context.plan.learning_rate
    if rate is None or _within(rate, check):
        return []
    return [(_config(context), f"learning rate {rate:g} is outside {_range(check)}")]


def rank(check: TrainingCheck, context: GateContext) -> Found:
    plan = context.plan
    found = []
    if plan.rank is not None and not _within(plan.rank, check):
        found.append((_config(context), f"network rank {plan.rank} is outside {_range(check)}"))
    if plan.rank is not None and plan.alpha is not None and plan.alpha > plan.rank:
        found.append((_config(context), f"network alpha {plan.alpha:g} is above rank {plan.rank}"))
    return found


def image_size(check: TrainingCheck, context: GateContext) -> Found:
    found = []
    for dataset, result in context.datasets:
        largest = max(dataset.resolutions)
        small = [
            f
            for f in result.items
            if f.image is not None and min(f.image.width, f.image.height) < largest
        ]
        if small:
            names = ", ".join(Path(f.image_display or "").name for f in small[:3])
            more = f" and {len(small) - 3} more" if len(small) > 3 else ""
            found.append(
                (
                    _folder(dataset),
                    f"{len(small)} images have a short side below the resolution {largest} "
                    f"({names}{more}); they train at their own, smaller size",
                )
            )
    return found


def multiline(check: TrainingCheck, context: GateContext) -> Found:
    if context.plan.trainer != "kohya":
        return []
    found = []
    for dataset, result in context.datasets:
        if dataset.enable_wildcard:
            continue
        lines = [f for f in result.items if f.text and "\n" in f.text.strip()]
        if lines:
            found.append(
                (
                    _folder(dataset),
                    f"{len(lines)} captions have several lines and enable_wildcard is off: "
                    "kohya trains only their first line",
                )
            )
    return found


def te_cache_shuffle(check: TrainingCheck, context: GateContext) -> Found:
    plan = context.plan
    if plan.trainer != "kohya" or not plan.flux or not plan.cache_text_encoder_outputs:
        return []
    return [
        (
            _config(context),
            f"{_folder(dataset)}: cache_text_encoder_outputs with "
            f"{'shuffle_caption' if dataset.shuffle else 'caption_dropout_rate'}: "
            "kohya's Flux training stops with an assertion",
        )
        for dataset, _ in context.datasets
        if dataset.shuffle or dataset.caption_dropout > 0
    ]


def missing_captions(check: TrainingCheck, context: GateContext) -> Found:
    found = []
    for dataset, result in context.datasets:
        missing = [
            f for f in result.items if f.item.image is not None and f.item.caption_path is None
        ]
        if not missing:
            continue
        if context.plan.trainer == "kohya":
            becomes = (
                f"the class tokens {dataset.class_tokens!r}"
                if dataset.class_tokens
                else "an empty string"
            )
        else:
            fallback = dataset.default_caption or dataset.trigger or context.plan.trigger
            becomes = f"{fallback!r}" if fallback else "an empty string"
        found.append(
            (_folder(dataset), f"{len(missing)} image(s) without a caption will train on {becomes}")
        )
    return found


def gpu(check: TrainingCheck, context: GateContext) -> Found:
    facts = context.gpu
    if facts is None:
        return []
    where = _config(context)
    if facts.error:
        return [(where, f"the GPU could not be queried: {facts.error}")]
    if not facts.torch:
        return [
            (
                where,
                "torch is not installed here, so no GPU could be checked "
                "(install lintcap[llm], or --no-gpu-check to skip)",
            )
        ]
    if not facts.cuda:
        return [(where, "no CUDA device is visible to torch")]
    need = check.low_memory_gb if context.plan.low_memory else check.memory_gb
    if context.plan.flux and facts.memory_gb is not None and facts.memory_gb < need:
        return [
            (
                where,
                f"{facts.name} has {facts.memory_gb:.0f} GB; this Flux run needs about {need:g} GB",
            )
        ]
    return []


def disk(check: TrainingCheck, context: GateContext) -> Found:
    found = []
    for dataset, result in context.datasets:
        if not dataset.folder.is_dir():
            continue
        per_image = sum(16 * (r // 8) ** 2 * 2 for r in dataset.resolutions) * 2
        need_gb = len(_images(result)) * per_image / 1024**3
        free = free_disk_gb(dataset.folder)
        if free < need_gb:
            found.append(
                (
                    _folder(dataset),
                    f"cached latents need about {need_gb:.1f} GB; {free:.1f} GB free",
                )
            )
    return found


def _within(value: float, check: TrainingCheck) -> bool:
    return (check.min is None or value >= check.min) and (check.max is None or value <= check.max)


def _range(check: TrainingCheck) -> str:
    return (
        f"{check.min:g}-{check.max:g}"
        if check.min is not None and check.max is not None
        else "its range"
    )


TRAINING_CHECKS: dict[str, TrainingCheckFunction] = {
    "caption-extension": caption_extension,
    "trigger-case": trigger_case,
    "shuffle-trigger": shuffle_trigger,
    "repeats": repeats,
    "learning-rate": learning_rate,
    "rank": rank,
    "image-size": image_size,
    "multiline": multiline,
    "te-cache-shuffle": te_cache_shuffle,
    "missing-captions": missing_captions,
    "gpu": gpu,
    "disk": disk,
}
