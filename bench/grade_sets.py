"""Grades judged against the set, on sets made of the real photographs:
``python bench/image_quality.py --grade-sets [DIR]`` (or this file).

I008 reports an image graded unlike the rest of its set, D010 a set graded
alike; both need a set, so they are scored on sets, not on files:

- the pool: every clean photograph of ``../shared/realdata/photos`` (no code
  and no added text in ``bench/labels/photos.tsv``, as ``real_edits`` picks
  them), and each one through each of ``real_edits.FILTERS`` (warm and cool
  casts, a fade, teal-orange split toning, x2.2 saturation) and through
  the vignette the other benches use (I013), written into a scratch folder
  (nothing is copied into the project);
- mixed sets: 20 photographs of 20 different pictures drawn at random, 3 of
  them replaced by one of their filtered copies (a random kind). The three
  are what a user wants reported (I008), the 17 others are not, and the set
  is not graded alike (no D010). The photographs are of different people
  and places, so the set varies more than a real training set of one
  subject does: a hard case for "unlike the rest of the set";
- clean sets: the same draws without filters (no I008, I013 or D010 wanted);
- uniform sets: 20 photographs all through the same filter or vignette (D010
  wanted, once; no I008 or I013 on any of them: the grade is the set's, not
  an image's).

The pool is analysed once by the real linter (``lint`` with I008 and D010
selected); each set is then judged by the same check functions the linter
calls (``lintcap.engine.image_checks``) on that set's facts.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SET_SIZE = 20
FILTERED_PER_SET = 3
MIXED_SETS = 60
UNIFORM_SETS_PER_KIND = 8


@dataclass
class Tally:
    """Per-image counts over many sets, and misses for --misses."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    wrong: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, want: bool, got: bool) -> None:
        self.tp += want and got
        self.fp += got and not want
        self.fn += want and not got
        if want != got:
            key = f"{'FN' if want else 'FP'} {name}"
            self.wrong[key] = self.wrong.get(key, 0) + 1

    def row(self, title: str) -> str:
        precision = self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0
        recall = self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0
        return (
            f"{title:<34}{self.tp + self.fn:>6}{self.tp:>6}{self.fp:>6}{self.fn:>6}"
            f"{precision:>11.2f}{recall:>8.2f}"
        )


def build_pool(out: Path, photos: Path) -> tuple[list[str], dict[str, set[str]]]:
    """Write each clean photograph and its filtered copies into ``out``;
    return the clean names and the names of the I008-tolerant originals."""
    import real_edits

    labels = real_edits.read_labels()
    out.mkdir(parents=True, exist_ok=True)
    clean, tolerant = [], set()
    for name, label in sorted(labels.items()):
        source = photos / name
        if not source.is_file() or label.codes or label.text not in ("none", "scene"):
            continue
        rgb = np.asarray(Image.open(source).convert("RGB"))
        Image.fromarray(rgb).save(out / name, quality=92)
        edits = {**real_edits.FILTERS, "vignette": real_edits.vignette(1.4)}
        for kind, edit in edits.items():
            filtered = np.ascontiguousarray(edit(rgb))
            Image.fromarray(filtered).save(out / _filtered(name, kind), quality=92)
        clean.append(name)
        if "I008" in label.tolerate:
            tolerant.add(name)
    return clean, {"I008": tolerant}


def _filtered(name: str, kind: str) -> str:
    return f"{Path(name).stem}__grade_{kind}.jpg"


