"""The unified diff ``lintcap fix --diff`` prints: one that ``git apply`` and
``patch -p1`` accept for every file.

Two things difflib leaves to the caller: a file whose last line has no
newline (most tagger and VLM captions) needs git's ``\\ No newline at end of
file`` marker after that line, or the line and the next header run together;
and the paths carry git's ``a/`` and ``b/`` prefixes, which ``git apply``
(``-p1`` by default) strips.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(before: str, after: str, path: str, quote: Callable[[str], str] = str) -> str:
    """The diff turning ``before`` into ``after`` in the file at ``path``
    (as printed, relative to where the command runs); ``quote`` writes a
    name in a header as git does (lintcap.fix.run.git_quote)."""
    lines = []
    for line in difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=quote(f"a/{path.lstrip('/')}"),
        tofile=quote(f"b/{path.lstrip('/')}"),
    ):
        if line.startswith(("---", "+++")):
            lines.append(line if line.endswith("\n") else line + "\n")
        elif line.endswith("\n"):
            lines.append(line)
        else:  # the last line of a file that does not end in a newline
            lines.append(line + "\n" + NO_NEWLINE)
    return "".join(lines)
