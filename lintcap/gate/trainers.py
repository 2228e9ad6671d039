"""The trainers' own configuration files, read into one training plan.

Only the keys that decide what a run trains on are modelled; every other key
is accepted and ignored, as the trainers themselves do. ai-toolkit: a YAML job
(``config.process[]`` with ``datasets``, ``train``, ``network``, ``model``).
kohya sd-scripts: a dataset TOML (``[general]``, ``[[datasets]]``,
``[[datasets.subsets]]``), or a ``train_data_dir`` of ``N_name`` folders,
plus the training arguments of the command line.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lintcap.errors import validation_message

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Trainer = Literal["ai-toolkit", "kohya"]


class TrainerConfigError(Exception):
    """The trainer's config is unreadable, malformed or of an unknown shape."""


class PlannedDataset(BaseModel):
    """One folder of images as the trainer will read it."""

    folder: Path
    caption_extension: str
    trigger: str | None = None
    repeats: int = 1
    resolutions: list[int] = [512]
    shuffle: bool = False
    keep_tokens: int = 0
    caption_dropout: float = 0.0
    is_reg: bool = False
    enable_wildcard: bool = False
    default_caption: str | None = None
    class_tokens: str | None = None


class TrainingPlan(BaseModel):
    trainer: Trainer
    config_path: Path
    datasets: list[PlannedDataset]
    trigger: str | None = None
    steps: int | None = None
    learning_rate: float | None = None
    batch_size: int = 1
    gradient_accumulation: int = 1
    network_type: str | None = None
    rank: int | None = None
    alpha: float | None = None
    flux: bool = False
    #: Quantised or low-VRAM model loading (needs less GPU memory).
    low_memory: bool = False
    cache_text_encoder_outputs: bool = False


# --- ai-toolkit --------------------------------------------------------------


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class _AiDataset(_Loose):
    folder_path: str | None = None
    dataset_path: str | None = None
    caption_ext: str = "txt"
    trigger_word: str | None = None
    default_caption: str | None = None
    caption_dropout_rate: float = 0.05
    shuffle_tokens: bool = False
    keep_tokens: int = 0
    num_repeats: int = 1
    resolution: int | list[int] = 512
    is_reg: bool = False

    @field_validator("resolution")
    @classmethod
    def _positive(cls, value: int | list[int]) -> int | list[int]:
        values = value if isinstance(value, list) else [value]
        if not values or any(v <= 0 for v in values):
            raise ValueError("resolutions must be positive")
        return value


class _AiTrain(_Loose):
    steps: int | None = None
    lr: float | None = None
    batch_size: int = 1
    gradient_accumulation_steps: int | None = None
    gradient_accumulation: int | None = None


class _AiNetwork(_Loose):
    type: str | None = None
    linear: int | None = None
    linear_alpha: float | None = None


class _AiModel(_Loose):
    name_or_path: str | None = None
    is_flux: bool = False
    arch: str | None = None
    quantize: bool = False
    low_vram: bool = False


class _AiProcess(_Loose):
    type: str | None = None
    trigger_word: str | None = None
    datasets: list[_AiDataset] = Field(min_length=1)
    train: _AiTrain = _AiTrain()
    network: _AiNetwork = _AiNetwork()
    model: _AiModel = _AiModel()


class _AiConfig(_Loose):
    process: list[_AiProcess] = Field(min_length=1)


class _AiJob(_Loose):
    job: str | None = None
    config: _AiConfig


