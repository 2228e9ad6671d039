"""Wording of validation errors, shared by every file lintcap reads."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import ValidationError

#: A key worth echoing: a file that is not ours (``extend-rules`` pointing at
#: ``/etc/shadow``) must not have its content printed as "unknown keys".
_KEY_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,39}$")


def shown_key(key: object) -> str:
    """A key as an error may show it: identifier-like keys as written, any
    other (long, spaced, non-string, a line of a foreign file) as ``<key>``."""
    return key if isinstance(key, str) and _KEY_LIKE.match(key) else "<key>"


def unknown_keys(keys: Iterable[object]) -> str:
    """``unknown top-level key(s): a, b`` naming identifier-like keys only,
    and counting the others."""
    keys = list(keys)
    named = sorted({k for k in keys if isinstance(k, str) and _KEY_LIKE.match(k)})
    others = len(keys) - len(named)
    parts = [*named, *([f"{others} other(s) not shown"] if others else [])]
    return f"{len(keys)} unknown top-level key(s): {', '.join(parts)}"


def validation_message(exc: ValidationError) -> str:
    """``field.sub: message; other: message`` — what the user must change."""
    parts = []
    for error in exc.errors():
        location = ".".join(
            str(part) if isinstance(part, int) else shown_key(part) for part in error["loc"]
        )
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts)
