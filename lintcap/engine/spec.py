"""Rule files as pydantic models: rules, check kinds and their parameters,
presets, and the analysis settings that live beside the rules.

A rule file is YAML with any of three top-level keys::

    rules:     [ {code, name, scope, severity, check: {kind, ...}, message, fix?, why, when?} ]
    presets:   { name: {description, ignore, severity, params} }
    settings:  { parser: {...}, trigger-inference: {...} }

Loading is strict (unknown keys are errors) and every error names the file,
the rule and the field.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from lintcap.caption.parse import ParserSettings
from lintcap.engine import patterns as user_patterns
from lintcap.errors import shown_key, unknown_keys, validation_message
from lintcap.fix.llm.settings import LlmSettings
from lintcap.image.analyser import AnalysisSettings
from lintcap.image.facts import MEASURE_NAMES
from lintcap.lazy import safe_load_yaml
from lintcap.models import Severity
from lintcap.resources import rules_dir
from lintcap.safefs import read_regular
from lintcap.strict import STRICT
from lintcap.subject import SubjectInference, SubjectKind
from lintcap.variety import VarietySettings

if TYPE_CHECKING:
    from lintcap.config import Config

Scope = Literal["file", "caption", "image", "item", "dataset", "training"]
SegmentKind = Literal["sentence", "tags"]


class _Strict(BaseModel):
    model_config = STRICT


class _Check(_Strict):
    """Base of every check kind; ``scopes`` says where the kind may be used."""

    scopes: ClassVar[frozenset[str]] = frozenset()


class FileHint(_Strict):
    """A file whose first bytes are ``starts_with`` is not what it seems:
    ``detail`` says what it is and what to do."""

    starts_with: str = Field(min_length=1, max_length=200)
    detail: str = Field(min_length=1)


class FileProblemCheck(_Check):
    """Fires for each discovery/reading problem of the listed kinds."""

    scopes: ClassVar[frozenset[str]] = frozenset({"file"})
    kind: Literal["file-problem"]
    problems: list[str] = Field(min_length=1)
    #: Limits used while reading; they belong to the rule that reports them.
    max_caption_bytes: int | None = Field(default=None, gt=0)
    max_image_pixels: int | None = Field(default=None, gt=0)
    #: Whether a full decode is needed to find these problems.
    decode: bool = False
    #: Image problems: read the file's first bytes and, when they are one of
    #: these headers, say what the file is instead of the reader's error.
    hints: list[FileHint] = []


class StartsWithCheck(_Check):
    """The caption must open with the trigger, or the medium phrase after it."""

    scopes: ClassVar[frozenset[str]] = frozenset({"caption"})
    kind: Literal["starts-with"]
    segment: Literal["trigger", "medium"]
    case_sensitive: bool = True
    #: Fix (medium): insert the medium phrase the dataset's captions use
    #: ("a photo of"), when one phrase is at least ``min_share`` of the medium
    #: phrases and at least ``min_captions`` captions use it; a set that names
    #: no medium, or several, gets no fix: which medium it is would be a guess.
    insert_medium: bool = False
    #: Medium: judge only captions that hold a sentence (a tag list has no
    #: place for "a photo of").
    prose_only: bool = False
    min_share: float = Field(default=0.8, gt=0, le=1)
    min_captions: int = Field(default=3, ge=1)


class RequiresAnyCheck(_Check):
    """At least one of: a lexicon category hit, a phrase, a segment kind."""

    scopes: ClassVar[frozenset[str]] = frozenset({"caption"})
    kind: Literal["requires-any"]
    categories: list[str] = []
    phrases: list[str] = []
    segments: list[SegmentKind] = []
    #: Captions with fewer words are not judged (a bare trigger is another rule's finding).
    min_words: int = 0
    #: Phrases that make the requirement moot ("head out of frame": no face,
    #: so no expression to describe).
    waived_by: list[str] = []
    #: Segments: judged only when at least this share of the dataset's captions
    #: hold one of them (a tagged set where one caption lacks tags), so a set
    #: written all in prose is not told, caption by caption, to write tags.
    min_dataset_share: float | None = Field(default=None, gt=0, le=1)
    #: Not judged in a set where at least ``unless-set-share`` of the captions
    #: hold one of these words ("1girl", "cartoon": drawn art, whose captions
    #: carry no lighting by convention).
    unless_set_says: list[str] = []
    unless_set_share: float = Field(default=0.5, gt=0, le=1)

    @model_validator(mode="after")
    def _something_required(self) -> RequiresAnyCheck:
        if not (self.categories or self.phrases or self.segments):
            raise ValueError("requires-any needs categories, phrases or segments")
        return self


class ForbidsCheck(_Check):
    """None of: a lexicon category hit, a phrase, a regex, a configured phrase list."""

    scopes: ClassVar[frozenset[str]] = frozenset({"caption"})
    kind: Literal["forbids"]
    categories: list[str] = []
    phrases: list[str] = []
    patterns: list[str] = []
    config: list[Literal["subject.intrinsic"]] = []
    ignore_case: bool = True
    #: Fix: replace each hit with this text (``{trigger}``: the configured
    #: trigger; no fix without one).
    replace_with: str | None = None
    #: Fix: replace each pattern hit with what the pattern's group of this name
    #: matched ("(long hair:1.2)" -> "long hair"); a pattern without the group,
    #: or a phrase or category hit, gets no fix: only its patterns are certain.
    keep_group: str | None = None
    #: Also forbid a token that holds the caption file's own name ('BG-0010'
    #: in 0010.txt): a per-image id the model can memorise. No fix.
    file_stem: bool = False
    #: Fix: remove hits that open a sentence, and capitalise what follows ...
    remove_openings: bool = False
    #: ... only when what follows starts with one of these words (a noun
    #: phrase: "The image shows a woman" -> "A woman"); a cut before anything
    #: else ("The overall mood of the image is" -> "Of the image is") breaks
    #: the sentence. Empty: any word.
    cut_before: list[str] = []

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            user_patterns.validate(pattern)  # run by `regex`, with a time budget
        return patterns


class DuplicateCaptionsCheck(_Check):
    """Captions that say the same: exactly, once case, spacing and punctuation
    are normalised away, or nearly (a share of their words the same, in order)."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["duplicate-captions"]
    method: Literal["exact", "near"]
    #: Near: word-sequence similarity (difflib's ratio over words) at or above
    #: which two captions are near-duplicates.
    min_similarity: float = Field(default=0.9, gt=0, le=1)
    #: Near: shorter captions are not compared (a few words differ by one).
    min_words: int = Field(default=6, ge=1)


