"""Every edit `lintcap fix` would make to the real-data corpus, to be read.

    python bench/fix_edits.py                  # corpus: ../shared/realdata
    python bench/fix_edits.py --unsafe-fixes   # the unsafe fixes too
    python bench/fix_edits.py --json edits.json

A safe fix must never change what a caption says, and no fix may damage
one; only reading the edits shows whether that holds. This builds the same
temporary mirror as bench/real_precision.py (captions as they are, tiny
stand-in images; nothing is written into the corpus or the repository), runs
the fixer in memory (``write=False``) on each lint unit of
``bench/labels/units.tsv`` with the caption and file rules, and prints each
distinct word-level edit with how many files it would change, then the fixes
rolled back by re-linting and the totals. Judging each edit (kept the meaning
or damaged it) is the reader's; bench/RESULTS.md records the verdicts.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.real_precision import LABELS, build_mirror, default_corpus, read_units  # noqa: E402


def word_edits(before: str, after: str) -> list[tuple[str, str, str]]:
    """The changes between two captions, word by word: (op, old, new)."""
    a, b = before.split(" "), after.split(" ")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [
        (op, " ".join(a[i1:i2]), " ".join(b[j1:j2]))
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]


def main(argv: Sequence[str] | None = None) -> int:
    from lintcap.config import Config
    from lintcap.fix.run import fix

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=default_corpus())
    parser.add_argument("--unsafe-fixes", action="store_true")
    parser.add_argument("--json", type=Path, help="write every edit here")
    args = parser.parse_args(argv)
    units = read_units(LABELS / "units.tsv")
    records: list[dict[str, object]] = []
    rolled_back: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lintcap-fix-edits-") as folder:
        mirror = Path(folder)
        build_mirror(args.corpus / "datasets", mirror, units)
        for unit in units:
            config = Config(select=["C", "F"], trigger=unit.trigger or None)
            result = fix(
                [mirror / unit.dataset / unit.folder],
                config,
                unsafe=args.unsafe_fixes,
                write=False,
            )
            for file_fix in result.files:
                records.append(
                    {
                        "dataset": unit.dataset,
                        "file": Path(file_fix.display).name,
                        "fixes": file_fix.fixes,
                        "edits": word_edits(file_fix.before, file_fix.after),
                        "before": file_fix.before,
                        "after": file_fix.after,
                    }
                )
            rolled_back += [f"{unit.dataset}: {note}" for note in result.rolled_back]
    kinds = Counter((str(r["dataset"]), json.dumps(r["edits"])) for r in records)
    for (dataset, edits), count in sorted(kinds.items()):
        print(f"{count:4d}  {dataset}  {edits[:200]}")
    for note in rolled_back:
        print(f"rolled back: {note.replace(folder, '')}")
    fixes = sum(int(str(r["fixes"])) for r in records)
    print(f"{len(records)} files, {fixes} fixes, {len(rolled_back)} rolled back")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
