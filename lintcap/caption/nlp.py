"""The spaCy side of caption analysis: one tokenisation, lexicon matches.

A blank English pipeline is the default: its tokenizer is fast (about 15,000
captions a second here) and needs no model download. A trained pipeline
(``spacy-model`` in the config, a package name or a path) is used only when
configured; then part-of-speech tags sharpen the sentence/tag split.
Token patterns (:mod:`lintcap.caption.patterns`) run on the same tokens and
add hits of their categories, so a sentence that describes the light counts
like a lighting phrase.
"""

from __future__ import annotations

import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import re
import sys
from types import ModuleType
from typing import TYPE_CHECKING

from lintcap.caption.lexicon import Lexicon
from lintcap.caption.parse_patterns import PatternSubsets
from lintcap.caption.patterns import (
    Pattern,
    PatternError,
    PatternSet,
    anchor_words,
    load_patterns,
)
from lintcap.caption.spans import LexiconHit

if TYPE_CHECKING:
    from spacy.tokens import Doc

#: Lexicon files that are word lists for the parser, not phrase categories.
WORD_LIST_CATEGORIES = frozenset({"function-words", "list-joiners", "common-words"})


class ModelLoadError(Exception):
    """The configured spaCy pipeline could not be loaded."""


def spacy_version() -> str:
    """spaCy's version, read from its installed metadata without importing
    it: a warm run finds every parse in the cache by a key that holds it,
    and then never imports spaCy (half a second of start-up). Not so with
    a configured ``spacy-model``: its pipeline is loaded to key the cache by
    its own version and components."""
    try:
        return importlib.metadata.version("spacy")
    except importlib.metadata.PackageNotFoundError:
        return str(import_spacy(torch_needed=False).__version__)


def fingerprint(
    lexicon: Lexicon,
    model: str | None,
    trained: bool,
    patterns: dict[str, PatternSet],
    pipeline: object = None,
) -> str:
    """What the matches depend on besides the text (the parse cache's key):
    computable before any pipeline is built. ``pipeline``: what names a
    configured pipeline's build (its name, version and components), which an
    upgrade in place changes while ``model`` stays."""
    return json.dumps(
        [
            spacy_version(),
            model,
            pipeline,
            trained,
            lexicon.categories,
            {category: s.by_label for category, s in sorted(patterns.items())},
        ],
        sort_keys=True,
        default=str,
    )


def import_spacy(torch_needed: bool) -> ModuleType:
    """spaCy, imported on first use (it costs half a second), and without torch
    unless ``torch_needed``.

    thinc, spaCy's machine-learning layer, runs ``import torch`` in
    ``thinc/compat.py`` whenever torch is installed (1.5 s on two cores) only
    to offer torch-backed layers. A blank English tokenizer and the CPU
    pipelines lintcap loads never use them, so while spaCy is imported torch
    is marked absent (``sys.modules["torch"] = None`` makes ``import torch``
    raise ImportError, which thinc catches); the mark is removed at once, so a
    later ``import torch`` (``fix --llm``) works as usual. A configured
    pipeline (``spacy-model``) may be a transformer one, so then, or when
    torch is already loaded, nothing is blocked.
    """
    if "spacy" in sys.modules:
        import spacy

        return spacy
    _defer_spacy_cli()
    if torch_needed or "torch" in sys.modules:
        import spacy

        _link_spacy_cli(spacy)
        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy
        import spacy.matcher  # the matcher too, while torch is blocked
    finally:
        if sys.modules.get("torch", ...) is None:
            del sys.modules["torch"]
    _link_spacy_cli(spacy)
    return spacy


def _defer_spacy_cli() -> None:
    """Let ``import spacy`` skip its command line until something uses it.

    ``spacy/__init__.py`` runs ``from .cli.info import info``, which executes
    ``spacy/cli/__init__.py`` and with it every spaCy command (download,
    train, init config, ...): about half of spaCy's import time, for nothing
    lintcap calls. A stand-in package is registered as ``spacy.cli``, with the
    real folder as its path, so ``spacy.cli.info`` is imported alone; the
    first read of any other attribute (``spacy.cli.download``) runs the real
    ``__init__.py`` into the stand-in, so spaCy's command line still works.
    """
    found = importlib.util.find_spec("spacy")
    if found is None or found.origin is None or "spacy.cli" in sys.modules:
        return
    folder = os.path.join(os.path.dirname(found.origin), "cli")
    init = os.path.join(folder, "__init__.py")
    if not os.path.isfile(init):
        return
    stand_in = ModuleType("spacy.cli")
    stand_in.__file__ = init
    stand_in.__path__ = [folder]
    stand_in.__package__ = "spacy.cli"
    stand_in.__spec__ = importlib.machinery.ModuleSpec(
        "spacy.cli", None, origin=init, is_package=True
    )
    stand_in.__spec__.submodule_search_locations = [folder]
    loaded = False

    def rest(name: str) -> object:
        nonlocal loaded
        if not loaded and not name.startswith("__"):
            loaded = True
            with open(init, encoding="utf-8") as handle:
                exec(compile(handle.read(), init, "exec"), stand_in.__dict__)
        try:
            return stand_in.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'spacy.cli' has no attribute {name!r}") from None

    stand_in.__getattr__ = rest  # type: ignore[method-assign]
    sys.modules["spacy.cli"] = stand_in
    _defer_module("spacy.cli.info", os.path.join(folder, "info.py"), "info")