class SegmentOrderCheck(_Check):
    """Segments must come in this order (sentences first, then tags)."""

    scopes: ClassVar[frozenset[str]] = frozenset({"caption"})
    kind: Literal["segment-order"]
    order: list[SegmentKind] = Field(min_length=2)


class LengthCheck(_Check):
    """Caption length in words, characters or (estimated) encoder tokens."""

    scopes: ClassVar[frozenset[str]] = frozenset({"caption"})
    kind: Literal["length"]
    unit: Literal["words", "characters", "clip-tokens", "t5-tokens"]
    max: int | None = Field(default=None, gt=0)
    min: int | None = Field(default=None, ge=0)
    encoder: str = ""


class RepetitionCheck(_Check):
    """Repeated tags, or a word n-gram repeated like a looping captioner."""

    scopes: ClassVar[frozenset[str]] = frozenset({"caption"})
    kind: Literal["repetition"]
    unit: Literal["tag", "ngram"]
    n: int = Field(default=4, ge=1)
    max_count: int = Field(default=1, ge=1)
    #: n-grams: count only copies that follow each other (a captioner loop),
    #: not a phrase that recurs in prose ("the girl on the left ... the girl
    #: on the right"); a sentence said twice counts too.
    consecutive: bool = False
    #: consecutive: the longest word group looked for, in words.
    max_period: int = Field(default=12, ge=1, le=64)


