"""The lint run: discover → read → parse → check → diagnostics.

Only the facts that the selected rules need are computed: a caption-only
selection never opens an image, an image-only one never parses a caption.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import json
import os
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

from pydantic import BaseModel, Field, PrivateAttr

from lintcap.analyse import ItemFacts, Needs, attach_image_facts, read_item
from lintcap.caption.lexicon import Lexicon, load_lexicon
from lintcap.caption.nlp import CaptionNLP, fingerprint
from lintcap.caption.parse import CaptionParser, ParsedCaption
from lintcap.caption.patterns import PatternSet, load_patterns
from lintcap.caption.trigger import TriggerInfo, common_words, infer_trigger
from lintcap.config import Config
from lintcap.dataset import Dataset, discover, display_path
from lintcap.engine import checks, image_checks, view_checks
from lintcap.engine.file_hints import hint_for
from lintcap.engine.select import select_rules
from lintcap.engine.severity import apply_severity, validate_severity
from lintcap.engine.spec import (
    AgreementCheck,
    DatasetSizeCheck,
    DuplicatesCheck,
    FileProblemCheck,
    ForbidsCheck,
    GradeCheck,
    ImageMeasureCheck,
    PresetHint,
    Rule,
    RuleBook,
    UniformGradeCheck,
    VarietyCheck,
    load_rulebook,
)
from lintcap.ignores import apply_per_file_ignores
from lintcap.image.cache import CACHE_DIR_NAME, IMAGE_CACHE_LAYOUT, FactCache
from lintcap.image.facts import (
    COLOUR_MEASURES,
    PEOPLE_MEASURES,
    QUALITY_MEASURES,
    TEXT_MEASURES,
)
from lintcap.image.pool import PoolStats, analyse_all, default_jobs
from lintcap.models import Diagnostic, Location, Problem
from lintcap.scope import Scope
from lintcap.statistics import Statistics
from lintcap.subject import SubjectDecision, decide_subject, load_cues
from lintcap.variety import ItemView, VarietySettings, build_views

_IMAGE_PROBLEMS = frozenset({"undecodable", "too-many-pixels", "unsupported-format"})
_CAPTION_PROBLEMS = frozenset(
    {"empty-caption", "not-utf8", "bom", "multiline", "caption-too-large", "unreadable"}
)


class LintResult(BaseModel):
    diagnostics: list[Diagnostic]
    trigger: TriggerInfo
    #: What the dataset is of, and why (lintcap.subject).
    subject: SubjectDecision = SubjectDecision()
    images: int
    captions: int
    rules: int
    #: Images analysed in this run, and those whose facts came from the cache.
    images_analysed: int = 0
    images_cached: int = 0
    #: The facts behind the findings (for fix); not part of any report.
    items: list[ItemFacts] = Field(default=[], exclude=True)
    #: Filled by ``check --statistics``.
    statistics: Statistics | None = None
    #: Findings hidden because the baseline holds them (lintcap.baseline).
    baseline_hidden: int = 0
    #: Files discovery found: items, and files that pair with nothing.
    files_found: int = 0
    #: Lines for the summary (what did not run, and why).
    notes: list[str] = []
    _views: _LazyViews | None = PrivateAttr(default=None)

    @property
    def views(self) -> list[ItemView]:
        """What each item shows and says (angle, framing, ...), in item order:
        the dataset view behind the variety rules, statistics and HTML report.
        Built on first use, once for the run's checks and this result: a run
        whose rules read no view (``--select C``) does not pay for one per item."""
        if self._views is None:
            self._views = _LazyViews(self.items, VarietySettings())
        return self._views.as_list()


#: Checks that need the image analysis (and nothing of the captions).
_IMAGE_FACTS = ImageMeasureCheck | DuplicatesCheck | GradeCheck | UniformGradeCheck


def needs_for(rules: Sequence[Rule]) -> Needs:
    needs = Needs()
    for rule in rules:
        check = rule.check
        if isinstance(check, FileProblemCheck):
            wanted = set(check.problems)
            needs.caption_text |= bool(wanted & _CAPTION_PROBLEMS)
            needs.image_header |= bool(wanted & _IMAGE_PROBLEMS)
            needs.image_decode |= check.decode
            if check.max_caption_bytes:
                needs.max_caption_bytes = check.max_caption_bytes
            if check.max_image_pixels:
                needs.max_image_pixels = check.max_image_pixels
        elif isinstance(check, _IMAGE_FACTS):
            needs.image_analysis = True
            if isinstance(check, UniformGradeCheck | GradeCheck):
                # The looks are quality measures; images without them are not judged.
                needs.image_quality = True
            if isinstance(check, ImageMeasureCheck | GradeCheck):
                # The cases' measures, and those their labels and the message show.
                names = {name for case in check.cases for name in case.when}
                for template in [rule.message, *(case.label for case in check.cases)]:
                    names |= _template_names(template)
                needs.image_text |= bool(names & TEXT_MEASURES)
                needs.image_people |= bool(names & PEOPLE_MEASURES)
                needs.image_quality |= bool(names & QUALITY_MEASURES)
                needs.image_colour |= bool(names & COLOUR_MEASURES)
            elif isinstance(check, DuplicatesCheck):
                needs.image_hash |= check.method == "perceptual"
        elif isinstance(check, VarietyCheck | AgreementCheck):
            # What the images show (people, monochrome) and what captions say.
            needs.image_analysis = needs.caption_text = needs.parse = True
            needs.image_people = True
            if isinstance(check, AgreementCheck):
                names = {name for case in check.monochrome for name in case.when}
                needs.image_quality |= bool(names & QUALITY_MEASURES)
                needs.image_colour |= bool(names & COLOUR_MEASURES)
            else:
                needs.image_quality = True
        elif isinstance(check, DatasetSizeCheck):
            pass  # discovery alone counts the images
        elif rule.scope in {"caption", "dataset"}:
            needs.caption_text = needs.parse = True
        if rule.subjects is not None or isinstance(check, DatasetSizeCheck):
            needs.caption_text = True  # the subject is decided from the captions
    return needs


def image_analysis_available() -> bool:
    """Whether OpenCV, which image analysis needs, is installed (the
    ``images`` extra): found without importing it."""
    return importlib.util.find_spec("cv2") is not None


#: Checks that judge image facts only: left out without image analysis.
_IMAGE_ONLY = _IMAGE_FACTS | AgreementCheck


def without_image_analysis(rules: list[Rule]) -> tuple[list[Rule], list[str]]:
    """The rules that can run without image facts, and the codes left out:
    image measures, duplicate images and caption-image agreement. Variety
    rules stay: without image facts they count what the captions say."""
    kept, skipped = [], []
    for rule in rules:
        if isinstance(rule.check, _IMAGE_ONLY):
            skipped.append(rule.code)
        else:
            kept.append(rule)
    return kept, skipped


def lint(
    paths: Sequence[Path],
    config: Config,
    book: RuleBook | None = None,
    overrides: Mapping[Path, bytes] | None = None,
    dataset: Dataset | None = None,
) -> LintResult:
    """Lint the datasets at ``paths``. ``overrides`` replaces the bytes of
    caption files (by path) without touching the disk: how fix re-lints.
    ``dataset`` replaces discovery: how the gate lints the items a trainer
    finds, with the captions it builds."""
    with gc_paused():
        return _lint(paths, config, book, overrides, dataset)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a run builds its facts.

    A run allocates millions of small objects that all stay alive until it
    ends (parses, spans, views), and nothing of it forms cycles worth
    collecting early; with the collector on, each growth of the heap
    triggers a full pass over everything allocated so far: on 10,000
    captions a quarter of the run's CPU time (bench/captions.py). Reference
    counting still frees what is dropped; the collector resumes afterwards.

    Everything the run made is still in the youngest generation then, so the
    first collection after it would walk it all (4 % of a warm 100,000-caption
    run). ``freeze`` then ``unfreeze`` hands it to the oldest generation
    instead: two list splices, no walk, and cycles among it are still
    collected by the next full collection. (Objects a caller had frozen are
    handed over too.)"""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _lint(
    paths: Sequence[Path],
    config: Config,
    book: RuleBook | None,
    overrides: Mapping[Path, bytes] | None,
    dataset: Dataset | None,
) -> LintResult:
    book = book or load_rulebook(config)
    rules = [
        rule
        for rule in select_rules(
            book, config.preset, config.select, config.extend_select, config.ignore
        )
        if rule.scope != "training"  # trainer configs are read by `lintcap gate`
    ]
    if config.severity:
        validate_severity(book, config.severity)
        rules = apply_severity(rules, config.severity)
    needs = needs_for(rules)
    notes: list[str] = []
    if needs.image_analysis and not image_analysis_available():
        rules, skipped = without_image_analysis(rules)
        needs = needs_for(rules)
        needs.image_analysis = False  # variety rules count what the captions say
        if skipped:
            notes.append(
                f"Image rules did not run ({', '.join(skipped)}): OpenCV is not installed; "
                "`pip install 'lintcap[images]'` adds it."
            )
    if dataset is None:
        dataset = discover(
            list(paths),
            config.caption_extension,
            Scope.from_config(config),
            config.caption_source,
            overrides,
        )
    cwd = os.getcwd()  # once: every item's paths are shown from it
    facts = [read_item(item, needs, overrides, cwd) for item in dataset.items]
    trigger = _configured(config)

    def parse_captions() -> None:
        nonlocal trigger
        if needs.parse:
            lexicons = json.dumps(config.lexicons, sort_keys=True)
            trigger = _trigger(config, facts, book, _lexicon(lexicons))
            _parse_all(facts, config, dataset, trigger.word, book)

    stats = PoolStats()
    if needs.image_analysis:
        # The captions are parsed while the image pool's workers analyse.
        stats = _analyse_images(facts, dataset, config, book, needs, parse_captions)
        if needs.image_text and not _lines_read(book):
            notes.append(
                "W001/W002 judged lines by their shape alone: the recogniser that reads "
                "unsure lines comes with rapidocr-onnxruntime; `pip install 'lintcap[text]'` "
                "adds it (fewer false alarms on scene text, marks found by their words)."
            )
    else:
        parse_captions()
    parsed = [f.parsed for f in facts] if needs.parse else []
    if needs.parse:
        hint = preset_hint(config.preset, parsed, book.settings.preset_hint)
        if hint:
            notes.append(hint)
    subject = _subject(config, facts, book)
    skipped = [rule.code for rule in rules if not subject.applies(rule.subjects)]
    subject.skipped_rules = skipped
    rules = [rule for rule in rules if rule.code not in skipped]
    context = checks.CheckContext(
        trigger=trigger.word,
        trigger_configured=trigger.source == "configured",
        subject=config.subject,
        media=checks.medium_counts(parsed),
        segment_shares=checks.segment_shares(parsed),
        subject_kind=subject.kind,
        texts=[caption.text for caption in parsed if caption is not None],
    )
    views = _LazyViews(facts, book.settings.variety)
    diagnostics = _diagnose(rules, dataset, facts, views, context)
    diagnostics = _apply_per_file_ignores(diagnostics, config)
    diagnostics.sort(key=Diagnostic.sort_key)
    result = LintResult(
        diagnostics=diagnostics,
        trigger=trigger,
        subject=subject,
        images=sum(1 for f in facts if f.item.image is not None),
        captions=sum(1 for f in facts if f.item.caption_path is not None),
        rules=len(rules),
        images_analysed=stats.analysed,
        images_cached=stats.cached,
        items=facts,
        files_found=len(dataset.items) + len(dataset.problems),
        notes=notes,
    )
    result._views = views
    return result


