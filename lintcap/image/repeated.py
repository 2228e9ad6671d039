"""Text repeated across the data set: the same mark at the same place.

One picture alone cannot tell a faint watermark centred on a face from a
backdrop's lettering (:mod:`lintcap.image.text` calls both scene text). A
data set can: a stock site, a photographer or a channel puts its mark at one
place and one size on every picture, while the scene's text moves with the
scene. A line found at one place (its centre within ``repeated-tolerance`` of
the width and height) and one height (within ``repeated-max-height-ratio``)
on ``repeated-min-images`` different pictures is called added, with the
reason ``repeated``.

Different pictures, not different files: edits of one photograph (a re-save,
a grade, a crop of a few pixels) carry its scene text at the same place, so
pictures whose perceptual hashes lie within ``repeated-same-picture``
bits of each other count once. An image without a perceptual hash is not
counted (nothing says it is a different picture).

The pass runs on the facts of the whole set after the per-image analysis
(cached per image, left as they were on disk) and before the rules read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from lintcap.image.facts import ImageFacts
from lintcap.image.overlay import apply_text_boxes
from lintcap.image.text import TextBox, TextSettings

Key = tuple[int, int]


def mark_repeated(images: Sequence[ImageFacts | None], settings: TextSettings) -> int:
    """Call added the scene lines that repeat across the set; returns how many.

    Each image's overlay counts are recomputed when one of its lines changes."""
    if settings.repeated_min_images < 2:
        return 0
    tolerance = settings.repeated_tolerance
    lines: list[tuple[int, TextBox, float, float, float, float]] = []
    grid: dict[Key, list[int]] = defaultdict(list)
    for index, facts in enumerate(images):
        if not _usable(facts):
            continue
        assert facts is not None and facts.overlay is not None and facts.working_size
        width, height = facts.working_size
        short = max(1, min(width, height))
        for box in facts.overlay.text_boxes:
            if box.kind != "scene":
                continue
            cx, cy = (box.x + box.w / 2) / width, (box.y + box.h / 2) / height
            grid[(int(cx / tolerance), int(cy / tolerance))].append(len(lines))
            lines.append((index, box, cx, cy, box.height / short, max(box.w, box.h) / width))
    changed: set[int] = set()
    found = 0
    for index, box, cx, cy, tall, long in lines:
        cell = (int(cx / tolerance), int(cy / tolerance))
        pictures = [_hash(images[index])]
        near = (
            other
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for other in grid.get((cell[0] + dx, cell[1] + dy), ())
        )
        for other in near:
            o_index, o_box, o_cx, o_cy, o_tall, o_long = lines[other]
            if (
                o_index == index
                or abs(o_cx - cx) > tolerance
                or abs(o_cy - cy) > tolerance
                or abs(o_box.angle - box.angle) > 8
                or not _alike(o_tall, tall, settings.repeated_max_height_ratio)
                or not _alike(o_long, long, settings.repeated_max_length_ratio)
            ):
                continue
            code = _hash(images[o_index])
            if all(_distance(code, seen) > settings.repeated_same_picture for seen in pictures):
                pictures.append(code)
                if len(pictures) >= settings.repeated_min_images:
                    break
        if len(pictures) >= settings.repeated_min_images:
            box.kind, box.reason = "overlay", "repeated"
            changed.add(index)
            found += 1
    for index in changed:
        facts = images[index]
        assert facts is not None and facts.overlay is not None
        apply_text_boxes(facts.overlay, facts.overlay.text_boxes)
    return found


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