class ConsistencyCheck(_Check):
    """Each caption must follow the dataset's dominant style or order."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["consistency"]
    property: Literal["tag-style", "category-order"]
    categories: list[str] = []
    #: The dominant choice is enforced only when this share of captions makes it.
    min_share: float = Field(default=0.6, gt=0, le=1)
    min_captions: int = Field(default=5, ge=1)


class FrequencyCheck(_Check):
    """A phrase present in too large a share of captions."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["frequency"]
    categories: list[str] = []
    include_tags: bool = True
    #: Tags that hold a hit of these categories are not counted (a constant
    #: "front view" is a variety problem, not a description bound to the subject).
    exclude_categories: list[str] = []
    max_share: float = Field(default=0.8, gt=0, le=1)
    min_captions: int = Field(default=5, ge=1)
    exclude: list[str] = []
    #: Phrases found in exactly the same captions are one finding (one outfit).
    fold_same_captions: bool = False


class Bound(_Strict):
    """Bounds on one measurement: the case matches when the value is above
    ``above`` and/or below ``below``, or (for a label) one of ``in``."""

    above: float | None = None
    below: float | None = None
    in_: list[str] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _something(self) -> Bound:
        if self.above is None and self.below is None and self.in_ is None:
            raise ValueError("a bound needs above, below or in")
        return self


class MeasureCase(_Strict):
    """One way an image can fail a rule: every bound in ``when`` must hold."""

    #: Names the finding; may name measurements like a message does
    #: (``{overlay-text-read}``).
    label: str
    when: dict[str, Bound] = Field(min_length=1)

    @field_validator("label")
    @classmethod
    def _safe_label(cls, label: str) -> str:
        check_template(label)
        return label

    @field_validator("when")
    @classmethod
    def _known(cls, when: dict[str, Bound]) -> dict[str, Bound]:
        unknown = sorted(set(when) - MEASURE_NAMES)
        if unknown:
            raise ValueError(
                f"unknown measurement(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(MEASURE_NAMES))}"
            )
        return when


class ImageMeasureCheck(_Check):
    """Fires for an image whose measurements match any case (the first one
    that matches names the finding)."""

    scopes: ClassVar[frozenset[str]] = frozenset({"image"})
    kind: Literal["image-measure"]
    cases: list[MeasureCase] = Field(min_length=1)


class GradeCase(MeasureCase):
    """One kind of grade: the bounds that make an image look graded, and the
    measurement (``measure``) on which it must also stand out from the set."""

    measure: str

    @model_validator(mode="after")
    def _measure_is_known(self) -> GradeCase:
        bound = self.when.get(self.measure)
        if bound is None or (bound.above is None and bound.below is None):
            raise ValueError(f"measure {self.measure!r} needs an above or below bound in when")
        return self


class SetLook(_Strict):
    """A grade the set as a whole shows: the median of ``measure`` over the
    set's images lies within ``median``'s bound (and the medians of the
    measurements in ``also`` within theirs)."""

    label: str
    measure: str
    median: Bound
    also: dict[str, Bound] = {}

    @model_validator(mode="after")
    def _measure_is_known(self) -> SetLook:
        unknown = sorted({self.measure, *self.also} - MEASURE_NAMES)
        if unknown:
            raise ValueError(f"unknown measurement(s) {', '.join(unknown)}")
        if self.median.above is None and self.median.below is None:
            raise ValueError("a set look's median needs an above or below bound")
        return self


