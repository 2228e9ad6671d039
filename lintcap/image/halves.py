"""Two lines the detector joined in one box: each half read apart.

A mark laid across scene text touches it: the DB detector of
:mod:`lintcap.image.text` then often returns one box for both lines (a
centred "dreamstime" just above a street sign's "Yuyuan Rd.", a Shutterstock
mark across a clock's digits). The recogniser of :mod:`lintcap.image.reading`
is trained on single lines and reads such a box as a mix of both, with a low
confidence ('YeguantiRd', '?uttck'); each half of the box, read apart, reads
as one of the lines ('dreamstime', 'Yuyuan Rd.'). Reading the halves costs
two recogniser calls a line, so only level scene lines read as text
(``read-min-confidence`` or more: :mod:`lintcap.image.wording` passes no
other) but with less than ``split-max-confidence`` are read again, at most
``split-max-lines`` an image, the least sure first. (Passing the lines read
below ``read-min-confidence`` too gave the same bench figures at more
recogniser calls: left out.) What a half says counts only as a mark's
wording (:func:`lintcap.image.wording.cue_in`): the box stays one line for
every other question.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from lintcap.image.text import TextBox, TextSettings

RGB = NDArray[np.uint8]


def read_halves(
    rgb: RGB,
    lines: list[tuple[TextBox, float]],
    settings: TextSettings,
    is_mark: Callable[[TextBox, str], bool],
) -> int:
    """Read the upper and lower half of each unsure level scene line apart
    (``lines``: a line read as text and the confidence it was read with); a line whose
    half ``is_mark`` (a mark's wording) is added, with the reason
    ``wording`` and that half's words as its reading. Returns how many
    lines were read again."""
    from lintcap.image import reading
    from lintcap.image.text import READ_MAX_CHARACTERS, _length

    chosen = sorted(
        (
            (box, confidence)
            for box, confidence in lines
            if box.kind == "scene"
            and abs(box.angle) <= settings.level_max_angle
            and confidence < settings.split_max_confidence
        ),
        key=lambda pair: pair[1],
    )[: settings.split_max_lines]
    for box, _ in chosen:
        turn = math.radians(box.angle)
        # Image y points down: the line runs along (cos, -sin), its upper
        # side lies along (-sin, -cos).
        shift = box.height / 4
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        cuts = [
            reading.cut_line(
                rgb,
                (cx - side * shift * math.sin(turn), cy - side * shift * math.cos(turn)),
                _length(box),
                box.height / 2,
                box.angle,
            )
            for side in (1, -1)
        ]
        for text, confidence in reading.read_lines(cuts, settings.read_max_width):
            if confidence >= settings.read_min_confidence and is_mark(box, text):
                box.kind, box.reason = "overlay", "wording"
                box.read = text[:READ_MAX_CHARACTERS]
                break
    return len(chosen)
