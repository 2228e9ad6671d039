"""What a dataset is of: a person (or character), an animal, an object or
product, a style, or a place.

Rules declare the kinds they apply to (``subjects: [person]`` in their YAML):
asking for clothing, an expression or angle variety only makes sense of a
person, and a food or watch set drowned in such findings teaches its owner to
ignore the linter. The kind comes, in this order, from

* the config (``[subject] kind = "object"``), which always wins;
* the captions: the share of captions naming a cue word of each kind (word
  lists in ``rules/lexicons/subject/<kind>.txt``, thresholds in ``settings:
  subject-inference:``), together with the share of analysed images in which
  the people analysis found a face. A style word in most captions makes a
  style set; then person, unless an animal is named in more captions than a
  person; then animal; then place or object by their cue counts (object when
  nothing is named: food, flowers, textures, cars);
* the kohya class tokens of ``N_name`` folders when there are no captions
  (kohya uses them as the caption of an image without a caption file,
  kohya-ss/sd-scripts:library/train_util.py:2065-2081 @48d368fa).

Nothing decided (no captions, no image facts) is ``None``: every rule runs,
as before. The decision keeps its evidence so that reports can say why.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from lintcap.resources import lexicons_dir
from lintcap.strict import STRICT

SubjectKind = Literal["person", "animal", "object", "style", "place"]
KINDS: tuple[SubjectKind, ...] = ("person", "animal", "object", "style", "place")
#: Longest cue phrase, in words.
_MAX_CUE_WORDS = 4
_WORD = re.compile(r"[a-z0-9]+(?:['\u2019-][a-z0-9]+)*")


class SubjectInference(BaseModel):
    """Thresholds of the decision (``settings: subject-inference:``)."""

    model_config = STRICT

    #: Judge from captions only when at least this many have text.
    min_captions: int = Field(default=3, ge=1)
    #: A style word in this share of captions makes a style set.
    style_share: float = Field(default=0.6, gt=0, le=1)
    #: A person word in this share of captions (or a face in this share of the
    #: analysed images) makes a person set.
    person_share: float = Field(default=0.3, gt=0, le=1)
    #: An animal word in this share of captions makes an animal set.
    animal_share: float = Field(default=0.3, gt=0, le=1)
    #: Judge from faces only when at least this many images were analysed.
    min_images: int = Field(default=3, ge=1)


class SubjectDecision(BaseModel):
    """The kind and its evidence, as reports show it."""

    kind: SubjectKind | None = None
    source: Literal["configured", "captions", "images", "class-tokens", "none"] = "none"
    reason: str = "no captions or image facts to judge from"
    captions: int = 0
    #: Captions naming a cue of each kind.
    counts: dict[str, int] = {}
    #: The most frequent cue words of each kind (at most three).
    cues: dict[str, list[str]] = {}
    images_analysed: int = 0
    images_with_faces: int = 0
    #: Selected rules that do not apply to this kind, so did not run.
    skipped_rules: list[str] = []

    def applies(self, subjects: Sequence[str] | None) -> bool:
        """Whether a rule declaring ``subjects`` runs on this dataset."""
        return subjects is None or self.kind is None or self.kind in subjects


class SubjectCues(BaseModel):
    """Cue phrases per kind, normalised (lower case, ``_`` as a space)."""

    phrases: dict[str, frozenset[str]]
    _lengths: dict[str, int] | None = PrivateAttr(default=None)

    def lengths(self) -> dict[str, int]:
        """For each word that begins a cue phrase, the most words such a
        phrase has: only runs of words that begin so can be cues."""
        if self._lengths is None:
            lengths: dict[str, int] = {}
            for phrases in self.phrases.values():
                for phrase in phrases:
                    parts = phrase.split(" ")
                    lengths[parts[0]] = max(lengths.get(parts[0], 0), len(parts))
            self._lengths = lengths
        return self._lengths


@cache
def load_cues(folder: Path | None = None) -> SubjectCues:
    folder = folder or lexicons_dir() / "subject"
    phrases: dict[str, frozenset[str]] = {}
    for kind in KINDS:
        path = folder / f"{kind}.txt"
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        phrases[kind] = frozenset(
            " ".join(line.lower().replace("_", " ").split())
            for line in lines
            if line.strip() and not line.lstrip().startswith("#")
        )
    return SubjectCues(phrases=phrases)


def words(text: str) -> list[str]:
    """Lower-case words; hyphenated compounds stay one word ("ranch-style"),
    a possessive ``'s`` is dropped ("woman's" → "woman")."""
    lowered = text.lower().replace("_", " ")
    found = _WORD.findall(lowered)
    if "'s" not in lowered and "\u2019s" not in lowered:
        return found  # no possessive to drop (most captions)
    return [w[:-2] if w.endswith(("'s", "\u2019s")) else w for w in found]


