"""The gate's report: dataset findings, training findings, the plan, the verdict."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lintcap.gate.run import GateResult
from lintcap.report.text import write_diagnostics


def print_gate(result: GateResult, stream: IO[str], plan_table: bool) -> None:
    console = Console(file=stream, highlight=False, soft_wrap=True)
    for lint_result in result.datasets:
        write_diagnostics(lint_result.diagnostics, console)
    write_diagnostics(result.training, console)
    if plan_table:
        console.print(_plan(result))
    images = sum(r.images for r in result.datasets)
    if result.verdict == "pass":
        console.print(
            Text(
                f"gate: pass ({images} images, {len(result.datasets)} datasets)", style="bold green"
            )
        )
        return
    codes = sorted({d.code for d in result.blocking})
    console.print(
        Text(
            f"gate: FAIL: {len(result.blocking)} blocking findings ({', '.join(codes)}); "
            "the training command was not run",
            style="bold red",
        )
    )


def _plan(result: GateResult) -> Table:
    plan = result.plan
    title = (
        f"{plan.trainer} plan: {plan.steps or '?'} steps x batch {plan.batch_size} "
        f"x accumulation {plan.gradient_accumulation}"
    )
    table = Table(title=title)
    for column in ("dataset", "images", "num_repeats", "resolutions", "caption ext", "trigger"):
        table.add_column(column)
    for dataset, lint_result in zip(plan.datasets, result.datasets, strict=True):
        table.add_row(
            str(dataset.folder),
            str(lint_result.images),
            str(dataset.repeats),
            ", ".join(map(str, dataset.resolutions)),
            dataset.caption_extension,
            dataset.trigger or plan.trigger or "",
        )
    value = result.repeats_per_image
    table.caption = (
        f"each image seen about {value:.1f} times" if value is not None else "steps unknown"
    )
    return table
