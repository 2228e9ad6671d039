"""lintcap: a linter for LoRA image-training datasets."""

__version__ = "0.1.0"