def _defer_module(name: str, path: str, function: str) -> None:
    """Register a stand-in for module ``name`` (at ``path``) whose
    ``function`` and other attributes load the real module on first use:
    ``spacy.cli.info`` imports weasel, typer and requests (a third of a
    second) only so that ``spacy.info`` exists."""
    if not os.path.isfile(path):
        return
    stand_in = ModuleType(name)
    stand_in.__file__ = path
    real: list[ModuleType] = []

    def load() -> ModuleType:
        if not real:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {name} from {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            real.append(module)
        return real[0]

    def call(*args: object, **kwargs: object) -> object:
        return getattr(load(), function)(*args, **kwargs)

    def attribute(attr: str) -> object:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(load(), attr)

    call.__name__ = function
    setattr(stand_in, function, call)
    stand_in.__getattr__ = attribute  # type: ignore[method-assign]
    sys.modules[name] = stand_in


def _link_spacy_cli(spacy: ModuleType) -> None:
    """``spacy.cli`` as an attribute, as a normal import leaves it; the
    submodules imported so far are dropped from the stand-in's attributes, so
    that reading one (``spacy.cli.info``) runs the real ``__init__.py``, which
    binds the function of that name, as in spaCy."""
    stand_in = sys.modules.get("spacy.cli")
    if stand_in is None or "__getattr__" not in stand_in.__dict__:
        return
    for name, value in list(stand_in.__dict__.items()):
        if isinstance(value, ModuleType) and value.__name__ == f"spacy.cli.{name}":
            del stand_in.__dict__[name]
    if "cli" not in spacy.__dict__:
        spacy.cli = stand_in  # type: ignore[attr-defined]


class CaptionNLP:
    """Tokenise captions and find lexicon phrases in them."""

    def __init__(
        self,
        lexicon: Lexicon,
        model: str | None = None,
        patterns: dict[str, PatternSet] | None = None,
    ) -> None:
        spacy = import_spacy(torch_needed=bool(model))
        from spacy.attrs import IDX, LOWER
        from spacy.matcher import Matcher, PhraseMatcher

        self._idx = IDX

        if model:
            try:
                self.nlp = spacy.load(model)
            except (OSError, ValueError, ImportError) as exc:
                raise ModelLoadError(f"cannot load spaCy pipeline {model!r}: {exc}") from exc
        else:
            self.nlp = spacy.blank("en")
        self.trained = bool(model) and any(
            name in self.nlp.pipe_names for name in ("tagger", "morphologizer")
        )
        self.lexicon = lexicon
        self.function_words = frozenset(lexicon.phrases("function-words"))
        self.list_joiners = tuple(f"{word} " for word in lexicon.phrases("list-joiners"))
        self.matcher = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for category, phrases in lexicon.categories.items():
            if category in WORD_LIST_CATEGORIES or not phrases:
                continue
            self.matcher.add(category, [self.nlp.make_doc(p) for p in phrases])
        self._labels = {self.nlp.vocab.strings[c]: c for c in lexicon.categories}
        self._pattern_keys: dict[int, tuple[str, str]] = {}
        #: Per category: its matcher, the words every match holds (None: run
        #: over the whole caption), how far a match reaches from one, and the
        #: matchers of the patterns a caption's words allow
        #: (:mod:`lintcap.caption.parse_patterns`).
        self._searches: list[tuple[Matcher, frozenset[int] | None, int, int, PatternSubsets]] = []
        common = self.function_words.union(lexicon.phrases("common-words"))
        sets = load_patterns() if patterns is None else patterns
        for category, pattern_set in sets.items():
            matcher = Matcher(self.nlp.vocab, validate=True)
            keyed: list[tuple[str, Pattern]] = []
            for label, token_patterns in pattern_set.by_label.items():
                key = f"{category}\x1f{label}"
                try:
                    matcher.add(key, token_patterns, greedy="LONGEST")
                except (ValueError, KeyError, TypeError) as exc:
                    message = " ".join(str(exc).split())[:300]
                    raise PatternError(f"{category}.yaml: {message}") from exc
                self._pattern_keys[self.nlp.vocab.strings[key]] = (category, label)
                keyed += [(key, pattern) for pattern in token_patterns]
            if not len(matcher):
                continue
            subsets = PatternSubsets(self.nlp.vocab, matcher, keyed)
            only = {category: pattern_set}
            anchors = anchor_words(only, common)
            if anchors is None:
                self._searches.append((matcher, None, 0, 0, subsets))
                continue
            ids = frozenset(self.nlp.vocab.strings.add(w) for w in anchors.words)
            self._searches.append((matcher, ids, anchors.before, anchors.after, subsets))
        self._lower = LOWER
        #: What the matches depend on besides the text (the parse cache's key).
        built = None
        if model:
            meta = self.nlp.meta
            built = [meta.get("name"), meta.get("version"), list(self.nlp.pipe_names)]
        self.fingerprint = fingerprint(lexicon, model, self.trained, sets, built)

    def _pattern_matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        """Token-pattern matches. Each category's matcher runs only on windows
        around its anchor words (see
        :func:`~lintcap.caption.patterns.anchor_words`): the same matches as
        over the whole caption, at a fraction of the cost, since spaCy tests
        every ``IN`` list of a matcher on every token it is given. A caption
        runs only the patterns whose required words it holds
        (:mod:`lintcap.caption.parse_patterns`)."""
        lowers = doc.to_array(self._lower).tolist()
        words = set(lowers)
        size = len(doc)
        found: list[tuple[int, int, int]] = []
        for _, anchors, before, after, subsets in self._searches:
            if anchors is not None and anchors.isdisjoint(words):
                continue
            matcher = subsets.matcher_for(words)
            if matcher is None:
                continue
            if anchors is None:
                found.extend(matcher(doc))
                continue
            where = [index for index, word in enumerate(lowers) if word in anchors]
            start, end = max(0, where[0] - before), min(size, where[0] + after + 1)
            for index in where[1:]:
                low = max(0, index - before)
                if low > end:
                    found.extend((m, s + start, e + start) for m, s, e in matcher(doc[start:end]))
                    start = low
                end = min(size, index + after + 1)
            found.extend((m, s + start, e + start) for m, s, e in matcher(doc[start:end]))
        return found

    def doc(self, text: str) -> Doc:
        """Tokenise ``text`` once. Underscores read as spaces (WD14 tags),
        which keeps every character offset unchanged."""
        flat = defuse_punctuation(text.replace("_", " "))
        return self.nlp(flat) if self.trained else self.nlp.make_doc(flat)

    def hits(self, doc: Doc, text: str) -> list[LexiconHit]:
        """Lexicon phrases in ``doc`` (the tokens of ``text``) by character
        offsets, in order; a phrase inside a longer one of its category
        ("image shows" in "the image shows") is dropped, and so is a cue
        inside a longer cue or inside a phrase of its category."""
        matches = self.matcher(doc)
        pattern_matches = self._pattern_matches(doc) if self._searches else []
        if not matches and not pattern_matches:
            return []
        # Token starts in one C call; creating Token or Span objects per match
        # costs twice the matching itself.
        starts = doc.to_array(self._idx).tolist()
        starts.append(len(text))
        labels = self._labels
        found = []
        for match_id, start, end in matches:
            first, last = _bounds(text, starts, start, end)
            found.append(LexiconHit(first, last, labels[match_id], text[first:last].lower()))
        for match_id, start, end in pattern_matches:
            first, last = _bounds(text, starts, start, end)
            category, label = self._pattern_keys[match_id]
            phrase = label or text[first:last].lower()
            found.append(LexiconHit(first, last, category, phrase, not label))
        # Phrases first, then cues: a cue never hides the phrase it holds
        # ("calm" in "a calm, thoughtful expression" still counts).
        found.sort(key=lambda h: (h.cue, h.start, -h.end))
        reach: dict[tuple[str, bool], int] = {}
        kept: list[LexiconHit] = []
        for hit in found:
            key = (hit.category, hit.cue)
            if hit.end > reach.get(key, -1) and not (hit.cue and _inside(hit, kept)):
                kept.append(hit)
                reach[key] = hit.end
        kept.sort(key=lambda h: (h.start, -h.end))
        return kept


#: spaCy's tokenizer is quadratic in the length of a run of punctuation
#: without spaces (4,000 commas: 5 s; 64 KiB: minutes). Runs longer than this
#: are split by a space every this many characters before tokenising.
MAX_PUNCTUATION_RUN = 16
_PUNCTUATION_RUN = re.compile(rf"[^\w\s]{{{MAX_PUNCTUATION_RUN + 1},}}")


def defuse_punctuation(text: str) -> str:
    """``text`` with every ``MAX_PUNCTUATION_RUN``-th character of a long
    punctuation run replaced by a space: the same length, so every character
    offset (spans, fixes) stays valid, and no word is touched."""
    if not _PUNCTUATION_RUN.search(text):
        return text

    def split(match: re.Match[str]) -> str:
        run = list(match.group())
        for index in range(MAX_PUNCTUATION_RUN, len(run), MAX_PUNCTUATION_RUN + 1):
            run[index] = " "
        return "".join(run)

    return _PUNCTUATION_RUN.sub(split, text)


def _bounds(text: str, starts: list[int], start: int, end: int) -> tuple[int, int]:
    """Character offsets of tokens ``start:end``, without trailing space or ``_``."""
    first, last = starts[start], starts[end]
    while last > first and (text[last - 1].isspace() or text[last - 1] == "_"):
        last -= 1
    return first, last


def _inside(cue: LexiconHit, phrases: list[LexiconHit]) -> bool:
    return any(
        p.category == cue.category and not p.cue and p.start <= cue.start and cue.end <= p.end
        for p in phrases
    )
