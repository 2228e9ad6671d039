"""Text in the picture from a learned detector, and whether it was added.

The ``text`` extra (``pip install 'lintcap[text]'``) brings ``onnxruntime``,
which runs PaddleOCR's PP-OCRv4 DB text detector (Apache-2.0), and
``rapidocr-onnxruntime``, whose recogniser reads unsure lines
(:mod:`lintcap.image.reading`). lintcap ships
the model itself (``lintcap/models/ppocrv4_det.onnx``, provenance and licence
in ``lintcap/models/NOTICE``): the ONNX export of rapidocr-onnxruntime 1.4.4
rewritten by ``scripts/build_text_model.py`` into the same function with
fewer operations (its scalar affine layers folded into the convolutions,
hardswish as one operation), about 1.5 times faster. lintcap runs it through
onnxruntime, one thread per process (the pool runs one process per core), at
a working size of ``text-size`` pixels on the long side, and reads boxes off
its probability map the DB way (threshold, contours, rotated rectangles,
unclip). Nothing is downloaded. Without the extra the morphological detector
of :mod:`lintcap.image.overlay` stands in.

Telling added text from the photographed world is geometry, and each box says
why it was called an overlay:

``tiled``
    several boxes of one size and angle spread over the picture (a stock
    watermark pattern: one word repeated, so alike in length too, where
    backdrop lettering of several words varies; copies cut short by the
    picture's edge join the pattern by their height);
``diagonal``
    a long line at 15-75 degrees (scene text in perspective rarely runs that
    steep for that long);
``margin``
    small horizontal text in the outer band of the picture, in a corner or
    along the top or bottom edge (credits, signatures, captions, channel
    logos, date imprints), unless it is one line of a stack that reaches out
    of the band (the lower lines of a sign or a page);
``see-through``
    letters whose brightness follows the picture behind them: a
    semi-transparent watermark lets the photograph through, paint on a sign,
    a shirt or a banner is one colour whatever lies around it. Their edges
    are sharp too: scene text blurred with the photograph also follows what
    lies around it, but its steepest steps are a fraction of its contrast.

``repeated``
    set by :mod:`lintcap.image.repeated` after the whole set is analysed: a
    scene line at one place, height and length on several different pictures
    (a stock site's or a channel's mark).

Everything else is ``scene`` text, which is reported apart (the image may
still teach the words): a sign, a backdrop, a shirt print. Thresholds live in
``rules/settings.yaml`` (``image-analysis: text:``).

The DB model expects BGR input scaled with the ImageNet mean and deviation
(PaddleOCR's ``NormalizeImage`` defaults); with rapidocr's 0.5/0.5 setting it
marks faces as text on these photographs.
"""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, Field, model_validator

from lintcap.grouping import DisjointSets
from lintcap.image.wording import ReadCues, read_unsure
from lintcap.lazy import cv2
from lintcap.strict import STRICT

RGB = NDArray[np.uint8]
Kind = Literal["overlay", "scene"]

#: The package whose wheel holds PP-OCRv4's models as exported to ONNX (the
#: recogniser of :mod:`lintcap.image.reading` is read from there).
MODEL_PACKAGE = "rapidocr_onnxruntime"
#: The model lintcap ships (scripts/build_text_model.py builds it).
MODEL_FILE = Path(__file__).resolve().parents[1] / "models" / "ppocrv4_det.onnx"
#: Names the model in the text facts' cache key: bump it when the file changes.
MODEL_ID = "ppocrv4-det-folded-2"
#: BGR channel means and deviations the DB model was trained with.
_MEAN = np.array([0.406, 0.456, 0.485], dtype=np.float32)
_STD = np.array([0.225, 0.224, 0.229], dtype=np.float32)
#: The model's input value of each 0-255 level, per BGR channel: the same
#: float32 arithmetic as ``(level / 255 - mean) / std`` on the whole image,
#: looked up (a fifth of the cost of computing it per pixel), one 256 x 1
#: table per channel as ``cv2.LUT`` takes it (a tenth of ``np.take``'s cost
#: on the same planes, the same floats).
_LEVELS = tuple(
    np.ascontiguousarray(column.reshape(256, 1))
    for column in ((np.arange(256, dtype=np.float32)[:, None] / 255.0 - _MEAN) / _STD).T
)


