"""Precision and recall of the image rules on a labelled set of real photos
and edits of them (tests/imageset.py). Prints a table per code; with
``--misses``, every file where a measured code was wrong.

    .venv/bin/python bench/image_quality.py [--misses] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from imageset import MEASURED, build, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list wrong files per code")
    parser.add_argument("--keep", type=Path, help="build the set here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        labels = build(folder)
        start = time.perf_counter()
        scores, found = evaluate(folder, labels)
        elapsed = time.perf_counter() - start
    print(f"{len(labels)} labelled images, analysed in {elapsed:.1f} s\n")
    print(f"{'code':<6}{'positives':>10}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
    for code in MEASURED:
        score = scores[code]
        positives = score.true_positives + score.false_negatives
        print(
            f"{code:<6}{positives:>10}{score.true_positives:>5}{score.false_positives:>5}"
            f"{score.false_negatives:>5}{score.precision:>11.2f}{score.recall:>8.2f}"
        )
    if args.misses:
        for code in MEASURED:
            wrong = [
                f"  {'FN' if code in want else 'FP'} {name}"
                for name, want in sorted(labels.items())
                if (code in want) != (code in found.get(name, set()))
            ]
            if wrong:
                print(f"\n{code}:\n" + "\n".join(wrong))


if __name__ == "__main__":
    main()
