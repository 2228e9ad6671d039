"""The HTML report (``lintcap check DATA --html report.html``).

One self-contained file: thumbnails are JPEG data URIs, styles and the small
filter script are inline, and a Content-Security-Policy forbids every network
request, so the report can be mailed, archived or opened offline and shows
the same thing everywhere. It holds

* a header: the dataset, its counts and the trigger;
* the variety chart: how many items show each angle, framing, expression
  and gaze, and whether the image, the caption or both said so;
* the contact sheet: one card per item (thumbnail, caption with its parsed
  spans highlighted, its own findings), grouped by framing x angle in
  collapsible ``<details>``;
* every finding, grouped by code.

It needs no image analysis: views always exist, and without people facts
their values come from the captions. Thumbnails are the slow part on a large
set (a decode per image), so :func:`make_thumbnails` is separate, threaded
(Pillow releases the GIL while decoding and encoding) and timed by
``bench/html_report.py``. Every text that comes from the dataset is escaped
by the template's autoescaping; nothing is marked safe.
"""

from __future__ import annotations

import base64
import io
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import jinja2
import markupsafe
from PIL import Image, ImageOps

from lintcap import __version__
from lintcap.analyse import DEFAULT_MAX_CAPTION_BYTES, ItemFacts
from lintcap.caption.parse import ParsedCaption
from lintcap.caption.read import read_caption_file
from lintcap.config import Config
from lintcap.engine.run import LintResult
from lintcap.models import Diagnostic, Severity
from lintcap.report.escape import terminal_safe
from lintcap.report.target import OutputError, check_target, write_report
from lintcap.safefs import open_binary
from lintcap.variety import DIMENSIONS, Dimension, ItemView

#: Long side of a thumbnail in pixels, and its JPEG quality: about 6-9 kB per
#: photograph, so 3,000 images make a report of roughly 25 MB.
THUMB_SIZE = 192
THUMB_QUALITY = 70
#: Up to this many items every group starts open; above it all start closed,
#: so that a browser decodes only the thumbnails of the groups one opens.
OPEN_GROUPS_UP_TO = 300
#: Findings of one code listed open in the table up to this many.
OPEN_CODE_UP_TO = 50
#: The order classes are shown in; other classes follow alphabetically.
CLASS_ORDER: dict[Dimension, tuple[str, ...]] = {
    "angle": ("front", "left", "right", "side", "back"),
    "framing": ("close-up", "portrait", "waist-up", "full-body"),
    "expression": ("smiling", "open-mouth", "neutral"),
    "gaze": ("camera", "away"),
}
UNKNOWN = "unknown"
#: Span kinds of a parsed caption, lowest priority first (a trigger inside a
#: sentence shows as the trigger).
SPAN_KINDS = ("sentence", "tag", "medium", "trigger")
#: Lexicon categories that are word lists for the parser, not content.
_HIDDEN_CATEGORIES = frozenset({"function-words"})
_PALETTE = {
    "clothing": "#c2410c",
    "accessories": "#b45309",
    "makeup": "#be185d",
    "hair": "#a16207",
    "setting": "#15803d",
    "lighting": "#ca8a04",
    "framing": "#1d4ed8",
    "angle": "#0e7490",
    "expression": "#9333ea",
    "gaze": "#4f46e5",
    "medium": "#0f766e",
    "boilerplate": "#dc2626",
}
_FALLBACK_COLOURS = ("#64748b", "#78716c", "#6b7280", "#71717a")
_CLASS_NAME = re.compile(r"[^a-z0-9-]+")


class HtmlReportError(Exception):
    """The report cannot be written where asked (a usage error: exit 2)."""


