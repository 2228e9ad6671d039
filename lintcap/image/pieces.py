"""Turned lines seen in part: read again along their axis, whole.

The DB detector of :mod:`lintcap.image.text` often sees a faint tiled
watermark in pieces: 'SAM' of one copy of SAMPLE, 'MPL' of another, each too
short to be a diagonal mark, too few to be a tiling by shape, and read as
different words by :mod:`lintcap.image.wording`. Cut a few times as long
along its own axis, such a piece reads as the whole word, and one word on
two turned lines of one height and angle is a tiling. This costs a recogniser
call per piece (:mod:`lintcap.image.reading`), and only where two or more
short turned lines of one height and angle stand.

Reading what the detector's map shows under its thresholds was tried too and
gave nothing on the real set (bench/RESULTS.md, "textrecall"): where a mark
is missed the map is 0 over it, not weak.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from lintcap.image.text import TextBox, TextSettings

RGB = NDArray[np.uint8]


def extend_turned(rgb: RGB, boxes: list[TextBox], settings: TextSettings) -> int:
    """Turned scene lines too short to be a diagonal mark, read again cut
    ``extend-factor`` times as long along their own axis: the detector often
    sees a faint tiled word in pieces ('SAM', 'MPL' of SAMPLE), and the
    longer cut reads the whole word. Only where two or more such lines of one
    height and angle stand (one word on two turned lines is what makes a
    tiling in :func:`lintcap.image.wording.read_unsure`); at most
    ``extend-max-lines``. A longer cut that reads as ``extend-min-letters``
    letters at ``extend-min-confidence`` becomes the line's reading; its
    box is left as it was. Returns how many lines were read."""
    from lintcap.image import reading
    from lintcap.image.text import READ_MAX_CHARACTERS, _length, alike

    if settings.extend_max_lines <= 0 or not reading.available():
        return 0
    short = min(rgb.shape[:2])
    turned = [
        b
        for b in boxes
        if b.kind == "scene"
        and not b.read
        and settings.diagonal_min_degrees <= abs(b.angle) <= settings.diagonal_max_degrees
        and _length(b) < settings.diagonal_min_length * short
    ]
    paired = [b for b in turned if any(o is not b and alike(b, o, settings) for o in turned)]
    chosen = sorted(paired, key=lambda b: -_length(b))[: settings.extend_max_lines]
    if len(chosen) < 2:
        return 0
    read = reading.read_boxes(rgb, chosen, settings.read_max_width, settings.extend_factor)
    for box, (text, confidence) in zip(chosen, read, strict=True):
        letters = sum(ch.isalpha() for ch in text)
        if confidence >= settings.extend_min_confidence and letters >= settings.extend_min_letters:
            box.read = text[:READ_MAX_CHARACTERS]
    return len(chosen)
