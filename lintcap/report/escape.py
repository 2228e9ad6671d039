"""Text from a dataset, made safe for a terminal.

File names and captions are somebody else's bytes: an ``ESC ] 0 ;`` sequence
in a file name retitles the window, ``ESC [ 2 J`` clears the screen, OSC 52
writes the clipboard, a right-to-left override (U+202E) makes ``gpj.exe``
read as ``exe.jpg``, and a newline forges a line of output. Text output
escapes every such character (C0 and C1 controls, DEL, bidi embeddings,
overrides, isolates and marks, lone surrogates) as ``\\x1b``/``\\u202e``, the
way Python writes them; JSON and SARIF keep their own JSON escapes, and the
HTML report escapes through its template.

:class:`SafeConsole` applies this to every piece of text rich renders, so no
caller can forget it; rich's own colour sequences are not text and pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.console import Console
from rich.segment import Segment

#: Tab and newline are layout and stay in whole output; everything else here
#: is escaped. In a single field (a path, a message) newlines are escaped too.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_FIELD = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with control, bidi and surrogate characters escaped; tabs
    and newlines kept (for whole lines of output)."""
    return _UNSAFE.sub(_escape, text)


def field_safe(text: str) -> str:
    """One field (a path, a message) on one line: newlines escaped as well."""
    return _UNSAFE_FIELD.sub(_escape, text)


class SafeConsole(Console):
    """A rich console that escapes unsafe characters in all the text it renders."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(terminal_safe(segment.text), segment.style)
            for segment in buffer
        )