# --- thumbnails -----------------------------------------------------------------


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail as a data URI, or why there is none (``src`` is None)."""

    src: str | None
    width: int
    height: int
    problem: str | None = None


def make_thumbnail(
    path: Path | None, size: int = THUMB_SIZE, quality: int = THUMB_QUALITY
) -> Thumbnail:
    """A JPEG thumbnail of ``path``, upright by its EXIF orientation, or a
    placeholder saying why not. Never raises: a broken image in the set is
    exactly what a user opens the report to see."""
    if path is None:
        return Thumbnail(None, size, size, "no image")
    try:
        with open_binary(path) as stream, Image.open(stream) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at 1/2 to 1/8 scale
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((size, size))
            rgb = _flatten(upright)
    # Pillow raises many kinds for bad files (OSError, ValueError, SyntaxError,
    # struct.error, DecompressionBombError, ...); any of them means "unreadable".
    except Exception as exc:
        return Thumbnail(None, size, size, f"unreadable: {type(exc).__name__}")
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=quality, optimize=True)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Thumbnail(f"data:image/jpeg;base64,{encoded}", rgb.width, rgb.height)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over light grey, so that it stays visible."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (220, 220, 220, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def make_thumbnails(
    paths: Sequence[Path | None],
    size: int = THUMB_SIZE,
    quality: int = THUMB_QUALITY,
    jobs: int | None = None,
) -> list[Thumbnail]:
    """Thumbnails of ``paths`` in order, on ``jobs`` threads (default: one per core)."""
    workers = max(1, jobs or os.cpu_count() or 1)
    if workers == 1 or len(paths) < 2:
        return [make_thumbnail(path, size, quality) for path in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda path: make_thumbnail(path, size, quality), paths))


# --- captions -------------------------------------------------------------------


class Run(NamedTuple):
    """A stretch of caption text with one set of highlight classes."""

    text: str
    classes: str


def css_name(name: str) -> str:
    """A lexicon category as a CSS class suffix (user categories may hold anything)."""
    return _CLASS_NAME.sub("-", name.lower()).strip("-") or "other"


def caption_runs(parsed: ParsedCaption) -> list[Run]:
    """The caption cut where its highlighting changes: each run has a span
    kind (``k-trigger``, ``k-medium``, ``k-sentence``, ``k-tag``) and the
    category of the innermost lexicon phrase over it (``c-clothing``)."""
    size = len(parsed.text)
    kinds = [""] * size
    spans: dict[str, list[tuple[int, int]]] = {
        "sentence": [(s.start, s.end) for s in parsed.sentences],
        "tag": [(t.start, t.end) for t in parsed.tags],
        "medium": [(parsed.medium.start, parsed.medium.end)] if parsed.medium else [],
        "trigger": [(m.start, m.end) for m in parsed.trigger_mentions],
    }
    for kind in SPAN_KINDS:
        for start, end in spans[kind]:
            kinds[start:end] = [f"k-{kind}"] * (end - start)
    categories = [""] * size
    hits = [hit for hit in parsed.hits if hit.category not in _HIDDEN_CATEGORIES]
    for hit in sorted(hits, key=lambda h: h.start - h.end):  # longest first, inner wins
        categories[hit.start : hit.end] = [f"c-{css_name(hit.category)}"] * (hit.end - hit.start)
    runs = []
    position = 0
    for (kind, category), chars in groupby(zip(kinds, categories, strict=True)):
        length = sum(1 for _ in chars)
        classes = " ".join(name for name in (kind, category) if name)
        runs.append(Run(parsed.text[position : position + length], classes))
        position += length
    return runs


def _runs(item: ItemFacts) -> list[Run]:
    """The caption highlighted when parsed, else as plain text (or nothing)."""
    if item.parsed is not None:
        return caption_runs(item.parsed)
    text = _caption_text(item)
    return [Run(text, "")] if text else []


def _caption_text(item: ItemFacts) -> str | None:
    """The caption as read by the run, or read here when no selected rule
    needed it (``--select I``): the report shows it unhighlighted."""
    if item.text is not None:
        return item.text
    if item.item.metadata_text is not None:
        return item.item.metadata_text
    if item.item.caption_path is None:
        return None
    display = item.caption_display or ""
    return read_caption_file(item.item.caption_path, display, DEFAULT_MAX_CAPTION_BYTES).text


# --- the page's data ------------------------------------------------------------


@dataclass
class Card:
    """One item of the contact sheet."""

    name: str
    display: str
    thumbnail: Thumbnail
    runs: list[Run]
    attributes: list[tuple[str, str, str]]  # (dimension, value, source)
    findings: list[Diagnostic]
    codes: str = ""
    severities: str = ""
    worst: str = ""
    #: Links from the report to the full-size image and the caption file.
    image_href: str = ""
    caption_href: str = ""
    #: Faces and lines of text the analysis found, drawn on the thumbnail.
    boxes: list[Box] = field(default_factory=list)


@dataclass
class Box:
    """A face or a line of text, in percent of the picture (the thumbnail
    shows the whole picture, so the same percentages place it there)."""

    kind: str  # face, overlay (added text), scene (text in the scene)
    title: str
    left: float
    top: float
    width: float
    height: float


def _boxes(item: ItemFacts) -> list[Box]:
    """The analysis' face and text boxes, from working-image pixels."""
    facts = item.image_facts
    if facts is None or facts.working_size is None:
        return []
    width, height = facts.working_size
    found: list[tuple[str, str, int, int, int, int]] = []
    # The people facts' faces; without them (no people rule selected), the
    # face detector's boxes that focus was measured on.
    faces = facts.people.faces if facts.people is not None else facts.face_boxes or []
    for face in faces:
        found.append(("face", f"face {face.confidence:.2f}", face.x, face.y, face.w, face.h))
    if facts.overlay is not None:
        for line in facts.overlay.text_boxes:
            title = f"added text ({line.reason})" if line.kind == "overlay" else "scene text"
            if line.read:
                title += f': "{line.read}"'
            found.append((line.kind, title, line.x, line.y, line.w, line.h))
    return [
        Box(
            kind=kind,
            title=title,
            left=round(100 * x / width, 2),
            top=round(100 * y / height, 2),
            width=round(100 * min(w, width - x) / width, 2),
            height=round(100 * min(h, height - y) / height, 2),
        )
        for kind, title, x, y, w, h in found
    ]


