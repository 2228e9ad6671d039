"""Reading a trainer's config file and the paths in it, the same way for
every trainer: bounded, and one clear line when the file cannot be read."""

from __future__ import annotations

import os
from pathlib import Path

from lintcap import safefs
from lintcap.gate.plan import TrainerConfigError

#: Bytes read of a config file at most: a job or dataset config is a few KB.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def read_config_bytes(path: Path) -> bytes:
    """The bytes of the config at ``path``, read no further than
    :data:`MAX_CONFIG_BYTES` so that a huge or endless file is refused in one
    line instead of filling memory; an unreadable file is one line too."""
    try:
        return safefs.read_regular(path, MAX_CONFIG_BYTES)
    except safefs.TooLarge:
        raise TrainerConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES // 1024 // 1024} MB"
        ) from None
    except OSError as exc:  # NotRegularFile: a FIFO or device is refused, not waited on
        raise TrainerConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def resolve_as_given(folder: str) -> Path:
    """A path from a config, absolute as the trainer opens it: ``~`` expanded
    and a relative path taken from the working directory the trainer (and so
    the gate) runs in, not from the config's folder. Each caller cites the
    trainer line that opens it this way."""
    return Path(os.path.abspath(os.path.expanduser(folder)))
