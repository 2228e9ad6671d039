"""The check kinds: the only place where rule semantics live in code.

Each kind is a function from facts (and the check's parameters, read from the
rule file) to findings. Findings carry a span and the values their rule's
message template may use; the engine turns them into diagnostics.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, PrivateAttr

from lintcap.caption.lexicon import normalise_phrase
from lintcap.caption.parse import LexiconHit, ParsedCaption, Span, Tag
from lintcap.caption.tokens import offset_after_tokens
from lintcap.config import SubjectConfig
from lintcap.engine import patterns
from lintcap.engine.spec import (
    ConsistencyCheck,
    DuplicateCaptionsCheck,
    FileProblemCheck,
    ForbidsCheck,
    FrequencyCheck,
    LengthCheck,
    RepetitionCheck,
    RequiresAnyCheck,
    SegmentOrderCheck,
    StartsWithCheck,
)
from lintcap.models import Edit, Problem


class CheckContext(BaseModel):
    """What a check may know beyond the facts of one caption."""

    trigger: str | None = None
    trigger_configured: bool = False
    subject: SubjectConfig = SubjectConfig()
    #: How many captions of the dataset use each medium phrase, in the form
    #: it would be inserted ("a photo of"); see :func:`medium_counts`.
    media: dict[str, int] = {}
    #: The dataset's subject kind (lintcap.subject), None when undecided.
    subject_kind: str | None = None
    #: Share of the dataset's captions that hold each segment kind
    #: ("sentence", "tags"); see :func:`segment_shares`.
    segment_shares: dict[str, float] = {}
    #: The caption file's name without extension, for checks that compare
    #: the caption with it (set per caption; see ``ForbidsCheck.file_stem``).
    stem: str | None = None
    #: The dataset's caption texts, for checks that ask what the set says.
    texts: list[str] = []
    _shares: dict[tuple[str, ...], float] = PrivateAttr(default_factory=dict)
    #: The captions grouped by their words (C013's and C014's common first
    #: step), with the caption list they were grouped from.
    _same_words: tuple[object, dict[str, list[int]]] | None = PrivateAttr(default=None)

    def share_saying(self, phrases: Sequence[str]) -> float:
        """Share of the dataset's captions holding one of ``phrases`` (cached)."""
        key = tuple(phrases)
        if key not in self._shares:
            holding = sum(1 for text in self.texts if _says_any(text, phrases))
            self._shares[key] = holding / len(self.texts) if self.texts else 0.0
        return self._shares[key]


class Finding(BaseModel):
    """One hit of a check. ``item`` indexes the run's items for dataset
    checks; None there means the dataset as a whole."""

    item: int | None = None
    span: Span | None = None
    values: dict[str, Any] = {}
    edits: list[Edit] = []
    #: Items the finding counted (dataset findings), by index like ``item``.
    related: list[int] = []


# --- file ------------------------------------------------------------------


def file_problems(check: FileProblemCheck, problems: Sequence[Problem]) -> list[Problem]:
    wanted = set(check.problems)
    return [problem for problem in problems if problem.kind in wanted]


# --- caption ---------------------------------------------------------------

_WORD = re.compile(r"\w+")
_CATEGORY = operator.attrgetter("category")

CaptionCheck = Callable[[Any, ParsedCaption, CheckContext], list[Finding]]


def _whole(caption: ParsedCaption) -> Span:
    text = caption.text
    start = len(text) - len(text.lstrip())
    return Span(start=start, end=len(text.rstrip()))


def _first_word(caption: ParsedCaption, start: int) -> Span:
    match = re.compile(r"\S+").search(caption.text, start)
    if match is None:
        return Span(start=start, end=start)
    end = match.end()
    while end > match.start() + 1 and caption.text[end - 1] in ",.;:":
        end -= 1
    return Span(start=match.start(), end=end)


def starts_with(check: StartsWithCheck, caption: ParsedCaption, ctx: CheckContext) -> list[Finding]:
    if check.segment == "trigger":
        return _trigger_first(check, caption, ctx)
    if caption.medium is not None or caption.body_start >= len(caption.text.rstrip()):
        return []
    if check.prose_only and not caption.sentences:
        return []
    first = _first_word(caption, caption.body_start)
    edits = _insert_medium(check, caption, ctx) if check.insert_medium else []
    return [Finding(span=first, values=_opening(caption), edits=edits)]


_OPENING_WORDS = re.compile(r"[\w'\u2019-]+(?:[\s,]+[\w'\u2019-]+){0,3}")


def _opening(caption: ParsedCaption) -> dict[str, str]:
    """Where the medium phrase is missing ("after the trigger" only when one
    leads) and the words found there, never a lone article or stop ("a woman
    in a", not "a" or ".")."""
    words = _OPENING_WORDS.search(caption.text, caption.body_start)
    found = words.group() if words else caption.text[caption.body_start :].strip()
    lead = caption.trigger is not None or caption.body_start > 0
    return {
        "found": found[:60],
        "where": "after the trigger" if lead else "at the start of the caption",
    }


_OF = re.compile(r"\s+of\b", re.IGNORECASE)
#: What may stand between the trigger and a medium phrase inserted after it.
_TRIGGER_GAP = re.compile(r",? +|,")