def cues_in(
    text: str, cues: SubjectCues, lengths: dict[str, int] | None = None
) -> dict[str, set[str]]:
    """The cue phrases of each kind found in ``text`` (whole words);
    ``lengths`` is ``cues.lengths()``, passed by callers that loop."""
    tokens = words(text)
    lengths = cues.lengths() if lengths is None else lengths
    grams = {
        " ".join(tokens[i : i + n])
        for i, token in enumerate(tokens)
        if token in lengths
        for n in range(1, min(lengths[token], _MAX_CUE_WORDS) + 1)
        if i + n <= len(tokens)
    }
    found = {kind: grams & phrases for kind, phrases in cues.phrases.items()}
    return {kind: hits for kind, hits in found.items() if hits}


def _most_seen(seen: Counter[str], count: int = 3) -> list[str]:
    """The ``count`` cue words seen in most captions, ties by the word: a
    caption's cues are a set, so the order they were first counted in (which
    ``Counter.most_common`` keeps for ties) changes with string hashing from
    one run to the next."""
    return sorted(seen, key=lambda word: (-seen[word], word))[:count]


def decide_subject(
    texts: Iterable[str],
    settings: SubjectInference,
    cues: SubjectCues,
    configured: SubjectKind | None = None,
    faces: tuple[int, int] | None = None,
    class_tokens: Iterable[str] = (),
) -> SubjectDecision:
    """Decide the kind. ``faces`` is (images with a face, images analysed)."""
    captions = [text for text in texts if text.strip()]
    counts: Counter[str] = Counter()
    words_seen: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    lengths = cues.lengths()
    for text in captions:
        for kind, found in cues_in(text, cues, lengths).items():
            counts[kind] += 1
            words_seen[kind].update(found)
    with_faces, analysed = faces or (0, 0)
    decision = SubjectDecision(
        captions=len(captions),
        counts={kind: counts[kind] for kind in KINDS},
        cues={k: _most_seen(words_seen[k]) for k in KINDS if words_seen[k]},
        images_analysed=analysed,
        images_with_faces=with_faces,
    )
    if configured is not None:
        return decision.model_copy(
            update={"kind": configured, "source": "configured", "reason": "subject.kind in config"}
        )
    judged = _judge(captions, counts, decision.cues, settings, with_faces, analysed)
    update: dict[str, object] = dict(zip(("kind", "source", "reason"), judged, strict=True))
    if judged[0] is None and not captions:
        from_tokens, why = _from_class_tokens(class_tokens, cues)
        if from_tokens is not None:
            update = {"kind": from_tokens, "source": "class-tokens", "reason": why}
    return decision.model_copy(update=update)


def _judge(
    captions: list[str],
    counts: Counter[str],
    seen: dict[str, list[str]],
    settings: SubjectInference,
    with_faces: int,
    analysed: int,
) -> tuple[SubjectKind | None, Literal["captions", "images", "none"], str]:
    total = len(captions)
    enough_images = analysed >= settings.min_images
    face_share = with_faces / analysed if analysed else 0.0
    if total < settings.min_captions:
        if enough_images and face_share >= settings.person_share:
            return "person", "images", f"a face in {with_faces} of {analysed} images"
        if enough_images:
            note = f"a face in {with_faces} of {analysed} images"
            return None, "none", f"too few captions to judge from; {note}"
        return None, "none", "too few captions to judge from" if total else "no captions"

    def said(kind: str) -> str:
        words_ = ", ".join(seen.get(kind, []))
        return f"{kind} words in {counts[kind]} of {total} captions" + (
            f" ({words_})" if words_ else ""
        )

    share = {kind: counts[kind] / total for kind in KINDS}
    if share["style"] >= settings.style_share:
        return "style", "captions", said("style")
    animal_first = share["animal"] >= settings.animal_share and counts["animal"] > counts["person"]
    if share["person"] >= settings.person_share and not animal_first:
        return "person", "captions", said("person")
    if enough_images and face_share >= settings.person_share:
        return "person", "images", f"a face in {with_faces} of {analysed} images; {said('person')}"
    if share["animal"] >= settings.animal_share:
        return "animal", "captions", said("animal")
    faces_note = f"; a face in {with_faces} of {analysed} images" if enough_images else ""
    if counts["place"] > counts["object"]:
        return "place", "captions", f"{said('place')}; {said('person')}{faces_note}"
    if counts["object"]:
        return "object", "captions", f"{said('object')}; {said('person')}{faces_note}"
    return (
        "object",
        "captions",
        f"no person, animal, style or place words in {total} captions{faces_note}",
    )


def _from_class_tokens(
    class_tokens: Iterable[str], cues: SubjectCues
) -> tuple[SubjectKind | None, str]:
    order: tuple[SubjectKind, ...] = ("person", "animal", "style", "place", "object")
    for token in sorted({t for t in class_tokens if t}):
        found = cues_in(token, cues)
        for kind in order:
            if kind in found:
                return kind, f"no captions; the kohya class tokens {token!r} name {kind} words"
    return None, "no captions to judge from"
