"""kohya sd-scripts' inputs, read the way sd-scripts reads them.

A run is a dataset config (TOML or JSON, ``--dataset_config``), or a
``train_data_dir`` of ``N_name`` folders, or ``--in_json`` fine-tuning
metadata; plus the training arguments (the command line, ``--args``, and a
``--config_file`` TOML). Source: kohya-ss/sd-scripts@48d368fa557731ad0488c07304dfeba8c07910eb,
cited line by line below and in docs/trainers.md. FluxGym writes exactly
these (cocktailpeanut/fluxgym app.py:514-533 the dataset TOML, 377-479 the
command); the kohya_ss GUI saves its settings as a TOML or JSON of the same
argument names (read as a training config).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, NoReturn

from lintcap.gate import values
from lintcap.gate.configfile import read_config_bytes, resolve_as_given
from lintcap.gate.plan import ConfigNote, PlannedDataset, TrainerConfigError, TrainingPlan
from lintcap.gate.vocabulary import vocabulary

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: library/train_util.py argument defaults that decide what a run trains on.
_ARGUMENT_DEFAULTS: dict[str, Any] = {
    "caption_extension": ".caption",  # train_util.py:4493
    "keep_tokens": 0,  # :4502-4504
    "keep_tokens_separator": "",  # :4508-4510
    "caption_separator": ",",  # :4491
    "train_batch_size": 1,  # :3900
    "max_train_steps": 1600,  # :3952
    "learning_rate": 2.0e-6,  # :3701
    "gradient_accumulation_steps": 1,  # :3975
}
#: DreamBoothSubsetParams / DreamBoothDatasetParams defaults (config_util.py:45-120).
_SUBSET_DEFAULTS: dict[str, Any] = {
    "num_repeats": 1,
    "shuffle_caption": False,
    "caption_separator": ",",
    "keep_tokens": 0,
    "keep_tokens_separator": "",
    "secondary_separator": None,
    "enable_wildcard": False,
    "caption_prefix": None,
    "caption_suffix": None,
    "caption_dropout_rate": 0.0,
    "caption_tag_dropout_rate": 0.0,
    "token_warmup_step": 0,
    "flip_aug": False,
    "class_tokens": None,
    "caption_extension": ".caption",  # config_util.py:85
    "is_reg": False,
    "batch_size": 1,
    "enable_bucket": False,  # config_util.py:115
    "min_bucket_reso": 256,
    "max_bucket_reso": 1024,
    "bucket_reso_steps": 64,
    "bucket_no_upscale": False,
    "resolution": None,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's multi-line usage dump, as one line
        raise TrainerConfigError(f"training arguments: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(add_help=False, allow_abbrev=False, exit_on_error=False)
    for name in ("learning_rate", "unet_lr", "caption_dropout_rate", "network_alpha"):
        parser.add_argument(f"--{name}", type=float)
    for name in (
        "max_train_steps",
        "max_train_epochs",
        "train_batch_size",
        "gradient_accumulation_steps",
        "network_dim",
        "keep_tokens",
        "dataset_repeats",
        "max_bucket_reso",
        "min_bucket_reso",
        "bucket_reso_steps",
    ):
        parser.add_argument(f"--{name}", type=int)
    for name in (
        "network_module",
        "resolution",
        "caption_extension",
        "caption_extention",
        "keep_tokens_separator",
        "caption_separator",
        "optimizer_type",
        "pretrained_model_name_or_path",
        "train_data_dir",
        "reg_data_dir",
        "in_json",
        "dataset_config",
        "config_file",
        "caption_prefix",
        "caption_suffix",
        "class_tokens",
    ):
        parser.add_argument(f"--{name}")
    for name in (
        "shuffle_caption",
        "enable_wildcard",
        "cache_text_encoder_outputs",
        "cache_text_encoder_outputs_to_disk",
        "fp8_base",
        "enable_bucket",
        "bucket_no_upscale",
        "flip_aug",
    ):
        parser.add_argument(f"--{name}", action="store_true", default=None)
    return parser


def _arguments(
    command: list[str], path_for_errors: Path
) -> tuple[dict[str, Any], list[ConfigNote]]:
    """The training arguments: ``--config_file`` values, then the command line
    over them (train_util.py:4740-4761: parse_args(namespace=config_args))."""
    parser = _parser()
    try:
        known, _ = parser.parse_known_args(command)
    except argparse.ArgumentError as exc:
        raise TrainerConfigError(f"training arguments: {exc}") from None
    given = {k: v for k, v in vars(known).items() if v is not None}
    notes: list[ConfigNote] = []
    merged: dict[str, Any] = {}
    if given.get("config_file"):
        name = str(given["config_file"])
        # train_util.py:4704: ".toml" is appended when missing.
        config_file = Path(name if name.endswith(".toml") else name + ".toml")
        file_values, notes = read_training_config(config_file)
        merged.update(file_values)
    merged.update(given)
    # train_util.py:5404-5406: the misspelt --caption_extention is an accepted alias.
    if merged.get("caption_extention") is not None:
        merged["caption_extension"] = merged.pop("caption_extention")
    return merged, notes


def read_training_config(path: Path) -> tuple[dict[str, Any], list[ConfigNote]]:
    """A ``--config_file`` TOML (or a kohya_ss GUI TOML/JSON of the same
    names): sections are flattened (train_util.py:4748-4758); keys that no
    script declares are set on the namespace and never read: a warning."""
    data = _load(path)
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    _from_gui(flat)
    known = vocabulary("kohya")["arguments"]
    ignored = sorted(k for k in flat if k not in known and k != "gui_epochs")
    notes = []
    if ignored:
        shown = ", ".join(f"{k!r}{values.did_you_mean(k, known)}" for k in ignored[:8])
        more = f" and {len(ignored) - 8} more" if len(ignored) > 8 else ""
        notes.append(
            ConfigNote(
                code="T015",
                severity="warning",
                message=f"sd-scripts ignores {len(ignored)} key(s) of {path.name}: {shown}{more}",
            )
        )
    if "caption_extention" in flat and "caption_extension" not in flat:
        flat["caption_extension"] = flat["caption_extention"]
    return {k: v for k, v in flat.items() if k in known or k == "gui_epochs"}, notes


#: kohya_ss GUI setting -> the sd-scripts argument it is passed as
#: (bmaltais/kohya_ss@45088f04 kohya_gui/lora_gui.py:2292, 2305).
_GUI_NAMES = {"optimizer": "optimizer_type", "max_resolution": "resolution"}


def _from_gui(flat: dict[str, Any]) -> None:
    """A kohya_ss GUI save: its own names become sd-scripts arguments, and its
    ``epoch`` sets the steps when neither max_train_steps nor
    max_train_epochs does (lora_gui.py:1720-1730, 2201, 2252-2255)."""
    for gui, argument in _GUI_NAMES.items():
        if gui in flat and argument not in flat:
            flat[argument] = flat.pop(gui)
    epoch = flat.pop("epoch", None)
    for key in ("max_train_steps", "max_train_epochs"):
        if flat.get(key) == 0:  # the GUI's 0 means "not set" (lora_gui.py:2252-2255)
            flat.pop(key)
    if isinstance(epoch, int) and epoch > 0 and "max_train_steps" not in flat:
        flat["gui_epochs"] = epoch


def is_training_config(path: Path) -> bool:
    """A training TOML/JSON (arguments), not a dataset config ([[datasets]])."""
    if path.is_dir():
        return False
    data = _load(path)
    return "datasets" not in data and "general" not in data


def script_arguments(command: list[str]) -> list[str]:
    """The training script's own arguments: what follows the first ``*.py`` of
    ``accelerate launch [accelerate options] train_network.py ...`` (accelerate
    has options of its own, ``--config_file`` among them); the whole list when
    no script is named."""
    for index, token in enumerate(command):
        if token.endswith(".py"):
            return command[index + 1 :]
    return command


def load_kohya(path: Path, command: list[str], script: str = "") -> TrainingPlan:
    """Read the run: ``path`` is a dataset config, a training config, or a
    ``train_data_dir``; ``command`` the training arguments (``--args`` and the
    script's); ``script`` the whole command line (it names the model family)."""
    notes: list[ConfigNote] = []
    if path.is_file() and is_training_config(path):
        file_values, notes = read_training_config(path)
        arguments, more = _arguments(command, path)
        arguments = {**file_values, **arguments}
        notes += more
    else:
        arguments, notes = _arguments(command, path)
    merged_args = {**_ARGUMENT_DEFAULTS, **arguments}
    defaults = _subset_fallbacks(merged_args)
    refused: list[str] = []
    if path.is_file() and not is_training_config(path):
        datasets = _from_dataset_config(path, defaults, refused)
    elif merged_args.get("dataset_config"):
        # train_network.py:518-527: a dataset config wins over train_data_dir/in_json.
        datasets = _from_dataset_config(Path(str(merged_args["dataset_config"])), defaults, refused)
    elif path.is_dir() or merged_args.get("train_data_dir"):
        folder = path if path.is_dir() else Path(str(merged_args["train_data_dir"]))
        if merged_args.get("in_json"):
            # train_network.py:540-553: fine-tuning captions from the metadata JSON.
            datasets = [
                _subset(
                    {"image_dir": str(folder), "metadata_file": str(merged_args["in_json"])},
                    {},
                    {},
                    defaults,
                    refused,
                    "--in_json",
                )
            ]
        else:
            datasets = _from_folders(folder, merged_args.get("reg_data_dir"), defaults, refused)
    else:
        raise TrainerConfigError(
            f"{path}: no dataset: give a dataset config, a train_data_dir, or --dataset_config"
        )
    if refused:
        notes.append(
            ConfigNote(
                code="T014",
                severity="error",
                message="kohya refuses this dataset config at start-up: "
                + "; ".join(refused[:6])
                + (f"; and {len(refused) - 6} more" if len(refused) > 6 else ""),
            )
        )
    for dataset in datasets:
        if dataset.resolution_wh is None:
            # train_util.py:1921: DreamBoothDataset asserts a resolution.
            notes.append(
                ConfigNote(
                    code="T014",
                    severity="error",
                    message="no resolution is set (dataset config or --resolution): "
                    "kohya stops with 'resolution is required'",
                )
            )
            break
    script = (script or " ".join(command)).lower()
    model = str(merged_args.get("pretrained_model_name_or_path") or "").lower()
    steps, source, epochs = _steps(merged_args, set(arguments))
    return TrainingPlan(
        trainer="kohya",
        config_path=path,
        datasets=datasets,
        steps=steps,
        steps_source=source,
        epochs=epochs,
        learning_rate=_optional_number(merged_args.get("unet_lr"))
        or _optional_number(merged_args.get("learning_rate")),
        optimizer=str(merged_args.get("optimizer_type") or "AdamW"),
        batch_size=values.integer(merged_args["train_batch_size"], "--train_batch_size", 1),
        gradient_accumulation=values.integer(
            merged_args["gradient_accumulation_steps"], "--gradient_accumulation_steps", 1
        ),
        network_type=_optional_text(merged_args.get("network_module")),
        rank=values.integer(merged_args["network_dim"], "--network_dim")
        if merged_args.get("network_dim") is not None
        else None,
        alpha=_optional_number(merged_args.get("network_alpha")),
        flux="flux" in script or "flux" in model,
        low_memory=bool(merged_args.get("fp8_base")),
        cache_text_encoder_outputs=bool(merged_args.get("cache_text_encoder_outputs"))
        or bool(merged_args.get("cache_text_encoder_outputs_to_disk")),
        notes=notes,
    )


def _steps(arguments: dict[str, Any], given: set[str]) -> tuple[int | None, Any, int | None]:
    """train_network.py:799-805: --max_train_epochs overrides max_train_steps
    (the step count then depends on the dataloader's length, computed later);
    otherwise --max_train_steps, 1600 by default (train_util.py:3952)."""
    if arguments.get("max_train_epochs") is not None:
        epochs = values.integer(arguments["max_train_epochs"], "--max_train_epochs", 1)
        return None, "epochs", epochs
    if arguments.get("gui_epochs") is not None and "max_train_steps" not in given:
        # lora_gui.py:1720-1730: the GUI passes max_train_steps =
        # ceil(images x repeats / batch / accumulation x epoch x reg factor).
        return None, "gui-epochs", values.integer(arguments["gui_epochs"], "epoch", 1)
    steps = values.integer(arguments["max_train_steps"], "--max_train_steps", 0)
    return steps, "config" if "max_train_steps" in given else "default", None


def _subset_fallbacks(arguments: dict[str, Any]) -> dict[str, Any]:
    """The argparse layer of the fallbacks (config_util.py:414-417, 439-446):
    every subset/dataset key not set in the config takes the argument's value."""
    fallback = dict(_SUBSET_DEFAULTS)
    for key in (
        "caption_extension",
        "keep_tokens",
        "keep_tokens_separator",
        "caption_separator",
        "caption_dropout_rate",
        "caption_prefix",
        "caption_suffix",
        "class_tokens",
        "max_bucket_reso",
        "min_bucket_reso",
        "bucket_reso_steps",
    ):
        if arguments.get(key) is not None:
            fallback[key] = arguments[key]
    for key in (
        "shuffle_caption",
        "enable_wildcard",
        "enable_bucket",
        "bucket_no_upscale",
        "flip_aug",
    ):
        if arguments.get(key):
            fallback[key] = True
    # config_util.py:261-264: train_batch_size -> batch_size, dataset_repeats -> num_repeats.
    fallback["batch_size"] = arguments.get("train_batch_size", 1)
    if arguments.get("dataset_repeats") is not None:
        fallback["num_repeats"] = arguments["dataset_repeats"]
    if arguments.get("resolution") is not None:
        fallback["resolution"] = str(arguments["resolution"])
    return fallback


def _from_dataset_config(
    path: Path, defaults: dict[str, Any], refused: list[str]
) -> list[PlannedDataset]:
    data = _load(path)
    schema = vocabulary("kohya")["dataset_schema"]
    subset_keys = {**schema["subset_ascendable"], **schema["subset_only"]}
    dataset_keys = {**schema["dataset_ascendable"], **schema["subset_ascendable"]}
    # config_util.py:354-359: only [general] and [[datasets]] at the top.
    for key in data:
        if key not in {"general", "datasets"}:
            refused.append(
                f"unknown top-level key {key!r}{values.did_you_mean(key, ['general', 'datasets'])}"
            )
    general = data.get("general", {})
    if not isinstance(general, dict):
        raise TrainerConfigError(f"{path}: [general] must be a table")
    _check_keys(general, dataset_keys, "[general]", refused)
    raw_datasets = data.get("datasets")
    if not isinstance(raw_datasets, list) or not raw_datasets:
        raise TrainerConfigError(f"{path}: not a kohya dataset config: no [[datasets]]")
    planned = []
    for number, dataset in enumerate(raw_datasets, start=1):
        if not isinstance(dataset, dict):
            raise TrainerConfigError(f"{path}: [[datasets]] {number} must be a table")
        _check_keys(dataset, {**dataset_keys, "subsets": "list"}, f"[[datasets]] {number}", refused)
        subsets = dataset.get("subsets")
        if not isinstance(subsets, list) or not subsets:
            raise TrainerConfigError(f"{path}: dataset {number} has no [[datasets.subsets]]")
        for sub_number, subset in enumerate(subsets, start=1):
            where = f"[[datasets]] {number} subset {sub_number}"
            if not isinstance(subset, dict):
                raise TrainerConfigError(f"{path}: {where} must be a table")
            _check_keys(subset, subset_keys, where, refused)
            if not isinstance(subset.get("image_dir"), str) and not isinstance(
                subset.get("metadata_file"), str
            ):
                raise TrainerConfigError(f"{path}: {where} has no image_dir")
            planned.append(
                _subset(subset, dataset, general, defaults, refused, where).model_copy(
                    update={"group": number - 1}
                )
            )
    return planned


def _check_keys(
    table: dict[str, Any], schema: dict[str, str], where: str, refused: list[str]
) -> None:
    for key, value in table.items():
        if key not in schema:
            refused.append(f"unknown key {key!r} in {where}{values.did_you_mean(key, schema)}")
        elif not _type_ok(value, schema[key]):
            refused.append(
                f"{where}: {key} must be {_TYPE_WORDS[schema[key]]}, not {value!r}"[:160]
            )


_TYPE_WORDS = {
    "int": "an integer",
    "bool": "true or false",
    "str": "a string",
    "float": "a float",
    "number": "a number",
    "pair": "a pair of numbers",
    "int_or_pair": "an integer or [width, height]",
    "dict": "a table",
    "list": "a list of tables",
}


def _type_ok(value: Any, kind: str) -> bool:
    """voluptuous' checks (config_util.py:168-180, 183-247)."""
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "float":
        return isinstance(value, float) and math.isfinite(value)
    if kind == "number":
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind == "pair":
        return isinstance(value, list) and len(value) == 2
    if kind == "int_or_pair":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)
        )
    if kind == "dict":
        return isinstance(value, dict)
    return isinstance(value, list)