def medium_counts(captions: Sequence[ParsedCaption | None]) -> dict[str, int]:
    """How many captions use each medium phrase, as "a photo of": article and
    the medium word(s) only (a modifier such as "black and white" describes one
    image, not the dataset); a medium not followed by "of" counts as itself."""
    counts: Counter[str] = Counter()
    for caption in captions:
        if caption is None or caption.medium is None:
            continue
        end = caption.medium.end
        hit = next(
            (h for h in caption.hits if h.category == "medium" and h.end == end),
            None,
        )
        word = " ".join(caption.text[hit.start : hit.end].lower().split()) if hit else ""
        if word and not word.endswith(" of") and _OF.match(caption.text, end):
            word += " of"
        if not word.endswith(" of"):
            counts[caption.slice(caption.medium).lower()] += 1
            continue
        article = "an" if word[0] in "aeiou" else "a"
        counts[f"{article} {word}"] += 1
    return dict(counts)


def _insert_medium(check: StartsWithCheck, caption: ParsedCaption, ctx: CheckContext) -> list[Edit]:
    """Insert the dataset's medium phrase right after the trigger, only where
    the result is certain to read as the other captions do: the caption opens
    with the trigger (not a placeholder, which another fix replaces), then a
    comma or space (not a full stop: "ohwx. a photo of A woman"), then a word
    in lower case (not a capitalised sentence); and the dataset names one
    medium. A set without one (drawn art, renders) gets no fix."""
    if caption.trigger is None or not ctx.media:
        return []
    lead_end = (caption.trigger_repeats or [caption.trigger])[-1].end
    gap = caption.text[lead_end : caption.body_start]
    if not _TRIGGER_GAP.fullmatch(gap):
        return []
    if not caption.text[caption.body_start].islower():
        return []
    phrase, count = Counter(ctx.media).most_common(1)[0]
    total = sum(ctx.media.values())
    if count < check.min_captions or count / total < check.min_share:
        return []
    if not phrase.endswith(" of"):
        return []
    start = caption.body_start
    return [Edit(start=start, end=start, replacement=f"{phrase} ")]


def _trigger_first(
    check: StartsWithCheck, caption: ParsedCaption, ctx: CheckContext
) -> list[Finding]:
    trigger = ctx.trigger
    if not trigger:
        return []
    lead = caption.trigger
    start = _whole(caption).start
    if lead is None and any(p.start == start for p in caption.placeholders):
        return []  # ai-toolkit replaces a leading [trigger] with the trigger word
    if lead is None:
        if caption.trigger_mentions:
            mention = caption.trigger_mentions[0]
            # Name the words before it, not an offset: the finding's location
            # already gives the column, in the file's own terms (a JSON line's
            # raw column for metadata.jsonl).
            before = " ".join(caption.text[start : mention.start].split()).rstrip(" ,;:")
            if len(before) > 30:
                before = "…" + before[-29:].lstrip()
            return [
                Finding(
                    span=mention,
                    values={"problem": f"it comes after '{before}', not first"},
                    edits=_move_to_front(caption, mention, trigger),
                )
            ]
        return [
            Finding(
                span=_first_word(caption, start),
                values={"problem": "it is missing"},
                edits=[Edit(start=start, end=start, replacement=f"{trigger}, ")],
            )
        ]
    written = caption.slice(lead)
    findings = []
    if check.case_sensitive and written != trigger:
        findings.append(
            Finding(
                span=lead,
                values={"problem": f"it is written {written!r}"},
                edits=[Edit(start=lead.start, end=lead.end, replacement=trigger)],
            )
        )
    if caption.trigger_repeats:
        last = caption.trigger_repeats[-1]
        findings.append(
            Finding(
                span=Span(start=caption.trigger_repeats[0].start, end=last.end),
                values={"problem": f"it is repeated {len(caption.trigger_repeats) + 1} times"},
                edits=[Edit(start=lead.end, end=last.end, replacement="")],
            )
        )
    return findings


def _move_to_front(caption: ParsedCaption, mention: Span, trigger: str) -> list[Edit]:
    """Insert the trigger first and delete the late mention with one separator."""
    text = caption.text
    start = _whole(caption).start
    removal_start, removal_end = mention.start, mention.end
    while removal_end < len(text) and text[removal_end] in " ,":
        removal_end += 1
    if removal_end >= len(text.rstrip()):  # last word: take the separator before it
        removal_end = mention.end
        while removal_start > start and text[removal_start - 1] in " ,":
            removal_start -= 1
    return [
        Edit(start=start, end=start, replacement=f"{trigger}, "),
        Edit(start=removal_start, end=removal_end, replacement=""),
    ]


def _phrase_spans(text: str, phrases: Sequence[str], ignore_case: bool = True) -> list[Span]:
    spans: list[Span] = []
    for pattern in _phrase_patterns(tuple(phrases), ignore_case):
        spans.extend(Span(start=m.start(), end=m.end()) for m in pattern.finditer(text))
    return spans


