"""The gate's report: findings, the run plan, ``--explain``'s per-image
table of what the trainer will feed, the verdict; or one JSON object."""

from __future__ import annotations

import json
import re
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from lintcap.dataset import display_path
from lintcap.gate.buckets import bucket
from lintcap.gate.captions import TrainerCaption
from lintcap.gate.checks import DatasetRun
from lintcap.gate.run import GateResult
from lintcap.report.json_format import FIELDS
from lintcap.report.text import write_diagnostics

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def print_gate(
    result: GateResult, stream: IO[str], plan_table: bool, explain: bool = False
) -> None:
    console = Console(file=stream, highlight=False, soft_wrap=True)
    write_diagnostics(result.caption_findings, console)
    write_diagnostics(result.training, console)
    if explain:
        for run in result.runs:
            _explain(console, result, run)
    if plan_table:
        for index in range(len(result.plans)):
            console.print(_plan(result, index))
    images = sum(len(r.captions) for r in result.runs)
    if result.verdict == "pass":
        console.print(
            Text(f"gate: pass ({images} images, {len(result.runs)} datasets)", style="bold green")
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


def write_gate_json(result: GateResult, stream: IO[str]) -> None:
    """One object: verdict, plan (the first process; ``plans`` lists all when
    a job has several), findings (as ``check --format json`` writes them)."""
    plans = [_plan_json(result, i) for i in range(len(result.plans))]
    findings = [d.model_dump(mode="json", include=set(FIELDS)) for d in result.findings]
    payload: dict[str, Any] = {
        "verdict": result.verdict,
        "plan": plans[0],
        "findings": [{field: f[field] for field in FIELDS} for f in findings],
    }
    if len(plans) > 1:
        payload["plans"] = plans
    json.dump(payload, stream, indent=2, ensure_ascii=False)
    stream.write("\n")


def _plan_json(result: GateResult, index: int) -> dict[str, Any]:
    plan = result.plans[index]
    return {
        "trainer": plan.trainer,
        "process": plan.process,
        "steps": result.steps[index],
        "steps_source": plan.steps_source,
        "epochs": plan.epochs,
        "batch_size": plan.batch_size,
        "gradient_accumulation": plan.gradient_accumulation,
        "learning_rate": plan.learning_rate,
        "optimizer": plan.optimizer,
        "datasets": [
            {
                "path": display_path(run.dataset.folder),
                "images": len(run.captions),
                "captions": sum(1 for c in run.captions if c.source != "none"),
                "caption_source": run.dataset.caption_source,
                "caption_extension": run.dataset.caption_extension,
                "repeats": run.dataset.repeats,
                "resolutions": run.dataset.resolutions,
                "batch_size": run.dataset.batch_size or plan.batch_size,
                "is_reg": run.dataset.is_reg,
                "passes_per_image": None if run.passes is None else round(run.passes, 3),
            }
            for run in result.runs
            if run.plan_index == index
        ],
    }


def _plan(result: GateResult, index: int) -> Table:
    plan = result.plans[index]
    steps = result.steps[index]
    origin = {"default": " (default)", "epochs": f" ({plan.epochs} epochs)"}.get(
        plan.steps_source, ""
    )
    process = f" process {index}" if len(result.plans) > 1 else ""
    shown = steps if steps is not None else "?"
    title = (
        f"{plan.trainer}{process} plan: {shown} steps{origin} x batch "
        f"{plan.batch_size} x accumulation {plan.gradient_accumulation}"
    )
    table = Table(title=title)
    for column in (
        "dataset",
        "images",
        "captions",
        "repeats",
        "resolutions",
        "batch",
        "reg",
        "passes/image",
    ):
        table.add_column(column)
    for run in result.runs:
        if run.plan_index != index:
            continue
        dataset = run.dataset
        source = dataset.caption_extension if dataset.caption_source == "sidecar" else "metadata"
        table.add_row(
            display_path(dataset.folder),
            str(len(run.captions)),
            f"{sum(1 for c in run.captions if c.source != 'none')} ({source})",
            str(dataset.repeats),
            ", ".join(map(str, dataset.resolutions)),
            str(dataset.batch_size or plan.batch_size),
            "yes" if dataset.is_reg else "",
            "?" if run.passes is None else f"{run.passes:.1f}",
        )
    table.caption = "passes/image: how often the trainer shows each image over the whole run"
    return table


def _explain(console: Console, result: GateResult, run: DatasetRun) -> None:
    """Every image: its bucket at each resolution, its passes, and below it
    the exact caption the trainer feeds (⟨…⟩ marks what shuffling reorders)."""
    plan = result.plans[run.plan_index]
    dataset = run.dataset
    passes = "?" if run.passes is None else f"{run.passes:.1f}"
    notes = [f"{passes} passes per image"]
    if dataset.caption_dropout:
        notes.append(f"{dataset.caption_dropout:.0%} of steps drop the caption")
    if dataset.token_dropout:
        notes.append(f"tokens dropped at {dataset.token_dropout:.0%}")
    if dataset.enable_wildcard:
        notes.append("wildcards: one line and one {a|b} choice per step")
    if dataset.shuffle:
        notes.append("⟨…⟩: reordered every step")
    console.print(
        Text(
            f"{display_path(dataset.folder)}: what {plan.trainer} trains on ({'; '.join(notes)})",
            style="bold",
        )
    )
    for caption, size in zip(run.captions, run.sizes, strict=True):
        buckets = (
            ", ".join(
                "{}: {}x{}".format(r, *bucket(plan.trainer, dataset, size[0], size[1], r))
                for r in dataset.resolutions
            )
            if size
            else "size unknown"
        )
        shown = f"{size[0]}x{size[1]}" if size else "?"
        console.print(Text(f"  {display_path(caption.image)}  {shown} -> {buckets}"))
        line = Text("      ")
        line.append_text(_caption_text(caption))
        console.print(line)


def _caption_text(caption: TrainerCaption) -> Text:
    text = _safe(caption.text)
    fallback = {
        "default_caption": " (default_caption)",
        "class_tokens": " (class_tokens)",
        "trigger": " (no caption file: trigger only)",
        "empty": " (no caption: empty)",
    }.get(caption.fallback or "", "")
    if caption.problem:
        return Text(f"({caption.problem})", style="red")
    if caption.fixed_tokens is None or caption.fixed_tokens < 0:
        body = Text(f"⟨{text}⟩" if caption.fixed_tokens is None and text else text)
    else:
        tokens = text.split(", ")
        fixed = ", ".join(tokens[: caption.fixed_tokens])
        moving = ", ".join(tokens[caption.fixed_tokens :])
        body = Text(fixed)
        if moving:
            body.append((", " if fixed else "") + f"⟨{moving}⟩")
    if fallback:
        body.append(fallback, style="dim")
    return body


def _safe(text: str) -> str:
    """Control and bidi characters escaped, line breaks shown."""
    text = text.replace("\n", "⏎")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
