"""What the pre-commit hook costs on a commit that touches one caption.

Builds a dataset of N captioned images (default 100; 1024 x 768 JPEGs from
bench/images.py) with a lintcap.toml, then times the hook's command,
``lintcap check --whole-dataset <one caption>``:

* cold: no cache yet (the first commit after cloning), every image analysed;
* warm: the cache filled, one caption changed (every later commit);
* warm, one image changed: that image re-analysed, the rest from the cache;

and, for scale, ``lintcap check <one caption>`` without --whole-dataset (the
caption and its image only, no dataset rules). Prints a table.

    .venv/bin/python bench/precommit.py [--count 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from images import make_images

CAPTION = (
    "ohwx, a photo of a woman wearing a {outfit}, standing in a {place}. She is smiling. "
    "upper body, front view, looking at viewer, soft lighting"
)
OUTFITS = ("red coat", "denim jacket", "grey hoodie", "white dress", "black suit")
PLACES = ("park", "kitchen", "forest", "street", "studio")


def write_dataset(data: Path, count: int) -> None:
    """The hook benchmarks' dataset in the new folder ``data``: ``count`` images
    (bench/images.py), each captioned with one of 25 outfit/place variants of
    CAPTION (so the set reads like a real one, not one caption repeated), and a
    lintcap.toml naming the trigger."""
    data.mkdir()
    make_images(data, count)
    for index, image in enumerate(sorted(data.glob("*.jpg"))):
        outfit, place = OUTFITS[index % 5], PLACES[index // 5 % 5]
        image.with_suffix(".txt").write_text(CAPTION.format(outfit=outfit, place=place))
    (data / "lintcap.toml").write_text('trigger = "ohwx"\n')


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"lintcap failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    lintcap = [sys.executable, "-m", "lintcap", "check"]
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        write_dataset(data, args.count)
        caption = str(data / "0000.txt")
        rows = [("cold: no cache, whole dataset", timed([*lintcap, "--whole-dataset", caption]))]
        (data / "0000.txt").write_text(CAPTION.format(outfit="blue scarf", place="garden"))
        rows.append(("warm: one caption changed", timed([*lintcap, "--whole-dataset", caption])))
        picture = data / "0001.jpg"
        Image.open(picture).rotate(2).save(picture, quality=90)
        image_changed = timed([*lintcap, "--whole-dataset", str(picture)])
        rows.append(("warm: one image changed", image_changed))
        rows.append(("one caption alone (no dataset rules)", timed([*lintcap, caption])))
    print(f"{args.count} captioned images, 1024 x 768 JPEG, {os.cpu_count()} cores\n")
    print(f"{'lintcap check --whole-dataset FILE':<40}{'seconds':>9}")
    for name, seconds in rows:
        print(f"{name:<40}{seconds:>9.2f}")


if __name__ == "__main__":
    main()
