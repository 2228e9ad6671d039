"""Where the shipped rule packs live.

In a wheel the repository's top-level ``rules/`` folder is packaged as
``lintcap/rules``; in a source checkout (editable install, tests) it sits next
to the package. Both layouts are looked up here and nowhere else.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def rules_dir() -> Path:
    """Return the folder holding ``*.yaml`` rule packs and ``lexicons/``."""
    for candidate in (_PACKAGE_DIR / "rules", _PACKAGE_DIR.parent / "rules"):
        if (candidate / "lexicons").is_dir():
            return candidate
    raise FileNotFoundError(
        "lintcap's rule packs are missing: expected lintcap/rules in the installed "
        "package or rules/ beside it in a source checkout"
    )


def lexicons_dir() -> Path:
    return rules_dir() / "lexicons"
