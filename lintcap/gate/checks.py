"""The ``training`` check kind: one function per trainer consequence.

Each returns ``(path, detail, related files)``: one finding per root cause
per dataset, naming the files it counted. The rule's message template shows
the detail; code and severity come from ``rules/training.yaml``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from lintcap.dataset import IMAGE_EXTENSIONS, display_path
from lintcap.engine.run import LintResult
from lintcap.engine.spec import Rule, TrainingCheck
from lintcap.gate import passes
from lintcap.gate.buckets import bucket
from lintcap.gate.captions import TrainerCaption
from lintcap.gate.gpu import GpuFacts, free_disk_gb
from lintcap.gate.plan import PlannedDataset, TrainingPlan
from lintcap.gate.vocabulary import vocabulary

_OTHER_EXTENSIONS = (".txt", ".caption", ".cap")
#: Files named in a finding's ``related`` at most.
_RELATED = 20


class DatasetRun(BaseModel):
    """One dataset as the trainer reads it, and the lint of its captions."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan_index: int
    dataset: PlannedDataset
    captions: list[TrainerCaption]
    sizes: list[tuple[int, int] | None]
    lint: LintResult
    passes: float | None = None
    metadata_error: str | None = None


class GateContext(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    plans: list[TrainingPlan]
    steps: list[int | None]
    runs: list[DatasetRun]
    gpu: GpuFacts | None = None


Found = list[tuple[str, str, list[str]]]
TrainingCheckFunction = Callable[[Rule, GateContext], Found]


def _config(context: GateContext, index: int = 0) -> str:
    return display_path(context.plans[index].config_path)


def _folder(dataset: PlannedDataset) -> str:
    return display_path(dataset.folder).rstrip("/") + ("/" if dataset.folder.is_dir() else "")


def _files(paths: list[Path]) -> list[str]:
    return [display_path(p) for p in paths[:_RELATED]]


def _plan(context: GateContext, run: DatasetRun) -> TrainingPlan:
    return context.plans[run.plan_index]


def _trigger(context: GateContext, run: DatasetRun) -> str | None:
    return run.dataset.trigger or _plan(context, run).trigger


def config_notes(rule: Rule, context: GateContext) -> Found:
    """Refused keys (T014), ignored keys (T015), legacy settings (T013)."""
    return [
        (_config(context, i), note.message, [])
        for i, plan in enumerate(context.plans)
        for note in plan.notes
        if note.code == rule.code
    ]


def no_images(rule: Rule, context: GateContext) -> Found:
    found: Found = []
    for run in context.runs:
        dataset = run.dataset
        if run.captions:
            continue
        trainer = _plan(context, run).trainer
        if run.metadata_error:
            found.append((_folder(dataset), run.metadata_error, []))
        elif not dataset.folder.exists():
            found.append((_folder(dataset), "the dataset folder does not exist", []))
        else:
            nested = [
                p
                for p in sorted(dataset.folder.rglob("*"))[:10_000]
                if p.suffix.lower() in IMAGE_EXTENSIONS
            ]
            where = (
                f"; {len(nested)} are in sub-folders, and kohya does not look inside them "
                "(train_data_dir takes N_name folders; a dataset config names each image_dir)"
                if nested and trainer == "kohya"
                else ""
            )
            found.append(
                (_folder(dataset), f"{trainer} finds no images here{where}", _files(nested))
            )
    return found


def caption_read(rule: Rule, context: GateContext) -> Found:
    """Caption files the trainer cannot use: kohya stops on an empty file
    (train_util.py:1964) and both stop on non-UTF-8 text
    (train_util.py:1958-1963; ai-toolkit dataloader_mixins.py:350-351)."""
    found: Found = []
    for run in context.runs:
        trainer = _plan(context, run).trainer
        by_problem: dict[str, list[Path]] = {}
        for caption in run.captions:
            if caption.problem and caption.caption_file:
                by_problem.setdefault(caption.problem, []).append(caption.caption_file)
        for problem, files in sorted(by_problem.items()):
            what = {
                "empty-file": (
                    "are empty: kohya stops at start-up ('caption file is empty')"
                    if trainer == "kohya"
                    else "are empty"
                ),
                "not-utf8": f"are not UTF-8: {trainer} stops with a decoding error",
                "unreadable": "cannot be read",
                "not-regular": "are not regular files",
                "too-large": "are larger than 64 KB",
                "outside": "are links that leave the dataset (not read)",
            }[problem]
            found.append(
                (_folder(run.dataset), f"{len(files)} caption file(s) {what}", _files(files))
            )
    return found


def caption_extension(rule: Rule, context: GateContext) -> Found:
    found: Found = []
    for run in context.runs:
        dataset = run.dataset
        if dataset.caption_source != "sidecar" or not run.captions:
            continue
        if any(c.caption_file for c in run.captions):
            continue
        others = Counter(
            ext
            for c in run.captions
            for ext in _OTHER_EXTENSIONS
            if ext != dataset.caption_extension and c.image.with_suffix(ext).exists()
        )
        if others:
            ext, count = others.most_common(1)[0]
            found.append(
                (
                    _folder(dataset),
                    f"caption extension is {dataset.caption_extension!r} but no image has one; "
                    f"{count} of {len(run.captions)} have {ext!r} captions",
                    _files(
                        [
                            c.image.with_suffix(ext)
                            for c in run.captions
                            if c.image.with_suffix(ext).exists()
                        ]
                    ),
                )
            )
    return found


def trigger_case(rule: Rule, context: GateContext) -> Found:
    found: Found = []
    for run in context.runs:
        trainer = _plan(context, run).trainer
        trigger = _trigger(context, run)
        variants: Counter[str] = Counter()
        variant_files: list[Path] = []
        placeholder_files: list[Path] = []
        for caption in run.captions:
            raw = caption.raw or ""
            if "[trigger]" in raw or (trainer == "ai-toolkit" and "[name]" in raw):
                placeholder_files.append(caption.caption_file or caption.image)
            if trigger and trigger not in raw:
                lower = raw.lower()
                at = lower.find(trigger.lower())
                if at >= 0:
                    variants[raw[at : at + len(trigger)]] += 1
                    variant_files.append(caption.caption_file or caption.image)
        if trigger and variants:
            written = ", ".join(repr(v) for v, _ in variants.most_common(3))
            then = (
                f"ai-toolkit matches case-sensitively and prepends {trigger!r}, so both train"
                if trainer == "ai-toolkit"
                else "kohya trains them as different tokens"
            )
            found.append(
                (
                    _folder(run.dataset),
                    f"trigger is {trigger!r} but {sum(variants.values())} captions write "
                    f"{written}: {then}",
                    _files(variant_files),
                )
            )
        if not trigger and placeholder_files:
            then = (
                "ai-toolkit removes it, so those captions train without a trigger"
                if trainer == "ai-toolkit"
                else "kohya trains the literal text '[trigger]'"
            )
            found.append(
                (
                    _folder(run.dataset),
                    f"{len(placeholder_files)} captions use [trigger] but the config sets no "
                    f"trigger_word: {then}",
                    _files(placeholder_files),
                )
            )
    return found


def shuffle_trigger(rule: Rule, context: GateContext) -> Found:
    """ai-toolkit's shuffle_tokens moves every token, the injected trigger too
    (dataloader_mixins.py:431-456); kohya keeps keep_tokens (or the part before
    keep_tokens_separator) in place (train_util.py:871-888)."""
    found: Found = []
    for run in context.runs:
        dataset = run.dataset
        if not dataset.shuffle or not run.captions:
            continue
        trainer = _plan(context, run).trainer
        if trainer == "ai-toolkit":
            found.append(
                (
                    _config(context, run.plan_index),
                    f"{_folder(dataset)}: shuffle_tokens moves every comma-separated token, the "
                    f"trigger included (keep_tokens {dataset.keep_tokens} only guards token "
                    "dropout)",
                    [],
                )
            )
            continue
        moved = [c for c in run.captions if c.fixed_tokens == 0 and c.text.strip()]
        if moved:
            why = (
                f"keep_tokens is 0 and {len(moved)} captions have no "
                f"{dataset.keep_tokens_separator!r}"
                if dataset.keep_tokens_separator
                else "keep_tokens is 0"
            )
            found.append(
                (
                    _config(context, run.plan_index),
                    f"{_folder(dataset)}: shuffle_caption is on and {why}: the first token "
                    "(the trigger) is shuffled away",
                    _files([c.caption_file or c.image for c in moved]),
                )
            )
    return found


def repeats(rule: Rule, context: GateContext) -> Found:
    check = rule.check
    assert isinstance(check, TrainingCheck)
    found: Found = []
    for run in context.runs:
        if run.dataset.is_reg or run.passes is None or _within(run.passes, check):
            continue
        plan = _plan(context, run)
        steps = context.steps[run.plan_index]
        found.append(
            (
                _config(context, run.plan_index),
                f"{_folder(run.dataset)}: each image is shown about {run.passes:.1f} times "
                f"({steps} steps x batch {passes.batch_of(plan, run.dataset)} x accumulation "
                f"{plan.gradient_accumulation} over {len(run.captions)} images); "
                f"the preset wants {_range(check)}",
                [],
            )
        )
    return found


def learning_rate(rule: Rule, context: GateContext) -> Found:
    """The band depends on the optimizer: Prodigy and D-Adaptation take lr ~ 1."""
    check = rule.check
    assert isinstance(check, TrainingCheck)
    words = vocabulary("optimizers")
    found: Found = []
    for index, plan in enumerate(context.plans):
        rate = plan.learning_rate
        if rate is None:
            continue
        optimizer = (plan.optimizer or "").lower()
        adaptive = any(optimizer.startswith(p) for p in words["adaptive_prefixes"])
        low, high = (
            (words["adaptive_band"]["min"], words["adaptive_band"]["max"])
            if adaptive
            else (check.min, check.max)
        )
        if adaptive and plan.trainer == "ai-toolkit" and rate < 0.1:
            continue  # toolkit/optimizer.py:47-49 raises it to 1.0 itself
        if (low is None or rate >= low) and (high is None or rate <= high):
            continue
        kind = (
            f"{plan.optimizer} (adapts its own step size)"
            if adaptive
            else (plan.optimizer or "the optimizer")
        )
        found.append(
            (
                _config(context, index),
                f"learning rate {rate:g} is outside {low:g}-{high:g} for {kind}",
                [],
            )
        )
    return found


def rank(rule: Rule, context: GateContext) -> Found:
    check = rule.check
    assert isinstance(check, TrainingCheck)
    found: Found = []
    for index, plan in enumerate(context.plans):
        if plan.rank is not None and not _within(plan.rank, check):
            found.append(
                (
                    _config(context, index),
                    f"network rank {plan.rank} is outside {_range(check)}",
                    [],
                )
            )
        if plan.rank is not None and plan.alpha is not None and plan.alpha > plan.rank:
            found.append(
                (
                    _config(context, index),
                    f"network alpha {plan.alpha:g} is above rank {plan.rank}",
                    [],
                )
            )
    return found


def image_size(rule: Rule, context: GateContext) -> Found:
    """ai-toolkit keeps an image's area up to resolution² and never upscales
    (toolkit/buckets.py:20-23); kohya upscales to its buckets unless
    bucket_no_upscale (train_util.py:288-306)."""
    found: Found = []
    for run in context.runs:
        plan = _plan(context, run)
        dataset = run.dataset
        largest = max(dataset.resolutions)
        small = [
            (c, s)
            for c, s in zip(run.captions, run.sizes, strict=True)
            if s is not None and s[0] * s[1] < largest * largest * 0.9
        ]
        if not small:
            continue
        names = _files([c.image for c, _ in small])
        if plan.trainer == "ai-toolkit" or dataset.bucket_no_upscale:
            w, h = bucket(plan.trainer, dataset, *small[0][1], largest)
            detail = (
                f"{len(small)} images have less than {largest}x{largest} pixels of area: "
                "they train "
                f"at their own, smaller size (e.g. {w}x{h})"
            )
        else:
            detail = (
                f"{len(small)} images are smaller than {largest}x{largest}: kohya upscales "
                "them (softer detail)"
            )
        found.append((_folder(dataset), detail, names))
    return found


def multiline(rule: Rule, context: GateContext) -> Found:
    found: Found = []
    for run in context.runs:
        if _plan(context, run).trainer != "kohya" or run.dataset.enable_wildcard:
            continue
        lines = [c for c in run.captions if c.dropped_lines]
        if lines:
            found.append(
                (
                    _folder(run.dataset),
                    f"{len(lines)} captions have several lines and enable_wildcard is off: "
                    "kohya trains only their first line",
                    _files([c.caption_file or c.image for c in lines]),
                )
            )
    return found


def te_cache_shuffle(rule: Rule, context: GateContext) -> Found:
    found: Found = []
    for run in context.runs:
        plan = _plan(context, run)
        dataset = run.dataset
        if plan.trainer != "kohya" or not plan.flux or not plan.cache_text_encoder_outputs:
            continue
        if dataset.shuffle or dataset.caption_dropout > 0 or dataset.token_dropout > 0:
            what = "shuffle_caption" if dataset.shuffle else "caption dropout"
            found.append(
                (
                    _config(context, run.plan_index),
                    f"{_folder(dataset)}: cache_text_encoder_outputs with {what}: kohya's Flux "
                    "training stops with an assertion",
                    [],
                )
            )
    return found


def missing_captions(rule: Rule, context: GateContext) -> Found:
    """Images that train on an empty caption (or the bare trigger)."""
    found: Found = []
    for run in context.runs:
        plan = _plan(context, run)
        trigger = _trigger(context, run) or ""
        empty = [
            c
            for c in run.captions
            if c.problem is None
            and c.fallback not in {"class_tokens", "default_caption"}
            and (not c.text.strip() or c.text.strip() == trigger.strip())
        ]
        if not empty:
            continue
        missing = sum(1 for c in empty if c.source == "none")
        becomes = (
            f"the bare trigger {trigger!r}"
            if trigger and plan.trainer == "ai-toolkit" and not run.dataset.is_reg
            else "an empty caption"
        )
        if run.dataset.caption_source == "metadata":
            name = run.dataset.metadata_file.name if run.dataset.metadata_file else "metadata"
            source = f"no entry in {name}"
        else:
            source = f"no {run.dataset.caption_extension} file"
        detail = f"{len(empty)} of {len(run.captions)} images train on {becomes}"
        if missing:
            detail += f" ({missing} with {source})"
        jsonl = [p for p in {c.image.parent for c in empty} if (p / "metadata.jsonl").is_file()]
        if jsonl and run.dataset.caption_source == "sidecar":
            detail += f"; {plan.trainer} never reads the metadata.jsonl beside them"
        found.append((_folder(run.dataset), detail, _files([c.image for c in empty])))
    return found


def gpu(rule: Rule, context: GateContext) -> Found:
    check = rule.check
    assert isinstance(check, TrainingCheck)
    facts = context.gpu
    if facts is None:
        return []
    plan = context.plans[0]
    where = _config(context)
    device = (plan.device or "cuda").lower()
    if facts.error:
        return [(where, f"the GPU could not be queried: {facts.error}", [])]
    if not facts.torch:
        return [
            (
                where,
                "torch is not installed here, so no GPU could be checked "
                "(install lintcap[llm], or --no-gpu-check to skip)",
                [],
            )
        ]
    if device.startswith("mps"):
        return (
            []
            if facts.mps
            else [(where, "the config asks for device mps but torch sees no MPS device", [])]
        )
    if device.startswith("cpu"):
        return [(where, "the config trains on the CPU", [])]
    if not facts.cuda:
        return [(where, "no CUDA or ROCm device is visible to torch", [])]
    need = check.low_memory_gb if plan.low_memory else check.memory_gb
    if plan.flux and facts.memory_gb is not None and facts.memory_gb < need:
        return [
            (
                where,
                f"{facts.name} has {facts.memory_gb:.0f} GB; this Flux run needs about {need:g} GB",
                [],
            )
        ]
    return []


def disk(rule: Rule, context: GateContext) -> Found:
    found: Found = []
    for run in context.runs:
        dataset = run.dataset
        if not dataset.folder.is_dir():
            continue
        per_image = sum(16 * (r // 8) ** 2 * 2 for r in dataset.resolutions) * 2
        need_gb = len(run.captions) * per_image / 1024**3
        free = free_disk_gb(dataset.folder)
        if free < need_gb:
            found.append(
                (
                    _folder(dataset),
                    f"cached latents need about {need_gb:.1f} GB; {free:.1f} GB free",
                    [],
                )
            )
    return found


def kohya_epoch_batches(plan: TrainingPlan, runs: list[DatasetRun]) -> int:
    """len(train_dataloader): per dataset-level batch size, per bucket,
    ceil(images with repeats / batch) (train_util.py BaseDataset.make_buckets)."""
    counts = [len(r.captions) for r in runs]
    reg_repeats = passes.kohya_reg_repeats(plan, counts)
    total = 0
    for run in runs:
        dataset = run.dataset
        each = passes.drawn(plan, dataset, reg_repeats)
        per_bucket: Counter[tuple[int, int]] = Counter()
        for size in run.sizes:
            key = bucket("kohya", dataset, *size, max(dataset.resolutions)) if size else (0, 0)
            per_bucket[key] += 1
        batch = passes.batch_of(plan, dataset)
        total += sum(math.ceil(n * each / batch) for n in per_bucket.values())
    return total


def _within(value: float, check: TrainingCheck) -> bool:
    return (check.min is None or value >= check.min) and (check.max is None or value <= check.max)


def _range(check: TrainingCheck) -> str:
    return (
        f"{check.min:g}-{check.max:g}"
        if check.min is not None and check.max is not None
        else "its range"
    )


TRAINING_CHECKS: dict[str, TrainingCheckFunction] = {
    "config-notes": config_notes,
    "no-images": no_images,
    "caption-read": caption_read,
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