class _LazyViews(Sequence[ItemView]):
    """The run's item views, built the first time a check reads one."""

    def __init__(self, facts: list[ItemFacts], settings: VarietySettings) -> None:
        self._facts, self._settings = facts, settings
        self._built: list[ItemView] | None = None

    def as_list(self) -> list[ItemView]:
        if self._built is None:
            self._built = build_views(self._facts, self._settings)
        return self._built

    def __len__(self) -> int:
        return len(self._facts)

    @overload
    def __getitem__(self, index: int) -> ItemView: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ItemView]: ...

    def __getitem__(self, index: int | slice) -> ItemView | Sequence[ItemView]:
        return self.as_list()[index]

    def __iter__(self) -> Iterator[ItemView]:
        return iter(self.as_list())


def _lines_read(book: RuleBook) -> bool:
    """Whether the learned text detector's unsure lines could be read: the
    detector ships with lintcap, the recogniser with rapidocr-onnxruntime.
    True where reading is off by choice (``read-max-lines: 0``, the
    morphological detector)."""
    settings = book.settings.image_analysis
    if settings.text.read_max_lines <= 0 or settings.text_backend() != "learned":
        return True
    from lintcap.image.reading import available

    return available()


def _analyse_images(
    facts: list[ItemFacts],
    dataset: Dataset,
    config: Config,
    book: RuleBook,
    needs: Needs,
    meanwhile: Callable[[], None],
) -> PoolStats:
    # Fact families (detectors above all) are measured only for the rules that read them.
    wanted = {
        # The text rules' set-level pass tells pictures apart by their hash.
        "hash": needs.image_hash or needs.image_text,
        "quality": needs.image_quality,
        "colour": needs.image_colour,
        "text": needs.image_text,
        "people": needs.image_people,
    }
    update: dict[str, object] = {
        "max_pixels": needs.max_image_pixels,
        "families": frozenset(family for family, on in wanted.items() if on),
    }
    if config.people_backend is not None:
        update["people_backend"] = config.people_backend
    settings = book.settings.image_analysis.model_copy(update=update)
    with_images = [f for f in facts if f.item.image is not None]
    images = [(f.item.image, f.image_display or "") for f in with_images]
    cache = None
    if config.cache:
        folder = config.cache_dir or _default_cache_dir(config, dataset)
        cache = FactCache(folder, IMAGE_CACHE_LAYOUT)
    results, stats = analyse_all(
        [(path, display) for path, display in images if path is not None],
        settings,
        cache,
        config.jobs or default_jobs(),
        meanwhile=meanwhile,
    )
    if cache is not None:
        cache.close()  # writes the entries that wait for a pack
    for item_facts, image_facts in zip(with_images, results, strict=True):
        attach_image_facts(item_facts, image_facts)
    if needs.image_text:
        # A set-level pass: the same line at the same place on several pictures.
        from lintcap.image.repeated import mark_repeated

        mark_repeated([f.image_facts for f in with_images], settings.text)
    return stats


