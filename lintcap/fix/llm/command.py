"""``lintcap fix --llm``: the command-line side of the LLM rewrites.

Builds the backend first (a bad SPEC costs nothing), runs the deterministic
fixes in memory, hands the result to :func:`lintcap.fix.llm.run.llm_fix`
with a progress bar on a terminal, and prints what became of each caption
and a summary. Returns the exit code; backend failures surface as
:class:`lintcap.fix.llm.backends.LlmError` (one line, exit 2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lintcap.config import Config
from lintcap.engine.run import load_rulebook
from lintcap.fix.llm.backends import make_backend
from lintcap.fix.llm.run import LlmFixResult, llm_fix
from lintcap.fix.llm.run import Progress as ProgressCallback
from lintcap.fix.run import fix, fix_failed, outcome_notes
from lintcap.report import FORMATS
from lintcap.report.escape import field_safe


def fix_with_llm(
    paths: Sequence[Path],
    config: Config,
    *,
    spec: str,
    model: str | None,
    timeout: float | None,
    retries: int | None,
    unsafe: bool,
    dry_run: bool,
    diff: bool,
    out: TextIO,
    err: TextIO,
    send_images: bool = False,
) -> int:
    book = load_rulebook(config)
    settings = book.settings.llm
    backend = make_backend(
        spec,
        model,
        timeout=timeout if timeout is not None else settings.timeout,
        max_new_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
        batch_size=settings.batch_size,
        send_images=send_images,
    )
    start = fix(list(paths), config, unsafe=unsafe, write=False)
    with _progress(err) as progress:
        result = llm_fix(
            list(paths),
            config,
            backend,
            start=start,
            retries=retries,
            write=not (dry_run or diff),
            progress=progress,
            book=book,
        )
    if diff:
        for file_fix in result.files:
            out.write(file_fix.diff())
        write_summary(result, backend.name, err)  # stdout holds the patch only
        return 1 if result.files else 0
    write_rewrites(result, out, proposals=dry_run)
    FORMATS["text"](result.remaining, out)
    if dry_run:
        changed = len(result.files)
        out.write(f"Dry run: {changed} file{'s' if changed != 1 else ''} would change.\n")
    else:
        written = [f for f in result.files if f.written]
        out.write(f"Fixed {sum(f.fixes for f in written)} findings in {len(written)} files.\n")
    for note in [
        *outcome_notes(result.files, result.unsettled, start.rolled_back),
        *result.skipped,
    ]:
        out.write(f"{field_safe(note)}\n")
    write_summary(result, backend.name, out)
    return 1 if fix_failed(result.files, result.remaining, config) else 0


def write_rewrites(result: LlmFixResult, out: TextIO, *, proposals: bool) -> None:
    """One line per caption sent to the model; with ``proposals``, every
    proposal and its verdict under it."""
    for rewrite in result.rewrites:
        tries = len(rewrite.attempts)
        plural = "s" if tries != 1 else ""
        if rewrite.accepted:
            out.write(
                f"{field_safe(rewrite.display)}: LLM rewrite accepted ({tries} proposal{plural})\n"
            )
        else:
            last = rewrite.attempts[-1].verdict if rewrite.attempts else None
            why = f": {last.reason}: {last.detail}" if last is not None else ""
            shown = field_safe(rewrite.display)
            out.write(
                f"{shown}: LLM rewrite rejected ({tries} proposal{plural}){field_safe(why)}\n"
            )
        if not proposals:
            continue
        for finding in rewrite.findings:
            out.write(f"    to resolve: {field_safe(finding)}\n")
        out.write(f"    before:     {field_safe(rewrite.before.strip())}\n")
        for attempt in rewrite.attempts:
            out.write(
                f"    proposal {attempt.number}: {field_safe(attempt.proposal or '(empty)')}\n"
            )
            verdict = attempt.verdict
            if verdict.accepted:
                out.write("      verdict: accepted\n")
            else:
                out.write(
                    f"      verdict: rejected ({verdict.reason}): {field_safe(verdict.detail)}\n"
                )
    if result.rewrites:
        out.write("\n")


def write_summary(result: LlmFixResult, backend: str, out: TextIO) -> None:
    """How many captions were sent, accepted and rejected, and the rejected
    proposals per reason: a table on a terminal, one line otherwise (logs
    and tests read the line)."""
    if out.isatty():
        Console(file=out).print(summary_table(result, backend))
        return
    sent = len(result.rewrites)
    line = (
        f"LLM rewrites ({backend}): {sent} caption{'s' if sent != 1 else ''} sent, "
        f"{result.accepted} accepted, {result.rejected} rejected"
    )
    reasons = result.reasons()
    if reasons:
        counts = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        line += f"; rejected proposals by reason: {counts}"
    out.write(line + ".\n")


def summary_table(result: LlmFixResult, backend: str) -> Table:
    """The summary as a rich table: the counts, then one row per reason with
    the first proposal's detail as an example."""
    table = Table(title=f"LLM rewrites ({backend})", title_justify="left")
    table.add_column("captions", no_wrap=True)
    table.add_column("count", justify="right")
    table.add_column("example")
    table.add_row("sent", str(len(result.rewrites)), "")
    table.add_row("[green]accepted[/]", str(result.accepted), "")
    table.add_row("[red]rejected[/]", str(result.rejected), "")
    examples: dict[str, str] = {}
    for rewrite in result.rewrites:
        for attempt in rewrite.attempts:
            if attempt.verdict.reason is not None:
                examples.setdefault(attempt.verdict.reason, attempt.verdict.detail)
    reasons = result.reasons()
    if reasons:
        table.add_section()
        table.add_row("[bold]rejected proposals[/]", str(sum(reasons.values())), "")
        for reason, count in sorted(reasons.items()):
            table.add_row(f"  {reason}", str(count), escape(examples[reason]))
    return table


@contextlib.contextmanager
def _progress(err: TextIO) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on a terminal; nothing otherwise (logs stay clean)."""
    if not err.isatty():
        yield None
        return
    console = Console(file=err)
    columns = (
        TextColumn("LLM proposals"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("proposals", total=None)

        def advance(step: int, total: int) -> None:
            bar.update(task, advance=step, total=total)

        yield advance