class TextSettings(BaseModel):
    """Knobs of the learned text detector (``image-analysis: text:``)."""

    model_config = STRICT

    #: Long side, in pixels, at which the detector looks (rounded to 32).
    size: int = Field(default=640, ge=64, le=2048)
    #: Bound of the work per image: at most this many lines, the highest
    #: scoring, are taken from each probability map and from all looks
    #: together (the line passes compare every line with every other: a page
    #: of small words took a minute). The real bench photos have 29 at most.
    max_lines: int = Field(default=200, ge=1, le=2000)
    #: A picture whose long side is below this share of ``size`` is enlarged
    #: to ``size`` (cubic) before the detector looks: the model misses text
    #: only a few pixels high (a 400 px picture's tiled web address), and
    #: only small pictures pay for it. Pictures near ``size`` keep their own
    #: scale: enlarging a 600 px one by 1.07 lost a mark on the real set (0: never).
    upscale_below: float = Field(default=0.8, ge=0.0, le=1.0)
    #: Probability from which a pixel is text (DB's binarisation threshold).
    pixel_threshold: float = Field(default=0.3, gt=0.0, lt=1.0)
    #: Mean probability inside a box from which it is kept.
    box_threshold: float = Field(default=0.6, gt=0.0, lt=1.0)
    #: DB's unclip ratio: how far a shrunk text kernel is grown back.
    unclip_ratio: float = Field(default=1.6, gt=0.0)
    #: A second look at the four corners (``corner-pass-width`` by
    #: ``corner-pass-height`` of the picture each) at the working image's own
    #: resolution, for thin signatures and small names beside a logo. Off by
    #: default: it costs about 40 % more than the first pass.
    corner_pass: bool = False
    corner_pass_width: float = Field(default=0.3, gt=0.0, le=0.5)
    corner_pass_height: float = Field(default=0.2, gt=0.0, le=0.5)
    #: A second look at the picture turned by each of ``turned-pass-angles``
    #: degrees (:mod:`lintcap.image.turned`), for faint diagonal marks the
    #: model misses at their own angle: one more run of the model per angle
    #: (about +136 CPU ms an image with two, bench/RESULTS.md). On as shipped
    #: with the larger look: together they take W001 recall on the real
    #: photographs from 0.83 to 0.92 at precision 1.00, for five times the
    #: text search's CPU; both off is the fast look (README, Images).
    turned_pass: bool = True
    turned_pass_angles: list[Annotated[float, Field(ge=-89.0, le=89.0)]] = Field(
        default_factory=lambda: [35.0, -35.0], max_length=8
    )
    #: A second look at the picture at ``large-pass-size`` on its long side
    #: (:mod:`lintcap.image.larger`), for small faint marks the first size
    #: loses; a new line is kept only if the recogniser reads it at
    #: ``large-pass-min-confidence`` or more, as ``large-pass-min-characters``
    #: letters or digits (a corner's texture read 'es' at 0.82): one more run of
    #: the model at about 2.5 times the pixels (bench/RESULTS.md). On as
    #: shipped.
    large_pass: bool = True
    large_pass_size: int = Field(default=1024, ge=64, le=2048)
    large_pass_min_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    large_pass_min_characters: int = Field(default=3, ge=0)
    #: Bound: at most this many of the larger look's new lines (the highest
    #: scoring) are read, each a run of the recogniser.
    large_pass_max_reads: int = Field(default=8, ge=0, le=200)
    #: Boxes of text whose height is below this share of the image's short
    #: side are ignored (noise, distant lettering).
    min_height_share: float = Field(default=0.012, ge=0.0)
    #: A line within this many degrees of level is level (a caption, a sign's
    #: line, joined with its neighbours; read as such); a steeper one is turned.
    level_max_angle: float = Field(default=10.0, ge=0.0, le=90.0)
    #: tiled: at least this many boxes of one size and angle...
    tiled_min_boxes: int = Field(default=4, ge=2)
    #: ...alike within these ratios of height and of length (one word
    #: repeated: backdrop lettering of several words varies more)...
    tiled_max_height_ratio: float = Field(default=1.2, ge=1.0)
    tiled_max_length_ratio: float = Field(default=1.3, ge=1.0)
    #: ...and within this many degrees of angle (the pattern's lines and the
    #: cut copies that join it)...
    tiled_max_angle: float = Field(default=8.0, ge=0.0)
    #: ...and lines of about their height at their angle belong to the
    #: pattern too (copies cut short by the picture's edge).
    tiled_extend_height_ratio: float = Field(default=1.4, ge=1.0)
    #: ...whose centres spread over this share of the width and of the height.
    tiled_min_spread: float = Field(default=0.4, ge=0.0, le=1.0)
    #: diagonal: angle range in degrees and the least length (share of the short side).
    diagonal_min_degrees: float = Field(default=15.0, ge=0.0, le=90.0)
    diagonal_max_degrees: float = Field(default=75.0, ge=0.0, le=90.0)
    diagonal_min_length: float = Field(default=0.15, ge=0.0)
    #: diagonal: the least length over height (a line, not a blob).
    diagonal_min_elongation: float = Field(default=2.0, ge=1.0)
    #: margin: the least length over height.
    margin_min_elongation: float = Field(default=1.5, ge=1.0)
    #: margin: a line is part of a block of text (a sign, a page) and not a
    #: caption when a line of about its height lies within this many line
    #: heights above or below it, outside the band.
    margin_block_gap: float = Field(default=1.0, ge=0.0)
    #: A line of about its height: the ratio of the two heights within these;
    #: above or below it: over it by more than ``margin_block_min_overlap``
    #: of the narrower line's width.
    margin_block_min_height_ratio: float = Field(default=0.75, gt=0.0)
    margin_block_max_height_ratio: float = Field(default=1.33, gt=0.0)
    margin_block_min_overlap: float = Field(default=0.3, ge=0.0)
    #: corner: a line in the top or bottom band that lies wholly in the outer
    #: share of the width on one side (a logo with its name beside it).
    corner_reach: float = Field(default=0.4, ge=0.0, le=0.5)
    #: margin: the outer band (share of the height and width) where added
    #: credits and captions sit...
    margin_band: float = Field(default=0.14, ge=0.0, le=0.5)
    #: ...and the largest text height (share of the short side) that counts
    #: there (along the bottom edge, where captions run larger: 1.4 times it).
    margin_max_height: float = Field(default=0.09, ge=0.0)
    #: see-through: the strokes' brightness follows the picture behind them
    #: (correlation at least this)...
    see_through_min_correlation: float = Field(default=0.8, ge=-1.0, le=1.0)
    #: ...and that picture varies (luminance standard deviation behind the
    #: strokes, 0-255): paint on a plate is one colour whatever lies around it.
    see_through_min_ground_std: float = Field(default=12.0, ge=0.0)
    #: repeated (:mod:`lintcap.image.repeated`): a line at one place and
    #: height on this many different pictures of the set is added (0: off)...
    repeated_min_images: int = Field(default=3, ge=0)
    #: ...its centre within this share of the width and height...
    repeated_tolerance: float = Field(default=0.03, gt=0.0, le=0.5)
    #: ...its height within this ratio...
    repeated_max_height_ratio: float = Field(default=1.25, gt=1.0)
    #: ...and its length (share of the width) within this ratio: the same mark...
    repeated_max_length_ratio: float = Field(default=1.15, gt=1.0)
    #: ...and its angle within this many degrees. Both ratios above 1: the
    #: pass files lines by the logarithm of their height and length in it.
    repeated_max_angle: float = Field(default=8.0, ge=0.0)
    #: ...and pictures whose perceptual hashes differ in at most this many
    #: bits of 64 are one picture (edits of one photograph).
    repeated_same_picture: int = Field(default=12, ge=0, le=64)
    #: Bounds of the pass (the cache is untrusted input, and a page of text
    #: holds hundreds of lines): an image with more scene lines than this is
    #: left out of it (a mark is one line among a few, not one among hundreds)...
    repeated_max_lines: int = Field(default=200, ge=0)
    #: ...and the pass stops after this many line comparisons, calling added
    #: only what it found by then (about a second of CPU).
    repeated_max_comparisons: int = Field(default=2_000_000, ge=0)
    #: see-through: the least length over height of a horizontal line.
    see_through_min_elongation: float = Field(default=2.5, ge=1.0)
    #: see-through: the strokes' edges are sharp: their steepest brightness
    #: step per pixel is at least this share of their rise over the ground
    #: (added after the photo was taken, they are not blurred with it).
    see_through_min_sharpness: float = Field(default=0.3, ge=0.0)
    #: Reading (:mod:`lintcap.image.wording`): at most this many unsure lines
    #: per image are read by the recogniser the text extra ships (0: none)...
    read_max_lines: int = Field(default=6, ge=0, le=64)
    #: ...a line read with less mean character confidence, or fewer letters
    #: and digits, is not text...
    read_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    read_min_characters: int = Field(default=2, ge=0)
    #: ...one word read on this many level lines (2 when they are turned) of
    #: one height and angle is a tiling (words this long at least)...
    read_same_word_min_level: int = Field(default=3, ge=2)
    read_same_word_min_letters: int = Field(default=3, ge=1)
    #: ...turned lines that read as one word are one mark within this ratio
    #: of height (the detector's height of a faint turned copy is rough: up
    #: to 1.8 times between copies of one tiled word on the real photos)...
    read_same_word_turned_height_ratio: float = Field(default=2.0, ge=1.0)
    #: ...lines of a tiling read to see that they are one word (lines alike in
    #: shape that read as different words are lettering, not a tiling)...
    read_tile_lines: int = Field(default=3, ge=0)
    #: ...one word: a reading error allowed per this many letters...
    read_letters_per_error: int = Field(default=4, ge=1)
    #: ...a turned scene line of this many letters that reads as a piece of
    #: a tiled or diagonal mark's words is more of that mark...
    read_piece_min_letters: int = Field(default=4, ge=1)
    #: ...a corner mark whose words the scene shows again (this many letters
    #: at least, a reading error per this many) is the scene's...
    read_backdrop_min_letters: int = Field(default=4, ge=1)
    read_backdrop_letters_per_error: int = Field(default=6, ge=1)
    #: ...a turned scene line too short to be a diagonal mark by shape, at
    #: these angles, reading as a word of this many letters at this mean
    #: confidence, is one (0 letters: off)...
    read_steep_min_degrees: float = Field(default=20.0, ge=0.0, le=90.0)
    read_steep_max_degrees: float = Field(default=45.0, ge=0.0, le=90.0)
    read_steep_min_letters: int = Field(default=3, ge=0)
    read_steep_min_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    #: ...a level scene line read as text (``read-min-confidence`` or more)
    #: but with less than this confidence may be two lines in one box (a mark
    #: across a sign's line): its halves are read apart, at most this many
    #: lines an image (0: none) (:mod:`lintcap.image.halves`)...
    split_max_confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    split_max_lines: int = Field(default=2, ge=0, le=16)
    #: ...and a line is read scaled to 48 px high and at most this wide
    #: (the recogniser's cost grows with the width).
    read_max_width: int = Field(default=640, ge=48, le=4096)
    #: ...and lines whose words are a mark's are added.
    read_cues: ReadCues = ReadCues()
    #: Turned lines seen in part (:func:`lintcap.image.pieces.extend_turned`):
    #: at most this many short turned scene lines (0: none) are read again
    #: cut this many times as long, and the longer reading kept when it has
    #: this many letters at this mean character confidence.
    extend_max_lines: int = Field(default=4, ge=0, le=64)
    extend_factor: float = Field(default=3.0, ge=1.0, le=10.0)
    extend_min_letters: int = Field(default=3, ge=1)
    extend_min_confidence: float = Field(default=0.8, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _angles_that_can_find(self) -> TextSettings:
        # A turn smaller than this keeps a diagonal mark askew in the view or
        # finds only lines level in the picture: the pass would keep nothing.
        least = self.diagonal_min_degrees - self.level_max_angle
        useless = [a for a in self.turned_pass_angles if abs(a) < least]
        if useless:
            raise ValueError(
                f"turned-pass-angles {useless}: each must turn at least diagonal-min-degrees"
                f" - level-max-angle = {least:g} degrees (a smaller turn keeps no line)"
            )
        if self.read_steep_min_degrees > self.read_steep_max_degrees:
            raise ValueError("read-steep-min-degrees must not exceed read-steep-max-degrees")
        return self


#: What is kept of a line read (a bound on the cached facts).
READ_MAX_CHARACTERS = 80


class TextBox(BaseModel):
    """One line of text, in pixels of the image given to :func:`find_text`."""

    x: int
    y: int
    w: int
    h: int
    #: Angle of the line's long side, degrees, counter-clockwise from horizontal.
    angle: float
    #: The line's height (the rotated box's short side), pixels.
    height: float
    #: Mean text probability inside the box.
    score: float
    kind: Kind = "scene"
    #: Why it was called an overlay: tiled, diagonal, margin, see-through,
    #: repeated ("" for scene).
    reason: str = ""
    #: "corner", "edge" or "centre".
    position: str = "centre"
    #: What the recogniser read on the line ("" when it was not read).
    read: str = Field(default="", max_length=READ_MAX_CHARACTERS)


class TextBackendUnavailable(RuntimeError):
    """The text extra is not installed; the message says what to install."""


@lru_cache(maxsize=1)
def model_path() -> Path | None:
    """The DB model file lintcap ships (None if an install lost it)."""
    return MODEL_FILE if MODEL_FILE.is_file() else None


@lru_cache(maxsize=1)
def rapidocr_folder() -> Path | None:
    """The installed rapidocr-onnxruntime package's folder, found without
    importing it (its import pulls in its whole OCR pipeline)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether the learned detector can run here."""
    return model_path() is not None and importlib.util.find_spec("onnxruntime") is not None


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _session() -> Any:
    path = model_path()
    if path is None or importlib.util.find_spec("onnxruntime") is None:
        raise TextBackendUnavailable(
            "the learned text detector needs the text extra: pip install 'lintcap[text]'"
        )
    from lintcap.image.sessions import single_thread_session

    return single_thread_session(path)


def detector_scale(long_side: int, size: int, upscale_below: float = 0.0) -> float:
    """The scale at which the detector sees a picture of ``long_side`` at
    ``size``: enlarged to ``size`` when below ``upscale_below`` times it,
    else shrunk to it (never enlarged)."""
    if long_side < upscale_below * size:
        return size / long_side
    return min(1.0, size / long_side)


def model_input(
    rgb: RGB, size: int, upscale_below: float = 0.0
) -> tuple[NDArray[np.float32], float, float]:
    """``rgb`` shrunk to ``size`` on its long side (both sides multiples of
    32) as the model's input tensor, and the scale back (x, y). A picture
    whose long side is below ``upscale_below`` times ``size`` is enlarged to
    ``size`` instead (see :attr:`TextSettings.upscale_below`)."""
    height, width = rgb.shape[:2]
    scale = detector_scale(max(height, width), size, upscale_below)
    new_h = max(32, round(height * scale / 32) * 32)
    new_w = max(32, round(width * scale / 32) * 32)
    method = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_AREA
    small = np.asarray(cv2.resize(rgb, (new_w, new_h), interpolation=method), np.uint8)
    tensor = np.empty((1, 3, new_h, new_w), dtype=np.float32)
    planes = cv2.split(small)
    for channel in range(3):  # BGR planes from RGB pixels
        cv2.LUT(planes[2 - channel], _LEVELS[channel], dst=tensor[0, channel])
    return tensor, width / new_w, height / new_h


def probability_map(
    rgb: RGB, size: int, upscale_below: float = 0.0
) -> tuple[NDArray[np.float32], float, float]:
    """The DB text probability of each pixel of ``rgb`` shrunk to ``size`` on
    its long side (both sides multiples of 32; a small picture enlarged, see
    :func:`model_input`), and the scale back (x, y)."""
    tensor, scale_x, scale_y = model_input(rgb, size, upscale_below)
    with _LOCK:
        session = _session()
    output = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    return np.asarray(output[0, 0], dtype=np.float32), scale_x, scale_y


def find_text(
    rgb: RGB, settings: TextSettings | None = None, gray: NDArray[np.uint8] | None = None
) -> list[TextBox]:
    """Text lines of one RGB image, each called overlay or scene; ``gray`` is
    its luminance when the caller already has it (one conversion per image).

    Raises :class:`TextBackendUnavailable` without the text extra."""
    settings = settings or TextSettings()
    probability, scale_x, scale_y = probability_map(rgb, settings.size, settings.upscale_below)
    boxes = boxes_from_map(probability, scale_x, scale_y, settings, lowest_line(rgb, settings))
    if settings.corner_pass:
        boxes += corner_boxes(rgb, boxes, settings)
    if settings.turned_pass:
        from lintcap.image.turned import turned_boxes

        boxes += turned_boxes(rgb, boxes, settings)
    if settings.large_pass:
        from lintcap.image.larger import larger_boxes

        boxes += larger_boxes(rgb, boxes, settings)
    boxes = strongest(merge_lines(boxes, settings.level_max_angle), settings.max_lines)
    if gray is None:
        gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)
    classify(boxes, gray, settings)
    if settings.extend_max_lines:
        from lintcap.image.pieces import extend_turned

        extend_turned(rgb, boxes, settings)
    read_unsure(rgb, gray, boxes, settings)
    return boxes


