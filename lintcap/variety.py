"""What each item shows and says: the dataset view's per-item attributes.

The variety rules (D004-D007), the caption-image agreement rule (A010), the
statistics tables and the HTML report all count the same things: for each
image, its camera angle (front / left / right), framing (close-up, portrait,
waist-up, full body), expression and gaze. Two sources can answer:

* the **image**, from the people facts of :mod:`lintcap.image.people`
  ("left" is the viewer's left: the face turned towards the image's left
  edge);
* the **caption**, from its lexicon hits, mapped to the same classes by the
  phrase lists of ``settings: variety:`` in the rule files (a caption's
  "facing left" is read the same way, towards the image's left edge).

An :class:`Observed` value keeps both answers and says which one is used:
the image's when it has one (that is what the trainer learns from), else the
caption's; ``source`` says which, so a user knows whether to fix a caption or
add an image. Nothing here judges: rules do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from lintcap.analyse import ItemFacts
from lintcap.caption.lexicon import normalise_phrase
from lintcap.caption.parse import ParsedCaption, Span
from lintcap.strict import STRICT

Dimension = Literal["angle", "framing", "expression", "gaze"]
DIMENSIONS: tuple[Dimension, ...] = ("angle", "framing", "expression", "gaze")
#: The people fact that answers each dimension from the image.
_IMAGE_FACT: dict[Dimension, str] = {
    "angle": "yaw",
    "framing": "framing",
    "expression": "expression",
    "gaze": "gaze",
}


#: Hit phrases are lexicon phrases and pattern labels: a few thousand at
#: most, each seen on many captions.
_normalised = lru_cache(maxsize=8192)(normalise_phrase)


class VarietySettings(BaseModel):
    """Caption phrases per class of each dimension (``settings: variety:``).

    The classes are the people facts' values (``front``, ``left``, ``right``;
    ``close-up``, ``portrait``, ``waist-up``, ``full-body``; ``smiling``,
    ``open-mouth``, ``neutral``; ``camera``, ``away``) plus any other class a
    user names (``sad``): an expression the image analysis cannot see still
    counts from captions."""

    model_config = STRICT

    angle: dict[str, list[str]] = {}
    framing: dict[str, list[str]] = {}
    expression: dict[str, list[str]] = {}
    gaze: dict[str, list[str]] = {}
    #: Lexicon categories counted as one value per caption for D008/D009 and
    #: the statistics (clothing, setting, medium).
    counted_categories: list[str] = Field(default=["clothing", "setting", "medium"])
    _table_cache: dict[Dimension, dict[str, str]] | None = PrivateAttr(default=None)

    def classify_all(self, caption: ParsedCaption) -> dict[Dimension, tuple[str, Span]]:
        """For each dimension the caption names, the class and where: the first
        lexicon hit (in caption order) that one of the class phrase lists holds;
        all dimensions from one pass over the hits."""
        tables = self.tables()
        named: dict[Dimension, tuple[str, Span]] = {}
        for hit in sorted(caption.hits, key=lambda h: h.start):
            phrase = _normalised(hit.phrase)
            for dimension in DIMENSIONS:
                if dimension not in named:
                    found = tables[dimension].get(phrase)
                    if found is not None:
                        named[dimension] = found, Span(hit.start, hit.end)
            if len(named) == len(DIMENSIONS):
                break
        return named

    def tables(self) -> dict[Dimension, dict[str, str]]:
        if self._table_cache is None:
            self._table_cache = {
                dimension: {
                    normalise_phrase(phrase): label
                    for label, phrases in getattr(self, dimension).items()
                    for phrase in phrases
                }
                for dimension in DIMENSIONS
            }
        return self._table_cache


@dataclass(slots=True)
class Observed:
    """One dimension of one item: what the image shows, what the caption
    says, and the value counted. A plain dataclass, not a pydantic model:
    four are made per item, and nothing here comes from outside to validate."""

    image: str | None = None
    #: What produced the image's answer, e.g. ``opencv:profile-cascade``.
    image_source: str | None = None
    caption: str | None = None
    #: The caption phrase behind ``caption`` ("facing left"), and where it is.
    caption_phrase: str | None = None
    caption_span: Span | None = None

    @property
    def value(self) -> str | None:
        return self.image if self.image is not None else self.caption

    @property
    def source(self) -> Literal["image", "caption", "both"] | None:
        if self.image is not None and self.caption is not None:
            return "both" if self.image == self.caption else "image"
        if self.image is not None:
            return "image"
        return "caption" if self.caption is not None else None

    @property
    def disagrees(self) -> bool:
        return self.image is not None and self.caption is not None and self.image != self.caption


@dataclass(slots=True)
class ItemView:
    """The dataset view of one item (an image and its caption); a dataclass
    for the reason :class:`Observed` is."""

    index: int
    #: The image's display path, else the caption's.
    display: str
    image: str | None = None
    caption: str | None = None
    angle: Observed = field(default_factory=Observed)
    framing: Observed = field(default_factory=Observed)
    expression: Observed = field(default_factory=Observed)
    gaze: Observed = field(default_factory=Observed)
    #: Lexicon phrases per counted category (clothing, setting, medium), as written.
    phrases: dict[str, list[str]] = field(default_factory=dict)
    #: Caption length in whitespace-separated words (None without a caption).
    words: int | None = None
    tags: list[str] = field(default_factory=list)

    def observed(self, dimension: Dimension) -> Observed:
        value: Observed = getattr(self, dimension)
        return value


def build_views(facts: Sequence[ItemFacts], settings: VarietySettings) -> list[ItemView]:
    """One view per item, in the run's item order (indices match findings)."""
    return [_view(index, item, settings) for index, item in enumerate(facts)]


def _view(index: int, item: ItemFacts, settings: VarietySettings) -> ItemView:
    view = ItemView(
        index=index,
        display=item.image_display or item.display,
        image=item.image_display,
        caption=item.caption_display,
    )
    people = item.image_facts.people if item.image_facts is not None else None
    parsed = item.parsed
    named = settings.classify_all(parsed) if parsed is not None else {}
    for dimension in DIMENSIONS:
        observed = Observed()
        fact = _IMAGE_FACT[dimension]
        if people is not None and getattr(people, fact) is not None:
            observed.image = str(getattr(people, fact))
            observed.image_source = people.sources.get(fact, people.backend)
        if dimension in named and parsed is not None:
            observed.caption, observed.caption_span = named[dimension]
            observed.caption_phrase = parsed.slice(observed.caption_span)
        setattr(view, dimension, observed)
    if parsed is not None:
        view.words = parsed.words
        view.tags = [tag.key for tag in parsed.tags]
        for category in settings.counted_categories:
            found = [
                parsed.text[hit.start : hit.end] for hit in parsed.hits_in(category) if not hit.cue
            ]
            view.phrases[category] = list(dict.fromkeys(_normalised(p) for p in found))
    return view


def count(views: Sequence[ItemView], dimension: Dimension) -> Counter[str]:
    """How many items show each class of ``dimension`` (unknowns not counted)."""
    values = (view.observed(dimension).value for view in views)
    return Counter(value for value in values if value is not None)
