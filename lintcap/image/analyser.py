"""One image file → its facts. A pure function of the file's bytes and the
analysis settings, which is what makes the facts cacheable by content hash.

Nothing here knows about rules: the run says which fact families its rules
read (:data:`~lintcap.image.facts.FAMILIES`), and only those are measured,
on one decode at the working size with one grey conversion. Each family has
its own key (the settings it depends on), so that cached facts of one family
serve every run that reads it, whatever else that run selects, and a run
that needs more computes only the families it lacks.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from lintcap.image.facts import FAMILIES, ImageFacts, Overlay
from lintcap.image.hashing import perceptual_hash
from lintcap.image.load import LoadedImage, LoadFailure, load_image
from lintcap.image.overlay import apply_text_boxes, content_box, measure_overlay
from lintcap.image.people import PeopleSettings, detect_faces, detect_people
from lintcap.image.quality import (
    estimate_jpeg_quality,
    measure_colour,
    measure_quality,
    shared_colour_planes,
)
from lintcap.image.text import MODEL_ID, TextBackendUnavailable, TextSettings, find_text
from lintcap.image.text import available as learned_text_available
from lintcap.lazy import opencv_version
from lintcap.strict import STRICT

#: Bump when a measurement changes meaning: cached facts of another version
#: are ignored.
ANALYSER_VERSION = "8"

#: Overlay fields of the decode family (the border bars); the others are the
#: text family's.
BORDER_FIELDS = ("border_top", "border_bottom", "border_left", "border_right")


class AnalysisSettings(BaseModel):
    """Knobs of the image analysis, from ``settings: image-analysis:`` in the
    rule files. They are part of the cache key."""

    model_config = STRICT

    #: Long side of the working image: Flux and SDXL buckets hold about 1024².
    size: int = Field(default=1024, ge=64)
    #: People: "mediapipe" (the faces extra), "opencv" (Haar cascades, core),
    #: or "auto": mediapipe when the extra is installed.
    people_backend: Literal["auto", "opencv", "mediapipe"] = "auto"
    people: PeopleSettings = PeopleSettings()
    #: Text and watermarks: "learned" (the text extra's DB model), "morphology"
    #: (core, no model), or "auto": learned when the extra is installed.
    text_detector: Literal["auto", "learned", "morphology"] = "auto"
    text: TextSettings = TextSettings()
    #: Set by the run from the selected rules: the fact families they read
    #: (the detectors cost most of the analysis). Decode is always measured.
    families: frozenset[str] = frozenset(FAMILIES)
    #: Set by the run from the F009 rule; part of the key like the rest.
    max_pixels: int = Field(default=178_956_970, gt=0)

    def wanted(self) -> tuple[str, ...]:
        """The families to measure, in order, with those they are computed
        from or read with: quality is measured on the face boxes, and read
        with the colour measures (its rules judge contrast too); the text
        rules' set-level pass (:mod:`lintcap.image.repeated`) tells pictures
        apart by their perceptual hash. Without the people facts, the face
        boxes are what the run counts faces by (the subject's kind, the
        report), so colour alone brings them too, as quality did when it
        held the colour measures."""
        wanted = set(self.families) | {"decode"}
        if "quality" in wanted:
            wanted |= {"faces", "colour"}
        if "colour" in wanted and "people" not in wanted:
            wanted.add("faces")
        if "text" in wanted:
            wanted.add("hash")
        return tuple(family for family in FAMILIES if family in wanted)

    def family_keys(self) -> dict[str, str]:
        """Each wanted family's key: what, besides the file's bytes, its
        facts depend on. Every family is measured on the decoded working
        image, so the decode settings are part of every key. Asked for each
        image, computed once per settings (it took about 0.4 ms, as long as
        analysing a small image)."""
        backends = (
            self.people_backend_used(),
            self.text_backend() if "text" in self.wanted() else None,
        )
        memo = (self.model_dump_json(), backends)
        keys = _FAMILY_KEYS.get(memo)
        if keys is None:
            if len(_FAMILY_KEYS) >= 16:
                _FAMILY_KEYS.clear()
            keys = _FAMILY_KEYS[memo] = self._family_keys()
        return dict(keys)

    def _family_keys(self) -> dict[str, str]:
        decode = [ANALYSER_VERSION, opencv_version(), self.size, self.max_pixels]
        parts: dict[str, list[Any]] = {
            "decode": decode,
            "hash": [*decode, "hash"],
            "colour": [*decode, "colour"],
        }
        wanted = self.wanted()
        if "faces" in wanted or "people" in wanted:
            people = [self.people_backend_used(), self.people.model_dump(mode="json")]
            parts["faces"] = [*decode, "faces", *people]
            # "2": the colour measures left it for their own family (a run of
            # an older lintcap must not take this quality for its own).
            parts["quality"] = [*parts["faces"], "quality", "2"]
            parts["people"] = [*decode, "people", *people]
        if "text" in wanted:
            # The repeated-mark settings are read by the set-level pass alone,
            # which runs on every run and leaves the cached facts as they were:
            # changing one must not measure every image's text again.
            per_image = self.text.model_dump(mode="json", exclude=set(SET_LEVEL_TEXT_SETTINGS))
            backend = self.text_backend()
            # The learned detector's model file is part of what it measures,
            # and so is whether (and by what) its unsure lines were read.
            learned: list[Any] = []
            if backend == "learned":
                from lintcap.image.reading import recogniser_id

                learned = [MODEL_ID, recogniser_id() or "not read"]
            text = [backend, *learned, per_image, text_source()]
            parts["text"] = [*decode, "text", *text]
        return {family: _digest(parts[family]) for family in wanted}

    def cache_key(self) -> str:
        """One key for all the wanted families together."""
        return _digest(sorted(self.family_keys().items()))

    def people_backend_used(self) -> Literal["opencv", "mediapipe"]:
        """The people backend this run uses: auto is mediapipe where the faces
        extra is installed (found without importing it), else OpenCV."""
        if self.people_backend != "auto":
            return self.people_backend
        return "mediapipe" if _installed("mediapipe") else "opencv"

    def text_backend(self) -> Literal["learned", "morphology"]:
        """The text detector this run uses; raises
        :class:`~lintcap.image.text.TextBackendUnavailable` when "learned" is
        asked for and the extra is missing."""
        if self.text_detector == "morphology":
            return "morphology"
        if learned_text_available():
            return "learned"
        if self.text_detector == "learned":
            raise TextBackendUnavailable(
                "text-detector: learned needs the text extra: pip install 'lintcap[text]'"
            )
        return "morphology"


@lru_cache(maxsize=8)
def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, found once per process (0.1 ms a
    look, and the analysis asks several times an image)."""
    return importlib.util.find_spec(module) is not None


