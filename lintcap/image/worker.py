"""Imported once by the pool's fork server (never by the linter itself), so
that every worker forked from it starts warm.

Without it each worker paid about 0.2 s on its first image: 45 ms to parse
the Haar cascades, 150 ms for OpenCV to build its colour-conversion tables
on the first RGB-to-Lab conversion. Done here once, the forked workers share
the result. OpenCV keeps to one thread here: a process that forks must not
have started a thread pool.
"""

from __future__ import annotations

import contextlib

import numpy as np

from lintcap.image import analyser  # noqa: F401 - the import is the point
from lintcap.image.people import PeopleBackendUnavailable, _cascades
from lintcap.lazy import cv2, defer_mediapipe_drawing


def warm_up() -> None:
    """Load what the first image would otherwise load."""
    cv2.setNumThreads(1)
    defer_mediapipe_drawing()  # for the server's own import of mediapipe, when preloaded
    with contextlib.suppress(PeopleBackendUnavailable):  # reported on the first image
        _cascades()
    cv2.cvtColor(np.zeros((1, 1, 3), dtype=np.uint8), cv2.COLOR_RGB2LAB)


warm_up()
