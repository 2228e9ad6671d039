"""Item → facts: read the caption, probe the image, parse the text.

Analysis knows nothing about rules: it is told what to compute
(:class:`Needs`, derived from the selected rules) and returns plain facts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from lintcap.caption.parse import CaptionParser, ParsedCaption, Span
from lintcap.caption.read import (
    CaptionText,
    check_caption_text,
    decode_caption,
    position_of,
    read_caption_file,
    too_large,
)
from lintcap.dataset import Item, display_path
from lintcap.image.facts import ImageFacts
from lintcap.image.load import ImageHeader, probe_image
from lintcap.models import Location, Problem

DEFAULT_MAX_CAPTION_BYTES = 64 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970


class Needs(BaseModel):
    """Which facts the selected rules need; nothing else is computed."""

    caption_text: bool = False
    parse: bool = False
    image_header: bool = False
    image_decode: bool = False
    #: Every image measurement (quality, overlays, people, hashes).
    image_analysis: bool = False
    #: The text detectors (W001/W002/W004 and any rule on a text measurement).
    image_text: bool = False
    #: The people detectors (variety, agreement, people measures).
    image_people: bool = False
    #: The quality measures (focus on the face box, exposure, colour...).
    image_quality: bool = False
    #: The colour measures alone (chroma, colour residual, contrast: monochrome).
    image_colour: bool = False
    #: The perceptual hash (near-duplicate images).
    image_hash: bool = False
    max_caption_bytes: int = DEFAULT_MAX_CAPTION_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS


class ItemFacts(BaseModel):
    item: Item
    caption_display: str | None = None
    image_display: str | None = None
    text: str | None = None
    had_bom: bool = False
    parsed: ParsedCaption | None = None
    image: ImageHeader | None = None
    image_facts: ImageFacts | None = None
    problems: list[Problem] = []
    #: For metadata.jsonl captions: raw column of each decoded character.
    column_map: list[int] | None = None

    @property
    def display(self) -> str:
        return self.caption_display or self.image_display or ""

    @property
    def reference(self) -> str:
        """How lists of counted files name the item: ``metadata.jsonl:LINE``
        for a metadata row (one file holds many captions), else its path."""
        if self.item.metadata_line is not None and self.caption_display:
            return f"{self.caption_display}:{self.item.metadata_line}"
        return self.display

    def locate(self, span: Span | None) -> Location:
        """1-based location of ``span`` in the caption's file."""
        if span is None or self.text is None:
            return Location()
        if self.item.metadata_line is not None:
            line = self.item.metadata_line
            if self.column_map is None:
                return Location(line=line, end_line=line)
            start = self.column_map[min(span.start, len(self.column_map) - 1)]
            end = self.column_map[min(span.end, len(self.column_map) - 1)]
            return Location(line=line, column=start + 1, end_line=line, end_column=end + 1)
        line, column = position_of(self.text, span.start)
        end_line, end_column = position_of(self.text, span.end)
        return Location(line=line, column=column, end_line=end_line, end_column=end_column)


def read_item(
    item: Item,
    needs: Needs,
    overrides: Mapping[Path, bytes] | None = None,
    cwd: str | None = None,
) -> ItemFacts:
    """Read what ``needs`` asks for; problems become facts, never exceptions.
    ``overrides`` gives caption bytes to use instead of the file's; ``cwd``
    the working directory paths are shown from (read once per run)."""
    facts = ItemFacts(item=item)
    if item.image is not None:
        facts.image_display = display_path(item.image, cwd)
    if item.caption_path is not None:
        facts.caption_display = display_path(item.caption_path, cwd)
    if item.caption_path is None and item.image is not None:
        facts.problems.append(_missing_caption(item.image, facts.image_display or ""))
    elif needs.caption_text:
        _read_text(facts, needs, overrides or {})
    probe_needed = needs.image_header or needs.image_decode
    if item.image is not None and probe_needed and not needs.image_analysis:
        probe = probe_image(
            item.image, facts.image_display or "", needs.max_image_pixels, needs.image_decode
        )
        facts.image = probe.header
        facts.problems.extend(probe.problems)
    return facts