def _says_any(text: str, phrases: Sequence[str], ignore_case: bool = True) -> bool:
    """Whether ``text`` holds one of ``phrases`` (as :func:`_phrase_spans`
    finds them): one search of one alternation."""
    pattern = _phrase_alternation(tuple(phrases), ignore_case)
    return pattern is not None and pattern.search(text) is not None


def _phrase_pattern_text(phrase: str) -> str | None:
    """A phrase as a regex: its words, whole, with any spacing or underscores between."""
    words = [re.escape(w) for w in normalise_phrase(phrase).split()]
    return r"[\s_]+".join(words) if words else None


@lru_cache(maxsize=256)
def _phrase_patterns(phrases: tuple[str, ...], ignore_case: bool) -> list[re.Pattern[str]]:
    """Each phrase compiled once per run, not once per caption."""
    flags = re.IGNORECASE if ignore_case else 0
    found = [_phrase_pattern_text(phrase) for phrase in phrases]
    return [re.compile(r"(?<!\w)" + body + r"(?!\w)", flags) for body in found if body]


@lru_cache(maxsize=256)
def _phrase_alternation(phrases: tuple[str, ...], ignore_case: bool) -> re.Pattern[str] | None:
    """All ``phrases`` as one pattern: a match wherever one of them matches
    (the engine backtracks into the next alternative when a word boundary fails)."""
    bodies = [body for body in map(_phrase_pattern_text, phrases) if body]
    if not bodies:
        return None
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(r"(?<!\w)(?:" + "|".join(bodies) + r")(?!\w)", flags)


def segment_shares(captions: Sequence[ParsedCaption | None]) -> dict[str, float]:
    """Share of the parsed captions that hold a sentence, and tags."""
    parsed = [c for c in captions if c is not None]
    if not parsed:
        return {}
    return {
        "sentence": sum(1 for c in parsed if c.sentences) / len(parsed),
        "tags": sum(1 for c in parsed if c.tags) / len(parsed),
    }


def requires_any(
    check: RequiresAnyCheck, caption: ParsedCaption, ctx: CheckContext
) -> list[Finding]:
    if caption.words < check.min_words:
        return []
    if check.min_dataset_share is not None and not any(
        ctx.segment_shares.get(kind, 0.0) >= check.min_dataset_share for kind in check.segments
    ):
        return []  # the dataset does not write these segments: a style, not a slip
    wanted = check.categories
    # A set test over the hits' categories read in C: no Python step a hit
    # (the same answer as asking each hit; ~1 % of a warm 100,000-caption run).
    if wanted and not frozenset(wanted).isdisjoint(map(_CATEGORY, caption.hits)):
        return []
    if any(getattr(caption, "sentences" if s == "sentence" else "tags") for s in check.segments):
        return []
    if check.phrases and _says_any(caption.text, check.phrases):
        return []
    if check.waived_by and _says_any(caption.text, check.waived_by):
        return []
    # Last: what the whole set says is asked only of a caption that lacks them.
    if check.unless_set_says and (
        ctx.share_saying(check.unless_set_says) >= check.unless_set_share
    ):
        return []
    wanted = [*check.categories, *check.phrases, *check.segments]
    share = max((ctx.segment_shares.get(kind, 0.0) for kind in check.segments), default=0.0)
    values = {"missing": " or ".join(wanted), "share": f"{share:.0%}"}
    return [Finding(span=_whole(caption), values=values)]


def forbids(check: ForbidsCheck, caption: ParsedCaption, ctx: CheckContext) -> list[Finding]:
    found: list[tuple[Span, str]] = []
    if check.categories:  # most forbids rules name patterns only
        for hit in caption.hits_in(*check.categories):
            found.append((Span(hit.start, hit.end), hit.category))
    phrases = check.phrases
    if "subject.intrinsic" in check.config:
        phrases = [*phrases, *ctx.subject.intrinsic]
    if phrases:
        for span in _phrase_spans(caption.text, phrases, check.ignore_case):
            found.append((span, "phrase"))
    if check.file_stem and ctx.stem:
        for span in _stem_tokens(caption.text, ctx.stem):
            found.append((span, "file name"))
    kept: dict[Span, str] = {}
    rule_patterns = tuple(check.patterns)
    if rule_patterns and not patterns.may_match(rule_patterns, caption.text, check.ignore_case):
        rule_patterns = ()  # none can match: one look for the rule, not one a pattern
    for pattern in rule_patterns:
        for match in patterns.matches(pattern, caption.text, check.ignore_case):
            span = Span(start=match.start(), end=match.end())
            found.append((span, "pattern"))
            group = check.keep_group
            if group and group in match.re.groupindex and match.group(group) is not None:
                kept.setdefault(span, match.group(group))
    if not found:
        return []  # most captions
    found.sort(key=lambda pair: (pair[0].start, -pair[0].end))
    # One finding per stretch of text: hits inside or overlapping another
    # ("it appears" / "appears to be", "the overall mood" / "the image is")
    # are one fact, reported once over their union.
    merged: list[tuple[Span, str]] = []
    for span, category in found:
        if merged and span.start < merged[-1][0].end:
            last, first_category = merged[-1]
            merged[-1] = (Span(last.start, max(last.end, span.end)), first_category)
        else:
            merged.append((span, category))
    return [
        Finding(
            span=Span(start=span.start, end=span.end),
            values={"phrase": caption.slice(span), "category": category},
            edits=_forbidden_fix(check, caption, span, ctx, kept.get(span)),
        )
        for span, category in merged
    ]