class GradeCheck(_Check):
    """Images graded unlike the rest of the set: a case matches and its
    ``measure`` lies beyond the set's median by ``spreads`` robust spreads
    (1.4826 x the median absolute deviation) and by ``min-step`` of the
    case's bound. A case whose label is one of the set's ``looks`` is the
    set's grade (D010), not judged image by image."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["graded-images"]
    cases: list[GradeCase] = Field(min_length=1)
    looks: list[SetLook] = []
    #: Fewer images with facts than this: no set to compare with, each image
    #: is judged on its own.
    min_images: int = Field(default=8, ge=3)
    spreads: float = Field(default=3.0, gt=0)
    #: The smallest departure from the median, as a share of the case's own
    #: bound: a set whose images all sit near the bound is not told apart
    #: by a few units.
    min_step: float = Field(default=0.25, ge=0)


class UniformGradeCheck(_Check):
    """The whole set graded alike: one finding for the set, naming the first
    look whose median bound holds."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["uniform-grade"]
    looks: list[SetLook] = Field(min_length=1)
    min_images: int = Field(default=8, ge=3)


class DuplicatesCheck(_Check):
    """Images with the same bytes (exact) or nearly the same picture (perceptual)."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["duplicates"]
    method: Literal["exact", "perceptual"]
    #: Hamming distance between 64-bit perceptual hashes at or below which two
    #: images are the same picture.
    max_distance: int = Field(default=6, ge=0, le=64)


class SizeBounds(_Strict):
    """Image-count bounds for one kind of subject; no ``max``: no ceiling."""

    min: int = Field(default=15, ge=0)
    max: int | None = Field(default=None, ge=1)
    #: Shown in the message: the size practitioners aim for.
    sweet_spot: tuple[int, int] = (25, 30)


class DatasetSizeCheck(SizeBounds, _Check):
    """Too few or too many images for the preset and the dataset's subject."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["dataset-size"]
    max: int | None = Field(default=150, ge=1)
    #: Bounds that replace the defaults above for a subject kind.
    by_subject: dict[SubjectKind, SizeBounds] = {}

    def bounds(self, subject: str | None) -> SizeBounds:
        if subject in self.by_subject:
            return self.by_subject[subject]  # type: ignore[index]
        return SizeBounds(min=self.min, max=self.max, sweet_spot=self.sweet_spot)


class VarietyCheck(_Check):
    """How the items spread over the classes of one dimension (angle,
    framing, expression, gaze), counted from the dataset view."""

    scopes: ClassVar[frozenset[str]] = frozenset({"dataset"})
    kind: Literal["variety"]
    dimension: Literal["angle", "framing", "expression", "gaze"]
    #: Each of these classes must be seen in at least ``min_each`` items.
    require: list[str] = []
    min_each: int = Field(default=2, ge=1)
    #: At least this many different classes ...
    min_classes: int = Field(default=1, ge=1)
    #: ... and no class in more than this share of the items that have one.
    max_share: float = Field(default=1.0, gt=0, le=1)
    #: Judge only when this many items have a value (fewer: nothing to count on).
    min_known: int = Field(default=5, ge=1)


class FramingAgreement(_Strict):
    #: The framing classes from the tightest to the widest.
    order: list[str] = Field(min_length=2)
    #: Image and caption must be this many steps apart to disagree
    #: (neighbouring classes blur into each other).
    min_steps: int = Field(default=2, ge=1)


class AgreementCheck(_Check):
    """The caption contradicts what the image shows."""

    scopes: ClassVar[frozenset[str]] = frozenset({"item"})
    kind: Literal["agreement"]
    framing: FramingAgreement | None = None
    #: Framing, angle and expression (people facts) are judged on these
    #: subject kinds only; every kind when the subject is undecided.
    people_subjects: list[SubjectKind] = ["person"]
    #: Pairs of angle classes that contradict each other.
    angle_conflicts: list[tuple[str, str]] = []
    #: Expressions the image shows that the caption must name (as the same class).
    expressions_to_caption: list[str] = []
    #: An image matching any case is monochrome ...
    monochrome: list[MeasureCase] = []
    #: ... and its caption must contain one of these phrases (whole words).
    monochrome_phrases: list[str] = []


