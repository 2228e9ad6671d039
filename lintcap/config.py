"""User configuration: ``[tool.lintcap]`` in pyproject.toml or ``lintcap.toml``.

Found by searching upward from the first dataset path (the nearest folder with
either file wins; ``lintcap.toml`` before ``pyproject.toml`` in one folder, as
ruff does with ``ruff.toml``). Command-line flags win over the file. Keys are
written kebab-case, as in ruff; snake_case is accepted too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lintcap.errors import validation_message
from lintcap.models import Diagnostic, Severity
from lintcap.safefs import read_regular
from lintcap.strict import STRICT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


#: A config file larger than this is not one (and is not read whole).
MAX_CONFIG_BYTES = 4 * 1024 * 1024


class ConfigError(Exception):
    """The configuration cannot be read or is invalid."""


class SubjectConfig(BaseModel):
    """What the LoRA is of: its class word and the traits that belong to it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: str | None = Field(default=None, alias="class")
    intrinsic: list[str] = []
    #: What the dataset is of; ``auto`` decides from the captions and images
    #: (lintcap.subject). Rules declare the kinds they apply to.
    kind: Literal["auto", "person", "animal", "object", "style", "place"] = "auto"


class Config(BaseModel):
    model_config = STRICT

    trigger: str | None = None
    preset: str = "flux-character"
    select: list[str] | None = None
    extend_select: list[str] = []
    ignore: list[str] = []
    #: Path patterns (gitignore style, relative to the config's folder, or
    #: the file name) → codes or prefixes not reported there; ``ALL`` for every code.
    per_file_ignores: dict[str, list[str]] = {}
    #: Severity per code or prefix (``C004 = "warning"``); the longest match wins.
    severity: dict[str, Severity] = {}
    #: Findings recorded by ``check --write-baseline`` are not reported
    #: (lintcap.baseline); relative to the config's folder.
    baseline: Path | None = None
    #: Files and folders never linted (gitignore patterns, relative to the
    #: config's folder). ``exclude`` replaces the default; ``extend-exclude`` adds.
    exclude: list[str] = [".git/", ".lintcap_cache/", "__pycache__/", ".venv/", "node_modules/"]
    extend_exclude: list[str] = []
    #: Skip what the dataset's git repository ignores (.gitignore), as ruff does.
    respect_gitignore: bool = True
    caption_extension: list[str] = [".txt"]
    #: Where captions come from when an image has both a sidecar and a
    #: metadata.jsonl row: ``auto`` (the sidecar, what ai-toolkit and kohya
    #: read), ``sidecar`` (ignore metadata.jsonl) or ``metadata``.
    caption_source: Literal["auto", "sidecar", "metadata"] = "auto"
    fail_on: Severity = Severity.error
    subject: SubjectConfig = SubjectConfig()
    #: Extra lexicon phrases per category, added to the shipped lexicons.
    lexicons: dict[str, list[str]] = {}
    #: A trained spaCy pipeline (package name or path); blank English when unset.
    spacy_model: str | None = None
    #: More rule files, beside the shipped packs.
    extend_rules: list[Path] = []
    #: Where image facts are cached (default: .lintcap_cache beside the config,
    #: else in the first dataset folder); ``cache = false`` turns it off.
    cache_dir: Path | None = None
    cache: bool = True
    #: People facts from OpenCV's Haar cascades (core) or mediapipe (the faces
    #: extra); default: the rule files' ``image-analysis`` setting.
    people_backend: Literal["opencv", "mediapipe"] | None = None
    #: Processes for image analysis (default: one per available core).
    jobs: int | None = Field(default=None, ge=1)
    #: The file this config came from, if any (not a config key).
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("caption_extension", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            return [v if not isinstance(v, str) or v.startswith(".") else f".{v}" for v in value]
        return value

    @field_validator("trigger")
    @classmethod
    def _trigger_is_a_word(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or value != value.strip()):
            raise ValueError("trigger must be a non-empty word without surrounding spaces")
        return value

    def fails(self, diagnostics: Iterable[Diagnostic]) -> bool:
        """Whether a finding reaches ``fail-on``: what makes a run exit 1."""
        threshold = Severity(self.fail_on).rank
        return any(d.severity.rank >= threshold for d in diagnostics)

    @property
    def base_dir(self) -> Path | None:
        return self.source.parent if self.source else None


def find_config(start: Path) -> Path | None:
    """The nearest ``lintcap.toml``, or ``pyproject.toml`` with ``[tool.lintcap]``."""
    folder = start.resolve()
    if folder.is_file():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        own = candidate / "lintcap.toml"
        if own.is_file():
            return own
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file() and _lintcap_table(_read_toml(pyproject)) is not None:
            return pyproject
    return None


def load_config(path: Path | None) -> Config:
    """Load ``path`` (or defaults when None) into a validated :class:`Config`."""
    if path is None:
        return Config()
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        table = _lintcap_table(data)
        if table is None and isinstance(data.get("tool"), dict) and "lintcap" in data["tool"]:
            raise ConfigError(f"{path}: [tool.lintcap] must be a table")
        data = table or {}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {validation_message(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply") from None
    config.source = path.resolve()
    config.extend_rules = [
        p if p.is_absolute() else config.source.parent / p for p in config.extend_rules
    ]
    if config.baseline is not None and not config.baseline.is_absolute():
        config.baseline = config.source.parent / config.baseline
    if config.cache_dir is not None and not config.cache_dir.is_absolute():
        config.cache_dir = config.source.parent / config.cache_dir
    return config


def _lintcap_table(data: dict[str, Any]) -> dict[str, Any] | None:
    """``[tool.lintcap]`` of a pyproject.toml, or None (``tool = 5`` and
    ``tool.lintcap = 1`` are someone else's business, not a crash)."""
    tool = data.get("tool")
    table = tool.get("lintcap") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