def _stem_tokens(text: str, stem: str) -> list[Span]:
    """Tokens that hold the file's own name: 'BG-0010' in 0010.txt, 'IMG_4032'
    in IMG_4032.txt. A stem of fewer than three characters, or a bare number
    that happens to equal the stem ("100 balloons" in 100.txt), is no evidence."""
    if len(stem) < 3:
        return []
    if stem.isascii() and text.isascii() and stem.lower() not in text.lower():
        # The pattern holds the stem verbatim (case aside): no match. Checked
        # first because compiling one pattern per file costs more than the
        # rest of the rule, and floods re's cache of compiled patterns.
        return []
    pattern = re.compile(
        r"(?<![\w.-])(?:[\w.-]*[-_.])?" + re.escape(stem) + r"(?:[-_.][\w.-]*)?(?![\w-])",
        re.IGNORECASE,
    )
    spans = []
    for match in pattern.finditer(text):
        token = match.group().rstrip(".")
        if token.lower() == stem.lower() and stem.isdigit():
            continue
        spans.append(Span(start=match.start(), end=match.start() + len(token)))
    return spans


def _forbidden_fix(
    check: ForbidsCheck,
    caption: ParsedCaption,
    span: Span,
    ctx: CheckContext,
    kept: str | None = None,
) -> list[Edit]:
    """The rule's fix for one forbidden hit, if it has one that applies here."""
    if check.keep_group is not None:
        if kept is None:
            return []
        return [Edit(start=span.start, end=span.end, replacement=kept)]
    if check.replace_with is not None:
        if "{trigger}" in check.replace_with and not (ctx.trigger and ctx.trigger_configured):
            return []
        replacement = check.replace_with.replace("{trigger}", ctx.trigger or "")
        return [Edit(start=span.start, end=span.end, replacement=replacement)]
    if check.remove_openings:
        return _remove_opening(caption, span, check.cut_before)
    return []


def _remove_opening(caption: ParsedCaption, span: Span, cut_before: Sequence[str]) -> list[Edit]:
    """Cut a phrase that opens a sentence ("The image shows a woman" -> "A
    woman"); a phrase inside a sentence ("she appears to be") is left to the
    writer: cutting it would break the grammar."""
    if not any(s.start == span.start for s in caption.sentences):
        return []
    text = caption.text
    rest = span.end
    while rest < len(text) and text[rest] in " ,:;-":
        rest += 1
    if rest >= len(text) or not text[rest].isalpha():
        return []  # nothing after it to keep: a rewrite, not a cut
    following = _WORD.match(text, rest)
    if cut_before and (following is None or following.group().lower() not in cut_before):
        return []  # what is left would not start a sentence
    first = text[rest]
    capital = first.upper() if text[span.start].isupper() else first
    return [Edit(start=span.start, end=rest + 1, replacement=capital)]


def segment_order(
    check: SegmentOrderCheck, caption: ParsedCaption, ctx: CheckContext
) -> list[Finding]:
    """No fix: moving words between sentences and tags changes what they
    describe (on real captions, every such move did); the LLM may rewrite."""
    rank = {kind: index for index, kind in enumerate(check.order)}
    findings = []
    segments = [s for s in caption.segments if s.kind in rank]
    for index, segment in enumerate(segments):
        later = next((s for s in segments[index + 1 :] if rank[s.kind] < rank[segment.kind]), None)
        if later is not None:
            findings.append(
                Finding(
                    span=Span(start=segment.start, end=segment.end),
                    values={"segment": segment.kind, "before": later.kind},
                )
            )
    return findings


def length(check: LengthCheck, caption: ParsedCaption, ctx: CheckContext) -> list[Finding]:
    text = caption.text
    cut: int | None = None
    if check.unit == "characters":
        count = len(text.strip())
        if check.max is not None and count > check.max:
            cut = _whole(caption).start + check.max
    elif check.unit == "words":
        words = list(re.finditer(r"\S+", text))
        count = len(words)
        if check.max is not None and count > check.max:
            cut = words[check.max].start()
    else:
        if check.min is None and check.max is not None and len(text) <= check.max:
            return []  # no piece costs more tokens than it has characters: it fits
        count, cut = offset_after_tokens(text, check.max or 10**9)
    values = {
        "count": count,
        "unit": check.unit.replace("-", " "),
        "max": check.max,
        "min": check.min,
    }
    if check.max is not None and count > check.max and cut is not None:
        return [Finding(span=Span(start=cut, end=len(text.rstrip())), values=values)]
    if check.min is not None and count < check.min:
        return [Finding(span=_whole(caption), values=values)]
    return []


