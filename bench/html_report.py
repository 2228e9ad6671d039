"""How long the HTML report takes, and how big it gets, for N images.

    python bench/html_report.py                # N = 30, 300 and 3,000
    python bench/html_report.py 100 1000       # other sizes
    python bench/html_report.py --size 2048    # larger source images

Generates N JPEGs (``--size`` px on the long side, default 1024: what a Flux
set holds) from scikit-image's photographs, cropped, flipped and tinted so
that no two are alike, each with a house-style caption naming a framing and
an angle (so the contact sheet has several groups). Lints them with the
caption rules only, so that image analysis (timed by bench/images.py) stays
out of the numbers, then times the report's parts: thumbnails on one thread
and on one per core, rendering the page, and ``write_html`` end to end.
With chromium installed it also times loading the written page in headless
chromium until its script has run (``--dump-dom``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table
from skimage import data as photos

from lintcap.config import Config
from lintcap.engine.run import LintResult, lint
from lintcap.report.html import make_thumbnails, render, write_html

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
FRAMINGS = ("close-up", "portrait", "upper body", "full body", "cowboy shot")
ANGLES = ("front view", "facing left", "facing right", "from side", "from behind")
CLOTHES = ("red wool coat", "denim jacket", "white t-shirt", "black dress", "grey hoodie")


def make_images(folder: Path, count: int, size: int, seed: int = 3) -> None:
    """``count`` distinct JPEGs and captions in ``folder``."""
    rng = random.Random(seed)
    bases = [_base(name, size) for name in PHOTOS]
    folder.mkdir(parents=True)
    for index in range(count):
        image = bases[index % len(bases)]
        box = [rng.randint(0, image.width // 8), rng.randint(0, image.height // 8)]
        image = image.crop((*box, image.width - box[0], image.height - box[1]))
        if index % 2:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        tint = np.array([rng.uniform(0.85, 1.15) for _ in range(3)])
        array = np.clip(np.asarray(image) * tint, 0, 255).astype(np.uint8)
        Image.fromarray(array).save(folder / f"{index:05d}.jpg", quality=90)
        caption = (
            f"ohwx, a photo of a woman wearing a {rng.choice(CLOTHES)}, standing in a park. "
            f"{rng.choice(FRAMINGS)}, {rng.choice(ANGLES)}, soft lighting"
        )
        (folder / f"{index:05d}.txt").write_text(caption, encoding="utf-8")


def _base(name: str, size: int) -> Image.Image:
    array = getattr(photos, name)()
    image = Image.fromarray(array[..., :3].astype(np.uint8))
    scale = size / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)))


def subset(source: Path, target: Path, count: int) -> None:
    """The first ``count`` items of ``source`` as hard links in ``target``."""
    target.mkdir()
    for index in range(count):
        for suffix in (".jpg", ".txt"):
            name = f"{index:05d}{suffix}"
            os.link(source / name, target / name)


def timed(function: object, *args: object, **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - start, value


def browser_load(report: Path) -> float | None:
    """Seconds for headless chromium to load the page and run its script."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                   f"--user-data-dir={profile}", "--dump-dom", report.as_uri()]  # fmt: skip
        start = time.perf_counter()
        shown = subprocess.run(command, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - start
    return elapsed if "data-cards-rendered" in shown.stdout else float("nan")


def measure(data: Path, out: Path) -> list[str]:
    config = Config(trigger="ohwx", select=["C"], cache=False)
    lint_s, result = timed(lint, [data], config)
    assert isinstance(result, LintResult)
    paths = [item.item.image for item in result.items]
    one_s, thumbs = timed(make_thumbnails, paths, jobs=1)
    all_s, _ = timed(make_thumbnails, paths)
    render_s, _ = timed(render, result, [str(data)], thumbs)  # type: ignore[arg-type]
    write_s, _ = timed(write_html, result, out, [str(data)])
    load_s = browser_load(out)
    size = out.stat().st_size
    return [
        f"{len(paths):,}",
        f"{lint_s:.2f}",
        f"{one_s:.2f}",
        f"{all_s:.2f}",
        f"{render_s:.2f}",
        f"{write_s:.2f}",
        f"{size / 1e6:.1f}",
        f"{size / len(paths) / 1e3:.1f}",
        "-" if load_s is None else f"{load_s:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("counts", nargs="*", type=int, default=[30, 300, 3000])
    parser.add_argument("--size", type=int, default=1024, help="long side of the images")
    options = parser.parse_args()
    table = Table(title=f"HTML report, {options.size} px JPEGs, {os.cpu_count()} cores")
    columns = (
        "images",
        "lint C (s)",
        "thumbs 1 thread (s)",
        "thumbs all cores (s)",
        "render (s)",
        "write_html (s)",
        "file (MB)",
        "kB/image",
        "chromium load (s)",
    )
    for column in columns:
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        start = time.perf_counter()
        make_images(root / "all", max(options.counts), options.size)
        print(f"generated {max(options.counts):,} images in {time.perf_counter() - start:.1f} s")
        for count in options.counts:
            data = root / f"n{count}"
            subset(root / "all", data, count)
            table.add_row(*measure(data, root / f"report-{count}.html"))
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