def load_ai_toolkit(path: Path) -> TrainingPlan:
    """Read an ai-toolkit job file; the first process is the one trained."""
    data = _read(path, _load_yaml)
    try:
        job = _AiJob.model_validate(data)
    except ValidationError as exc:
        raise TrainerConfigError(
            f"{path}: not an ai-toolkit config: {validation_message(exc)}"
        ) from None
    process = job.config.process[0]
    datasets = []
    for dataset in process.datasets:
        folder = dataset.folder_path or dataset.dataset_path
        if not folder:
            raise TrainerConfigError(f"{path}: a dataset has no folder_path")
        resolutions = (
            dataset.resolution if isinstance(dataset.resolution, list) else [dataset.resolution]
        )
        datasets.append(
            PlannedDataset(
                folder=_resolve(folder, path),
                caption_extension=_dotted(dataset.caption_ext),
                trigger=dataset.trigger_word or process.trigger_word,
                repeats=dataset.num_repeats,
                resolutions=resolutions,
                shuffle=dataset.shuffle_tokens,
                keep_tokens=dataset.keep_tokens,
                caption_dropout=dataset.caption_dropout_rate,
                is_reg=dataset.is_reg,
                default_caption=dataset.default_caption,
            )
        )
    train = process.train
    model = process.model
    return TrainingPlan(
        trainer="ai-toolkit",
        config_path=path,
        datasets=datasets,
        trigger=process.trigger_word,
        steps=train.steps,
        learning_rate=train.lr,
        batch_size=train.batch_size,
        gradient_accumulation=train.gradient_accumulation_steps or train.gradient_accumulation or 1,
        network_type=process.network.type,
        rank=process.network.linear,
        alpha=process.network.linear_alpha,
        flux=model.is_flux
        or (model.arch or "").startswith("flux")
        or "flux" in (model.name_or_path or "").lower(),
        low_memory=model.quantize or model.low_vram,
    )


# --- kohya sd-scripts ----------------------------------------------------------

#: Subset keys that may also be set on the dataset or in [general].
_INHERITED = (
    "caption_extension",
    "num_repeats",
    "shuffle_caption",
    "keep_tokens",
    "caption_dropout_rate",
    "enable_wildcard",
    "class_tokens",
    "resolution",
)
#: kohya's own defaults (library/config_util.py): note ".caption".
_KOHYA_DEFAULTS: dict[str, Any] = {
    "caption_extension": ".caption",
    "num_repeats": 1,
    "shuffle_caption": False,
    "keep_tokens": 0,
    "caption_dropout_rate": 0.0,
    "enable_wildcard": False,
    "class_tokens": None,
    "resolution": None,
}