def _parse_all(
    facts: list[ItemFacts], config: Config, dataset: Dataset, trigger: str | None, book: RuleBook
) -> None:
    """Parse every caption, each text once, taking what the parse cache holds
    (lintcap.caption.cache) and saving it again when anything was parsed.
    The parser (spaCy, its matchers) is built only when the cache misses a
    caption: a warm run never imports spaCy. Many misses are parsed over
    ``--jobs`` processes (lintcap.caption.parallel)."""
    lexicons = json.dumps(config.lexicons, sort_keys=True)
    cache = None
    known: dict[str, ParsedCaption] = {}
    if config.cache:
        from lintcap.caption.cache import ParseCache, pack_limit, parse_key

        if config.spacy_model:  # whether it tags parts of speech is known once loaded
            nlp_key = _caption_nlp(lexicons, config.spacy_model).fingerprint
        else:
            nlp_key = fingerprint(_lexicon(lexicons), None, False, _patterns())
        key = parse_key(nlp_key, trigger or None, book.settings.parser.model_dump())
        cache = ParseCache(config.cache_dir or _default_cache_dir(config, dataset), key)
        texts = {f.text for f in facts if f.text is not None and f.text.strip()}
        known = cache.load(pack_limit(texts))
    from lintcap.caption.cache import text_hash

    digests: dict[str, str] = {}  # text -> its hash, each distinct text once
    missing: list[str] = []
    for item_facts in facts:
        text = item_facts.text
        if text is None or not text.strip() or text in digests:
            continue
        digest = digests[text] = text_hash(text)
        cached = known.get(digest)
        if cached is None or cached.text != text:
            missing.append(text)
    parsed: dict[str, ParsedCaption] = {}
    if missing:
        from lintcap.caption.parallel import parse_many

        parser = CaptionParser(
            _caption_nlp(lexicons, config.spacy_model), trigger, book.settings.parser
        )
        # Over the cores unless --jobs says otherwise, as the images are. On 2
        # cores a cold run of 5,000 captions (--select C,F) took 2.43 s
        # for 2.72, 20,000 took 7.87 s for 9.19, for 7 % more CPU
        # (bench/RESULTS.md). parse_many forks only where no other thread
        # runs: not while the image pool works, when no core is idle anyway.
        jobs = config.jobs or default_jobs()
        parsed = dict(zip(missing, parse_many(missing, parser, jobs), strict=True))
    seen: dict[str, ParsedCaption] = {}
    for item_facts in facts:
        text = item_facts.text
        if text is None or not text.strip():
            continue
        digest = digests[text]
        item_facts.parsed = seen[digest] = parsed.get(text) or known[digest]
    if cache is not None:
        if parsed or len(seen) != len(known):
            cache.save(seen)
        cache.close()