@dataclass
class Group:
    """Cards that share a framing and an angle."""

    framing: str
    angle: str
    cards: list[Card] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.framing} · {self.angle}"


@dataclass
class Bar:
    """One class of one dimension in the variety chart."""

    label: str
    total: int
    by_source: list[tuple[str, int, float]]  # (source, count, percent of the set)


@dataclass
class CodeGroup:
    """Every finding of one code, for the findings table."""

    code: str
    name: str
    severity: str
    findings: list[Diagnostic]


def _class_key(dimension: Dimension, value: str) -> tuple[int, str]:
    order = CLASS_ORDER[dimension]
    if value == UNKNOWN:
        return (len(order) + 1, value)
    return (order.index(value), value) if value in order else (len(order), value)


def _findings_by_path(diagnostics: Iterable[Diagnostic]) -> dict[str, list[Diagnostic]]:
    found: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in diagnostics:
        if diagnostic.path is not None:
            found[diagnostic.path].append(diagnostic)
    return found


def file_href(path: Path | None, report_dir: Path) -> str:
    """A link from the report (in ``report_dir``) to ``path``: relative, so
    the report and the dataset can move together, and percent-encoded."""
    if path is None:
        return ""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(report_dir))
    return quote(relative.replace(os.sep, "/"))


def _card(
    item: ItemFacts,
    view: ItemView,
    thumbnail: Thumbnail,
    by_path: dict[str, list[Diagnostic]],
    report_dir: Path,
) -> Card:
    """A card: the item's caption runs, its view and the findings on its
    files (errors first), with links to the image and the caption file."""
    findings = sorted(
        (
            diagnostic
            for path in dict.fromkeys((item.image_display, item.caption_display))
            if path is not None
            for diagnostic in by_path.get(path, [])
        ),
        key=lambda d: -d.severity.rank,
    )
    severities = sorted({d.severity for d in findings}, key=lambda s: -s.rank)
    attributes: list[tuple[str, str, str]] = []
    for dimension in DIMENSIONS:
        observed = view.observed(dimension)
        if observed.value is not None:
            attributes.append((dimension, observed.value, observed.source or ""))
    return Card(
        name=view.display.rsplit("/", 1)[-1],
        display=view.display,
        thumbnail=thumbnail,
        runs=_runs(item),
        attributes=attributes,
        findings=findings,
        codes=" ".join(sorted({d.code for d in findings})),
        severities=" ".join(s.value for s in severities),
        worst=severities[0].value if severities else "",
        image_href=file_href(item.item.image, report_dir),
        caption_href=file_href(item.item.caption_path, report_dir),
        boxes=_boxes(item),
    )


