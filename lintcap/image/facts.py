"""What the image analysis knows about one image: plain, JSON-serialisable facts.

Facts are measurements, never verdicts: ``blur_effect`` is a number, and the
rule I004 in ``rules/images.yaml`` says which numbers are out of focus. The
cache stores these models as JSON, keyed by the file's content hash.

The facts come in families (:data:`FAMILIES`), each computed only when a
selected rule reads it and recorded in ``families`` with the key of the
settings it was computed under, so that the cache can tell which families of
a stored entry are still good and a later run computes only what is missing.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, PositiveInt

from lintcap.image.people import Face, PeopleFacts
from lintcap.image.text import TextBox
from lintcap.models import Problem


class ImageInfo(BaseModel):
    """Size and storage, as the trainers will see the image (EXIF-rotated)."""

    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str | None = None
    #: EXIF orientation tag (1 = upright; 2-8 mirror and/or rotate).
    exif_orientation: int = 1
    has_alpha: bool = False
    #: Share of pixels that are not fully opaque.
    transparent_share: float = 0.0
    bits_per_channel: int = 8

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def aspect_ratio(self) -> float:
        return max(self.width, self.height) / max(1, min(self.width, self.height))


class Colour(BaseModel):
    """The measures that tell a monochrome picture (I007, and the agreement
    rule A010, which reads no other image measure but the people facts): a
    family of their own, cheap beside the rest of :class:`Quality`. The
    contrast is here because a toned picture is judged only with normal
    contrast (a flat image has too little colour to tell). Computed on the
    working image inside any border bars (:func:`lintcap.image.quality.measure_colour`)."""

    #: Spread of the middle 98 % of luminance values, 0-255.
    contrast: float = 0.0
    #: Mean Lab chroma of a 256 px thumbnail.
    chroma_mean: float = 0.0
    #: Spread of (a, b) among pixels of the same lightness.
    colour_residual: float = 0.0


class Quality(BaseModel):
    """Measurements on the image as the trainer will see it (long side at most
    the analysis size). Every value is documented where it is computed
    (:mod:`lintcap.image.quality`)."""

    blur_effect: float = 0.0
    blur_region: str = "centre"
    clipped_highlights: float = 0.0
    clipped_shadows: float = 0.0
    mean_luminance: float = 0.0
    entropy: float = 0.0
    colourfulness: float = 0.0
    cast_strength: float = 0.0
    black_level: float = 0.0
    white_level: float = 255.0
    split_toning: float = 0.0
    saturation_mean: float = 0.0
    #: Share of pixels with HSV saturation above 200 of 255.
    saturated_share: float = 0.0
    #: Darkest grey of the colour thumbnail (a fade leaves nothing dark).
    black_floor: float = 0.0
    #: Lab lean shared by shadows, highlights and neutrals (a cast or filter).
    tint_a: float = 0.0
    tint_b: float = 0.0
    tint: float = 0.0
    #: Median Lab (a, b) and chroma of the middle of the face box; None
    #: without a face.
    skin_a: float | None = None
    skin_b: float | None = None
    skin_chroma: float | None = None
    vignette: float = 0.0
    vignette_falloff: float = 0.0
    jpeg_quality: int | None = None
    blockiness: float = 1.0
    detail_ratio: float = 1.0


class Overlay(BaseModel):
    """Text, watermark, logo and border measurements (:mod:`lintcap.image.overlay`)."""

    text_score: float = 0.0
    #: Where the strongest text-like line lies: "corner", "edge", "centre" or "".
    text_position: str = ""
    text_lines: int = 0
    diagonal_text_score: float = 0.0
    corner_mark_score: float = 0.0
    #: Which detector found the text: "learned" (the text extra's DB model,
    #: :mod:`lintcap.image.text`) or "morphology" (the fallback above).
    text_detector: str = "morphology"
    #: learned: lines of added text outside the corners (watermarks, captions)...
    overlay_text_lines: int = 0
    #: ...why the most telling of them looked added (tiled, diagonal,
    #: see-through, margin)...
    overlay_text_reason: str = ""
    #: ...what the recogniser read on the most telling added line ("" when
    #: none was read: :mod:`lintcap.image.wording`)...
    overlay_text_read: str = ""
    #: ...and where that line lies (centre, edge, corner)...
    overlay_text_where: str = ""
    #: ...lines of added text alone in a corner (signatures, credits, logos)...
    corner_overlay_lines: int = 0
    #: ...and lines of text that belong to the scene (signs, prints, backdrops).
    scene_text_lines: int = 0
    #: learned: every line found, in working-image pixels (for the report).
    text_boxes: list[TextBox] = []
    #: Widths in pixels of flat bars: top, bottom, left, right.
    border_top: int = 0
    border_bottom: int = 0
    border_left: int = 0
    border_right: int = 0


class ImageFacts(BaseModel):
    """Everything the analysis produced for one image file."""

    sha256: str
    info: ImageInfo | None = None
    colour: Colour | None = None
    quality: Quality | None = None
    overlay: Overlay | None = None
    #: 16 hex digits; a cache file with anything else is a miss, not a crash.
    phash: str | None = Field(default=None, pattern=r"^[0-9a-f]{16}$")
    #: Width and height of the working image, whose pixels the face and text
    #: boxes are in; positive (the boxes are divided by it), so a cache file
    #: with 0 is a miss, not a crash of the set-level passes or the report.
    working_size: tuple[PositiveInt, PositiveInt] | None = None
    people: PeopleFacts | None = None
    #: The face detector's boxes alone (largest first): where focus is
    #: measured. No face mesh, no pose: the people family adds those.
    face_boxes: list[Face] | None = None
    #: Reading problems (F006, F007, F009), cached with the facts.
    problems: list[Problem] = []
    #: Family name -> key of the settings it was computed under (see
    #: :mod:`lintcap.image.analyser`); a family absent here was not computed.
    families: dict[str, str] = {}

    def measures(self) -> dict[str, float | str | None]:
        """A flat view of every measurement, as rules name them (kebab-case)."""
        values: dict[str, float | str | None] = {}
        if self.info is not None:
            info = self.info
            values.update(
                {
                    "width": info.width,
                    "height": info.height,
                    "short-side": info.short_side,
                    "long-side": max(info.width, info.height),
                    "aspect-ratio": round(info.aspect_ratio, 3),
                    "exif-orientation": info.exif_orientation,
                    "transparent-share": info.transparent_share,
                    "bits-per-channel": info.bits_per_channel,
                    "mode": info.mode,
                    "format": info.format,
                }
            )
        for model in (self.colour, self.quality, self.overlay):
            if model is not None:
                for name, value in model.model_dump(exclude=_NOT_MEASURES).items():
                    values[name.replace("_", "-")] = value
        if self.overlay is not None and self.info is not None:
            height, width = max(1, self.info.height), max(1, self.info.width)
            overlay = self.overlay
            values["border-share"] = round(
                max(
                    (overlay.border_top + overlay.border_bottom) / height,
                    (overlay.border_left + overlay.border_right) / width,
                ),
                4,
            )
        if self.people is not None:
            people = self.people
            values.update(
                {
                    "faces": None if people.not_judged else len(people.faces),
                    "yaw": people.yaw,
                    "framing": people.framing,
                    "expression": people.expression,
                    "gaze": people.gaze,
                }
            )
        return values


#: Fields that are no single measurement (lists for the report).
_NOT_MEASURES = {"text_boxes"}


def _measure_names() -> frozenset[str]:
    names = {
        "width", "height", "short-side", "long-side", "aspect-ratio", "exif-orientation",
        "transparent-share", "bits-per-channel", "mode", "format", "border-share",
        "faces", "yaw", "framing", "expression", "gaze",
    }  # fmt: skip
    for model in (Colour, Quality, Overlay):
        names.update(
            name.replace("_", "-") for name in model.model_fields if name not in _NOT_MEASURES
        )
    return frozenset(names)


#: Every name an ``image-measure`` rule may use.
MEASURE_NAMES = _measure_names()


#: Measurements that only the text detectors produce.
TEXT_MEASURES = frozenset(
    {"text-score", "text-position", "text-lines", "diagonal-text-score", "corner-mark-score",
     "text-detector", "overlay-text-lines", "overlay-text-reason", "overlay-text-read",
     "overlay-text-where", "corner-overlay-lines",
     "scene-text-lines"}
)  # fmt: skip
#: Measurements that need the people detectors (face mesh, pose).
PEOPLE_MEASURES = frozenset({"faces", "yaw", "framing", "expression", "gaze"})
#: Measurements of the colour family (what tells a monochrome picture).
COLOUR_MEASURES = frozenset(name.replace("_", "-") for name in Colour.model_fields)
#: Measurements of the quality family (focus is measured on the face box).
QUALITY_MEASURES = frozenset(name.replace("_", "-") for name in Quality.model_fields)

#: The fact families, in the order they are computed. ``decode``: size,
#: storage, EXIF, reading problems and border bars (one decode at the working
#: size, one grey); ``hash``: the perceptual hash; ``faces``: the face
#: detector's boxes; ``colour``: chroma, colour residual and contrast;
#: ``quality``: the other quality measures (on the face box when there is
#: one); ``text``: the text detectors; ``people``: faces with face mesh and
#: pose (yaw, gaze, expression, framing).
FAMILIES = ("decode", "hash", "faces", "colour", "quality", "text", "people")
