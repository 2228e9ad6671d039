"""Modules imported on first use, for start-up time.

OpenCV takes 0.1-0.2 s to import on two cores, and every image module needs
it, but ``lintcap rules list``, ``--help`` and a caption-only check never run
an OpenCV function: they import the image modules only for their settings
models. ``from lintcap.lazy import cv2`` gives those modules a stand-in that
imports OpenCV on the first attribute read (``cv2.resize``), and type
checkers the real module. YAML goes through libyaml's C parser when PyYAML
has it (the rule files parse 5-10 times faster; the same documents result).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

import yaml


class LazyModule:
    """Stands in for a module until an attribute is read, then forwards to it."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


if TYPE_CHECKING:
    import cv2 as cv2
else:
    cv2 = LazyModule("cv2")

#: The line of the OpenCV wheels' ``cv2/version.py`` that names the release.
_WHEEL_VERSION = re.compile(r'^opencv_version\s*=\s*"([^"\n]{1,40})"', re.MULTILINE)


@lru_cache(maxsize=1)
def opencv_version() -> str:
    """OpenCV's version, part of every image-fact cache key, found without
    importing OpenCV where possible: a run whose facts all come from the
    cache runs no OpenCV function, and the import costs 0.05-0.15 s of CPU.
    The wheels (opencv-python and its headless and contrib variants) say
    it in ``cv2/version.py`` ("4.11.0.86": the release and the wheel's
    build); an OpenCV without that file is imported and asked."""
    spec = importlib.util.find_spec("cv2")
    if spec is not None and spec.origin is not None:
        try:
            text = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8")[:4096]
        except (OSError, UnicodeDecodeError):
            text = ""
        found = _WHEEL_VERSION.search(text)
        if found:
            return f"wheel {found.group(1)}"
    return str(cv2.__version__)


_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load_yaml(stream: str | bytes | IO[str] | IO[bytes]) -> Any:
    """``yaml.safe_load``, through libyaml when it is there."""
    return yaml.load(stream, Loader=_YAML_LOADER)


#: mediapipe's drawing helpers: ``import mediapipe`` imports them (and with
#: them matplotlib) although lintcap draws nothing.
_MEDIAPIPE_DRAWING = (
    "mediapipe.python.solutions.drawing_utils",
    "mediapipe.python.solutions.drawing_styles",
)


class _Deferred(ModuleType):
    """A module registered in ``sys.modules`` in place of one not imported
    yet: the first read of an attribute imports the real module (which
    replaces it there) and takes its attributes."""

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        self.__dict__.update(real.__dict__)
        return getattr(real, attribute)


def defer_mediapipe_drawing() -> None:
    """Let ``import mediapipe`` skip its drawing helpers until something
    reads them. ``mediapipe/__init__.py`` imports every legacy solution, and
    their drawing helpers import matplotlib: 0.58 -> 0.20 CPU s for the
    import (mediapipe 0.10.21), paid by every run that finds people with
    it. lintcap builds the face detector, face mesh and pose solutions,
    which do not use the helpers; anything that does read one gets the real
    module. Nothing is done once mediapipe is imported."""
    if "mediapipe" in sys.modules:
        return
    for name in _MEDIAPIPE_DRAWING:
        sys.modules.setdefault(name, _Deferred(name))


def import_mediapipe() -> ModuleType:
    """``import mediapipe`` without its drawing helpers
    (:func:`defer_mediapipe_drawing`), which stay reachable as attributes
    of their package (``mp.solutions.drawing_utils``). Raises ImportError
    where mediapipe is not installed."""
    defer_mediapipe_drawing()
    mediapipe = importlib.import_module("mediapipe")
    for name in _MEDIAPIPE_DRAWING:
        parent, _, child = name.rpartition(".")
        package, module = sys.modules.get(parent), sys.modules.get(name)
        if package is not None and module is not None and child not in vars(package):
            setattr(package, child, module)
    return mediapipe
