"""One image file → its facts. A pure function of the file's bytes and the
analysis settings, which is what makes the facts cacheable by content hash.

Nothing here knows about rules: it measures everything the image rules may
ask about, once, on one decode.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lintcap.image.facts import ImageFacts
from lintcap.image.hashing import perceptual_hash
from lintcap.image.load import LoadFailure, load_image
from lintcap.image.overlay import apply_text_boxes, content_box, measure_overlay
from lintcap.image.people import PeopleSettings, detect_people
from lintcap.image.quality import estimate_jpeg_quality, measure_quality
from lintcap.image.text import TextBackendUnavailable, TextSettings, find_text
from lintcap.image.text import available as learned_text_available
from lintcap.lazy import cv2

#: Bump when a measurement changes meaning: cached facts of another version
#: are ignored.
ANALYSER_VERSION = "5"


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class AnalysisSettings(BaseModel):
    """Knobs of the image analysis, from ``settings: image-analysis:`` in the
    rule files. They are part of the cache key."""

    model_config = ConfigDict(extra="forbid", alias_generator=_kebab, populate_by_name=True)

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
    #: Set by the run from the selected rules: whether any reads text or
    #: people facts (the detectors cost most of the analysis).
    find_text: bool = True
    find_people: bool = True
    #: Set by the run from the F009 rule; part of the key like the rest.
    max_pixels: int = Field(default=178_956_970, gt=0)

    def cache_key(self) -> str:
        """What, besides the file's bytes, the facts depend on."""
        payload = json.dumps(
            [
                ANALYSER_VERSION,
                cv2.__version__,
                self.text_backend() if self.find_text else None,
                self.people_backend_used() if self.find_people else None,
                self.model_dump(mode="json"),
            ],
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def people_backend_used(self) -> Literal["opencv", "mediapipe"]:
        """The people backend this run uses: auto is mediapipe where the faces
        extra is installed (found without importing it), else OpenCV."""
        if self.people_backend != "auto":
            return self.people_backend
        return "mediapipe" if importlib.util.find_spec("mediapipe") is not None else "opencv"

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


def analyse_image(path: Path, display: str, sha256: str, settings: AnalysisSettings) -> ImageFacts:
    """Every image fact for one file; reading problems become facts too."""
    loaded = load_image(path, display, settings.max_pixels, settings.size)
    if isinstance(loaded, LoadFailure):
        return ImageFacts(sha256=sha256, problems=loaded.problems)
    facts = ImageFacts(sha256=sha256, info=loaded.info)
    facts.working_size = (loaded.working.shape[1], loaded.working.shape[0])
    if settings.find_people:
        facts.people = detect_people(
            loaded.working, settings.people, settings.people_backend_used(), gray=loaded.gray
        )
    subject = None
    if facts.people is not None and facts.people.faces:
        face = facts.people.faces[0]
        subject = (face.x, face.y, face.w, face.h)
    learned = settings.find_text and settings.text_backend() == "learned"
    facts.overlay = measure_overlay(
        loaded.working, loaded.gray, search_text=settings.find_text and not learned
    )
    if learned:
        apply_text_boxes(facts.overlay, find_text(loaded.working, settings.text))
    height, width = loaded.working.shape[:2]
    facts.quality = measure_quality(
        loaded.working,
        loaded.full_gray,
        subject,
        estimate_jpeg_quality(loaded.jpeg_quantization),
        content_box(facts.overlay, width, height),
        loaded.gray,
    )
    facts.phash = perceptual_hash(loaded.gray)
    return facts
