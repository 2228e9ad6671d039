"""Render :class:`~lintcap.statistics.Statistics` as rich tables on a terminal."""

from __future__ import annotations

from typing import IO

from rich.table import Table

from lintcap.report.escape import SafeConsole
from lintcap.statistics import Statistics

#: Phrases per lexicon category shown; the JSON output has them all.
_PHRASES_SHOWN = 10


def write_statistics(statistics: Statistics, stream: IO[str]) -> None:
    console = SafeConsole(file=stream, highlight=False, soft_wrap=True)
    console.print(
        f"[bold]Statistics[/bold]: {statistics.images} images, {statistics.captions} captions"
    )
    console.print(_variety(statistics))
    for category, phrases in statistics.phrases.items():
        if phrases:
            console.print(_counts(f"Captions naming each {category} phrase", phrases))
    console.print(_lengths(statistics))
    if statistics.tags:
        tags = dict(statistics.tags)
        if statistics.other_tags:
            tags["(other tags)"] = statistics.other_tags
        console.print(_counts("Tag frequencies (captions holding each tag)", tags))
    console.print(_findings(statistics))


def _variety(statistics: Statistics) -> Table:
    table = Table(title="Variety (what the images show, else what the captions say)")
    for column in ("dimension", "value", "images", "image+caption", "image", "caption"):
        table.add_column(column, justify="left" if column in {"dimension", "value"} else "right")
    for dimension, classes in statistics.variety.items():
        for position, entry in enumerate(classes):
            table.add_row(
                dimension if position == 0 else "",
                entry.value,
                str(entry.count),
                str(entry.both),
                str(entry.image),
                str(entry.caption),
                end_section=position == len(classes) - 1,
            )
    return table


def _counts(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("count", justify="right")
    table.add_column("phrase")
    for phrase, count in list(counts.items())[:_PHRASES_SHOWN]:
        table.add_row(str(count), phrase)
    hidden = len(counts) - _PHRASES_SHOWN
    if hidden > 0:
        table.add_row("", f"... and {hidden} more (see --format json --statistics)")
    return table


def _lengths(statistics: Statistics) -> Table:
    words = statistics.caption_words
    table = Table(
        title=(
            f"Caption length in words: min {words.min}, median {words.median:g}, "
            f"mean {words.mean:g}, max {words.max}"
        )
    )
    table.add_column("words")
    table.add_column("captions", justify="right")
    table.add_column("")
    most = max(words.histogram.values(), default=0) or 1
    for bucket, count in words.histogram.items():
        table.add_row(bucket, str(count), "█" * round(20 * count / most))
    return table


def _findings(statistics: Statistics) -> Table:
    table = Table(title="Findings per code")
    for column in ("count", "code", "rule", "severity"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for entry in statistics.findings:
        table.add_row(str(entry.count), entry.code, entry.name, entry.severity)
    return table