def _default_cache_dir(config: Config, dataset: Dataset) -> Path:
    """Beside the config file, like ruff; else in the (first) dataset folder."""
    if config.base_dir is not None:
        return config.base_dir / CACHE_DIR_NAME
    root = dataset.roots[0] if dataset.roots else Path.cwd()
    return (root if root.is_dir() else root.parent) / CACHE_DIR_NAME


@lru_cache(maxsize=4)
def _caption_nlp(extra_lexicons: str, model: str | None) -> CaptionNLP:
    """One pipeline and matcher per lexicon set: building the matcher takes
    most of a second, and fix lints the same dataset several times."""
    return CaptionNLP(_lexicon(extra_lexicons), model, _patterns())


@lru_cache(maxsize=4)
def _lexicon(extra_lexicons: str) -> Lexicon:
    return load_lexicon(extra=json.loads(extra_lexicons))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, PatternSet]:
    """The shipped token patterns, read once (the parser and the cache key)."""
    return load_patterns()


def _configured(config: Config) -> TriggerInfo:
    if config.trigger:
        return TriggerInfo(word=config.trigger, source="configured")
    return TriggerInfo()


def _trigger(
    config: Config, facts: list[ItemFacts], book: RuleBook, lexicon: Lexicon
) -> TriggerInfo:
    if config.trigger:
        return _configured(config)
    phrases = [p for category in lexicon.categories.values() for p in category]
    settings = book.settings.trigger_inference
    guess = infer_trigger(
        (f.text for f in facts if f.text),
        settings.min_share,
        settings.min_captions,
        _common_words(tuple(phrases)),
        settings.not_triggers,
        settings.max_short_length,
        settings.max_chunk_words,
    )
    if guess is None:
        return TriggerInfo(searched=True)
    return TriggerInfo(source="inferred", searched=True, **guess.model_dump())