#: family_keys() by the settings' JSON and the backends found.
_FAMILY_KEYS: dict[tuple[str, tuple[str | None, ...]], dict[str, str]] = {}


#: TextSettings fields that only :mod:`lintcap.image.repeated` reads.
SET_LEVEL_TEXT_SETTINGS = frozenset(
    name for name in TextSettings.model_fields if name.startswith("repeated_")
)


#: The modules whose code decides an image's text facts (the text family's
#: key takes in their source: an edited reading rule never serves old facts).
TEXT_MODULES = (
    "text.py",
    "wording.py",
    "halves.py",
    "turned.py",
    "pieces.py",
    "reading.py",
    "larger.py",
    "overlay.py",
)
#: Where they are (a test points it at edited copies).
TEXT_SOURCE = Path(__file__).resolve().parent


def text_source() -> str:
    """A digest of the source of :data:`TEXT_MODULES`."""
    from lintcap.sourcekey import add_sources

    digest = hashlib.sha256()
    add_sources(digest, TEXT_SOURCE, TEXT_MODULES)
    return digest.hexdigest()[:16]


def _digest(parts: Any) -> str:
    payload = json.dumps(parts, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def present(facts: ImageFacts | None, keys: dict[str, str]) -> set[str]:
    """The families of ``facts`` computed under the current ``keys``. A file
    that could not be read has nothing else to measure: every family is
    then present."""
    if facts is None or facts.families.get("decode") != keys.get("decode"):
        return set()
    if facts.info is None:
        return set(keys)
    return {family for family, key in keys.items() if facts.families.get(family) == key}


def analyse_image(
    path: Path,
    display: str,
    sha256: str,
    settings: AnalysisSettings,
    known: ImageFacts | None = None,
) -> ImageFacts:
    """The wanted fact families for one file; reading problems become facts
    too. Families of ``known`` (cached facts of the same bytes) computed
    under the current keys are kept, not measured again."""
    keys = settings.family_keys()
    have = present(known, keys)
    facts = ImageFacts(sha256=sha256)
    if known is not None and have:
        facts = restrict(known, have)
    missing = [family for family in keys if family not in have]
    if not missing:
        return facts
    loaded = load_image(path, display, settings.max_pixels, settings.size)
    if isinstance(loaded, LoadFailure):
        return ImageFacts(
            sha256=sha256, problems=loaded.problems, families={"decode": keys["decode"]}
        )
    for family in missing:
        _MEASURE[family](facts, loaded, settings)
        facts.families[family] = keys[family]
    return facts


def _decode(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    facts.info = loaded.info
    facts.working_size = (loaded.working.shape[1], loaded.working.shape[0])
    borders = measure_overlay(loaded.working, loaded.gray, search_text=False)
    facts.overlay = _with_borders(facts.overlay, borders)


def _hash(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    facts.phash = perceptual_hash(loaded.gray)


def _faces(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    facts.face_boxes = detect_faces(
        loaded.working, settings.people, settings.people_backend_used(), gray=loaded.gray
    )


def _colour(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    height, width = loaded.working.shape[:2]
    content = content_box(facts.overlay or Overlay(), width, height)
    facts.colour = measure_colour(
        loaded.working, loaded.gray, content, shared_colour_planes(loaded, content)
    )


def _quality(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    subject = None
    if facts.face_boxes:
        face = facts.face_boxes[0]
        subject = (face.x, face.y, face.w, face.h)
    height, width = loaded.working.shape[:2]
    content = content_box(facts.overlay or Overlay(), width, height)
    facts.quality = measure_quality(
        loaded.working,
        loaded.full_gray,
        subject,
        estimate_jpeg_quality(loaded.jpeg_quantization),
        content,
        loaded.gray,
        shared_colour_planes(loaded, content),
    )


def _text(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    learned = settings.text_backend() == "learned"
    overlay = measure_overlay(loaded.working, loaded.gray, search_text=not learned)
    if learned:
        apply_text_boxes(overlay, find_text(loaded.working, settings.text, loaded.gray))
    facts.overlay = _with_borders(overlay, facts.overlay or overlay)


def _people(facts: ImageFacts, loaded: LoadedImage, settings: AnalysisSettings) -> None:
    facts.people = detect_people(
        loaded.working,
        settings.people,
        settings.people_backend_used(),
        gray=loaded.gray,
        faces=facts.face_boxes if settings.people_backend_used() == "mediapipe" else None,
    )


_MEASURE = {
    "decode": _decode,
    "hash": _hash,
    "faces": _faces,
    "colour": _colour,
    "quality": _quality,
    "text": _text,
    "people": _people,
}


def _with_borders(overlay: Overlay | None, borders: Overlay) -> Overlay:
    """``overlay`` (or a blank one) with the border bars of ``borders``."""
    update = {name: getattr(borders, name) for name in BORDER_FIELDS}
    return (overlay or Overlay()).model_copy(update=update)


def merge(old: ImageFacts | None, new: ImageFacts) -> ImageFacts:
    """What the cache keeps for these bytes: ``new``'s families, and those of
    ``old`` that ``new`` does not have, when both were decoded alike. A
    reading problem on either side is kept alone: it serves every selection
    (:func:`present`), so facts of another read must not ride with it."""
    if (
        old is None
        or old.info is None
        or new.info is None
        or old.families.get("decode") != new.families.get("decode")
    ):
        return new
    merged = new.model_copy(deep=True)
    for family, key in old.families.items():
        if family in merged.families:
            continue
        for name in _FIELDS.get(family, ()):
            setattr(merged, name, getattr(old, name))
        if family == "text" and old.overlay is not None:
            merged.overlay = _with_borders(old.overlay, merged.overlay or Overlay())
        if family in _FIELDS:
            merged.families[family] = key
    return merged


def restrict(facts: ImageFacts, families: set[str]) -> ImageFacts:
    """Only the ``families`` of ``facts``: what a run that reads those sees,
    the same whether they came from the cache (which may hold more) or not."""
    update: dict[str, Any] = {
        "families": {f: k for f, k in facts.families.items() if f in families}
    }
    for family in facts.families:
        if family in families:
            continue
        for name in _FIELDS.get(family, ()):
            update[name] = None
        if family == "text" and facts.overlay is not None:
            update["overlay"] = _with_borders(None, facts.overlay)
    return facts.model_copy(update=update)


#: The ImageFacts fields each family sets (text: the overlay's text fields).
_FIELDS: dict[str, tuple[str, ...]] = {
    "decode": (),
    "hash": ("phash",),
    "faces": ("face_boxes",),
    "colour": ("colour",),
    "quality": ("quality",),
    "text": (),
    "people": ("people",),
}