def repetition(check: RepetitionCheck, caption: ParsedCaption, ctx: CheckContext) -> list[Finding]:
    if check.unit == "tag":
        return _duplicate_tags(check, caption)
    if check.consecutive:
        return _loops(check, caption)
    words = _lower_words(caption.text)
    n = check.n
    grams = Counter(zip(*(words[i:] for i in range(n)), strict=False))
    if not grams or max(grams.values()) <= check.max_count:
        return []  # the common case, counted in C; positions only when needed
    spans = [(m.start(), m.end()) for m in _WORD.finditer(caption.text)]
    starts: dict[tuple[str, ...], list[int]] = {}
    for index in range(len(words) - n + 1):
        gram = tuple(words[index : index + n])
        if grams[gram] > check.max_count:
            # Overlapping occurrences ("a a a a") count once per non-overlapping step.
            kept = starts.setdefault(gram, [])
            if not kept or index >= kept[-1] + n:
                kept.append(index)
    looping = [(gram, kept) for gram, kept in starts.items() if len(kept) > check.max_count]
    if not looping:
        return []
    gram, kept = min(looping, key=lambda pair: pair[1][1])
    return [
        Finding(
            span=Span(start=spans[kept[1]][0], end=spans[kept[-1] + n - 1][1]),
            values={"phrase": " ".join(gram), "count": len(kept)},
        )
    ]


def _lower_words(text: str) -> list[str]:
    """The words of ``text``, lower-cased. Words first, lower-cased after:
    lower() may split a word ("İ" -> "i" + U+0307). An ASCII text is
    lower-cased whole first, the same words (A-Z lower to a-z, nothing else
    changes) without a call per word: ~2 % of a warm 100,000-caption run."""
    if text.isascii():
        # On the bytes in C: A-Z to a-z, all but word characters (letters,
        # digits, "_") to spaces, split: ~5 times cheaper than the pattern.
        return text.encode().translate(_ASCII_WORD_BYTES).decode().split()
    return list(map(str.lower, _WORD.findall(text)))


#: For ASCII text: A-Z to a-z, every byte but a word character to a space.
_ASCII_WORD_BYTES = (
    bytes(
        (byte | 0x20 if chr(byte).isalpha() else byte)
        if chr(byte).isalnum() or byte == 0x5F
        else 0x20
        for byte in range(128)
    )
    + b" " * 128
)