@lru_cache(maxsize=4)
def _common_words(phrases: tuple[str, ...]) -> frozenset[str]:
    return common_words(phrases)


def _subject(config: Config, facts: list[ItemFacts], book: RuleBook) -> SubjectDecision:
    """The dataset's subject kind from config, captions, faces, class tokens."""
    images = [f.image_facts for f in facts if f.image_facts is not None]
    faces = [
        len(i.people.faces)
        for i in images
        if i.people is not None and i.people.not_judged is None  # too small to tell: not counted
    ]
    if not any(i.people is not None for i in images):
        # No people facts: the face boxes, where focus was measured (None: too small).
        faces = [len(i.face_boxes) for i in images if i.face_boxes is not None]
    kind = config.subject.kind
    return decide_subject(
        (f.text for f in facts if f.text),
        book.settings.subject_inference,
        load_cues(),
        configured=None if kind == "auto" else kind,
        faces=(sum(1 for count in faces if count), len(faces)),
        class_tokens=(f.item.class_tokens or "" for f in facts),
    )


class _Values(dict):  # type: ignore[type-arg]
    """Message template values; an unknown ``{name}`` is left as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _template_names(template: str) -> set[str]:
    """The value names a template shows (``{contrast}``, ``{clipped-highlights%}``:
    ``clipped-highlights``); none for a template that does not parse (refused
    at rule load)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        return set()
    return {field.removesuffix("%") for _, field, _, _ in parts if field}