def _from_folders(
    train_data_dir: Path, reg_data_dir: Any, defaults: dict[str, Any], refused: list[str]
) -> list[PlannedDataset]:
    """config_util.py:607-644: each ``N_name`` sub-folder is a subset with
    num_repeats N and class_tokens "name"; others are ignored."""
    if not train_data_dir.is_dir():
        # config_util.py:622-624 yields no subset; train_network.py then has no data.
        raise TrainerConfigError(
            f"train_data_dir {train_data_dir} is not a folder: kohya finds no images"
        )
    planned = []
    for base, is_reg in (
        (train_data_dir, False),
        (Path(str(reg_data_dir)) if reg_data_dir else None, True),
    ):
        if base is None or not base.is_dir():
            continue
        for folder in sorted(p for p in base.iterdir() if p.is_dir()):
            repeats, _, name = folder.name.partition("_")
            if not repeats.isdigit() or int(repeats) < 1:
                continue
            subset = {
                "image_dir": str(folder),
                "num_repeats": int(repeats),
                "class_tokens": name,
                "is_reg": is_reg,
            }
            planned.append(_subset(subset, {}, {}, defaults, refused, folder.name))
    if not planned:
        raise TrainerConfigError(
            f"{train_data_dir}: no N_name folders inside (kohya reads train_data_dir as "
            "folders named like 10_ohwx woman)"
        )
    return planned