def contact_sheet(cards: Sequence[Card], views: Sequence[ItemView]) -> list[Group]:
    """Cards grouped by framing x angle, in the classes' order, unknowns last."""
    groups: dict[tuple[str, str], Group] = {}
    for card, view in zip(cards, views, strict=True):
        framing = view.framing.value or UNKNOWN
        angle = view.angle.value or UNKNOWN
        group = groups.setdefault((framing, angle), Group(framing, angle))
        group.cards.append(card)
    return sorted(
        groups.values(),
        key=lambda g: (_class_key("framing", g.framing), _class_key("angle", g.angle)),
    )


def variety_chart(views: Sequence[ItemView]) -> dict[str, list[Bar]]:
    """Per dimension, the items of each class split by the source of the value."""
    chart: dict[str, list[Bar]] = {}
    total = max(1, len(views))
    for dimension in DIMENSIONS:
        counts: Counter[tuple[str, str]] = Counter()
        for view in views:
            observed = view.observed(dimension)
            counts[(observed.value or UNKNOWN, observed.source or "none")] += 1
        classes = sorted({value for value, _ in counts}, key=lambda v: _class_key(dimension, v))
        bars = []
        for value in classes:
            parts = [
                (source, counts[(value, source)], 100 * counts[(value, source)] / total)
                for source in ("both", "image", "caption", "none")
                if counts[(value, source)]
            ]
            bars.append(Bar(value, sum(count for _, count, _ in parts), parts))
        chart[dimension] = bars
    return chart


def findings_by_code(diagnostics: Iterable[Diagnostic]) -> list[CodeGroup]:
    """Every finding, grouped by code: errors' codes first, then warnings',
    then info; codes in order within a severity, files in order."""
    groups: dict[str, CodeGroup] = {}
    for diagnostic in diagnostics:
        group = groups.setdefault(
            diagnostic.code,
            CodeGroup(diagnostic.code, diagnostic.name, diagnostic.severity.value, []),
        )
        group.findings.append(diagnostic)
    for group in groups.values():
        group.findings.sort(key=Diagnostic.sort_key)
    rank = {severity.value: severity.rank for severity in Severity}
    return sorted(groups.values(), key=lambda g: (-rank[g.severity], g.code))