def render(template: str, values: dict[str, Any]) -> str:
    """Fill a message template (checked at rule load: named fields, small
    specs); a spec that does not fit its value (``{phrase:.2f}``) leaves the
    template as written rather than failing the run."""
    try:
        return template.format_map(_Values(values))
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return template


def make_diagnostic(
    rule: Rule,
    path: str | None,
    where: Location,
    message: str,
    edits: list[Any],
    related: list[str] | None = None,
) -> Diagnostic:
    """A finding of ``rule``: its code, name and severity, fixable when the
    rule declares a fix and the check produced edits."""
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=message,
        path=path,
        line=where.line,
        column=where.column,
        end_line=where.end_line,
        end_column=where.end_column,
        fixable=bool(edits) and rule.fix is not None,
        applicability=rule.fix.safety if edits and rule.fix is not None else None,
        edits=edits,
        related=related or [],
    )


def _applies(rule: Rule, context: checks.CheckContext) -> bool:
    if rule.when is None or rule.when.trigger is None:
        return True
    return (rule.when.trigger == "configured") == context.trigger_configured


def _diagnose(
    rules: list[Rule],
    dataset: Dataset,
    facts: list[ItemFacts],
    views: Sequence[ItemView],
    context: checks.CheckContext,
) -> list[Diagnostic]:
    problems: list[Problem] = [*dataset.problems]
    for item_facts in facts:
        problems.extend(item_facts.problems)
    base = {"trigger": context.trigger or "", "class": context.subject.class_ or ""}
    image_paths = {f.image_display: f.item.image for f in facts if f.image_display}
    diagnostics: list[Diagnostic] = []
    captions: list[ParsedCaption | None] = []
    parsed: list[tuple[ItemFacts, ParsedCaption]] | None = None
    for rule in rules:
        if not _applies(rule, context):
            continue
        check = rule.check
        if isinstance(check, FileProblemCheck):
            for problem in checks.file_problems(check, problems):
                image = image_paths.get(problem.path) if check.hints and problem.path else None
                if image is not None:
                    hint = hint_for(image, check.hints)
                    if hint is not None:
                        problem = problem.model_copy(update={"detail": hint})
                message = render(rule.message, {**base, "detail": problem.detail})
                if problem.detail and "{detail}" not in rule.message:
                    message = f"{message}: {problem.detail}"
                where = Location(line=problem.line, column=problem.column)
                diagnostics.append(
                    make_diagnostic(
                        rule, problem.path, where, message, problem.edits, problem.related
                    )
                )
        elif rule.scope == "caption":
            caption_check = checks.CAPTION_CHECKS[check.kind]
            stemmed = isinstance(check, ForbidsCheck) and check.file_stem
            # One copy per rule, its stem set per caption (not a copy per caption).
            own = context.model_copy() if stemmed else context
            if parsed is None:  # the items with a parse, once for every caption rule
                parsed = [(f, f.parsed) for f in facts if f.parsed is not None]
            for item_facts, caption in parsed:
                if stemmed:
                    source = item_facts.item.caption_path or item_facts.item.image
                    own.stem = source.stem if source else None
                for finding in caption_check(check, caption, own):
                    diagnostics.append(
                        make_diagnostic(
                            rule,
                            item_facts.display,
                            item_facts.locate(finding.span),
                            render(rule.message, {**base, **finding.values}),
                            finding.edits,
                        )
                    )
        elif isinstance(check, ImageMeasureCheck):
            for item_facts in facts:
                if item_facts.image_facts is None or item_facts.image_facts.info is None:
                    continue
                measured = image_checks.image_measure(check, item_facts.image_facts)
                if measured is not None:
                    message = render(rule.message, {**base, **measured.values})
                    path = item_facts.image_display
                    diagnostics.append(make_diagnostic(rule, path, Location(), message, []))
        elif isinstance(check, DuplicatesCheck):
            images = [(i, f.image_facts) for i, f in enumerate(facts) if f.image_facts is not None]
            displays = [f.image_display or f.display for f in facts]
            for finding in image_checks.duplicates(check, images, displays):
                assert finding.item is not None
                message = render(rule.message, {**base, **finding.values})
                path = displays[finding.item]
                diagnostics.append(make_diagnostic(rule, path, Location(), message, []))
        elif isinstance(check, GradeCheck | UniformGradeCheck):
            images = [(i, f.image_facts) for i, f in enumerate(facts) if f.image_facts is not None]
            displays = [f.image_display or f.display for f in facts]
            judge = (
                image_checks.graded_images
                if isinstance(check, GradeCheck)
                else image_checks.uniform_grade
            )
            for finding in judge(check, images):  # type: ignore[arg-type]
                message = render(rule.message, {**base, **finding.values})
                path = _dataset_display(dataset) if finding.item is None else displays[finding.item]
                related = [displays[i] for i in finding.related]
                diagnostics.append(make_diagnostic(rule, path, Location(), message, [], related))
        elif check.kind in view_checks.VIEW_CHECKS:
            view_check = view_checks.VIEW_CHECKS[check.kind]
            for finding in view_check(check, views, facts, context):
                message = render(rule.message, {**base, **finding.values})
                if finding.item is None:
                    path = _dataset_display(dataset)
                    where = Location()
                else:
                    path = facts[finding.item].display
                    where = facts[finding.item].locate(finding.span)
                related = [views[i].display for i in finding.related]  # images first
                diagnostics.append(make_diagnostic(rule, path, where, message, [], related))
        elif rule.scope == "dataset":
            dataset_check = checks.DATASET_CHECKS[check.kind]
            captions = captions or [f.parsed for f in facts]  # one list for every rule
            for finding in dataset_check(check, captions, context):
                message = render(rule.message, {**base, **finding.values})
                if finding.item is None:
                    path = _dataset_display(dataset)
                    related = [facts[i].reference for i in finding.related]
                    diagnostics.append(
                        make_diagnostic(rule, path, Location(), message, [], related)
                    )
                else:
                    item_facts = facts[finding.item]
                    diagnostics.append(
                        make_diagnostic(
                            rule,
                            item_facts.display,
                            item_facts.locate(finding.span),
                            message,
                            finding.edits,
                            [facts[i].reference for i in finding.related],
                        )
                    )
    return diagnostics


