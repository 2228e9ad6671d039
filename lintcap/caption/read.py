"""Read caption files the way the trainers will, and say what would go wrong.

kohya and ai-toolkit open captions as UTF-8 and take the text as-is: a BOM
becomes part of the first token (the trigger no longer matches), a second line
is dropped by kohya, an empty file trains as an empty caption. Each of those is
a :class:`~lintcap.models.Problem` here, with a position where there is one.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from pydantic import BaseModel

from lintcap.models import Edit, Problem
from lintcap.safefs import TooLarge, read_regular

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Everything str.splitlines() breaks on: a trainer reading "the first line" may split on any.
#: A run of line breaks with the spaces around it: joined into one space.
_LINE_BREAKS = re.compile(
    "[ \t]*[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029][\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029 \t]*"
)
_LINE_BREAK = re.compile("[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


class CaptionText(BaseModel):
    """What reading one caption produced: its text (None when unusable) and
    the problems found on the way."""

    text: str | None
    had_bom: bool = False
    problems: list[Problem] = []


def position_of(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    line_start = text.rfind("\n", 0, offset) + 1
    return line, offset - line_start + 1


def read_caption_file(path: Path, display: str, max_bytes: int) -> CaptionText:
    """Read a sidecar caption file, never raising for bad content."""
    try:
        # A regular file only (a FIFO or a link to /dev/zero would block or
        # never end), and never more than the limit read.
        data = read_regular(path, max_bytes)
    except TooLarge as exc:
        return too_large(display, exc.size, max_bytes)
    except OSError as exc:
        return CaptionText(
            text=None,
            problems=[Problem(kind="unreadable", path=display, detail=exc.strerror or str(exc))],
        )
    return decode_caption(data, display)


def too_large(display: str, size: int, max_bytes: int, line: int | None = None) -> CaptionText:
    """A caption of ``size`` bytes over the limit: no text, one problem. One
    limit and one wording for every source (a sidecar file, a metadata.jsonl
    row, an override's bytes)."""
    problem = Problem(
        kind="caption-too-large",
        path=display,
        line=line,
        detail=f"{size:,} bytes (limit {max_bytes:,})",
    )
    return CaptionText(text=None, problems=[problem])


def decode_caption(data: bytes, display: str) -> CaptionText:
    """Decode caption bytes as the trainers do (strict UTF-8) and check them."""
    problems: list[Problem] = []
    had_bom = False
    if data.startswith(_UTF16_BOMS):
        return CaptionText(
            text=None,
            problems=[
                Problem(
                    kind="not-utf8",
                    path=display,
                    detail="file is UTF-16 (it starts with a UTF-16 byte-order mark); "
                    "trainers read captions as UTF-8",
                    line=1,
                    column=1,
                )
            ],
        )
    if data.startswith(codecs.BOM_UTF8):
        had_bom = True
        data = data[len(codecs.BOM_UTF8) :]
        problems.append(
            Problem(
                kind="bom",
                path=display,
                detail="file starts with a UTF-8 byte-order mark, which trainers read "
                "as part of the first word",
                line=1,
                column=1,
                # The BOM is not part of the text: writing the text back drops it.
                # This empty edit is what marks the finding as fixable.
                edits=[Edit(start=0, end=0, replacement="")],
            )
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", errors="replace")
        line, column = position_of(prefix, len(prefix))
        problems.append(
            Problem(
                kind="not-utf8",
                path=display,
                detail=f"invalid UTF-8 byte 0x{data[exc.start]:02x} at byte {exc.start}",
                line=line,
                column=column,
            )
        )
        return CaptionText(text=None, had_bom=had_bom, problems=problems)
    problems.extend(check_caption_text(text, display))
    return CaptionText(text=text, had_bom=had_bom, problems=problems)


def check_caption_text(text: str, display: str) -> list[Problem]:
    """Problems of decoded caption text: empty, or more than one line."""
    stripped = text.strip()
    if not stripped:
        detail = "file is empty" if not text else "caption is whitespace only"
        return [Problem(kind="empty-caption", path=display, detail=detail)]
    start = len(text) - len(text.lstrip())
    newline = _first_line_break(text, start, start + len(stripped))
    if newline is not None:
        line, column = position_of(text, newline)
        lines = len(stripped.splitlines())
        joins = [
            Edit(start=match.start(), end=match.end(), replacement=" ")
            for match in _LINE_BREAKS.finditer(text, start, start + len(stripped))
        ]
        return [
            Problem(
                kind="multiline",
                path=display,
                detail=f"{lines} lines",
                line=line,
                column=column,
                edits=joins,
            )
        ]
    return []


def _first_line_break(text: str, start: int, end: int) -> int | None:
    match = _LINE_BREAK.search(text, start, end)
    return match.start() if match else None