def corner_boxes(rgb: RGB, found: list[TextBox], settings: TextSettings) -> list[TextBox]:
    """Lines in the four corners seen at the image's own resolution (the
    first pass shrinks it to ``size``): thin signatures and small studio
    names. Lines the first pass found already are not repeated."""
    height, width = rgb.shape[:2]
    # At least 32 px a side (the model's stride), at most the picture (a
    # 1024 x 20 banner: a wider crop put its boxes at a negative x).
    crop_w = min(width, max(32, int(width * settings.corner_pass_width)))
    crop_h = min(height, max(32, int(height * settings.corner_pass_height)))
    lowest = lowest_line(rgb, settings)  # of the picture, not of the corner
    extra: list[TextBox] = []
    for left, top in (
        (0, 0),
        (width - crop_w, 0),
        (0, height - crop_h),
        (width - crop_w, height - crop_h),
    ):
        crop = np.ascontiguousarray(rgb[top : top + crop_h, left : left + crop_w])
        probability, scale_x, scale_y = probability_map(crop, max(crop_w, crop_h))
        boxes = boxes_from_map(probability, scale_x, scale_y, settings, lowest)
        for box in boxes:
            box.x, box.y = box.x + left, box.y + top
        extra += unseen(boxes, [*found, *extra])
    return extra