def _dataset_display(dataset: Dataset) -> str:
    """Where a finding about the whole set points: its (first) folder."""
    root = dataset.roots[0] if dataset.roots else Path.cwd()
    return display_path(root).rstrip("/") + "/"


def _apply_per_file_ignores(diagnostics: list[Diagnostic], config: Config) -> list[Diagnostic]:
    """``per-file-ignores`` (lintcap.ignores): keys match the printed paths too."""
    return apply_per_file_ignores(
        diagnostics, config.per_file_ignores, config.base_dir or Path.cwd()
    )


def preset_hint(
    preset: str, captions: Sequence[ParsedCaption | None], settings: PresetHint
) -> str | None:
    """A one-line suggestion of another preset when the captions are written
    for another text encoder than the preset assumes (``settings: preset-hint:``)."""
    parsed = [c for c in captions if c is not None and c.words]
    if preset not in settings.under or len(parsed) < settings.min_captions:
        return None
    tags_only = sum(1 for c in parsed if c.tags and not c.sentences)
    if tags_only / len(parsed) < settings.tags_only_share:
        return None
    return (
        f"Captions: {tags_only} of {len(parsed)} are tags only. If this LoRA is for SDXL or "
        f'SD 1.x (read by CLIP), set `preset = "{settings.suggest}"` in lintcap.toml '
        f"(tags are the format there); for Flux, whose T5 reads sentences, keep '{preset}'."
    )
