"""ai-toolkit's job file, read the way ai-toolkit reads it.

Source: ostris/ai-toolkit@27a03a91f23eb1b757d5ec2e80ee3e129cfcc350; every
rule below cites the file and line it follows (docs/trainers.md lists them).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from lintcap.gate import values
from lintcap.gate.configfile import read_config_bytes, resolve_as_given
from lintcap.gate.plan import ConfigNote, PlannedDataset, TrainerConfigError, TrainingPlan
from lintcap.gate.vocabulary import vocabulary

_ENV = re.compile(r"\$\{([^}]+)\}")
#: toolkit/config.py:54-65: YAML floats written without a dot (1e-4) are floats.
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with ai-toolkit's float resolver."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def read_job(path: Path) -> dict[str, Any]:
    """The job as ai-toolkit's get_config returns it (toolkit/config.py:68-110)."""
    suffix = path.suffix.lower()
    if suffix not in {".json", ".jsonc", ".yaml", ".yml"}:
        # toolkit/config.py:103-108
        raise TrainerConfigError(f"{path}: ai-toolkit reads .json, .jsonc, .yaml or .yml configs")
    content = _read_text(path)
    # toolkit/config.py:20-35, 102: ${VAR} from the environment; unset is an error.
    missing = sorted({m.group(1) for m in _ENV.finditer(content) if m.group(1) not in os.environ})
    if missing:
        raise TrainerConfigError(
            f"{path}: environment variable {missing[0]} is not set (ai-toolkit replaces "
            "${...} before reading the config and stops when one is missing)"
        )
    content = _ENV.sub(lambda m: os.environ[m.group(1)], content)
    try:
        if suffix in {".json", ".jsonc"}:
            # toolkit/config.py:103-104: plain json.loads, so .jsonc comments fail too.
            data = json.loads(content)
        else:
            data = yaml.load(content, Loader=_Loader)
    except (json.JSONDecodeError, yaml.YAMLError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrainerConfigError(f"{path}: invalid {suffix[1:].upper()}: {first}") from None
    if not isinstance(data, dict):
        raise TrainerConfigError(f"{path}: expected a mapping at the top level")
    # toolkit/config.py:38-44
    if "job" not in data:
        raise TrainerConfigError(f"{path}: not an ai-toolkit config: no 'job' key")
    config = data.get("config")
    if not isinstance(config, dict):
        raise TrainerConfigError(f"{path}: not an ai-toolkit config: no 'config' section")
    name = config.get("name")
    if not isinstance(name, str):
        raise TrainerConfigError(f"{path}: config.name is missing (ai-toolkit requires it)")
    # toolkit/config.py:45-50: "[name]" is replaced everywhere by config.name.
    try:
        replaced = json.loads(json.dumps(data).replace("[name]", name.replace('"', '\\"')))
    except (TypeError, ValueError):
        raise TrainerConfigError(f"{path}: config holds values ai-toolkit cannot read") from None
    return dict(replaced)


def load_ai_toolkit(path: Path) -> list[TrainingPlan]:
    """One plan per ``config.process`` entry that trains on datasets: ai-toolkit
    runs every process in turn (jobs/ExtensionJob.py:21-22)."""
    job = read_job(path)
    words = vocabulary("ai-toolkit")
    kind = job["job"]
    # toolkit/job.py:15-35
    if kind not in words["jobs"]:
        raise TrainerConfigError(
            f"{path}: unknown job type {kind!r}{values.did_you_mean(str(kind), words['jobs'])}"
        )
    processes = job["config"].get("process")
    # jobs/BaseJob.py:44-47
    if not isinstance(processes, list) or not processes:
        raise TrainerConfigError(f"{path}: config.process must be a non-empty list")
    known = words["process_types"].get(kind, [])
    plans = []
    for index, process in enumerate(processes):
        if not isinstance(process, dict) or "type" not in process:
            raise TrainerConfigError(f"{path}: config.process[{index}] has no type")
        ptype = process["type"]
        # jobs/BaseJob.py:58-66
        if ptype not in known:
            raise TrainerConfigError(
                f"{path}: config.process[{index}].type {ptype!r} is not a {kind} process "
                f"ai-toolkit knows{values.did_you_mean(str(ptype), known)}"
            )
        if ptype not in words["trains_on_datasets"]:
            continue
        plans.append(_plan(path, job, index, process))
    if not plans:
        raise TrainerConfigError(f"{path}: no process of this job trains on datasets")
    return plans


def _plan(path: Path, job: dict[str, Any], index: int, process: dict[str, Any]) -> TrainingPlan:
    where = f"config.process[{index}]"
    trigger = process.get("trigger_word")  # BaseSDTrainProcess.py:135
    if trigger is not None:
        trigger = values.text(trigger, f"{where}.trigger_word")
    train = _section(process, "train", where)
    network = _section(process, "network", where)
    model = _section(process, "model", where)
    raw_datasets = process.get("datasets")
    if not isinstance(raw_datasets, list) or not raw_datasets:
        raise TrainerConfigError(f"{path}: {where}.datasets must be a non-empty list")
    batch = values.integer(train.get("batch_size", 1), f"{where}.train.batch_size", 1)
    datasets = [
        _dataset(raw, f"{where}.datasets[{n}]", trigger, index)
        for n, raw in enumerate(raw_datasets)
    ]
    bucketed = {d.enable_bucket for d in datasets}
    if len(bucketed) > 1:
        # data_loader.py:745-747 asserts all datasets bucket or none do.
        raise TrainerConfigError(
            f"{path}: {where}: some datasets set buckets: false and others do not; "
            "ai-toolkit needs all buckets or none"
        )
    if bucketed == {False} and any(d.batch_size is not None for d in datasets):
        # data_loader.py:757-764
        raise TrainerConfigError(
            f"{path}: {where}: a dataset-level batch_size needs buckets enabled (ai-toolkit stops)"
        )
    # config_modules.py:456-463: the legacy gradient_accumulation_steps only
    # delays the optimizer step; gradient_accumulation draws that many batches
    # per step (BaseSDTrainProcess.py:2565). Both above 1 is refused.
    accumulation = values.integer(
        train.get("gradient_accumulation", 1), f"{where}.train.gradient_accumulation", 1
    )
    legacy = values.integer(
        train.get("gradient_accumulation_steps", 1),
        f"{where}.train.gradient_accumulation_steps",
        -1,
    )
    if accumulation > 1 and legacy != 1:
        raise TrainerConfigError(
            f"{path}: {where}.train: gradient_accumulation and gradient_accumulation_steps "
            "are mutually exclusive (ai-toolkit stops)"
        )
    notes = []
    if legacy > 1:
        notes.append(
            ConfigNote(
                code="T013",
                severity="info",
                message=(
                    f"{where}.train.gradient_accumulation_steps {legacy} is ai-toolkit's legacy "
                    "accumulation: one batch per step, the optimizer steps every "
                    f"{legacy}; use gradient_accumulation to draw {legacy} batches per step"
                ),
            )
        )
    steps_given = "steps" in train
    arch = str(model.get("arch") or "")
    name = str(model.get("name_or_path") or "")
    return TrainingPlan(
        trainer="ai-toolkit",
        config_path=path,
        datasets=datasets,
        process=index,
        process_type=str(process["type"]),
        trigger=trigger,
        # config_modules.py:380: 1000 steps when unset.
        steps=values.integer(train.get("steps", 1000), f"{where}.train.steps", 0),
        steps_source="config" if steps_given else "default",
        learning_rate=values.number(train.get("lr", 1e-6), f"{where}.train.lr"),  # :381
        optimizer=str(train.get("optimizer", "adamw")),  # :387
        batch_size=batch,
        gradient_accumulation=accumulation,
        network_type=str(network["type"]) if network.get("type") is not None else None,
        rank=values.integer(network["linear"], f"{where}.network.linear")
        if network.get("linear") is not None
        else None,
        alpha=values.number(network["linear_alpha"], f"{where}.network.linear_alpha")
        if network.get("linear_alpha") is not None
        else None,
        flux=bool(model.get("is_flux")) or arch.startswith("flux") or "flux" in name.lower(),
        low_memory=bool(model.get("quantize")) or bool(model.get("low_vram")),
        device=str(process.get("device") or job["config"].get("device") or "") or None,
        notes=notes,
    )


def _dataset(raw: Any, where: str, trigger: str | None, process: int) -> PlannedDataset:
    """toolkit/config_modules.py:917-1032 (DatasetConfig) with the process'
    trigger for datasets that set none (BaseSDTrainProcess.py:168-169)."""
    if not isinstance(raw, dict):
        raise TrainerConfigError(f"{where} must be a mapping")
    # data_loader.py:399-402: dataset_path wins over folder_path.
    folder = raw.get("dataset_path") or raw.get("folder_path")
    if not folder:
        raise TrainerConfigError(f"{where} has neither folder_path nor dataset_path")
    # ai-toolkit opens dataset paths as given (data_loader.py:428).
    folder_path = resolve_as_given(values.text(folder, f"{where}.folder_path"))
    extension = raw.get("caption_ext", ".txt")
    if raw.get("caption_type"):  # config_modules.py:1029-1031 (legacy)
        extension = raw["caption_type"]
    resolution = raw.get("resolution", 512)
    resolutions = resolution if isinstance(resolution, list) else [resolution]
    if not resolutions:
        raise TrainerConfigError(f"{where}.resolution is an empty list")
    own_trigger = raw.get("trigger_word")
    batch = raw.get("batch_size")
    flips = (2 if raw.get("flip_x") else 1) * (
        2 if raw.get("flip_y") else 1
    )  # data_loader.py:575-592
    return PlannedDataset(
        folder=folder_path,
        caption_extension=values.caption_extension(extension, f"{where}.caption_ext"),
        # data_loader.py:428-447: a folder is walked; anything else is a JSON caption file.
        caption_source="sidecar" if not folder_path.is_file() else "metadata",
        metadata_file=folder_path if folder_path.is_file() else None,
        recursive=True,  # data_loader.py:439-441: os.walk, hidden folders pruned
        trigger=values.text(own_trigger, f"{where}.trigger_word") if own_trigger else trigger,
        # data_loader.py:452-454: the list is repeated only when num_repeats > 1.
        repeats=max(1, values.integer(raw.get("num_repeats", 1), f"{where}.num_repeats", 0)),
        resolutions=[values.integer(r, f"{where}.resolution", 8) for r in resolutions],
        shuffle=bool(raw.get("shuffle_tokens", False)),
        keep_tokens=values.integer(raw.get("keep_tokens", 0), f"{where}.keep_tokens"),
        caption_dropout=values.number(
            raw.get("caption_dropout_rate", 0.0), f"{where}.caption_dropout_rate"
        ),
        token_dropout=values.number(
            raw.get("token_dropout_rate", 0.0), f"{where}.token_dropout_rate"
        ),
        is_reg=bool(raw.get("is_reg", False)),
        default_caption=values.text(raw["default_caption"], f"{where}.default_caption")
        if raw.get("default_caption") is not None
        else None,
        batch_size=values.integer(batch, f"{where}.batch_size", 1) if batch is not None else None,
        flips=flips,
        enable_bucket=bool(raw.get("buckets", True)),
        bucket_divisibility=values.integer(
            raw.get("bucket_tolerance", 64), f"{where}.bucket_tolerance", 1
        ),
        square_crop=bool(raw.get("square_crop", False)),
        cache_text_embeddings=bool(raw.get("cache_text_embeddings", False)),
        process=process,
    )


def _section(process: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    section = process.get(key) or {}
    if not isinstance(section, dict):
        raise TrainerConfigError(f"{where}.{key} must be a mapping")
    return section


def _read_text(path: Path) -> str:
    data = read_config_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TrainerConfigError(f"{path}: not UTF-8 text") from None
