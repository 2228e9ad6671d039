"""What a training run will do, in one shape for every trainer.

The loaders (``aitoolkit``, ``kohya``) fill these from the trainer's own
config files; everything after that (captions, buckets, passes, checks)
reads only this plan. Each field says which trainer setting it stands for;
the citations are in the loaders and in docs/trainers.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

Trainer = Literal["ai-toolkit", "kohya"]


class TrainerConfigError(Exception):
    """The trainer's config is unreadable, malformed or of an unknown shape:
    the trainer itself would refuse it at start-up. One line, exit 2."""


class ConfigNote(BaseModel):
    """A finding about the config itself (a refused or ignored key, ...)."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str


class PlannedDataset(BaseModel):
    """One folder (kohya: one subset) of images as the trainer will read it."""

    folder: Path
    caption_extension: str
    #: "sidecar" (<stem><ext>), "metadata" (kohya fine-tuning JSON, ai-toolkit
    #: dataset_path JSON): where the trainer takes each caption from.
    caption_source: Literal["sidecar", "metadata"] = "sidecar"
    metadata_file: Path | None = None
    #: Whether image discovery descends into sub-folders (ai-toolkit walks the
    #: tree, kohya globs one folder).
    recursive: bool = False
    trigger: str | None = None
    repeats: int = 1
    #: Square training resolutions (ai-toolkit: one dataset copy each; kohya:
    #: the largest side of ``resolution``).
    resolutions: list[int] = [512]
    #: kohya's (width, height) when it is not square.
    resolution_wh: tuple[int, int] | None = None
    shuffle: bool = False
    keep_tokens: int = 0
    keep_tokens_separator: str = ""
    caption_separator: str = ","
    secondary_separator: str | None = None
    caption_prefix: str | None = None
    caption_suffix: str | None = None
    caption_dropout: float = 0.0
    token_dropout: float = 0.0
    #: kohya's token_warmup_step: like shuffling, it re-joins the tokens.
    token_warmup: float = 0.0
    is_reg: bool = False
    enable_wildcard: bool = False
    default_caption: str | None = None
    class_tokens: str | None = None
    #: A dataset-level batch size (overrides the run's when set).
    batch_size: int | None = None
    #: Extra copies per image per epoch (ai-toolkit flip_x / flip_y).
    flips: int = 1
    enable_bucket: bool = True
    bucket_no_upscale: bool = False
    min_bucket_reso: int = 256
    max_bucket_reso: int = 1024
    bucket_reso_steps: int = 64
    #: ai-toolkit's bucket_tolerance (divisibility of bucket sides).
    bucket_divisibility: int = 64
    square_crop: bool = False
    cache_text_embeddings: bool = False
    #: Which ai-toolkit process (0-based) the dataset belongs to.
    process: int = 0
    #: Which kohya [[datasets]] entry (0-based) the subset belongs to.
    group: int = 0


class TrainingPlan(BaseModel):
    trainer: Trainer
    config_path: Path
    datasets: list[PlannedDataset]
    #: ai-toolkit: config.process[i] this plan is; kohya: always 0.
    process: int = 0
    process_type: str | None = None
    trigger: str | None = None
    steps: int | None = None
    #: Where ``steps`` came from: "config", "default", "epochs" (kohya's
    #: --max_train_epochs) or "gui-epochs" (the kohya_ss GUI's epoch).
    steps_source: Literal["config", "default", "epochs", "gui-epochs", "unknown"] = "unknown"
    epochs: int | None = None
    learning_rate: float | None = None
    optimizer: str | None = None
    batch_size: int = 1
    gradient_accumulation: int = 1
    network_type: str | None = None
    rank: int | None = None
    alpha: float | None = None
    flux: bool = False
    #: Quantised or low-VRAM model loading (needs less GPU memory).
    low_memory: bool = False
    cache_text_encoder_outputs: bool = False
    device: str | None = None
    notes: list[ConfigNote] = []
