"""Default text output: ``path:line:col: CODE message``, grouped by file,
coloured on a terminal (rich), then a summary."""

from __future__ import annotations

from itertools import groupby
from typing import IO

from rich.console import Console
from rich.text import Text

from lintcap.engine.run import LintResult
from lintcap.models import Diagnostic, Severity

_SEVERITY_STYLE = {Severity.error: "bold red", Severity.warning: "yellow", Severity.info: "cyan"}


def _location(diagnostic: Diagnostic) -> str:
    parts = [diagnostic.path or "."]
    if diagnostic.line is not None:
        parts.append(str(diagnostic.line))
        if diagnostic.column is not None:
            parts.append(str(diagnostic.column))
    return ":".join(parts)


def write(result: LintResult, stream: IO[str]) -> None:
    console = Console(file=stream, highlight=False, soft_wrap=True)
    write_diagnostics(result.diagnostics, console)
    console.print(_summary(result))


def write_diagnostics(diagnostics: list[Diagnostic], console: Console) -> None:
    """One line per finding, a blank line after each file's group."""
    for _, group in groupby(diagnostics, key=lambda d: d.path):
        for diagnostic in group:
            line = Text()
            line.append(_location(diagnostic), style="bold")
            line.append(": ")
            line.append(diagnostic.code, style=_SEVERITY_STYLE[diagnostic.severity])
            line.append(f" {diagnostic.message}")
            console.print(line)
            if diagnostic.related:
                console.print(Text("    " + _related(diagnostic.related), style="dim"))
        console.print()


#: How many counted files a finding lists in text; JSON and SARIF list all.
_RELATED_SHOWN = 6


def _related(paths: list[str]) -> str:
    """``counted: a.jpg, b.jpg, ... and 12 more``, by file name when they share a folder."""
    folders = {path.rsplit("/", 1)[0] for path in paths if "/" in path}
    names = [path.rsplit("/", 1)[-1] for path in paths] if len(folders) == 1 else paths
    shown = ", ".join(names[:_RELATED_SHOWN])
    rest = len(names) - _RELATED_SHOWN
    return f"counted: {shown}" + (f" and {rest} more" if rest > 0 else "")


def subject_summary(result: LintResult) -> str:
    """One line: the subject kind, where it came from and why, and the rules
    that did not run for it."""
    subject = result.subject
    if subject.kind is None:
        if not result.captions and not subject.images_analysed:
            return ""
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


def _summary(result: LintResult) -> Text:
    summary = Text()
    trigger = result.trigger
    if trigger.source == "inferred":
        summary.append(
            f"Trigger '{trigger.word}' inferred: {trigger.evidence()} "
            "(set `trigger` in lintcap.toml to make it explicit).\n",
            style="dim",
        )
    elif trigger.source == "none" and result.captions:
        summary.append(
            "No trigger configured and none could be inferred: trigger rules did not run.\n",
            style="dim",
        )
    subject_line = subject_summary(result)
    if subject_line:
        summary.append(subject_line + "\n", style="dim")
    counts = {severity: 0 for severity in Severity}
    for diagnostic in result.diagnostics:
        counts[diagnostic.severity] += 1
    scanned = f"{result.images} images, {result.captions} captions, {result.rules} rules"
    if result.images_analysed or result.images_cached:
        summary.append(
            f"Image facts: {result.images_analysed} analysed, "
            f"{result.images_cached} from the cache.\n",
            style="dim",
        )
    if not result.diagnostics:
        summary.append(f"All checks passed ({scanned}).", style="bold green")
        return summary
    total = len(result.diagnostics)
    detail = ", ".join(
        f"{counts[s]} {s.value}{'s' if counts[s] != 1 and s != Severity.info else ''}"
        for s in (Severity.error, Severity.warning, Severity.info)
        if counts[s]
    )
    summary.append(
        f"Found {total} finding{'s' if total != 1 else ''} ({detail}) in {scanned}.", style="bold"
    )
    return summary
