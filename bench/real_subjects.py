"""Subject kind and trigger inference on the real-data corpus, against hand labels.

    python bench/real_subjects.py                    # corpus: ../shared/realdata
    python bench/real_subjects.py /path/to/realdata

Builds the same mirror as ``bench/real_precision.py`` (captions as they are,
tiny stand-in images), lints each unit of ``bench/labels/units.tsv`` in
process with NO trigger configured (inference is what is measured, even where
a trainer config names one) and captions only (stand-in pixels would feed
made-up face counts to the subject decision), and prints per unit the kind
decided, the trigger inferred with its evidence, and whether both match
``bench/labels/subjects.tsv``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from real_precision import LABELS, build_mirror, default_corpus, read_units

from lintcap.config import Config
from lintcap.engine.run import lint


def read_expected(path: Path) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    expected = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        dataset, folder, kind, trigger, *_ = [*line.split("\t"), "", "", ""]
        expected[(dataset, folder)] = (kind or None, trigger or None)
    return expected


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=default_corpus())
    args = parser.parse_args(argv)
    units = read_units(LABELS / "units.tsv")
    expected = read_expected(LABELS / "subjects.tsv")
    rows, right = [], 0
    with tempfile.TemporaryDirectory(prefix="lintcap-subjects-") as tmp:
        build_mirror(args.corpus / "datasets", Path(tmp), units)
        here = os.getcwd()
        os.chdir(tmp)
        try:
            for unit in units:
                config = Config(select=["C", "A"], ignore=["A010"])  # A010 reads pixels
                result = lint([Path(unit.dataset) / unit.folder], config)
                kind, trigger = result.subject.kind, result.trigger
                want = expected.get((unit.dataset, unit.folder), (None, None))
                ok = (kind, trigger.word) == want
                right += ok
                evidence = trigger.evidence() if trigger.word else ""
                rows.append(
                    f"| {unit.dataset}/{unit.folder} | {kind or 'undecided'} | "
                    f"{result.subject.reason} | {trigger.word or 'none'} | {evidence} | "
                    f"{'yes' if ok else f'NO (want {want[0]}, {want[1]})'} |"
                )
        finally:
            os.chdir(here)
    print("| unit | kind | why | trigger | evidence | as labelled |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n{right} of {len(units)} units as labelled")
    return 0 if right == len(units) else 1


if __name__ == "__main__":
    sys.exit(main())
