"""A second look at the picture at a larger size, for small faint marks.

The first pass of :mod:`lintcap.image.text` shrinks the working picture to
``size`` (640 px): a small faint mark along the bottom or over a face, a few
pixels high there, can fall under the DB model's threshold where the picture
at ``large-pass-size`` (1024 px) shows it (``bench/RESULTS.md``, wmdetect:
four such marks on the real set). At that size the model also sees more
texture as text (hair, foliage, a shirt's print): kept as they came, those
new lines cost a false W001 and W002 on the real set and one more clean
original with a false alarm. So a new line is kept only when the recogniser
reads it as text with confidence (``large-pass-min-confidence`` and
``large-pass-min-characters``, stricter than ``read-min-confidence`` and
``read-min-characters``); texture reads as nothing, or as a letter or two
('es' at 0.82 in a saturated picture's corner: a false W002 without the
letter count). Kept lines carry what was
read, so :func:`lintcap.image.wording.read_unsure` does not read them again.
One more run of the model at about 2.5 times the pixels, plus a read per new
line; on as shipped (``large-pass``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lintcap.image.text import (
    READ_MAX_CHARACTERS,
    TextBox,
    TextSettings,
    boxes_from_map,
    detector_scale,
    lowest_line,
    probability_map,
    strongest,
    unseen,
)
from lintcap.image.wording import readable


def larger_boxes(
    rgb: NDArray[np.uint8], found: list[TextBox], settings: TextSettings
) -> list[TextBox]:
    """Lines seen only at ``settings.large_pass_size`` that read as text, in
    pixels of ``rgb``; lines the first pass found (``found``) are not
    repeated. Nothing when the larger look would not be larger than the
    first one (a small picture is seen at its own size or enlarged by both)."""
    from lintcap.image import reading

    long_side = max(rgb.shape[:2])
    if (
        detector_scale(long_side, settings.large_pass_size, settings.upscale_below)
        <= detector_scale(long_side, settings.size, settings.upscale_below)
        or not reading.available()
    ):
        return []
    probability, scale_x, scale_y = probability_map(
        rgb, settings.large_pass_size, settings.upscale_below
    )
    boxes = boxes_from_map(probability, scale_x, scale_y, settings, lowest_line(rgb, settings))
    new = strongest(unseen(boxes, found), settings.large_pass_max_reads)
    if not new:
        return []
    kept: list[TextBox] = []
    for box, (words, confidence) in zip(
        new, reading.read_boxes(rgb, new, settings.read_max_width), strict=True
    ):
        if readable(
            words,
            confidence,
            settings.large_pass_min_confidence,
            settings.large_pass_min_characters,
        ):
            box.read = words[:READ_MAX_CHARACTERS]
            kept.append(box)
    return kept