def attach_image_facts(facts: ItemFacts, image_facts: ImageFacts) -> None:
    """Take the analysis' facts (and its reading problems) into the item's."""
    facts.image_facts = image_facts
    facts.problems.extend(image_facts.problems)
    info = image_facts.info
    if info is not None:
        facts.image = ImageHeader(
            format=info.format, width=info.width, height=info.height, mode=info.mode
        )


def parse_item(facts: ItemFacts, parser: CaptionParser) -> None:
    if facts.text is not None and facts.text.strip():
        facts.parsed = parser.parse(facts.text)


def _read_text(facts: ItemFacts, needs: Needs, overrides: Mapping[Path, bytes]) -> None:
    item = facts.item
    display = facts.caption_display or ""
    size = len(item.metadata_text.encode("utf-8")) if item.metadata_text is not None else 0
    if item.metadata_text is not None and size > needs.max_caption_bytes:
        # One limit for every caption source: a row's text counts like a sidecar.
        caption = too_large(display, size, needs.max_caption_bytes, item.metadata_line)
    elif item.metadata_text is not None:
        caption = CaptionText(text=item.metadata_text)
        for problem in check_caption_text(item.metadata_text, display):
            problem.line, problem.column = item.metadata_line, None
            caption.problems.append(problem)
        facts.column_map = _json_column_map(item.metadata_raw or "", item.metadata_text)
    else:
        assert item.caption_path is not None
        if overrides and item.caption_path in overrides:  # hashing a Path costs
            data = overrides[item.caption_path]
            if len(data) > needs.max_caption_bytes:
                # An LLM answer or a fix's result obeys the same limit as a file.
                caption = too_large(display, len(data), needs.max_caption_bytes)
            else:
                caption = decode_caption(data, display)
        else:
            caption = read_caption_file(item.caption_path, display, needs.max_caption_bytes)
    facts.text = caption.text
    facts.had_bom = caption.had_bom
    facts.problems.extend(caption.problems)


def _missing_caption(image: Path, display: str) -> Problem:
    siblings = sorted(
        p.name
        for p in image.parent.glob(f"{_glob_escape(image.stem)}.*")
        if p.suffix.lower() in {".txt", ".caption", ".cap", ".json", ".md"} and p != image
    )
    detail = f"found {', '.join(siblings)} (another caption extension?)" if siblings else ""
    return Problem(kind="missing-caption", path=display, detail=detail)


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


_VALUE_START = re.compile(r'"(?:text|caption)"\s*:\s*"')


def _json_column_map(raw: str, text: str) -> list[int] | None:
    """Raw column (0-based) of each character of the decoded JSON string,
    plus one past the end; None when the value cannot be found verbatim."""
    for match in _VALUE_START.finditer(raw):
        try:
            columns = _decoded_columns(raw, match.end())
            decoded = json.loads(raw[match.end() - 1 : columns[-1] + 1])
        except (json.JSONDecodeError, ValueError, IndexError):
            continue
        if decoded == text and len(columns) == len(text) + 1:
            return columns
    return None


def _decoded_columns(raw: str, index: int) -> list[int]:
    """Raw offsets of the characters of the JSON string whose body starts at
    ``index``, plus the offset of its closing quote."""
    columns: list[int] = []
    while index < len(raw) and raw[index] != '"':
        columns.append(index)
        if raw[index] != "\\":
            index += 1
        elif raw[index + 1] != "u":
            index += 2
        else:
            code = int(raw[index + 2 : index + 6], 16)
            index += 6
            if 0xD800 <= code < 0xDC00 and raw[index : index + 2] == "\\u":
                index += 6  # a surrogate pair is one character
    columns.append(index)
    return columns
