"""Reading one value of a trainer config: typed, bounded, one clear line
when it is wrong (never a traceback, never a raw validation dump)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any

from lintcap.gate.plan import TrainerConfigError

#: Counts (steps, repeats, batch sizes) above this are typos, not plans.
MAX_COUNT = 10_000_000


def integer(value: Any, where: str, minimum: int = 0) -> int:
    """An integer setting; floats, booleans, infinities and huge numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        else:
            raise TrainerConfigError(f"{where} must be a whole number, not {_show(value)}")
    if value < minimum or value > MAX_COUNT:
        raise TrainerConfigError(f"{where} is {value}; expected {minimum} to {MAX_COUNT}")
    return value


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TrainerConfigError(f"{where} must be a number, not {_show(value)}")
    try:
        result = float(value)
    except ValueError:
        raise TrainerConfigError(f"{where} must be a number, not {_show(value)}") from None
    if not math.isfinite(result):
        raise TrainerConfigError(f"{where} must be a finite number, not {_show(value)}")
    return result


def text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TrainerConfigError(f"{where} must be a string, not {_show(value)}")
    if "\x00" in value:
        raise TrainerConfigError(f"{where} contains a NUL character")
    return value


def flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise TrainerConfigError(f"{where} must be true or false, not {_show(value)}")
    return value


def caption_extension(value: Any, where: str) -> str:
    """A caption extension: a suffix such as ``.txt``; never a path."""
    extension = text(value, where)
    dotted = extension if extension.startswith(".") else f".{extension}"
    if len(dotted) < 2 or len(dotted) > 32 or any(c in dotted for c in "/\\\n\r\t"):
        raise TrainerConfigError(
            f"{where} {extension!r} is not a file extension (like .txt or .caption)"
        )
    return dotted


def did_you_mean(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