def _loops(check: RepetitionCheck, caption: ParsedCaption) -> list[Finding]:
    """A captioner loop: a group of words repeated back to back more than
    ``max-count`` times and covering at least ``n`` words ("a woman with a hat,
    a woman with a hat, a woman with a hat"), or twice when the group is
    ``2n`` words or longer; or a sentence of ``n`` or more words said twice.
    The span covers the copies after the first: what a fix would cut."""
    words = _lower_words(caption.text)
    found: tuple[int, int, int] | None = None  # start word, group length, copies
    # Two copies of a group of two or more words repeat its first two words;
    # three copies of one word repeat the pair of it (one word needs three
    # unless max-count is 1 and n at most 2). So when it needs three, a
    # caption whose word pairs all differ holds no loop: no scan (most captions).
    distinct_pairs = len(set(itertools.pairwise(words))) == len(words) - 1
    periods = 0 if distinct_pairs and max(check.max_count + 1, check.n) >= 3 else check.max_period
    for period in range(1, min(periods, len(words) // 2) + 1):
        index = 0
        while index < len(words) - period:
            if words[index] != words[index + period]:
                index += 1
                continue
            start = index  # a maximal run of words equal to the word a period on
            while index < len(words) - period and words[index] == words[index + period]:
                index += 1
            copies = (index - start + period) // period
            enough = copies > check.max_count or (copies >= 2 and period >= 2 * check.n)
            if enough and period * copies >= check.n and (found is None or start < found[0]):
                found = (start, period, copies)
    if found is not None:
        matches = list(_WORD.finditer(caption.text))
        start, period, copies = found
        first_copy = start + period
        last_word = start + period * copies - 1
        return [
            Finding(
                span=Span(matches[first_copy].start(), matches[last_word].end()),
                values={"phrase": " ".join(words[start : start + period]), "count": copies},
            )
        ]
    if len(caption.sentences) < 2:
        return []  # no sentence to say twice
    if distinct_pairs and check.n >= 4 and caption.text.isascii():
        # A sentence of four words or more said twice repeats the pair of its
        # second and third words (whole words even where a sentence's span
        # cuts one at its ends), and ASCII text lower-cases alike whole or
        # in parts: with every word pair distinct, no sentence is said twice.
        return []
    seen: dict[str, Span] = {}
    for sentence in caption.sentences:
        said = _WORD.findall(caption.slice(sentence).lower())
        if len(said) < check.n:
            continue
        key = " ".join(said)
        if key in seen:
            return [Finding(span=sentence, values={"phrase": caption.slice(sentence), "count": 2})]
        seen[key] = sentence
    return []


def _duplicate_tags(check: RepetitionCheck, caption: ParsedCaption) -> list[Finding]:
    """Tags repeated within one tag list. The same word in two lists that
    sentences separate names two things ("…movement, skeleton. Sapphire dial,
    skeleton."): removing one would change what the caption says."""
    keys = [tag.key for tag in caption.tags]
    if len(set(keys)) == len(keys):
        return []  # no tag twice (the common case): nothing over max-count (at least 1)
    counts: Counter[tuple[int, str]] = Counter()
    findings = []
    previous_end = None
    segments = [s for s in caption.segments if s.kind == "tags"]
    for tag in caption.tags:
        segment = next((i for i, s in enumerate(segments) if s.start <= tag.start < s.end), -1)
        counts[segment, tag.key] += 1
        if tag.key and counts[segment, tag.key] > check.max_count:
            removal_start = previous_end if previous_end is not None else tag.start
            findings.append(
                Finding(
                    span=Span(start=tag.start, end=tag.end),
                    values={"tag": tag.text, "count": counts[segment, tag.key]},
                    edits=[Edit(start=removal_start, end=tag.end, replacement="")],
                )
            )
        else:
            previous_end = tag.end
    return findings


CAPTION_CHECKS: dict[str, CaptionCheck] = {
    "starts-with": starts_with,
    "requires-any": requires_any,
    "forbids": forbids,
    "segment-order": segment_order,
    "length": length,
    "repetition": repetition,
}


# --- dataset ---------------------------------------------------------------

DatasetCheck = Callable[[Any, Sequence[ParsedCaption | None], CheckContext], list[Finding]]


#: Words joined by underscores ("long_hair"); not an emoticon tag ("^_^").
_UNDERSCORED = re.compile(r"[^\W_]+(?:_[^\W_]+)+")


def _tag_joiner(tag: Tag) -> str | None:
    body = tag.text.strip("()[]{}")
    if "_" in body and _UNDERSCORED.fullmatch(body):
        return "underscores"
    if " " in body and "_" not in body:
        return "spaces"
    return None


def _separator_after(caption: ParsedCaption, tag: Tag) -> str | None:
    text = caption.text
    if tag.end < len(text) and text[tag.end] == ",":
        after = tag.end + 1
        if after < len(text) and text[after] == " ":
            return "comma-space"
        if after < len(text) and not text[after].isspace() and text[after] != ",":
            return "comma"
    return None


def consistency(
    check: ConsistencyCheck, captions: Sequence[ParsedCaption | None], ctx: CheckContext
) -> list[Finding]:
    if check.property == "tag-style":
        return _tag_style(check, captions)
    return _category_order(check, captions)


def _dominant(votes: Counter[str], check: ConsistencyCheck) -> tuple[str, int, int] | None:
    total = sum(votes.values())
    if total < check.min_captions or not votes:
        return None
    choice, count = votes.most_common(1)[0]
    if count / total < check.min_share:
        return None
    return choice, count, total


def _tag_style(check: ConsistencyCheck, captions: Sequence[ParsedCaption | None]) -> list[Finding]:
    findings: list[Finding] = []
    joiners: Counter[str] = Counter()
    separators: Counter[str] = Counter()
    per_caption: list[tuple[dict[str, list[Tag]], dict[str, list[Tag]]]] = []
    for caption in captions:
        by_joiner: dict[str, list[Tag]] = {}
        by_separator: dict[str, list[Tag]] = {}
        if caption is not None:
            for tag in caption.tags:
                joiner = _tag_joiner(tag)
                if joiner:
                    by_joiner.setdefault(joiner, []).append(tag)
                separator = _separator_after(caption, tag)
                if separator:
                    by_separator.setdefault(separator, []).append(tag)
        joiners.update(by_joiner.keys() if len(by_joiner) == 1 else [])
        separators.update(by_separator.keys() if len(by_separator) == 1 else [])
        per_caption.append((by_joiner, by_separator))
    joiner_rule = _dominant(joiners, check)
    separator_rule = _dominant(separators, check)
    for index, caption in enumerate(captions):
        if caption is None:
            continue
        stray = [(span, "double comma (an empty tag)") for span in caption.empty_tags]
        if caption.trailing_separator is not None:
            stray.append((caption.trailing_separator, "trailing comma"))
        for span, problem in stray:
            findings.append(
                Finding(
                    item=index,
                    span=span,
                    values={"problem": problem},
                    edits=[Edit(start=span.start, end=span.end, replacement="")],
                )
            )
        by_joiner, by_separator = per_caption[index]
        if joiner_rule is not None:
            style, count, total = joiner_rule
            odd = [tag for joiner, tags in by_joiner.items() if joiner != style for tag in tags]
            if odd:
                old, new = ("_", " ") if style == "spaces" else (" ", "_")
                findings.append(
                    Finding(
                        item=index,
                        span=Span(start=odd[0].start, end=odd[0].end),
                        values={
                            "problem": f"tag {odd[0].text!r} joins words with "
                            f"{'underscores' if style == 'spaces' else 'spaces'}; "
                            f"{count} of {total} captions use {style}",
                        },
                        edits=[
                            Edit(start=t.start, end=t.end, replacement=t.text.replace(old, new))
                            for t in odd
                        ],
                    )
                )
        if separator_rule is not None:
            style, count, total = separator_rule
            odd = [tag for sep, tags in by_separator.items() if sep != style for tag in tags]
            if odd:
                replacement = ", " if style == "comma-space" else ","
                findings.append(
                    Finding(
                        item=index,
                        span=Span(start=odd[0].end, end=odd[0].end + 1),
                        values={
                            "problem": f"tags separated by {_SEPARATOR_WORDS[style == 'comma']}; "
                            f"{count} of {total} captions use {_SEPARATOR_WORDS[style != 'comma']}",
                        },
                        edits=[
                            Edit(
                                start=t.end,
                                end=_separator_end(caption.text, t.end),
                                replacement=replacement,
                            )
                            for t in odd
                        ],
                    )
                )
    return findings


_SEPARATOR_WORDS = {True: "', ' (comma and space)", False: "',' (comma alone)"}


def _separator_end(text: str, comma: int) -> int:
    end = comma + 1
    while end < len(text) and text[end] == " ":
        end += 1
    return end


def _first_hits(
    caption: ParsedCaption, categories: Sequence[str] | frozenset[str]
) -> dict[str, LexiconHit]:
    """First hit of each category among the tags: attribute order is the
    order of the tags; sentences mention light or framing wherever they like."""
    segments = [(s.start, s.end) for s in caption.segments if s.kind == "tags"]
    first: dict[str, LexiconHit] = {}
    if not segments:
        return first  # no tags: no hit among them
    for hit in caption.hits:
        category = hit.category
        if category in first or category not in categories:
            continue  # cheap tests first: most hits are of other categories
        start = hit.start
        for segment_start, segment_end in segments:  # one or two: a loop, no generator
            if segment_start <= start < segment_end:
                first[category] = hit
                break
    return first


def _by_start(first: dict[str, LexiconHit]) -> list[str]:
    """The categories of ``first`` by where their hit starts."""
    return sorted(first, key=lambda category: first[category].start)


def _category_order(
    check: ConsistencyCheck, captions: Sequence[ParsedCaption | None]
) -> list[Finding]:
    wanted = frozenset(check.categories)
    firsts = [_first_hits(c, wanted) if c is not None else {} for c in captions]
    # Each caption's categories in the order of their first hits: sorted
    # once for both passes (~1 % of a warm 100,000-caption run).
    orders = [_by_start(first) for first in firsts]
    before: Counter[tuple[str, str]] = Counter()
    for ordered in orders:
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                before[(a, b)] += 1
    findings = []
    for index, (first, ordered) in enumerate(zip(firsts, orders, strict=True)):
        for i, a in enumerate(ordered):
            contradiction = None
            for b in ordered[i + 1 :]:
                agree, disagree = before[(a, b)], before[(b, a)]
                both = agree + disagree
                if both >= check.min_captions and disagree / both >= check.min_share:
                    contradiction = (b, disagree, both)
                    break
            if contradiction is not None:
                b, count, total = contradiction
                findings.append(
                    Finding(
                        item=index,
                        span=Span(start=first[a].start, end=first[a].end),
                        values={"first": a, "second": b, "count": count, "total": total},
                    )
                )
                break
    return findings


def frequency(
    check: FrequencyCheck, captions: Sequence[ParsedCaption | None], ctx: CheckContext
) -> list[Finding]:
    present = [c for c in captions if c is not None]
    if len(present) < check.min_captions:
        return []
    excluded = {normalise_phrase(p) for p in check.exclude}
    if ctx.trigger:
        excluded.add(ctx.trigger.lower())
    if ctx.subject.class_:
        excluded.add(ctx.subject.class_.lower())
    holders: dict[str, list[int]] = {}
    pairs: dict[str, list[int]] = {}
    unwanted = frozenset(check.exclude_categories)
    for index, caption in enumerate(captions):
        if caption is None:
            continue
        named, side_by_side = _counted_phrases(caption, check.categories)
        phrases = set(named)
        for pair in side_by_side:
            pairs.setdefault(pair, []).append(index)
        if check.include_tags:
            # A tag holding the start of an excluded hit is not counted.
            starts = sorted([h.start for h in caption.hits if h.category in unwanted])
            for tag in caption.tags:
                first = bisect.bisect_left(starts, tag.start)
                if first == len(starts) or starts[first] >= tag.end:
                    phrases.add(tag.key)
        for phrase in phrases:
            if phrase and phrase not in excluded:
                holders.setdefault(phrase, []).append(index)
    total = len(present)
    # Two phrases written side by side in most captions are one fact, counted
    # as written together ("snowy landscape", not "snowy" and "landscape").
    for pair, items in pairs.items():
        if len(items) / total >= check.max_share:
            holders[pair] = items
    _credit_subphrases(holders)
    frequent = [
        (phrase, items)
        for phrase, items in sorted(
            holders.items(), key=lambda kv: (-len(kv[1]), -len(kv[0]), kv[0])
        )
        if len(items) / total >= check.max_share
    ]
    groups = _fold_subphrases(frequent)
    if check.fold_same_captions:
        groups = _fold_same_captions(groups, holders)
    findings = []
    for phrase, items, folded in groups:
        count = len(items)
        findings.append(
            Finding(
                values={
                    "phrase": phrase,
                    "count": count,
                    "total": total,
                    "share": f"{count / total:.0%}",
                    "folded": _folded_note(folded),
                },
                related=sorted(set(items).union(*(holders[p] for p in folded))),
            )
        )
    return findings


def _folded_note(folded: Sequence[str]) -> str:
    """ " (with 'dark curly hair')": the phrases folded into a finding's."""
    if not folded:
        return ""
    named = ", ".join(f"'{phrase}'" for phrase in folded[:3])
    more = f" and {len(folded) - 3} more" if len(folded) > 3 else ""
    return f" (with {named}{more})"


def _counted_phrases(
    caption: ParsedCaption, categories: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The phrases of ``categories`` a caption names, and the pairs of them
    written side by side ("snowy" + "landscape" -> "snowy landscape"). Pattern
    cues are not phrases; a hit inside a longer hit of another category is
    that one's word ("studio" in "studio lighting")."""
    hits = [h for h in caption.hits if not h.cue]
    wanted = set(categories)
    if _apart(hits):  # no hit inside another (most captions), in order already
        own = [h for h in hits if h.category in wanted]
    else:
        own = [
            h
            for h in hits
            if h.category in wanted
            and not any(
                o.category != h.category
                and o.start <= h.start
                and h.end <= o.end
                and (o.end - o.start) > (h.end - h.start)
                for o in hits
            )
        ]
        own.sort(key=lambda h: (h.start, -h.end))
    phrases = [normalise_phrase(caption.text[h.start : h.end]) for h in own]
    pairs = [
        f"{phrases[i]} {phrases[i + 1]}"
        for i in range(len(own) - 1)
        if own[i].end <= own[i + 1].start
        and caption.text[own[i].end : own[i + 1].start] in (" ", "-")
    ]
    return phrases, pairs


def _apart(hits: Sequence[LexiconHit]) -> bool:
    """Whether each hit starts after the one before it starts and ends after
    it ends (as the parser orders them, by start): then no hit lies inside
    another, and they are in (start, -end) order. One pass, where asking
    each hit about every other took ~3 % of a warm 100,000-caption run."""
    start = end = -1
    for hit in hits:
        if hit.start <= start or hit.end <= end:
            return False
        start, end = hit.start, hit.end
    return True


def _credit_subphrases(holders: dict[str, list[int]]) -> None:
    """A caption that says "gold hoop earrings" also says "hoop earrings":
    count it for every shorter phrase that lies inside, when that phrase is
    counted at all (one caption names it alone)."""
    extra: dict[str, set[int]] = {}
    for phrase, items in holders.items():
        words = phrase.split()
        for size in range(1, len(words)):
            for start in range(len(words) - size + 1):
                inner = " ".join(words[start : start + size])
                if inner in holders:
                    extra.setdefault(inner, set()).update(items)
    for inner, more in extra.items():
        holders[inner] = sorted(more.union(holders[inner]))


def _fold_same_captions(
    groups: list[tuple[str, list[int], list[str]]], holders: dict[str, list[int]]
) -> list[tuple[str, list[int], list[str]]]:
    """Phrases found in exactly the same captions are one fact (the pieces of
    one outfit: 'school uniform', 'sailor collar', 'pleated skirt')."""
    merged: dict[frozenset[int], tuple[str, list[int], list[str]]] = {}
    for phrase, items, folded in groups:
        key = frozenset(holders[phrase])
        if key in merged:
            merged[key][2].extend([phrase, *folded])
        else:
            merged[key] = (phrase, items, list(folded))
    return list(merged.values())


def _fold_subphrases(
    frequent: list[tuple[str, list[int]]],
) -> list[tuple[str, list[int], list[str]]]:
    """One finding per fact: a frequent phrase whose words lie inside another
    frequent phrase, or hold it ("curly hair" / "dark curly hair"), is folded
    into the one found in more captions (the longer on a tie)."""
    kept: list[tuple[str, list[int], list[str]]] = []
    for phrase, items in frequent:  # most captions first
        words = f" {phrase} "
        owner = next(
            (entry for entry in kept if words in f" {entry[0]} " or f" {entry[0]} " in words),
            None,
        )
        if owner is None:
            kept.append((phrase, items, []))
        else:
            owner[2].append(phrase)
    return kept


def duplicate_captions(
    check: DuplicateCaptionsCheck, captions: Sequence[ParsedCaption | None], ctx: CheckContext
) -> list[Finding]:
    """One finding per group of copies, at its first caption, naming every member."""
    from lintcap.engine.caption_duplicates import duplicate_groups, same_words

    if ctx._same_words is None or ctx._same_words[0] is not captions:
        texts = [_with_trigger(c, ctx.trigger) if c else None for c in captions]
        ctx._same_words = (captions, same_words(texts))  # both rules of a run
    findings = []
    for members in duplicate_groups(check, ctx._same_words[1]):
        first = captions[members[0]]
        assert first is not None
        findings.append(
            Finding(
                item=members[0],
                span=_whole(first),
                values={
                    "count": len(members),
                    "others": len(members) - 1,
                    "similarity": f"{check.min_similarity:.0%}",
                },
                related=members,
            )
        )
    return findings


def _with_trigger(caption: ParsedCaption, trigger: str | None) -> str:
    """The caption as ai-toolkit trains it: '[trigger]' is the trigger word."""
    text = caption.text
    for span in reversed(caption.placeholders if trigger else []):
        text = text[: span.start] + (trigger or "") + text[span.end :]
    return text


DATASET_CHECKS: dict[str, DatasetCheck] = {
    "duplicate-captions": duplicate_captions,
    "consistency": consistency,
    "frequency": frequency,
}
