"""Default text output, one line per finding, grouped by file::

    data/a.txt:1:5: error C002 [*] trigger 'ohwx' is not the first word

The severity is a word on every line, so it reads the same without colour (in
pre-commit, CI logs, pipes, ``NO_COLOR``); within a file errors come first.
``[*]`` marks a finding ``lintcap fix`` fixes, ``[~]`` one that only
``lintcap fix --unsafe-fixes`` fixes. Then a summary and how many findings are
fixable.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from typing import IO, TYPE_CHECKING, Literal

from rich.console import Console
from rich.text import Text

from lintcap.models import Diagnostic, Severity
from lintcap.report.escape import SafeConsole, field_safe

if TYPE_CHECKING:
    from lintcap.engine.run import LintResult

_SEVERITY_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}
_MARKER = {"safe": "[*]", "unsafe": "[~]"}

ColorChoice = Literal["auto", "always", "never"]


@dataclass(frozen=True)
class TextOptions:
    """What ``check`` prints: ``quiet`` the findings only, ``summary`` the
    counts only; ``show_fixes`` the edit under each fixable finding."""

    color: bool = False
    quiet: bool = False
    summary: bool = False
    show_fixes: bool = False
    #: The "N fixable with `lintcap fix`" line (fix itself lists what it skipped).
    footer: bool = True
    #: Every finding on its own line; otherwise a code that fires on every
    #: caption is one line (lintcap.report.rollup).
    verbose: bool = False
    #: ``--concise``: only findings at or above this severity, then one line.
    blocking: Severity | None = None


def use_color(choice: ColorChoice, stream: IO[str]) -> bool:
    """``--color``: ``always``/``never`` win; ``auto`` follows ``NO_COLOR``,
    then ``FORCE_COLOR`` (https://no-color.org, https://force-color.org), then
    whether ``stream`` is a terminal."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def console_for(stream: IO[str], color: bool) -> Console:
    """A console that colours exactly when ``color`` says so, and escapes
    control and bidi characters from the data (:mod:`lintcap.report.escape`)."""
    return SafeConsole(
        file=stream,
        highlight=False,
        soft_wrap=True,
        markup=False,
        emoji=False,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
    )


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 image``, ``2 images``."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def _location(diagnostic: Diagnostic) -> str:
    parts = [diagnostic.path or "."]
    if diagnostic.line is not None:
        parts.append(str(diagnostic.line))
        if diagnostic.column is not None:
            parts.append(str(diagnostic.column))
    return ":".join(parts)


def write(result: LintResult, stream: IO[str], options: TextOptions | None = None) -> None:
    options = options or TextOptions()
    console = console_for(stream, options.color)
    if options.blocking is not None:
        _write_concise(result, console, Severity(options.blocking))
        return
    if options.summary:
        write_counts(result.diagnostics, console)
    else:
        shown, rolled = result.diagnostics, list[Diagnostic]()
        if not (options.verbose or options.show_fixes):
            from lintcap.report.rollup import roll_up

            shown, rolled = roll_up(result.diagnostics, result.captions)
        for summary in rolled:
            console.print(finding_line(summary))
        if rolled:
            console.print()
        write_diagnostics(shown, console, show_fixes=options.show_fixes, result=result)
    if not options.quiet:
        console.print(_summary(result))
        footer = fixable_footer(result.diagnostics) if options.footer else None
        if footer:
            console.print(footer)


def _write_concise(result: LintResult, console: Console, threshold: Severity) -> None:
    """What blocks (findings at or above ``threshold``), then one line."""
    blocking = [d for d in result.diagnostics if d.severity.rank >= threshold.rank]
    rest = len(result.diagnostics) - len(blocking)
    for group in _by_file(blocking):
        for diagnostic in group:
            console.print(finding_line(diagnostic))
    below = f"; {plural(rest, 'finding')} below {threshold.value} not shown" if rest else ""
    fixable = sum(1 for d in blocking if d.fixable and d.applicability == "safe")
    fixes = f"; {fixable} fixable with `lintcap fix`" if fixable else ""
    if blocking:
        line = (
            f"lintcap: {count_line(blocking)} at or above {threshold.value} in "
            f"{scanned(result)}{below}{fixes}."
        )
    else:
        line = f"lintcap: nothing at or above {threshold.value} in {scanned(result)}{below}."
    console.print(Text(line, style="bold"))


def _by_file(diagnostics: list[Diagnostic]) -> list[list[Diagnostic]]:
    """Groups per file in path order; within a file errors first, then by place."""
    ordered = sorted(diagnostics, key=lambda d: d.path or "")
    return [
        sorted(group, key=lambda d: (-d.severity.rank, d.line or 0, d.column or 0, d.code))
        for _, group in groupby(ordered, key=lambda d: d.path or "")
    ]


def finding_line(diagnostic: Diagnostic) -> Text:
    """``path:line:col: severity CODE [*] message``."""
    line = Text()
    line.append(field_safe(_location(diagnostic)), style="bold")
    line.append(": ")
    line.append(diagnostic.severity.value, style=_SEVERITY_STYLE[diagnostic.severity])
    line.append(" ")
    line.append(diagnostic.code, style=_SEVERITY_STYLE[diagnostic.severity])
    if diagnostic.fixable and diagnostic.applicability in _MARKER:
        line.append(" " + _MARKER[diagnostic.applicability], style="bold cyan")
    line.append(f" {field_safe(diagnostic.message)}")
    return line


def write_diagnostics(
    diagnostics: list[Diagnostic],
    console: Console,
    *,
    show_fixes: bool = False,
    result: LintResult | None = None,
) -> None:
    """One line per finding, a blank line after each file's group."""
    texts = _caption_texts(result) if show_fixes and result is not None else {}
    for group in _by_file(diagnostics):
        for diagnostic in group:
            console.print(finding_line(diagnostic))
            if diagnostic.related:
                console.print(Text("    " + _related(diagnostic.related), style="dim"))
            if show_fixes and diagnostic.fixable:
                for edit_line in _edit_lines(diagnostic, texts.get(diagnostic.path or "")):
                    console.print(Text("    " + edit_line, style="green"))
        console.print()


def write_counts(diagnostics: list[Diagnostic], console: Console) -> None:
    """``--summary``: findings per code, most first, like ``ruff --statistics``."""
    counts = Counter(d.code for d in diagnostics)
    first: dict[str, Diagnostic] = {}
    for diagnostic in diagnostics:
        first.setdefault(diagnostic.code, diagnostic)
    width = len(str(max(counts.values(), default=0)))
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        example = first[code]
        line = Text(f"{count:>{width}}  ")
        line.append(f"{example.severity.value:<7}", style=_SEVERITY_STYLE[example.severity])
        line.append(f" {code} ")
        fixable = example.fixable and example.applicability in _MARKER
        line.append(_MARKER.get(example.applicability or "", "   ") if fixable else "   ")
        line.append(f" {example.name}")
        console.print(line)
    if counts:
        console.print()


def _caption_texts(result: LintResult) -> dict[str, str]:
    return {f.caption_display: f.text for f in result.items if f.caption_display and f.text}


def _edit_lines(diagnostic: Diagnostic, text: str | None) -> list[str]:
    """``fix (safe): replace 'a' with 'b' at 1:5`` per edit."""
    from lintcap.caption.read import position_of

    lines = []
    for edit in diagnostic.edits:
        old = text[edit.start : edit.end] if text is not None else ""
        where = ""
        if text is not None and diagnostic.line is not None:
            line, column = position_of(text, edit.start)
            where = f" at {line}:{column}"
        if not old:
            action = f"insert {edit.replacement!r}"
        elif not edit.replacement:
            action = f"delete {old!r}"
        else:
            action = f"replace {old!r} with {edit.replacement!r}"
        lines.append(f"fix ({diagnostic.applicability}): {action}{where}")
    return lines


#: How many counted files a finding lists in text; JSON and SARIF list all.
_RELATED_SHOWN = 6


def _related(paths: list[str]) -> str:
    """``counted: a.jpg, b.jpg, ... and 12 more``, by file name when they share a folder."""
    folders = {path.rsplit("/", 1)[0] for path in paths if "/" in path}
    names = [path.rsplit("/", 1)[-1] for path in paths] if len(folders) == 1 else paths
    shown = ", ".join(field_safe(name) for name in names[:_RELATED_SHOWN])
    rest = len(names) - _RELATED_SHOWN
    return f"counted: {shown}" + (f" and {rest} more" if rest > 0 else "")


def subject_summary(result: LintResult) -> str:
    """One line: the subject kind, where it came from and why, and the rules
    that did not run for it."""
    subject = result.subject
    if subject.kind is None:
        if not subject.captions and not subject.images_analysed:
            return ""  # nothing read to judge from (no captions, or no rule needed them)
        return f"Subject not decided ({subject.reason}): every rule ran."
    source = {"configured": "set in config", "class-tokens": "from folder class tokens"}.get(
        subject.source, f"inferred from the {subject.source}"
    )
    line = f"Subject: {subject.kind} ({source}: {subject.reason})"
    if subject.skipped_rules:
        line += f"; not run on {subject.kind} sets: {', '.join(subject.skipped_rules)}"
    if subject.source != "configured":
        line += " (set `subject.kind` in lintcap.toml to override)"
    return line + "."


def fixable_footer(diagnostics: list[Diagnostic]) -> Text | None:
    """``3 fixable with `lintcap fix` (2 more with `--unsafe-fixes`).``"""
    safe = sum(1 for d in diagnostics if d.fixable and d.applicability == "safe")
    unsafe = sum(1 for d in diagnostics if d.fixable and d.applicability == "unsafe")
    if safe and unsafe:
        return Text(f"[*] {safe} fixable with `lintcap fix` ({unsafe} more with `--unsafe-fixes`).")
    if safe:
        return Text(f"[*] {safe} fixable with `lintcap fix`.")
    if unsafe:
        return Text(f"[~] {unsafe} fixable with `lintcap fix --unsafe-fixes`.")
    return None


def scanned(result: LintResult) -> str:
    """``3 images, 1 caption, 57 rules``."""
    return (
        f"{plural(result.images, 'image')}, {plural(result.captions, 'caption')}, "
        f"{plural(result.rules, 'rule')}"
    )


def _summary(result: LintResult) -> Text:
    summary = Text()
    trigger = result.trigger
    if trigger.source == "inferred":
        summary.append(
            f"Trigger '{trigger.word}' inferred: {trigger.evidence()} "
            "(set `trigger` in lintcap.toml to make it explicit).\n",
            style="dim",
        )
    elif trigger.source == "none" and trigger.searched and result.captions:
        summary.append(
            "No trigger configured and none could be inferred: trigger rules did not run.\n",
            style="dim",
        )
    subject_line = subject_summary(result)
    if subject_line:
        summary.append(subject_line + "\n", style="dim")
    if result.images_analysed or result.images_cached:
        summary.append(
            f"Image facts: {result.images_analysed} analysed, "
            f"{result.images_cached} from the cache.\n",
            style="dim",
        )
    for note in result.notes:
        summary.append(note + "\n", style="dim")
    if result.baseline_hidden:
        summary.append(
            f"{plural(result.baseline_hidden, 'finding')} in the baseline not shown.\n", style="dim"
        )
    if not result.diagnostics:
        summary.append(f"All checks passed ({scanned(result)}).", style="bold green")
        return summary
    summary.append(f"{count_line(result.diagnostics)} in {scanned(result)}.", style="bold")
    return summary


def count_line(diagnostics: list[Diagnostic]) -> str:
    """``Found 5 findings (1 error, 4 warnings)``."""
    counts = Counter(d.severity for d in diagnostics)
    detail = ", ".join(
        plural(counts[s], s.value) if s != Severity.info else f"{counts[s]} info"
        for s in (Severity.error, Severity.warning, Severity.info)
        if counts[s]
    )
    return f"Found {plural(len(diagnostics), 'finding')} ({detail})"