TrainingProperty = Literal[
    "config-notes",
    "no-images",
    "caption-read",
    "caption-extension",
    "trigger-case",
    "shuffle-trigger",
    "repeats",
    "learning-rate",
    "rank",
    "image-size",
    "multiline",
    "te-cache-shuffle",
    "missing-captions",
    "gpu",
    "disk",
]


class TrainingCheck(_Check):
    """A property of the trainer's config, alone or against its data and GPU."""

    scopes: ClassVar[frozenset[str]] = frozenset({"training"})
    kind: Literal["training"]
    property: TrainingProperty
    min: float | None = None
    max: float | None = None
    #: GPU memory a Flux LoRA needs, full precision and quantised / low-VRAM.
    memory_gb: float = 24.0
    low_memory_gb: float = 16.0


Check = Annotated[
    FileProblemCheck
    | StartsWithCheck
    | RequiresAnyCheck
    | ForbidsCheck
    | SegmentOrderCheck
    | DuplicateCaptionsCheck
    | LengthCheck
    | RepetitionCheck
    | ConsistencyCheck
    | FrequencyCheck
    | ImageMeasureCheck
    | DuplicatesCheck
    | GradeCheck
    | UniformGradeCheck
    | DatasetSizeCheck
    | VarietyCheck
    | AgreementCheck
    | TrainingCheck,
    Field(discriminator="kind"),
]


class FixSpec(_Strict):
    safety: Literal["safe", "unsafe"] = "safe"
    description: str


class LlmSpec(_Strict):
    """How ``lintcap fix --llm`` handles the rule's findings: what the model
    is asked to do about one, and whether the text at the finding's span may
    disappear (an intrinsic trait, boilerplate, a loop, a contradicted phrase).
    Only such text loses the verifier's protection of tags and lexicon
    categories; everything else a caption describes must survive the rewrite."""

    instruction: str = Field(min_length=10)
    may_drop: bool = False


class When(_Strict):
    """Conditions on the run under which a rule applies."""

    trigger: Literal["configured", "absent"] | None = None


class Rule(_Strict):
    code: str = Field(pattern=r"^[A-Z]\d{3}$")
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    scope: Scope
    severity: Severity
    check: Check
    message: str
    fix: FixSpec | None = None
    #: Findings that need language: handed to the model by ``fix --llm``.
    llm: LlmSpec | None = None
    why: str = Field(min_length=20)
    when: When | None = None
    #: The dataset subjects the rule applies to (lintcap.subject); every kind
    #: when unset. A person-only rule never fires on an object or style set.
    subjects: list[SubjectKind] | None = Field(default=None, min_length=1)

    @field_validator("message")
    @classmethod
    def _template_is_safe(cls, message: str) -> str:
        check_template(message)
        return message

    @model_validator(mode="after")
    def _kind_fits_scope(self) -> Rule:
        if self.scope not in self.check.scopes:
            allowed = ", ".join(sorted(self.check.scopes))
            raise ValueError(
                f"check kind {self.check.kind!r} cannot be used in scope {self.scope!r} "
                f"(allowed: {allowed})"
            )
        return self


#: A template field: a value's name (``{phrase}``, ``{short-side}``,
#: ``{clipped-highlights%}``), never a position, an attribute or an index.
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_%-]*$")
#: Widths and precisions up to 99: ``{share:.2f}`` is fine, ``{phrase:>999999999}``
#: would build a gigabyte per finding.
_MAX_SPEC_NUMBER = 99