def run(photos: Path, scratch: Path, misses: bool) -> None:
    import real_edits

    from lintcap.config import Config
    from lintcap.engine import image_checks
    from lintcap.engine.run import lint
    from lintcap.engine.spec import GradeCheck, UniformGradeCheck, load_rulebook

    clean, tolerate = build_pool(scratch, photos)
    config = Config(select=["I008", "I013", "D010"], cache=False)
    start = time.perf_counter()
    result = lint([scratch], config)
    elapsed = time.perf_counter() - start
    facts = {
        Path(str(item.item.image)).name: item.image_facts
        for item in result.items
        if item.item.image is not None and item.image_facts is not None
    }
    checks = {rule.code: rule.check for rule in load_rulebook(config).rules}
    grade, vignette, uniform = checks["I008"], checks["I013"], checks["D010"]
    assert isinstance(grade, GradeCheck) and isinstance(vignette, GradeCheck)
    assert isinstance(uniform, UniformGradeCheck)

    def judge(names: list[str]) -> tuple[set[str], bool]:
        """I008's images, and whether D010 fires."""
        images = [(index, facts[name]) for index, name in enumerate(names)]
        findings = image_checks.graded_images(grade, images)
        found = {names[f.item] for f in findings if f.item is not None}
        return found, bool(image_checks.uniform_grade(uniform, images))

    def vignetted(names: list[str]) -> set[str]:
        """I013's images."""
        images = [(index, facts[name]) for index, name in enumerate(names)]
        findings = image_checks.graded_images(vignette, images)
        return {names[f.item] for f in findings if f.item is not None}

    kinds = list(real_edits.FILTERS)
    rng = random.Random(16)
    mixed, clean_tally, by_kind = Tally(), Tally(), {kind: Tally() for kind in kinds}
    mixed_uniform = clean_uniform = clean_sets_alarmed = clean_vignettes = 0
    for _ in range(MIXED_SETS):
        draw = rng.sample(clean, SET_SIZE)
        graded = {name: rng.choice(kinds) for name in rng.sample(draw, FILTERED_PER_SET)}
        names = [_filtered(n, graded[n]) if n in graded else n for n in draw]
        found, whole = judge(names)
        mixed_uniform += whole
        for original, name in zip(draw, names, strict=True):
            if original in tolerate["I008"] and original not in graded:
                continue
            want = original in graded
            mixed.add(name, want, name in found)
            if want:
                by_kind[graded[original]].add(name, True, name in found)
        found, whole = judge(draw)
        clean_uniform += whole
        clean_vignettes += len(vignetted(draw))
        clean_sets_alarmed += bool(found - tolerate["I008"])
        for name in draw:
            if name not in tolerate["I008"]:
                clean_tally.add(name, False, name in found)
    print(
        f"{len(clean)} clean photographs x (original + {len(kinds)} filters + a vignette)"
        f" = {len(facts)} files,"
        f" analysed in {elapsed:.1f} s; sets of {SET_SIZE}\n"
    )
    print(
        f"{'I008 per image':<34}{'pos':>6}{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>8}"
    )
    print(mixed.row(f"mixed sets ({MIXED_SETS}, {FILTERED_PER_SET} filtered each)"))
    for kind in kinds:
        print(by_kind[kind].row(f"  of which {kind}"))
    print(clean_tally.row(f"clean sets ({MIXED_SETS}, none filtered)"))
    print(f"\nclean sets with any I008: {clean_sets_alarmed} of {MIXED_SETS}")
    print(f"D010 (graded alike) on mixed sets: {mixed_uniform} of {MIXED_SETS} (wanted 0)")
    print(f"D010 on clean sets: {clean_uniform} of {MIXED_SETS} (wanted 0)")
    print(f"I013 on clean sets: {clean_vignettes} findings (wanted 0)\n")
    print(f"{'uniform sets (all one edit)':<34}{'sets':>6}{'D010':>6}{'I008':>6}{'I013':>6}")
    for kind in [*kinds, "vignette"]:
        found_sets = per_image = per_image_vignette = 0
        for _ in range(UNIFORM_SETS_PER_KIND):
            names = [_filtered(n, kind) for n in rng.sample(clean, SET_SIZE)]
            found, whole = judge(names)
            found_sets += whole
            per_image += len(found)
            per_image_vignette += len(vignetted(names))
        print(
            f"{kind:<34}{UNIFORM_SETS_PER_KIND:>6}{found_sets:>6}{per_image:>6}"
            f"{per_image_vignette:>6}"
        )
    if misses:
        for title, tally in (("mixed sets", mixed), ("clean sets", clean_tally)):
            print(f"\n{title}: wrong files (times over the sets)")
            for key, count in sorted(tally.wrong.items(), key=lambda pair: (-pair[1], pair[0])):
                print(f"  {count:>3} {key}")


def main() -> None:
    import argparse
    import tempfile

    import real_edits

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("photos", nargs="?", type=Path, default=real_edits.PHOTOS)
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run(args.photos, args.keep or Path(scratch), args.misses)


if __name__ == "__main__":
    main()