def unseen(boxes: list[TextBox], found: list[TextBox]) -> list[TextBox]:
    """Those of ``boxes`` (a later look's lines, in order) that meet none of
    ``found`` nor one kept before them: what an earlier look found, or the
    same look a moment ago, is not repeated."""
    kept: list[TextBox] = []
    for box in boxes:
        if not any(overlap(box, other) for other in found) and not any(
            overlap(box, other) for other in kept
        ):
            kept.append(box)
    return kept


def overlap(a: TextBox, b: TextBox) -> bool:
    """Whether two lines' turned boxes share pixels (a second look's line
    that an earlier look found already). Their upright bounding rectangles
    are the cheap first test, not the answer: a diagonal mark's rectangle
    has wide empty corners, and a level line lying in one was hidden by it
    (a tiling's parallel copies, too, whose rectangles overlap)."""
    if not (
        min(a.x + a.w, b.x + b.w) > max(a.x, b.x) and min(a.y + a.h, b.y + b.h) > max(a.y, b.y)
    ):
        return False
    kind, _ = cv2.rotatedRectangleIntersection(_turned_box(a), _turned_box(b))
    return bool(kind != cv2.INTERSECT_NONE)


def _turned_box(box: TextBox) -> tuple[tuple[float, float], tuple[float, float], float]:
    """The line's rotated box (centre, length and height, angle as OpenCV
    counts it: clockwise, the image's y pointing down)."""
    centre = (box.x + box.w / 2.0, box.y + box.h / 2.0)
    return centre, (_length(box), float(box.height)), -float(box.angle)