def _subset(
    subset: dict[str, Any],
    dataset: dict[str, Any],
    general: dict[str, Any],
    defaults: dict[str, Any],
    refused: list[str],
    where: str,
) -> PlannedDataset:
    """One subset's settings by kohya's fallback order: subset, dataset,
    [general], arguments, defaults; None counts as unset (config_util.py:454-471)."""
    layers = [subset, dataset, general, defaults]

    def get(key: str) -> Any:
        for layer in layers:
            value = layer.get(key)
            if value is not None and (layer is defaults or _valid(key, value)):
                return value
        return _SUBSET_DEFAULTS.get(key)

    image_dir = subset.get("image_dir")
    metadata = subset.get("metadata_file")
    # sd-scripts opens paths as given: relative to the working directory.
    if image_dir:
        folder = resolve_as_given(str(image_dir))
    else:
        folder = resolve_as_given(str(metadata)).parent
    resolution = get("resolution")
    try:
        extension = values.caption_extension(
            get("caption_extension"), f"{where}: caption_extension"
        )
    except TrainerConfigError as exc:
        refused.append(str(exc))
        extension = ".caption"
    try:
        wh = _resolution(resolution) if resolution is not None else None
    except TrainerConfigError as exc:
        refused.append(str(exc))
        wh = (512, 512)
    return PlannedDataset(
        folder=folder,
        caption_extension=extension,
        caption_source="metadata" if metadata else "sidecar",
        metadata_file=resolve_as_given(str(metadata)) if metadata else None,
        recursive=False,  # train_util.py:2847-2856: glob of one folder
        repeats=int(get("num_repeats")),
        resolutions=[max(wh)] if wh else [512],
        resolution_wh=wh,
        shuffle=bool(get("shuffle_caption")),
        keep_tokens=int(get("keep_tokens")),
        keep_tokens_separator=str(get("keep_tokens_separator") or ""),
        caption_separator=str(get("caption_separator") or ","),
        secondary_separator=get("secondary_separator"),
        caption_prefix=get("caption_prefix"),
        caption_suffix=get("caption_suffix"),
        caption_dropout=float(get("caption_dropout_rate")),
        token_dropout=float(get("caption_tag_dropout_rate")),
        token_warmup=float(get("token_warmup_step")),
        enable_wildcard=bool(get("enable_wildcard")),
        class_tokens=get("class_tokens"),
        is_reg=bool(subset.get("is_reg", False)),
        batch_size=int(get("batch_size")),
        flips=1,
        enable_bucket=bool(get("enable_bucket")),
        bucket_no_upscale=bool(get("bucket_no_upscale")),
        min_bucket_reso=int(get("min_bucket_reso")),
        max_bucket_reso=int(get("max_bucket_reso")),
        bucket_reso_steps=max(1, int(get("bucket_reso_steps"))),
    )


