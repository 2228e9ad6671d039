"""Caption-linting throughput: generate N captions and lint them.

    python bench/captions.py                 # N = 10,000 and 100,000
    python bench/captions.py 2000 20000      # other sizes

Each caption is a house-style caption assembled from the shipped lexicons
(trigger, medium phrase, one or two sentences, 3-8 tags), with a problem in
about one in ten. Every caption is a sidecar .txt beside a hard link to one
small JPEG, so discovery, reading, parsing and every caption (C) and
attribute (A) rule, dataset-level ones included, run as in `lintcap check`.
One process, one core. Besides wall seconds the table shows CPU seconds
(``time.process_time``, this process; the image pool's workers aside) and
captions per CPU second: on a shared machine the CPU figure is the steadier.
"""

from __future__ import annotations

import os
import random
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
from lintcap.engine.run import lint


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


def main(sizes: list[int]) -> None:
    table = Table(title="lintcap caption throughput (one process)")
    for column in ("captions", "stage", "seconds", "captions/s", "CPU s", "captions/CPU s"):
        table.add_column(column, justify="right")
    table.add_column("findings", justify="right")
    nlp = CaptionNLP(load_lexicon())
    for count in sizes:
        captions = make_captions(count)
        parser = CaptionParser(nlp, "ohwx")
        start, cpu = time.perf_counter(), time.process_time()
        for caption in captions:
            parser.parse(caption)
        parse_seconds = time.perf_counter() - start
        parse_cpu = time.process_time() - cpu
        table.add_row(
            f"{count:,}",
            "parse only",
            f"{parse_seconds:.2f}",
            f"{count / parse_seconds:,.0f}",
            f"{parse_cpu:.2f}",
            f"{count / parse_cpu:,.0f}",
            "",
        )
        with tempfile.TemporaryDirectory() as tmp:
            build_dataset(Path(tmp), captions)
            config = Config(trigger="ohwx", select=["C", "A"])
            start, cpu = time.perf_counter(), time.process_time()
            result = lint([Path(tmp) / "data"], config)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            rows = [("end to end (C + A rules)", seconds, cpu, result)]
            # The same set again: parses come from the cache (lintcap.caption.cache).
            start, cpu = time.perf_counter(), time.process_time()
            result = lint([Path(tmp) / "data"], config)
            seconds = time.perf_counter() - start
            cpu = time.process_time() - cpu
            rows.append(("warm re-run (cache)", seconds, cpu, result))
        for stage, seconds, cpu, result in rows:
            table.add_row(
                f"{count:,}",
                stage,
                f"{seconds:.2f}",
                f"{count / seconds:,.0f}",
                f"{cpu:.2f}",
                f"{count / cpu:,.0f}",
                f"{len(result.diagnostics):,}",
            )
    Console(width=120).print(table)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])
