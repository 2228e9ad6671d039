"""Which images a trainer finds, which caption file each gets, and the exact
text it trains on: the trainer's data pipeline, modelled from its source.

ai-toolkit: ostris/ai-toolkit@27a03a91; kohya: kohya-ss/sd-scripts@48d368fa
(file:line beside each step; docs/trainers.md has the table). What shuffling
or dropout changes at random is not applied: the text is the caption before
them, with the tokens shuffling may move marked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from lintcap.analyse import DEFAULT_MAX_CAPTION_BYTES
from lintcap.dataset import METADATA_MAX_BYTES
from lintcap.gate.plan import PlannedDataset, Trainer
from lintcap.safefs import NotRegularFile, TooLarge, read_regular

#: Images listed per dataset at most (a bound on a hostile tree).
MAX_IMAGES = 200_000

#: toolkit/data_loader.py:39 (matched lower-case, data_loader.py:441).
AI_TOOLKIT_IMAGES = (".jpg", ".jpeg", ".png", ".webp")
#: library/train_util.py:104 (glob is case-sensitive: these spellings only).
KOHYA_IMAGES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".PNG", ".JPG", ".JPEG", ".WEBP", ".BMP")

Problem = Literal["empty-file", "not-utf8", "unreadable", "too-large", "not-regular", "outside"]


class TrainerCaption(BaseModel):
    """One image and the caption the trainer builds for it."""

    image: Path
    #: The file the trainer reads the caption from (None: none exists).
    caption_file: Path | None = None
    source: Literal["sidecar", "metadata", "none"] = "none"
    #: The caption file's text as read (None when there is none).
    raw: str | None = None
    #: What the trainer feeds the text encoder (before shuffle and dropout).
    text: str = ""
    #: Where an image without a caption gets its text: default_caption,
    #: class_tokens, the trigger, or nothing.
    fallback: Literal["default_caption", "class_tokens", "trigger", "empty"] | None = None
    #: How many leading tokens stay in place under shuffling (None: all move,
    #: the trigger included); tokens are ``separator``-separated.
    fixed_tokens: int | None = None
    separator: str = ","
    #: Reading failures that stop or change the run.
    problem: Problem | None = None
    #: Caption lines the trainer drops (kohya without enable_wildcard).
    dropped_lines: int = 0


def find_images(dataset: PlannedDataset, trainer: Trainer) -> list[Path]:
    """The images the trainer will list, in a stable order."""
    folder = dataset.folder
    if not folder.is_dir():
        return []
    found: list[Path] = []
    if trainer == "ai-toolkit":
        # data_loader.py:439-441: os.walk, hidden folders pruned, hidden files
        # skipped, extension matched lower-case; :450 drops "_controls" folders.
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if os.path.basename(root) == "_controls":
                continue
            for name in sorted(files):
                if name.lower().endswith(AI_TOOLKIT_IMAGES) and not name.startswith("."):
                    found.append(Path(root) / name)
                    if len(found) >= MAX_IMAGES:
                        return found
        return found
    # train_util.py:2847-2856: glob("<dir>/*<ext>") per extension; not recursive.
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(KOHYA_IMAGES) and not entry.is_dir():
                found.append(Path(entry.path))
                if len(found) >= MAX_IMAGES:
                    break
    return sorted(found)


def read_bounded(path: Path, root: Path | None = None) -> tuple[str | None, Problem | None]:
    """A caption file's text; only regular files, never more than the limit,
    and (with ``root``) never through a link that leaves the dataset."""
    if root is not None and not inside(path, root):
        return None, "outside"
    try:
        data = read_regular(path, DEFAULT_MAX_CAPTION_BYTES)
    except NotRegularFile:
        return None, "not-regular"
    except TooLarge:
        return None, "too-large"
    except OSError:
        return None, "unreadable"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return None, "not-utf8"


def ai_toolkit_caption(
    image: Path, dataset: PlannedDataset, metadata: dict[str, str] | None
) -> TrainerCaption:
    """toolkit/dataloader_mixins.py:333-368 (load_caption) and 381-458 (get_caption)."""
    result = TrainerCaption(image=image)
    raw: str | None = None
    if metadata is not None:
        # dataloader_mixins.py:336-338: a dataset_path JSON gives the captions.
        if str(image) in metadata:
            raw, result.source = metadata[str(image)], "metadata"
    else:
        sidecar = image.with_name(image.stem + dataset.caption_extension)  # :344-346 splitext + ext
        if sidecar.exists():  # :349
            result.caption_file, result.source = sidecar, "sidecar"
            raw, result.problem = read_bounded(sidecar, dataset.folder)
    result.raw = raw
    prompt = raw or ""
    if raw is None or (raw.strip() == "" and dataset.default_caption is not None):
        # :358-363: a missing or blank caption becomes default_caption.
        if dataset.default_caption is not None:
            prompt = dataset.default_caption
            result.fallback = "default_caption"
        elif raw is None:
            result.fallback = "trigger" if dataset.trigger and not dataset.is_reg else "empty"
    # :420 split on commas, :434 join with ", " (a space is added after every comma).
    text = ", ".join(prompt.split(","))
    text = inject_trigger(text, dataset.trigger, add_if_absent=not dataset.is_reg)
    result.text = text
    # :431-432 and :452-456: shuffle_tokens shuffles every token, the injected
    # trigger too (keep_tokens only protects tokens from token dropout, :414-419).
    result.fixed_tokens = None if dataset.shuffle else -1
    return result


def inject_trigger(prompt: str, trigger: str | None, add_if_absent: bool) -> str:
    """toolkit/prompt_utils.py:715-748: "[name]" and "[trigger]" become the
    trigger (or nothing without one); a trigger absent from the caption
    (case-sensitive substring) is prepended with a space."""
    word = trigger or ""
    output = prompt.replace("[name]", word).replace("[trigger]", word)
    if word.strip() and add_if_absent and output.count(word) == 0:
        output = f"{word} {output}"
    return output


def kohya_caption(
    image: Path, dataset: PlannedDataset, metadata: dict[str, str] | None
) -> TrainerCaption:
    """library/train_util.py:1946-1970 (read_caption), 2065-2081 (class
    tokens), 821-932 (process_caption)."""
    result = TrainerCaption(image=image, separator=dataset.caption_separator)
    caption: str | None = None
    if metadata is not None:
        if str(image) in metadata:
            caption, result.source = metadata[str(image)], "metadata"
    else:
        base = os.path.splitext(str(image))[0]
        tokens = base.split("_")
        # :1950-1953: "<stem><ext>", then the face-crop name without its last 4 "_" parts.
        candidates = [base + dataset.caption_extension]
        if len(tokens) >= 5:
            candidates.append("_".join(tokens[:-4]) + dataset.caption_extension)
        for candidate in candidates:
            path = Path(candidate)
            if path.is_file():  # :1957
                result.caption_file, result.source = path, "sidecar"
                raw, result.problem = read_bounded(path, dataset.folder)
                result.raw = raw
                if raw is not None:
                    lines = raw.splitlines(keepends=True)
                    if not lines:
                        result.problem = "empty-file"  # :1964 asserts: kohya stops
                    elif dataset.enable_wildcard:
                        caption = "\n".join(x.strip() for x in lines if x.strip())  # :1966
                    else:
                        caption = lines[0].strip()  # :1968
                        result.dropped_lines = sum(1 for x in lines[1:] if x.strip())
                break
    if caption is None and metadata is None:
        # :2070-2079: no caption file: class_tokens, else an empty caption.
        if dataset.class_tokens is not None:
            caption, result.fallback = dataset.class_tokens, "class_tokens"
        else:
            caption, result.fallback = "", "empty"
    elif caption is None:
        caption, result.fallback = "", "empty"
    text = caption
    # :823-826: prefix and suffix with a space.
    if dataset.caption_prefix:
        text = f"{dataset.caption_prefix} {text}"
    if dataset.caption_suffix:
        text = f"{text} {dataset.caption_suffix}"
    if not dataset.enable_wildcard:
        text = text.split("\n")[0]  # :863-865
    separator = dataset.caption_separator or ","
    if dataset.shuffle or dataset.token_dropout > 0 or dataset.token_warmup > 0:
        # :867-915: tokens stripped and joined with ", "; a keep_tokens_separator
        # fixes the part before it (and after a second one), else keep_tokens.
        sep = dataset.keep_tokens_separator
        if sep and sep in text:
            fixed, flex = text.split(sep, 1)
            suffix = ""
            if sep in flex:
                flex, suffix = flex.split(sep, 1)
            fixed_tokens = [t.strip() for t in fixed.split(separator) if t.strip()]
            flex_tokens = [t.strip() for t in flex.split(separator) if t.strip()]
            suffix_tokens = [t.strip() for t in suffix.split(separator) if t.strip()]
            text = ", ".join(fixed_tokens + flex_tokens + suffix_tokens)
            result.fixed_tokens = len(fixed_tokens)
        else:
            tokens = [t.strip() for t in text.strip().split(separator)]
            text = ", ".join(tokens)
            result.fixed_tokens = min(dataset.keep_tokens, len(tokens))
        result.separator = ","
    else:
        result.fixed_tokens = -1
    if dataset.secondary_separator:
        text = text.replace(dataset.secondary_separator, separator)  # :918-919
    result.text = text
    return result


def read_metadata(
    dataset: PlannedDataset, trainer: Trainer
) -> tuple[dict[str, str], list[Path], str | None]:
    """Captions from a JSON metadata file (kohya fine-tuning, train_util.py:2242-2284:
    keys are image paths, absolute or relative to image_dir; caption + separator + tags;
    ai-toolkit dataset_path JSON, data_loader.py:443-447 and dataloader_mixins.py:336-341).
    Returns (captions by key, image paths, error)."""
    path = dataset.metadata_file
    if path is None:
        return {}, [], None
    # A metadata file holds every caption: it gets metadata.jsonl's limit,
    # not one caption's.
    try:
        text: str | None = read_regular(path, METADATA_MAX_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is None:
        return {}, [], f"{path}: cannot read the caption metadata"
    entries: dict[str, object] = {}
    try:
        if path.suffix == ".jsonl":
            for line in text.splitlines():
                if line.strip():
                    record = json.loads(line)
                    if isinstance(record, dict) and isinstance(record.get("image_path"), str):
                        entries[record["image_path"]] = record
        else:
            loaded = json.loads(text)
            if isinstance(loaded, dict):
                entries = loaded
    except (json.JSONDecodeError, RecursionError):
        return {}, [], f"{path}: invalid JSON"
    captions: dict[str, str] = {}
    images: list[Path] = []
    for key, record in list(entries.items())[:MAX_IMAGES]:
        if not isinstance(record, dict):
            continue
        caption = record.get("caption")
        caption = caption if isinstance(caption, str) else ""
        tags = record.get("tags")
        if trainer == "kohya" and isinstance(tags, str) and tags:
            caption = f"{caption}{dataset.caption_separator}{tags}" if caption else tags
        if trainer == "kohya":
            image = Path(key) if os.path.isabs(key) else dataset.folder / key
        else:
            image = Path(os.path.abspath(key))  # opened as given: relative to the cwd
        captions[str(image)] = caption
        images.append(image)
    return captions, images, None


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links resolved, stays under ``root``."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)