def _valid(key: str, value: Any) -> bool:
    schema = vocabulary("kohya")["dataset_schema"]
    kind = {
        **schema["dataset_ascendable"],
        **schema["subset_ascendable"],
        **schema["subset_only"],
    }.get(key)
    return kind is None or _type_ok(value, kind)


def _resolution(value: Any) -> tuple[int, int]:
    """An int, [w, h], or the command line's "w,h" (train_util.py:5409-5415)."""
    if isinstance(value, str):
        try:
            parts = [int(part) for part in value.split(",")]
        except ValueError:
            raise TrainerConfigError(
                f"resolution {value!r} is not 'size' or 'width,height'"
            ) from None
    elif isinstance(value, list):
        parts = [values.integer(v, "resolution", 8) for v in value]
    else:
        parts = [values.integer(value, "resolution", 8)]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 8 or max(parts) > 65536:
        raise TrainerConfigError(f"resolution {value!r} is not 'size' or 'width,height'")
    return parts[0], parts[1]


def _optional_number(value: Any) -> float | None:
    return None if value is None else values.number(value, "learning rate")


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _load(path: Path) -> dict[str, Any]:
    """config_util.py:675-700: .json or .toml by the file name, else refused."""
    name = path.name.lower()
    if not (name.endswith(".toml") or name.endswith(".json")):
        raise TrainerConfigError(f"{path}: kohya reads .toml or .json configs")
    try:
        if not path.is_file():
            raise TrainerConfigError(f"{path}: not found")
    except OSError as exc:
        raise TrainerConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    raw = read_config_bytes(path)
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if name.endswith(".json") else tomllib.loads(text)
    except (
        UnicodeDecodeError,
        json.JSONDecodeError,
        tomllib.TOMLDecodeError,
        RecursionError,
    ) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TrainerConfigError(
            f"{path}: invalid {name.rsplit('.', 1)[-1].upper()}: {first}"
        ) from None
    if not isinstance(data, dict):
        raise TrainerConfigError(f"{path}: expected a mapping at the top level")
    return data
