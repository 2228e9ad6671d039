"""Precision and recall of the image rules on labelled images. Prints a table
per code; with ``--misses``, every file where a measured code was wrong.

Two sets:

- the default: scikit-image's photographs and edits of them (tests/imageset.py);
- ``--real [DIR]``: the 78 real photographs of ``../shared/realdata/photos`` (or
  DIR), hand-labelled in ``bench/labels/photos.tsv``, and edits of them made by
  ``bench/real_edits.py`` in a scratch folder (nothing is copied into the
  project). This also scores the people facts: faces found per pose, false
  faces, yaw and framing.

    .venv/bin/python bench/image_quality.py [--misses] [--keep DIR]
    .venv/bin/python bench/image_quality.py --real [DIR] [--originals] [--split]
        [--text KEY=VALUE ...] [--people-backend B] [--other-words]
    .venv/bin/python bench/image_quality.py --grade-sets [DIR] [--misses]

``--grade-sets``: I008 (an image graded unlike the rest of its set) and D010
(a set graded alike) on sets made of the real photographs and filtered
copies of them (bench/grade_sets.py says how the sets are made).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

#: Codes scored on the real set (the others have no positives there).
REAL_MEASURED = ("I004", "I007", "I008", "I010", "I013", "W001", "W002", "W003")
#: Codes whose false alarms on the real set are counted too.
REAL_WATCHED = ("I005", "I006", "I009")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--misses", action="store_true", help="list wrong files per code")
    parser.add_argument("--keep", type=Path, help="build the set here and keep it")
    parser.add_argument(
        "--real",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="the real photographs (default ../shared/realdata/photos)",
    )
    parser.add_argument(
        "--grade-sets",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="I008/D010 on sets of the real photographs (bench/grade_sets.py)",
    )
    parser.add_argument("--originals", action="store_true", help="--real: no edits")
    parser.add_argument("--people-backend", choices=("opencv", "mediapipe"))
    parser.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="--real: a text detector setting for this run (YAML value), e.g. large-pass=false",
    )
    parser.add_argument(
        "--other-words",
        action="store_true",
        help="--real: watermarks in words the read-cues lists do not name (real_edits.OTHER_WORDS)",
    )
    parser.add_argument(
        "--split",
        action="store_true",
        help="--real: also score a third of the source photos (and their edits) held out apart",
    )
    args = parser.parse_args()
    if args.grade_sets is not None:
        import grade_sets
        import real_edits

        with tempfile.TemporaryDirectory() as scratch:
            photos = Path(args.grade_sets) if args.grade_sets else real_edits.PHOTOS
            grade_sets.run(photos, args.keep or Path(scratch), args.misses)
        return
    if args.real is not None:
        real(args)
        return
    from imageset import MEASURED, build, evaluate

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        labels = build(folder)
        start = time.perf_counter()
        scores, found = evaluate(folder, labels)
        elapsed = time.perf_counter() - start
    print(f"{len(labels)} labelled images, analysed in {elapsed:.1f} s\n")
    table(
        MEASURED,
        {c: (s.true_positives, s.false_positives, s.false_negatives) for c, s in scores.items()},
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


def table(codes: tuple[str, ...], counts: dict[str, tuple[int, int, int]]) -> None:
    print(f"{'code':<6}{'positives':>10}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
    for code in codes:
        tp, fp, fn = counts[code]
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"{code:<6}{tp + fn:>10}{tp:>5}{fp:>5}{fn:>5}{precision:>11.2f}{recall:>8.2f}")


def real(args: argparse.Namespace) -> None:
    """Lint the real set (and its edits) and score codes and people facts."""
    import real_edits

    from lintcap.config import Config
    from lintcap.engine.run import lint

    photos = Path(args.real) if args.real else real_edits.PHOTOS
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        if args.originals:
            labels = {
                name: label
                for name, label in real_edits.read_labels().items()
                if (photos / name).is_file()
            }
            folder = photos
        else:
            words = real_edits.OTHER_WORDS if args.other_words else real_edits.WORDS
            labels = real_edits.build(folder, photos, words=words)
        # A010 reads the people facts scored below (the I and W rules read
        # the face boxes alone); its findings are not scored.
        config = Config(select=["I", "W", "A010"], cache=False, people_backend=args.people_backend)
        text = dict(item.split("=", 1) for item in args.text)
        if text:
            override = Path(scratch) / "text.yaml"
            override.write_text(
                "settings:\n  image-analysis:\n    text:\n"
                + "".join(f"      {key}: {value}\n" for key, value in text.items())
            )
            config.extend_rules = [override]
        start = time.perf_counter()
        result = lint([folder], config)
        elapsed = time.perf_counter() - start
        found: dict[str, set[str]] = {name: set() for name in labels}
        messages: dict[tuple[str, str], str] = {}
        for diagnostic in result.diagnostics:
            name = Path(diagnostic.path or "").name
            if name in found:
                found[name].add(diagnostic.code)
                messages[(name, diagnostic.code)] = diagnostic.message
        people = {
            Path(str(item.item.image)).name: item.image_facts.people
            for item in result.items
            if item.item.image is not None and item.image_facts is not None
        }
    print(f"{len(labels)} labelled images ({photos}), analysed in {elapsed:.1f} s\n")
    table(REAL_MEASURED + REAL_WATCHED, real_counts(labels, found, set(labels)))
    if args.split:
        held = {name for name in labels if held_out(name)}
        for title, names in (("tuned on", set(labels) - held), ("held out", held)):
            print(f"\n{title}: {len(names)} files")
            table(REAL_MEASURED + REAL_WATCHED, real_counts(labels, found, names))
    clean = [n for n, lab in labels.items() if not lab.codes and "__" not in n]
    alarms = [n for n in clean if found[n] & set(REAL_MEASURED + REAL_WATCHED) - labels[n].tolerate]
    print(f"\nclean originals with a false alarm: {len(alarms)} of {len(clean)}")
    people_scores(labels, people)
    if args.misses:
        for code in REAL_MEASURED + REAL_WATCHED:
            wrong = [
                f"  {'FN' if code in label.codes else 'FP'} {name}"
                + (f"  ({messages[(name, code)]})" if (name, code) in messages else "")
                for name, label in sorted(labels.items())
                if code not in label.tolerate and (code in label.codes) != (code in found[name])
            ]
            if wrong:
                print(f"\n{code}:\n" + "\n".join(wrong))
        print("\npeople misses:")
        for name, label in sorted(labels.items()):
            facts = people.get(name)
            faces = len(facts.faces) if facts else 0
            yaw = facts.yaw if facts else None
            framing = facts.framing if facts else None
            bad = []
            if label.pose in ("frontal", "three-quarter", "profile") and not faces:
                bad.append("no face")
            if label.pose == "none" and faces:
                bad.append(f"{faces} false face(s)")
            if faces and "?" not in label.yaw and label.pose != "none" and yaw not in label.yaw:
                bad.append(f"yaw {yaw} not {'/'.join(sorted(label.yaw))}")
            if "?" not in label.framing and framing not in label.framing:
                bad.append(f"framing {framing} not {'/'.join(sorted(label.framing))}")
            if bad:
                print(f"  {name}: {', '.join(bad)}")


def held_out(name: str) -> bool:
    """A fixed third of the source photographs, with all their edits: the
    part not looked at while tuning the text rules (``--split``)."""
    import zlib

    return zlib.crc32(name.split("__")[0].removesuffix(".jpg").encode()) % 3 == 0


def real_counts(
    labels: dict,  # type: ignore[type-arg]
    found: dict[str, set[str]],
    names: set[str],
) -> dict[str, tuple[int, int, int]]:
    """TP, FP, FN per code over ``names``; a code a file tolerates counts neither way."""
    counts = {}
    for code in REAL_MEASURED + REAL_WATCHED:
        tp = fp = fn = 0
        for name in names:
            label = labels[name]
            if code in label.tolerate:
                continue
            want, got = code in label.codes, code in found[name]
            tp += want and got
            fp += got and not want
            fn += want and not got
        counts[code] = (tp, fp, fn)
    return counts


def people_scores(labels: dict, people: dict) -> None:  # type: ignore[type-arg]
    """Faces found per pose, false faces, yaw and framing accuracy."""
    print(f"\n{'people':<34}{'right':>7}{'of':>5}{'share':>8}")

    def row(title: str, hits: int, total: int) -> None:
        print(f"{title:<34}{hits:>7}{total:>5}{(hits / total if total else 1.0):>8.2f}")

    for pose in ("frontal", "three-quarter", "profile"):
        names = [n for n, lab in labels.items() if lab.pose == pose]
        row(
            f"face found: {pose}",
            sum(1 for n in names if people.get(n) and people[n].faces),
            len(names),
        )
    empty = [n for n, lab in labels.items() if lab.pose == "none"]
    row(
        "no face found where none shows",
        sum(1 for n in empty if not (people.get(n) and people[n].faces)),
        len(empty),
    )
    scored = [
        n
        for n, lab in labels.items()
        if lab.pose not in ("none", "?")
        and "?" not in lab.yaw
        and people.get(n)
        and people[n].faces
    ]
    row(
        "yaw class right (face found)",
        sum(1 for n in scored if people[n].yaw in labels[n].yaw),
        len(scored),
    )
    framed = [n for n, lab in labels.items() if "?" not in lab.framing]
    row(
        "framing class right",
        sum(1 for n in framed if people.get(n) and people[n].framing in labels[n].framing),
        len(framed),
    )
    given = [n for n in framed if people.get(n) and people[n].framing]
    row(
        "framing right where given",
        sum(1 for n in given if people[n].framing in labels[n].framing),
        len(given),
    )


if __name__ == "__main__":
    main()
