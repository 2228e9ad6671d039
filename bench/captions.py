"""Caption-linting throughput: generate N captions and lint them in-process.

    python bench/captions.py                 # N = 10,000 and 100,000
    python bench/captions.py 2000 20000      # other sizes
    python bench/captions.py 20000 --profile /tmp/warm   # cProfile of the warm run

Each caption is a house-style caption assembled from the shipped lexicons
(trigger, medium phrase, one or two sentences, 3-8 tags), with a problem in
about one in ten. Every caption is a sidecar .txt beside a hard link to one
small JPEG, so discovery, reading, parsing and every caption (C) and caption
attribute (A) rule, dataset-level ones included, run as in `lintcap check`.
A010 (caption against image) is left out: it judges image facts, and the
bench measures the captions; no image is analysed (the bench stops if a
selected rule would analyse one).

One process, one core. "cold" is the first `lint()` of the set (reading,
parsing and the checks; the parse cache is written), "warm" the same set
again (parses from the cache: only discovery, reading and the checks). Each
row gives wall seconds and CPU seconds (user + system of this process) with
captions per second of each: on a shared machine the CPU figure is the
steadier. The load average and the peak resident memory of the process are
printed under the table.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from rich.console import Console
from rich.table import Table

from lintcap.caption.lexicon import load_lexicon
from lintcap.caption.nlp import CaptionNLP
from lintcap.caption.parse import CaptionParser
from lintcap.config import Config
from lintcap.engine.run import LintResult, lint, needs_for
from lintcap.engine.select import select_rules
from lintcap.engine.spec import load_rulebook


def make_captions(count: int, seed: int = 7) -> list[str]:
    lexicon = load_lexicon()
    rng = random.Random(seed)
    pick = lambda category: rng.choice(lexicon.phrases(category))  # noqa: E731
    captions = []
    for index in range(count):
        sentence = (
            f"a photo of a woman wearing a {pick('clothing')} and {pick('accessories')}, "
            f"{pick('expression')} in a {pick('setting')}."
        )
        extra = (
            f" She has {pick('makeup')} and the light is {pick('lighting')}." if index % 2 else ""
        )
        tags = [pick("framing"), pick("angle"), pick("gaze"), pick("lighting")]
        tags += [pick("hair"), pick("expression")][: rng.randint(0, 2)]
        caption = f"ohwx, {sentence}{extra} {', '.join(tags)}"
        if index % 10 == 3:
            caption = caption.replace("ohwx, ", "", 1)
        elif index % 10 == 7:
            caption += f", {tags[0]}"
        captions.append(caption)
    return captions


def build_dataset(folder: Path, captions: list[str]) -> None:
    data = folder / "data"
    data.mkdir()
    for index, caption in enumerate(captions):
        if index % 50_000 == 0:  # ext4 allows 65,000 links to one file
            source = folder / f"source{index}.jpg"
            Image.new("RGB", (64, 64), (120, 90, 60)).save(source)
        stem = data / f"{index:07d}"
        os.link(source, stem.with_suffix(".jpg"))
        stem.with_suffix(".txt").write_text(caption, encoding="utf-8")


#: The bench's selection: caption and attribute rules, less the one that
#: judges captions against image facts.
SELECT, IGNORE = ["C", "A"], ["A010"]


def timed(data: list[Path], config: Config, profile: str | None) -> tuple[float, float, LintResult]:
    """Wall and CPU seconds (user + system of this process) of one `lint()`;
    its cProfile written to ``profile`` when given."""
    profiler = cProfile.Profile() if profile else None
    start, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    result = lint(data, config)
    if profiler is not None:
        profiler.disable()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
    return seconds, cpu, result


def main(sizes: list[int], profile: str | None) -> None:
    table = Table(title="lintcap caption throughput (one process, C + A rules less A010)")
    for column in ("captions", "stage", "wall s", "captions/s", "CPU s", "captions/CPU s"):
        table.add_column(column, justify="right")
    table.add_column("findings", justify="right")
    nlp = CaptionNLP(load_lexicon())
    config = Config(trigger="ohwx", select=SELECT, ignore=IGNORE)
    rules = select_rules(load_rulebook(config), config.preset, SELECT, [], IGNORE)
    if needs_for(rules).image_analysis:
        sys.exit("bench/captions.py: a selected rule analyses images; this bench times captions")
    loads = [os.getloadavg()]
    for count in sizes:
        captions = make_captions(count)
        parser = CaptionParser(nlp, "ohwx")
        start, cpu = time.perf_counter(), time.process_time()
        for caption in captions:
            parser.parse(caption)
        rows = [("parse only", time.perf_counter() - start, time.process_time() - cpu, None)]
        with tempfile.TemporaryDirectory() as tmp:
            build_dataset(Path(tmp), captions)
            data = [Path(tmp) / "data"]
            for stage in ("cold", "warm"):
                where = f"{profile}.{count}.{stage}.prof" if profile else None
                seconds, cpu, result = timed(data, config, where)
                rows.append((f"{stage} lint()", seconds, cpu, result))
        for stage, seconds, cpu, result in rows:
            table.add_row(
                f"{count:,}",
                stage,
                f"{seconds:.2f}",
                f"{count / seconds:,.0f}",
                f"{cpu:.2f}",
                f"{count / cpu:,.0f}",
                "" if result is None else f"{len(result.diagnostics):,}",
            )
        loads.append(os.getloadavg())
    console = Console(width=120)
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    console.print(
        "load average (1 min) at start and after each size: "
        + ", ".join(f"{load[0]:.2f}" for load in loads)
        + f"; peak RSS of this process {peak:,} kB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--profile", help="write cProfile stats to PREFIX.N.cold/warm.prof")
    args = parser.parse_args()
    main(args.sizes, args.profile)