def lowest_line(rgb: RGB, settings: TextSettings) -> float:
    """The least height of a line kept in ``rgb``, pixels (``min-height-share``
    of its short side): lower ones are noise or distant lettering."""
    return settings.min_height_share * min(rgb.shape[:2])


def boxes_from_map(
    probability: NDArray[np.float32],
    scale_x: float,
    scale_y: float,
    settings: TextSettings,
    min_height: float = 0.0,
) -> list[TextBox]:
    """DB post-processing: the map thresholded, each region's rotated box
    scored by its mean probability and grown by the unclip distance; a box
    lower than ``min_height`` (pixels of the picture) is dropped here, before
    a later look compares its lines with it or reads them."""
    mask = (probability > settings.pixel_threshold).astype(np.uint8)
    mask = np.asarray(cv2.dilate(mask, np.ones((2, 2), np.uint8)), dtype=np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[TextBox] = []
    for contour in contours:
        if len(contour) < 4:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < 2:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        region = np.zeros((h, w), np.uint8)
        cv2.drawContours(region, [np.asarray(contour - np.array([x, y]), np.int32)], -1, (1,), -1)
        score = float(probability[y : y + h, x : x + w][region > 0].mean())
        if score < settings.box_threshold:
            continue
        grow = rw * rh * settings.unclip_ratio / (2 * (rw + rh))
        rw, rh = rw + 2 * grow, rh + 2 * grow
        if rw < rh:
            rw, rh, angle = rh, rw, angle - 90.0
        angle = -((angle + 90.0) % 180.0 - 90.0)  # image y points down
        corners = np.asarray(cv2.boxPoints(((cx, cy), (rw, rh), -angle)), np.float64)
        corners *= np.array([scale_x, scale_y])
        left, top = corners.min(axis=0)
        right, bottom = corners.max(axis=0)
        height = round(float(rh * (scale_x + scale_y) / 2), 1)
        if height < min_height:
            continue
        boxes.append(
            TextBox(
                x=max(0, int(left)),
                y=max(0, int(top)),
                w=int(right - max(0.0, left)),
                h=int(bottom - max(0.0, top)),
                angle=round(float(angle), 1),
                height=height,
                score=round(score, 3),
            )
        )
    return strongest(boxes, settings.max_lines)


def strongest(boxes: list[TextBox], most: int) -> list[TextBox]:
    """At most ``most`` of ``boxes``, the highest scoring, in their order."""
    if len(boxes) <= most:
        return boxes
    kept = sorted(range(len(boxes)), key=lambda i: -boxes[i].score)[:most]
    return [boxes[i] for i in sorted(kept)]


def merge_lines(boxes: list[TextBox], level_max_angle: float) -> list[TextBox]:
    """Horizontal boxes of one line joined: DB splits a line at wide gaps
    (between words of a signature, a badge and its name), and where a line
    starts and ends says where it sits."""
    flat = sorted((b for b in boxes if abs(b.angle) <= level_max_angle), key=lambda b: b.x)
    others = [b for b in boxes if abs(b.angle) > level_max_angle]
    merged: list[TextBox] = []
    for box in flat:
        last = merged[-1] if merged else None
        if (
            last is not None
            and abs((last.y + last.h / 2) - (box.y + box.h / 2)) <= 0.5 * max(last.h, box.h)
            and 0.5 <= box.height / max(1.0, last.height) <= 2.0
            and box.x - (last.x + last.w) <= 1.5 * max(last.height, box.height)
        ):
            right = max(last.x + last.w, box.x + box.w)
            bottom = max(last.y + last.h, box.y + box.h)
            last.x, last.y = min(last.x, box.x), min(last.y, box.y)
            last.w, last.h = right - last.x, bottom - last.y
            last.height = max(last.height, box.height)
            last.score = max(last.score, box.score)
            last.angle = 0.0
            last.read = ""  # what one piece read is not the joined line's words
        else:
            merged.append(box.model_copy())
    return merged + others


def classify(boxes: list[TextBox], gray: NDArray[np.uint8], settings: TextSettings) -> None:
    """Call each box overlay or scene, with the reason (see the module)."""
    height, width = gray.shape
    short = min(height, width)
    for box in boxes:
        box.position = _position(box, width, height, settings.margin_band, settings.corner_reach)
    # Members are compared by identity: a box's value equality (pydantic)
    # in a list test made this cubic in the number of lines.
    seen: set[frozenset[int]] = set()
    for group in _tiled_groups(boxes, width, height, settings):
        members = frozenset(id(b) for b in group)
        if members in seen:  # each seed of one tiling finds it again
            continue
        seen.add(members)
        # Copies cut by the picture's edge are shorter, not lower.
        tall = float(np.median([b.height for b in group]))
        for box in boxes:
            if id(box) in members or (
                abs(box.angle - group[0].angle) <= settings.tiled_max_angle
                and _within(box.height / max(1.0, tall), settings.tiled_extend_height_ratio)
            ):
                box.kind, box.reason = "overlay", "tiled"
    blocks = _blocks(boxes, settings) if settings.margin_block_gap else []
    in_block = {id(b) for block in blocks for b in block}
    for box in boxes:
        if box.kind == "overlay":
            continue
        steep = abs(box.angle)
        length = _length(box)
        elongation = length / max(1.0, box.height)
        if (
            settings.diagonal_min_degrees <= steep <= settings.diagonal_max_degrees
            and length >= settings.diagonal_min_length * short
            and elongation >= settings.diagonal_min_elongation
        ):
            box.kind, box.reason = "overlay", "diagonal"
        elif (
            box.position in ("corner", "edge-band")
            and abs(box.angle) <= settings.level_max_angle
            and box.height
            <= settings.margin_max_height * short * (1.4 if box.position == "edge-band" else 1.0)
            and elongation >= settings.margin_min_elongation
            and id(box) not in in_block
        ):
            box.kind, box.reason = "overlay", "margin"
        elif (
            steep <= settings.level_max_angle
            and elongation >= settings.see_through_min_elongation
            and _see_through(gray, box, settings)
        ):
            box.kind, box.reason = "overlay", "see-through"
    for box in boxes:
        if box.position == "edge-band":
            box.position = "edge"


def _length(box: TextBox) -> float:
    """The line's length (the rotated box's long side) from its upright
    bounding box, its angle and its height: w + h = (length + height) *
    (|cos| + |sin|). A square blob at 45 degrees is not a long line."""
    turn = np.radians(box.angle)
    length = (box.w + box.h) / (abs(np.cos(turn)) + abs(np.sin(turn))) - box.height
    return float(max(length, box.height))


def _position(box: TextBox, width: int, height: int, band: float, reach: float = 0.0) -> str:
    """corner, edge-band (the bottom band), edge or centre."""
    cx = (box.x + box.w / 2) / width
    near_x = box.x <= band * width or box.x + box.w >= (1 - band) * width
    near_x = near_x or box.x + box.w <= reach * width or box.x >= (1 - reach) * width
    near_top = box.y <= band * height
    near_bottom = box.y + box.h >= (1 - band) * height
    if near_x and (near_top or near_bottom) and box.w <= 0.6 * width:
        return "corner"
    if near_bottom:
        return "edge-band"
    if near_top:
        return "edge"
    if cx < 0.2 or cx > 0.8:
        return "edge"
    return "centre"


def _blocks(boxes: list[TextBox], settings: TextSettings) -> list[list[TextBox]]:
    """Stacks of horizontal lines of about one height, one under the other,
    that reach out of the margin band: the lines of a sign or a page. A
    caption or credit is one or two lines inside the band."""
    flat = [b for b in boxes if abs(b.angle) <= settings.level_max_angle]
    sets = DisjointSets(len(flat))
    low, high = settings.margin_block_min_height_ratio, settings.margin_block_max_height_ratio

    for i, a in enumerate(flat):
        for j in range(i + 1, len(flat)):
            b = flat[j]
            if low <= a.height / max(1.0, b.height) <= high and stacked(a, b, settings):
                sets.join(i, j)
    groups = [[flat[i] for i in members] for members in sets.groups()]
    margin = ("corner", "edge-band")
    return [
        group
        for group in groups
        if any(b.position not in margin for b in group) and any(b.position in margin for b in group)
    ]


def stacked(line: TextBox, other: TextBox, settings: TextSettings) -> bool:
    """Whether ``line`` stands right above or below ``other``, over it by
    ``margin-block-min-overlap`` of the narrower width, at most
    ``margin-block-gap`` line heights apart: lines of one block of text (at
    any height: :func:`_blocks` asks for alike heights itself, and a line cut
    by the picture's edge is thinner than its block's)."""
    overlap = min(line.x + line.w, other.x + other.w) - max(line.x, other.x)
    between = max(line.y, other.y) - min(line.y + line.h, other.y + other.h)
    return overlap > settings.margin_block_min_overlap * min(line.w, other.w) and (
        between <= settings.margin_block_gap * max(line.height, other.height)
    )


def _tiled_groups(
    boxes: list[TextBox], width: int, height: int, settings: TextSettings
) -> list[list[TextBox]]:
    """Sets of boxes alike in height, length and angle, spread over the picture."""
    groups: list[list[TextBox]] = []
    for seed in boxes:
        alike = [
            b
            for b in boxes
            if abs(b.angle - seed.angle) <= settings.tiled_max_angle
            and _within(b.height / max(1.0, seed.height), settings.tiled_max_height_ratio)
            and _within(
                max(b.w, b.h) / max(1, max(seed.w, seed.h)), settings.tiled_max_length_ratio
            )
        ]
        if len(alike) < settings.tiled_min_boxes:
            continue
        xs = [b.x + b.w / 2 for b in alike]
        ys = [b.y + b.h / 2 for b in alike]
        if (max(xs) - min(xs)) >= settings.tiled_min_spread * width and (
            max(ys) - min(ys)
        ) >= settings.tiled_min_spread * height:
            groups.append(alike)
    return groups


def _within(ratio: float, most: float) -> bool:
    """Whether ``ratio`` lies between 1/most and most."""
    return 1.0 / most <= ratio <= most


def alike(line: TextBox, other: TextBox, settings: TextSettings) -> bool:
    """Whether ``other`` is of ``line``'s height and angle as a tiling's
    copies are (``tiled-max-height-ratio``, ``tiled-max-angle``): the test
    reading and the turned pieces both ask before calling lines one mark."""
    return abs(other.angle - line.angle) <= settings.tiled_max_angle and _within(
        other.height / max(1.0, line.height), settings.tiled_max_height_ratio
    )


def _see_through(gray: NDArray[np.uint8], box: TextBox, settings: TextSettings) -> bool:
    """Whether the strokes in ``box`` are a blend with the picture behind
    them. The ground is the box with its strokes removed (a morphological
    opening for light strokes, a closing for dark ones, half a line high);
    blended strokes rise and fall with it, painted ones do not."""
    patch = gray[box.y : box.y + box.h, box.x : box.x + box.w]
    if patch.size < 64:
        return False
    size = max(3, int(box.height * 0.5)) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    for light in (True, False):
        operation = cv2.MORPH_OPEN if light else cv2.MORPH_CLOSE
        ground = np.asarray(cv2.morphologyEx(patch, operation, kernel), dtype=np.float32)
        rise = (patch.astype(np.float32) - ground) * (1.0 if light else -1.0)
        strokes = rise > max(12.0, float(np.percentile(rise, 85)))
        if strokes.sum() < 10:
            continue
        values, behind = patch[strokes].astype(np.float32), ground[strokes]
        if values.std() <= 0 or behind.std() < settings.see_through_min_ground_std:
            continue
        if settings.see_through_min_sharpness and (
            _sharpness(patch, strokes, rise) < settings.see_through_min_sharpness
        ):
            continue
        if float(np.corrcoef(values, behind)[0, 1]) >= settings.see_through_min_correlation:
            return True
    return False


def _sharpness(
    patch: NDArray[np.uint8], strokes: NDArray[np.bool_], rise: NDArray[np.float32]
) -> float:
    """The strokes' steepest brightness step per pixel (90th percentile of the
    central-difference gradient around them) over their rise (75th
    percentile): near 1 for letters drawn on the picture, a few tenths for
    letters blurred with it."""
    values = patch.astype(np.float32)
    dx = np.abs(values[:, 2:] - values[:, :-2])[1:-1]
    dy = np.abs(values[2:] - values[:-2])[:, 1:-1]
    steep = np.maximum(dx, dy) / 2.0
    around = np.asarray(cv2.dilate(strokes.astype(np.uint8), np.ones((3, 3), np.uint8)), bool)
    around = around[1:-1, 1:-1]
    if around.sum() < 10:
        return 0.0
    step = float(np.percentile(steep[around], 90))
    return step / max(1.0, float(np.percentile(rise[strokes], 75)))
