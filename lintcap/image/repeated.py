"""Text repeated across the data set: the same mark at the same place.

One picture alone cannot tell a faint watermark centred on a face from a
backdrop's lettering (:mod:`lintcap.image.text` calls both scene text). A
data set can: a stock site, a photographer or a channel puts its mark at one
place and one size on every picture, while the scene's text moves with the
scene. A line found at one place (its centre within ``repeated-tolerance`` of
the width and height), one height (within ``repeated-max-height-ratio``) and
one angle (within ``repeated-max-angle`` degrees) on ``repeated-min-images``
different pictures is called added, with the reason ``repeated``.

Different pictures, not different files: edits of one photograph (a re-save,
a grade, a crop of a few pixels) carry its scene text at the same place, so
pictures whose perceptual hashes lie within ``repeated-same-picture``
bits of each other count once. An image without a perceptual hash is not
counted (nothing says it is a different picture).

The pass runs on the facts of the whole set after the per-image analysis
(cached per image, left as they were on disk) and before the rules read them.
It reads only images whose text came from the learned detector. It is
bounded, since cached facts are untrusted input: an image with more than
``repeated-max-lines`` scene lines is left out, and the pass stops after
``repeated-max-comparisons`` line comparisons, keeping what it found.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from lintcap.image.facts import ImageFacts
from lintcap.image.overlay import apply_text_boxes
from lintcap.image.text import TextBox, TextSettings

Key = tuple[int, int, int, int]


def mark_repeated(images: Sequence[ImageFacts | None], settings: TextSettings) -> int:
    """Call added the scene lines that repeat across the set; returns how many.

    Each image's overlay counts are recomputed when one of its lines changes."""
    if settings.repeated_min_images < 2:
        return 0
    lines: list[Line] = []
    # Lines by grid cell of place, height and length, then by picture hash:
    # a line's candidates are those of the neighbouring cells, one picture
    # at a time (a thousand copies of one picture cost one look, not a
    # thousand).
    grid: dict[Key, dict[int, list[Line]]] = defaultdict(lambda: defaultdict(list))
    for index, facts in enumerate(images):
        if not _usable(facts):
            continue
        assert facts is not None and facts.overlay is not None and facts.working_size
        width, height = facts.working_size
        short = max(1, min(width, height))
        code = _hash(facts)
        scene = [box for box in facts.overlay.text_boxes if box.kind == "scene"]
        if len(scene) > settings.repeated_max_lines:
            continue
        for box in scene:
            line = Line(
                image=index,
                code=code,
                box=box,
                cx=(box.x + box.w / 2) / width,
                cy=(box.y + box.h / 2) / height,
                tall=max(box.height, 1.0) / short,
                long=max(box.w, box.h, 1) / width,
            )
            lines.append(line)
            grid[_cell(line, settings)][code].append(line)
    changed: set[int] = set()
    budget = [settings.repeated_max_comparisons]
    for line in lines:
        if budget[0] <= 0:
            break
        if _repeats(line, grid, settings, budget):
            line.box.kind, line.box.reason = "overlay", "repeated"
            changed.add(line.image)
    for index in changed:
        facts = images[index]
        assert facts is not None and facts.overlay is not None
        apply_text_boxes(facts.overlay, facts.overlay.text_boxes)
    return sum(1 for line in lines if line.box.reason == "repeated")


class Line(NamedTuple):
    """A scene line, placed in shares of its picture."""

    image: int
    code: int
    box: TextBox
    cx: float
    cy: float
    tall: float
    long: float


def _cell(line: Line, settings: TextSettings) -> Key:
    return (
        int(line.cx / settings.repeated_tolerance),
        int(line.cy / settings.repeated_tolerance),
        int(math.log(line.tall) / math.log(settings.repeated_max_height_ratio)),
        int(math.log(line.long) / math.log(settings.repeated_max_length_ratio)),
    )


def _repeats(
    line: Line,
    grid: dict[Key, dict[int, list[Line]]],
    settings: TextSettings,
    budget: list[int],
) -> bool:
    """Whether lines like ``line`` lie on enough different pictures; each
    comparison is taken from ``budget`` (one count for the whole pass)."""
    pictures = [line.code]
    cell = _cell(line, settings)
    for step in itertools.product((-1, 0, 1), repeat=4):
        near = grid.get(
            (cell[0] + step[0], cell[1] + step[1], cell[2] + step[2], cell[3] + step[3])
        )
        for code, others in (near or {}).items():
            budget[0] -= len(pictures) + len(others)
            if budget[0] < 0:
                return False
            if any(_distance(code, seen) <= settings.repeated_same_picture for seen in pictures):
                continue
            if any(_alike_lines(line, other, settings) for other in others):
                pictures.append(code)
                if len(pictures) >= settings.repeated_min_images:
                    return True
    return False


def _alike_lines(a: Line, b: Line, settings: TextSettings) -> bool:
    return (
        abs(a.cx - b.cx) <= settings.repeated_tolerance
        and abs(a.cy - b.cy) <= settings.repeated_tolerance
        and abs(a.box.angle - b.box.angle) <= settings.repeated_max_angle
        and _alike(a.tall, b.tall, settings.repeated_max_height_ratio)
        and _alike(a.long, b.long, settings.repeated_max_length_ratio)
    )


def _usable(facts: ImageFacts | None) -> bool:
    return (
        facts is not None
        and facts.overlay is not None
        and facts.overlay.text_detector == "learned"
        and bool(facts.overlay.text_boxes)
        and facts.working_size is not None
        and facts.phash is not None
    )


def _hash(facts: ImageFacts | None) -> int:
    assert facts is not None and facts.phash is not None
    return int(facts.phash, 16)


def _distance(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def _alike(a: float, b: float, most: float) -> bool:
    return 1.0 / most <= a / max(b, 1e-9) <= most