def _kohya_arguments(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--learning_rate", type=float)
    parser.add_argument("--unet_lr", type=float)
    parser.add_argument("--max_train_steps", type=int)
    parser.add_argument("--train_batch_size", type=int)
    parser.add_argument("--gradient_accumulation_steps", type=int)
    parser.add_argument("--network_module")
    parser.add_argument("--network_dim", type=int)
    parser.add_argument("--network_alpha", type=float)
    parser.add_argument("--resolution")
    parser.add_argument("--caption_extension")
    parser.add_argument("--shuffle_caption", action="store_true")
    parser.add_argument("--keep_tokens", type=int)
    parser.add_argument("--caption_dropout_rate", type=float)
    parser.add_argument("--enable_wildcard", action="store_true")
    parser.add_argument("--cache_text_encoder_outputs", action="store_true")
    parser.add_argument("--cache_text_encoder_outputs_to_disk", action="store_true")
    parser.add_argument("--fp8_base", action="store_true")
    parser.add_argument("--pretrained_model_name_or_path")
    parser.add_argument("--train_data_dir")
    parser.add_argument("--dataset_config")
    known, _ = parser.parse_known_args(args)
    return known


def load_kohya(path: Path, args: list[str], command: list[str]) -> TrainingPlan:
    """Read a kohya dataset TOML (or ``N_name`` folders) and training arguments.

    Arguments come from ``--args`` and from the training command itself."""
    options = _kohya_arguments([*args, *command])
    script = " ".join(command).lower()
    flux = "flux" in script or "flux" in (options.pretrained_model_name_or_path or "").lower()
    cli_defaults: dict[str, Any] = {}
    for key in ("caption_extension", "keep_tokens", "caption_dropout_rate"):
        if getattr(options, key) is not None:
            cli_defaults[key] = getattr(options, key)
    for key in ("shuffle_caption", "enable_wildcard"):
        if getattr(options, key):
            cli_defaults[key] = True
    if options.resolution:
        cli_defaults["resolution"] = options.resolution
    if path.is_dir():
        datasets = _kohya_folders(path, {**_KOHYA_DEFAULTS, **cli_defaults})
    else:
        datasets = _kohya_toml(path, {**_KOHYA_DEFAULTS, **cli_defaults})
    return TrainingPlan(
        trainer="kohya",
        config_path=path,
        datasets=datasets,
        steps=options.max_train_steps,
        learning_rate=options.unet_lr or options.learning_rate,
        batch_size=options.train_batch_size or 1,
        gradient_accumulation=options.gradient_accumulation_steps or 1,
        network_type=options.network_module,
        rank=options.network_dim,
        alpha=options.network_alpha,
        flux=flux,
        low_memory=options.fp8_base,
        cache_text_encoder_outputs=options.cache_text_encoder_outputs
        or options.cache_text_encoder_outputs_to_disk,
    )


def _kohya_toml(path: Path, defaults: dict[str, Any]) -> list[PlannedDataset]:
    data = _read(path, _load_toml)
    general = data.get("general", {})
    raw_datasets = data.get("datasets")
    if not isinstance(general, dict) or not isinstance(raw_datasets, list) or not raw_datasets:
        raise TrainerConfigError(f"{path}: not a kohya dataset config: no [[datasets]]")
    planned = []
    for number, dataset in enumerate(raw_datasets, start=1):
        subsets = dataset.get("subsets") if isinstance(dataset, dict) else None
        if not isinstance(subsets, list) or not subsets:
            raise TrainerConfigError(f"{path}: dataset {number} has no [[datasets.subsets]]")
        for subset in subsets:
            if not isinstance(subset, dict) or not isinstance(subset.get("image_dir"), str):
                raise TrainerConfigError(f"{path}: dataset {number}: a subset has no image_dir")
            merged = {**defaults, **_pick(general), **_pick(dataset), **_pick(subset)}
            planned.append(
                _kohya_dataset(
                    _resolve(subset["image_dir"], path), merged, bool(subset.get("is_reg", False))
                )
            )
    return planned


def _kohya_folders(train_data_dir: Path, defaults: dict[str, Any]) -> list[PlannedDataset]:
    planned = []
    for folder in sorted(p for p in train_data_dir.iterdir() if p.is_dir()):
        repeats, _, name = folder.name.partition("_")
        if repeats.isdigit() and name:
            settings = {**defaults, "num_repeats": int(repeats), "class_tokens": name}
            planned.append(_kohya_dataset(folder, settings, is_reg=False))
    if not planned:
        raise TrainerConfigError(f"{train_data_dir}: no kohya N_name folders inside")
    return planned


def _kohya_dataset(folder: Path, settings: dict[str, Any], is_reg: bool) -> PlannedDataset:
    try:
        return PlannedDataset(
            folder=folder,
            caption_extension=_dotted(str(settings["caption_extension"])),
            trigger=None,
            repeats=int(settings["num_repeats"]),
            resolutions=_resolutions(settings["resolution"]),
            shuffle=bool(settings["shuffle_caption"]),
            keep_tokens=int(settings["keep_tokens"]),
            caption_dropout=float(settings["caption_dropout_rate"]),
            enable_wildcard=bool(settings["enable_wildcard"]),
            class_tokens=settings["class_tokens"],
            is_reg=is_reg,
        )
    except (ValueError, TypeError, ValidationError) as exc:
        raise TrainerConfigError(f"{folder}: bad dataset setting: {exc}") from None


def _resolutions(value: Any) -> list[int]:
    """kohya's resolution: an int, [w, h], or the command line's "w,h"."""
    if value is None:
        return [512]
    if isinstance(value, str):
        value = [int(part) for part in value.split(",")]
    if isinstance(value, list):
        return [max(int(v) for v in value)]
    return [int(value)]


def _pick(table: dict[str, Any]) -> dict[str, Any]:
    return {key: table[key] for key in _INHERITED if key in table}


# --- shared --------------------------------------------------------------------


def _dotted(extension: str) -> str:
    return extension if extension.startswith(".") else f".{extension}"


def _resolve(folder: str, config: Path) -> Path:
    """A dataset folder as the trainer would find it: absolute as given, else
    relative to the config's folder when it exists there, else to here."""
    path = Path(os.path.expanduser(folder))
    if path.is_absolute():
        return path
    beside = config.parent / path
    return beside if beside.exists() else Path.cwd() / path


def _read(path: Path, loader: Any) -> dict[str, Any]:
    try:
        data = loader(path)
    except OSError as exc:
        raise TrainerConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise TrainerConfigError(f"{path}: expected a mapping at the top level")
    return data


def _load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TrainerConfigError(f"{path}: invalid YAML: {exc}") from None


def _load_toml(path: Path) -> Any:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrainerConfigError(f"{path}: invalid TOML: {exc}") from None


def split_args(value: str | None) -> list[str]:
    return shlex.split(value) if value else []