def check_template(template: str) -> None:
    """Raise ValueError unless ``template`` uses only named fields with small
    format specs: what :func:`lintcap.engine.run.render` can fill safely."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"message template: {exc}") from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if not _FIELD.match(field):
            raise ValueError(
                f"message template field {{{field}}}: only named values like {{phrase}} "
                "(no positions, attributes or indexes)"
            )
        if conversion is not None:
            raise ValueError(f"message template field {{{field}}}: no !{conversion} conversion")
        if spec and (
            "{" in spec
            or len(spec) > 10
            or any(int(n) > _MAX_SPEC_NUMBER for n in re.findall(r"\d+", spec))
        ):
            raise ValueError(
                f"message template field {{{field}}}: format spec {spec!r} too wide "
                f"(widths and precisions up to {_MAX_SPEC_NUMBER})"
            )


class Preset(_Strict):
    description: str
    ignore: list[str] = []
    severity: dict[str, Severity] = {}
    params: dict[str, dict[str, Any]] = {}


class TriggerInference(_Strict):
    """When no trigger is configured: a rare token in at least ``min_share``
    of at least ``min_captions`` captions (lintcap.caption.trigger)."""

    min_share: float = Field(default=0.6, gt=0, le=1)
    min_captions: int = Field(default=3, ge=1)
    #: A rare lower-case word this short is a coined token wherever it stands.
    max_short_length: int = Field(default=4, ge=0)
    #: A tag of at most this many words that holds a rare word is a candidate.
    max_chunk_words: int = Field(default=3, ge=1)
    #: Regexes (whole token, any case) of tokens that are never triggers.
    not_triggers: list[str] = []

    @field_validator("not_triggers")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"invalid regex {pattern!r}: {exc}") from exc
        return patterns


class PresetHint(_Strict):
    """When to suggest another preset (``settings: preset-hint:``): a set whose
    captions are mostly tags, linted under a preset that wants sentences, is
    most likely captioned for CLIP (SDXL, SD 1.x), where tags are the format."""

    #: Share of the captions with tags and no sentence from which to suggest.
    tags_only_share: float = Field(default=0.8, gt=0, le=1)
    #: Judge only from at least this many captions.
    min_captions: int = Field(default=5, ge=1)
    #: The presets under which the hint is given, and the one it suggests.
    under: list[str] = ["flux-character", "flux-style"]
    suggest: str = "sdxl-tags"


class Settings(_Strict):
    parser: ParserSettings = ParserSettings()
    preset_hint: PresetHint = PresetHint()
    trigger_inference: TriggerInference = TriggerInference()
    subject_inference: SubjectInference = SubjectInference()
    image_analysis: AnalysisSettings = AnalysisSettings()
    variety: VarietySettings = VarietySettings()
    llm: LlmSettings = LlmSettings()


class RuleFileError(Exception):
    """A rule file is unreadable or invalid; the message names file, rule, field."""


class RuleBook(BaseModel):
    """Everything loaded from the rule files."""

    rules: list[Rule]
    presets: dict[str, Preset]
    settings: Settings
    sources: dict[str, str] = {}

    def rule(self, code: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.code == code), None)


def load_rule_files(paths: list[Path]) -> RuleBook:
    """Load and merge rule files; later files may not redefine a code. Any
    shape of YAML is an error naming the file (never a crash): a non-string
    key, ``presets: [1, 2]``, ``settings: abc``, nesting too deep."""
    rules: list[Rule] = []
    presets: dict[str, Preset] = {}
    settings: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for path in paths:
        try:
            _load_one(path, rules, presets, settings, sources)
        except RecursionError:
            raise RuleFileError(f"{path}: nested too deeply") from None
    try:
        parsed_settings = Settings.model_validate(settings)
    except ValidationError as exc:
        raise RuleFileError(f"settings: {validation_message(exc)}") from None
    except RecursionError:
        raise RuleFileError("settings: nested too deeply") from None
    book = RuleBook(rules=rules, presets=presets, settings=parsed_settings, sources=sources)
    _check_presets(book)
    return book


def _load_one(
    path: Path,
    rules: list[Rule],
    presets: dict[str, Preset],
    settings: dict[str, Any],
    sources: dict[str, str],
) -> None:
    data = _read_yaml(path)
    unknown = [key for key in data if key not in {"rules", "presets", "settings"}]
    if unknown:
        raise RuleFileError(f"{path}: {unknown_keys(unknown)} (expected rules, presets, settings)")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise RuleFileError(f"{path}: 'rules' must be a list")
    for index, raw in enumerate(raw_rules, start=1):
        label = shown_key(raw.get("code")) if isinstance(raw, dict) else "<key>"
        label = label if label != "<key>" else f"#{index}"
        try:
            rule = Rule.model_validate(raw)
        except ValidationError as exc:
            raise RuleFileError(f"{path}: rule {label}: {validation_message(exc)}") from None
        if rule.code in sources:
            raise RuleFileError(
                f"{path}: rule {rule.code}: code already defined in {sources[rule.code]}"
            )
        sources[rule.code] = str(path)
        rules.append(rule)
    raw_presets = data.get("presets") or {}
    if not isinstance(raw_presets, dict):
        raise RuleFileError(f"{path}: 'presets' must be a mapping of preset names")
    for name, raw in raw_presets.items():
        if not isinstance(name, str):
            raise RuleFileError(f"{path}: preset names must be strings")
        try:
            presets[name] = Preset.model_validate(raw)
        except ValidationError as exc:
            raise RuleFileError(
                f"{path}: preset {shown_key(name)}: {validation_message(exc)}"
            ) from None
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, dict):
        raise RuleFileError(f"{path}: 'settings' must be a mapping")
    merge_settings(settings, raw_settings)


def merge_settings(settings: dict[str, Any], more: dict[str, Any]) -> None:
    """``more`` laid over ``settings`` key by key, into nested mappings: a
    user's file setting ``image-analysis: {text: {large-pass: false}}`` changes
    that one knob (a whole replacement reset every other image setting to the
    code's defaults, the read-cues lists to empty). Lists and values replace."""
    for key, value in more.items():
        old = settings.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged = dict(old)
            merge_settings(merged, value)
            settings[key] = merged
        else:
            settings[key] = value


def _check_presets(book: RuleBook) -> None:
    codes = {rule.code for rule in book.rules}
    for name, preset in book.presets.items():
        for code in [*preset.severity, *preset.params]:
            if code not in codes:
                raise RuleFileError(f"preset {name}: unknown rule code {code}")
        for code, params in preset.params.items():
            rule = book.rule(code)
            assert rule is not None
            try:
                apply_params(rule, params)
            except ValidationError as exc:
                raise RuleFileError(
                    f"preset {name}: params for {code}: {validation_message(exc)}"
                ) from None


def apply_params(rule: Rule, params: dict[str, Any]) -> Rule:
    """A copy of ``rule`` whose check has ``params`` applied, re-validated."""
    merged = {**rule.check.model_dump(by_alias=True), **params}
    check = type(rule.check).model_validate(merged)
    return rule.model_copy(update={"check": check})


def _yaml_where(exc: yaml.YAMLError) -> str:
    """`` at line L, column C: problem``: one line, none of the file's text
    (the file may not be a rule file at all)."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None)
    return f"{where}: {' '.join(str(problem).split())[:120]}" if problem else where


#: A rule file larger than this is not one (and is not read whole).
MAX_RULE_FILE_BYTES = 4 * 1024 * 1024


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = safe_load_yaml(read_regular(path, MAX_RULE_FILE_BYTES).decode("utf-8"))
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{path}: invalid YAML{_yaml_where(exc)}") from None
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"{path}: not UTF-8: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RuleFileError(f"{path}: expected a mapping at the top level")
    return data


def load_rulebook(config: Config) -> RuleBook:
    """The shipped rule packs plus the user's ``extend-rules`` files."""
    shipped = sorted(rules_dir().glob("*.yaml"))
    return load_rule_files([*shipped, *config.extend_rules])