def _categories(items: Sequence[ItemFacts]) -> list[tuple[str, str, str]]:
    """The lexicon categories found in the set: (name, css class, colour)."""
    names = sorted(
        {
            hit.category
            for item in items
            if item.parsed is not None
            for hit in item.parsed.hits
            if hit.category not in _HIDDEN_CATEGORIES
        }
    )
    fallback = iter(_FALLBACK_COLOURS * (1 + len(names) // len(_FALLBACK_COLOURS)))
    return [(name, css_name(name), _PALETTE.get(name) or next(fallback)) for name in names]


def page_context(
    result: LintResult,
    datasets: Sequence[str],
    thumbnails: Sequence[Thumbnail],
    report_dir: Path | None = None,
    config: Config | None = None,
) -> dict[str, Any]:
    """Everything the template shows, computed here so the template only lays out;
    ``config`` is the run's, so that the rules it adds (``extend-rules``) show their why."""
    by_path = _findings_by_path(result.diagnostics)
    folder = report_dir if report_dir is not None else Path.cwd()
    cards = [
        _card(item, view, thumbnail, by_path, folder)
        for item, view, thumbnail in zip(result.items, result.views, thumbnails, strict=True)
    ]
    severities = Counter(d.severity.value for d in result.diagnostics)
    code_groups = findings_by_code(result.diagnostics)
    return {
        "version": __version__,
        "datasets": list(datasets),
        "result": result,
        "trigger": result.trigger,
        "severity_counts": [(s.value, severities[s.value]) for s in reversed(Severity)],
        "groups": contact_sheet(cards, result.views),
        "cards": len(cards),
        "open_groups": len(cards) <= OPEN_GROUPS_UP_TO,
        "chart": variety_chart(result.views),
        "code_groups": code_groups,
        "open_code_up_to": OPEN_CODE_UP_TO,
        "span_kinds": [kind for kind in reversed(SPAN_KINDS)],
        "categories": _categories(result.items),
        "rules": _rules_shown(code_groups, config),
    }


def _rules_shown(
    groups: Sequence[CodeGroup], config: Config | None
) -> list[tuple[str, str, str, str]]:
    """(code, name, severity, why) of each code in the report: every code
    links to its why, embedded, so the report stays one offline file. The
    rule book is the run's (``config``), so a rule from ``extend-rules`` has its why."""
    from lintcap.engine.spec import load_rulebook

    book = load_rulebook(config if config is not None else Config())
    shown = []
    for group in groups:
        rule = book.rule(group.code)
        why = " ".join(rule.why.split()) if rule is not None else ""
        shown.append((group.code, group.name, group.severity, why))
    return shown


# --- rendering and writing ----------------------------------------------------------


def _shown(value: Any) -> Any:
    """Every value the template prints: data text with control and bidi
    characters escaped (markup the template itself made is left alone)."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return terminal_safe(value)
    return value


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("lintcap.report", "templates"),
        autoescape=True,  # captions and paths are user data
        # ... and so are their control and bidi characters: shown escaped.
        finalize=_shown,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("report.html.j2")


def render(
    result: LintResult,
    datasets: Sequence[str],
    thumbnails: Sequence[Thumbnail] | None = None,
    report_dir: Path | None = None,
    config: Config | None = None,
) -> str:
    """The report as one HTML string (thumbnails made here unless given);
    file links are relative to ``report_dir`` (default: the working folder)."""
    if thumbnails is None:
        thumbnails = make_thumbnails([item.item.image for item in result.items])
    return _template().render(page_context(result, datasets, thumbnails, report_dir, config))


def check_writable(path: Path, protected: Iterable[Path] = ()) -> None:
    """Fail before the (possibly long) lint run when ``path`` cannot or must
    not be written (:mod:`lintcap.report.target` says which targets are refused)."""
    try:
        check_target(path, "HTML report", protected)
    except OutputError as exc:
        raise HtmlReportError(str(exc)) from None


def write_html(
    result: LintResult,
    path: Path,
    datasets: Sequence[str],
    jobs: int | None = None,
    protected: Iterable[Path] = (),
    config: Config | None = None,
) -> None:
    """Write the report atomically (a new temporary file in the same folder,
    then a rename over a regular file only), never over one of the linted
    dataset's files."""
    files = [*protected, *dataset_files(result)]
    check_writable(path, files)
    thumbnails = make_thumbnails([item.item.image for item in result.items], jobs=jobs)
    page = render(result, datasets, thumbnails, path.parent, config)
    try:
        write_report(path, page.encode("utf-8"), "HTML report", files)
    except OutputError as exc:
        raise HtmlReportError(str(exc)) from None


def dataset_files(result: LintResult) -> list[Path]:
    """Every image and caption file the run read: never a report target."""
    files: list[Path] = []
    for facts in result.items:
        files.extend(p for p in (facts.item.image, facts.item.caption_path) if p is not None)
    return files
