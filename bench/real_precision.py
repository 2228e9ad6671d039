"""Caption-rule precision and recall on real datasets, against hand labels.

    python bench/real_precision.py                       # corpus: ../shared/realdata
    python bench/real_precision.py /path/to/realdata     # another copy of the corpus
    python bench/real_precision.py --unlabelled new.tsv  # unlabelled findings as TSV rows

The corpus (public LoRA datasets, see its README.md) is never copied into the
repository. It holds captions and ``images.txt`` (image names, sizes, formats),
not images, so the bench builds a mirror in a temporary folder outside the
repository: every caption file and metadata.jsonl as it is, in its layout,
plus a tiny solid stand-in for every line of ``images.txt`` with the same name
and format (a Git-LFS pointer stays a pointer). Then it runs ``lintcap check
--format json`` once per lint unit (``bench/labels/units.tsv``: the folder a
user would point lintcap at, and the trigger when a trainer config in the
corpus names one; otherwise lintcap infers it), with the caption, attribute,
dataset and file rules, less the rules that judge pixels. The stand-ins have
no real pixels, so rules that read image analysis (duplicate and
near-duplicate images, the angle/framing/expression/gaze variety that counts
people facts from images, caption-vs-image agreement) would measure the
stand-ins, not lintcap: they are left out and said so.

Labels are hand judgements, in the repository:

* ``bench/labels/findings.tsv``: one row per finding judged (dataset, file,
  line, code, key, verdict, reason). ``file`` is the path inside the dataset
  folder (a dataset finding: the lint folder with a trailing ``/``); ``key``
  tells apart findings of one code on one line (the first quoted phrase of the
  message; ``*`` matches any).
* ``bench/labels/problems.tsv``: the real problems found by reading captions
  (dataset, file, line, kind, code that should report it, note).

It prints precision per code (true / labelled, with n), overall precision,
recall per problem kind (found / labelled), and every finding that has no
label yet, so that anyone can judge it. Unlabelled findings count in no
precision but are counted and shown.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fnmatch
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rulebook import codes_reading

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "labels"
#: Files of the corpus that are documentation, not dataset content.
NOT_DATASET = frozenset(
    {"SOURCE.txt", "images.txt", "README_upstream.md", "sdxl_caption_examples.md"}
)
SELECT = "C,A,D,F"


@functools.cache
def pixel_codes() -> tuple[str, ...]:
    """The rules of SELECT that read image analysis, from the rule book (a
    hand list had missed D010, the set graded alike, which then judged the
    solid stand-ins 'lifted blacks'): stand-in images would make them measure
    the stand-ins (hashes, people facts, grades, caption-image agreement)."""
    return codes_reading(SELECT, "image_analysis")


_QUOTED = re.compile(r"'([^']*)'")
_LFS_SIZE = re.compile(r"git-lfs pointer \(real size (\d+) bytes\)")


def default_corpus() -> Path:
    """``../shared/realdata`` beside the repository (or the main checkout)."""
    for base in (REPO.parent, Path("/work")):
        candidate = base / "shared" / "realdata"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "realdata"


@dataclass(frozen=True)
class Unit:
    dataset: str
    folder: str
    trigger: str | None
    trigger_source: str
    #: A folder whose images.txt entries this folder's stand-ins copy (for a
    #: caption snapshot kept without its images, such as an earlier commit).
    images_like: str | None = None
    #: The preset a user of that base model picks (``sdxl-tags`` for an SDXL or
    #: SD 1.x LoRA, read by CLIP; empty: the default, a Flux character LoRA),
    #: from the base model the dataset's own repository trains.
    preset: str | None = None
    preset_source: str = ""


@dataclass(frozen=True)
class Finding:
    dataset: str
    file: str
    line: int | None
    code: str
    key: str
    message: str
    related: tuple[str, ...] = ()

    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Label:
    dataset: str
    file: str
    line: int | None
    code: str
    key: str
    verdict: bool
    reason: str

    @property
    def wildcard(self) -> bool:
        """A judgement of every finding of its code in a folder (``dataset/*``):
        used only where the verdict cannot differ (a person rule on watches)."""
        return "*" in self.file or self.key == "*"

    def matches(self, finding: Finding) -> bool:
        return (
            (self.dataset, self.code) == (finding.dataset, finding.code)
            and fnmatch.fnmatchcase(finding.file, self.file)
            and (self.line is None or self.line == finding.line)
            and (self.key == "*" or self.key == finding.key)
        )


@dataclass(frozen=True)
class RealProblem:
    dataset: str
    file: str
    line: int | None
    kind: str
    #: The code that should report it; ``none`` where no rule exists yet.
    code: str
    #: Phrases, ``|``-separated, one of which the finding's key must hold or be
    #: part of (a dataset finding about one phrase among several); empty: any.
    key: str
    note: str

    def key_matches(self, key: str) -> bool:
        if not self.key:
            return True
        key = key.lower()
        return bool(key) and any(
            alt in key or key in alt for alt in self.key.lower().split("|") if alt
        )


@dataclass
class Score:
    """What the comparison found: per code, per problem kind, and the rest."""

    per_code: dict[str, Counter[str]] = field(default_factory=dict)
    recall: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    unlabelled: list[Finding] = field(default_factory=list)
    missed: list[RealProblem] = field(default_factory=list)
    false_positives: list[tuple[Finding, Label]] = field(default_factory=list)

    def precision(self, code: str) -> float | None:
        counts = self.per_code[code]
        judged = counts["true"] + counts["false"]
        return counts["true"] / judged if judged else None

    def overall(self) -> tuple[int, int]:
        true = sum(c["true"] for c in self.per_code.values())
        judged = true + sum(c["false"] for c in self.per_code.values())
        return true, judged


# --------------------------------------------------------------------------- labels


def _line(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def _rows(path: Path) -> Iterable[list[str]]:
    if not path.is_file():
        return
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if row and not row[0].startswith("#") and any(cell.strip() for cell in row):
                yield row + [""] * 8


def read_units(path: Path) -> list[Unit]:
    return [
        Unit(r[0], r[1], r[2] or None, r[3], r[4] or None, r[5] or None, r[6]) for r in _rows(path)
    ]


def read_labels(path: Path) -> list[Label]:
    labels = []
    for r in _rows(path):
        if r[5] not in {"true", "false"}:
            raise SystemExit(f"{path}: verdict must be true or false, not {r[5]!r}: {r[:5]}")
        labels.append(Label(r[0], r[1], _line(r[2]), r[3], r[4], r[5] == "true", r[6]))
    return labels


def read_problems(path: Path) -> list[RealProblem]:
    return [RealProblem(r[0], r[1], _line(r[2]), r[3], r[4], r[5], r[6]) for r in _rows(path)]


def finding_key(message: str) -> str:
    """What tells apart two findings of one code on one line: the first quoted
    phrase of the message (tabs and newlines flattened), with the phrases a
    folded finding names right after it (``'ribbon' (with 'hair ribbon')`` is
    ``ribbon+hair ribbon``): a folded finding is another fact than the bare
    phrase was, and is judged again."""
    match = _QUOTED.search(message)
    if not match:
        return ""
    phrases = [match.group(1)]
    rest = message[match.end() :]
    if rest.startswith(" (with "):
        phrases += _QUOTED.findall(rest[: rest.find(")") + 1])
    return "+".join(" ".join(p.split()) for p in phrases)[:120]


# --------------------------------------------------------------------------- mirror


def _stand_in(path: Path, size: str, note: str) -> None:
    """A tiny image of ``note``'s format, or the Git-LFS pointer it really is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lfs = _LFS_SIZE.search(note)
    if lfs:
        oid = hashlib.sha256(path.name.encode()).hexdigest()
        path.write_text(
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {lfs.group(1)}\n"
        )
        return
    from PIL import Image

    width, height = 16, 16
    if "x" in size and size.replace("x", "").isdigit():
        w, h = (int(v) for v in size.split("x"))
        width, height = max(1, round(16 * w / max(w, h))), max(1, round(16 * h / max(w, h)))
    fmt = note.split()[0].upper() if note else "PNG"
    mode = "RGBA" if "RGBA" in note else "RGB"
    image = Image.new(mode, (width, height), (128, 110, 90, 255)[: len(mode)])
    image.save(path, format={"JPG": "JPEG"}.get(fmt, fmt))


def build_mirror(datasets: Path, dest: Path, units: Sequence[Unit]) -> None:
    """Copy each dataset's files (not its documentation) and make stand-ins."""
    for name in sorted({unit.dataset for unit in units}):
        source = datasets / name
        for folder, _dirs, files in os.walk(source):
            for file in files:
                relative = Path(folder, file).relative_to(source)
                if len(relative.parts) == 1 and file in NOT_DATASET:
                    continue
                target = dest / name / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(folder, file), target)
        listing = source / "images.txt"
        if not listing.is_file():
            continue
        for line in listing.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            parts = [*line.split("\t"), "", "", ""]
            _stand_in(dest / name / parts[0], parts[2], parts[3])
            for unit in units:
                prefix = f"{unit.images_like}/"
                if unit.dataset == name and unit.images_like and parts[0].startswith(prefix):
                    # The snapshot's images were real files then: plain stand-ins.
                    copy = dest / name / unit.folder / parts[0][len(prefix) :]
                    _stand_in(copy, parts[2], "PNG RGB 8-bit")


# --------------------------------------------------------------------------- lint


def lint_command(unit: Unit) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lintcap",
        "check",
        unit.folder,
        "--select",
        SELECT,
        "--ignore",
        ",".join(pixel_codes()),
        "--format",
        "json",
        "--no-cache",
    ]


def run_unit(mirror: Path, unit: Unit) -> list[Finding]:
    """lintcap on one unit, from the dataset folder (paths come out relative
    to it); a configured trigger goes in as the dataset's ``lintcap.toml``."""
    cwd = mirror / unit.dataset
    config = "".join(
        f"{key} = {json.dumps(value)}\n"
        for key, value in (("trigger", unit.trigger), ("preset", unit.preset))
        if value
    )
    if config:
        (cwd / unit.folder / "lintcap.toml").write_text(config)
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    done = subprocess.run(
        lint_command(unit), cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode not in {0, 1}:
        raise SystemExit(f"lintcap failed on {unit.dataset}/{unit.folder}:\n{done.stderr}")
    return parse_findings(unit, json.loads(done.stdout))


def parse_findings(unit: Unit, data: object) -> list[Finding]:
    rows = data["findings"] if isinstance(data, dict) else data
    assert isinstance(rows, list)
    findings = []
    for row in rows:
        path = row.get("path") or unit.folder
        if os.path.normpath(path) == os.path.normpath(unit.folder):
            path = unit.folder.rstrip("/") + "/"
        findings.append(
            Finding(
                unit.dataset,
                path,
                row.get("line") if not path.endswith("/") else None,
                row["code"],
                finding_key(row.get("message", "")),
                row.get("message", ""),
                tuple(row.get("related") or ()),
            )
        )
    return findings


# --------------------------------------------------------------------------- score


def _covers(finding: Finding, problem: RealProblem) -> bool:
    """Whether ``finding`` reports ``problem``: same code, and the problem's
    file (and metadata line) is the finding's place or one it names."""
    if finding.dataset != problem.dataset or finding.code != problem.code:
        return False
    if not problem.key_matches(finding.key):
        return False
    if problem.file.endswith("/"):  # a dataset-level problem
        return finding.file == problem.file or finding.file.endswith("/")
    places = {finding.location(), finding.file if finding.line in {None, 1} else ""}
    for other in finding.related:
        places.add(other)
        if other.endswith(":1"):
            places.add(other[:-2])
    wanted = {f"{problem.file}:{problem.line}" if problem.line else problem.file}
    if problem.line in {None, 1}:
        wanted.add(problem.file)
    return bool(places & wanted)


def score(
    findings: Sequence[Finding], labels: Sequence[Label], problems: Sequence[RealProblem]
) -> Score:
    result = Score()
    for finding in findings:
        counts = result.per_code.setdefault(finding.code, Counter())
        counts["reported"] += 1
        # An exact label wins over a folder-wide one.
        label = next((lab for lab in labels if not lab.wildcard and lab.matches(finding)), None)
        label = label or next((lab for lab in labels if lab.matches(finding)), None)
        if label is None:
            counts["unlabelled"] += 1
            result.unlabelled.append(finding)
        else:
            counts["true" if label.verdict else "false"] += 1
            if not label.verdict:
                result.false_positives.append((finding, label))
    by_kind: dict[str, list[bool]] = defaultdict(list)
    codes: dict[str, set[str]] = defaultdict(set)
    for problem in problems:
        found = any(_covers(f, problem) for f in findings)
        by_kind[problem.kind].append(found)
        codes[problem.kind].add(problem.code)
        if not found:
            result.missed.append(problem)
    for kind, hits in by_kind.items():
        result.recall[kind] = (sum(hits), len(hits), ",".join(sorted(codes[kind])))
    return result


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f}" if whole else "-"


def render(result: Score, title: str) -> str:
    """Markdown tables, as recorded in bench/RESULTS.md."""
    lines = [
        f"### {title}",
        "",
        "| code | reported | labelled | true | false | precision | unlabelled |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for code in sorted(result.per_code):
        c = result.per_code[code]
        judged = c["true"] + c["false"]
        lines.append(
            f"| {code} | {c['reported']} | {judged} | {c['true']} | {c['false']} "
            f"| {_ratio(c['true'], judged)} | {c['unlabelled']} |"
        )
    true, judged = result.overall()
    reported = sum(c["reported"] for c in result.per_code.values())
    unlabelled = sum(c["unlabelled"] for c in result.per_code.values())
    lines.append(
        f"| **all** | {reported} | {judged} | {true} | {judged - true} "
        f"| **{_ratio(true, judged)}** | {unlabelled} |"
    )
    if result.recall:
        lines += [
            "",
            "| problem kind | code | found | labelled | recall |",
            "|---|---|---:|---:|---:|",
        ]
        for kind in sorted(result.recall):
            found, total, code = result.recall[kind]
            lines.append(f"| {kind} | {code} | {found} | {total} | {_ratio(found, total)} |")
    return "\n".join(lines)


#: Issue 14's targets: per code with n >= 5, overall, and recall for these kinds.
TARGET_CODE, TARGET_N, TARGET_ALL, TARGET_RECALL = 0.90, 5, 0.95, 0.90
RECALL_KINDS = ("duplicate caption", "trigger-not-first", "constant identity phrase", "placeholder")


def targets(result: Score) -> list[str]:
    """One line per target of issue 14: met, missed (and by what), or not measurable."""
    lines = []
    low = []
    for code in sorted(result.per_code):
        counts = result.per_code[code]
        judged = counts["true"] + counts["false"]
        precision = result.precision(code)
        if judged >= TARGET_N and precision is not None and precision < TARGET_CODE:
            low.append(f"{code} {precision:.2f} (n={judged})")
    lines.append(
        f"precision >= {TARGET_CODE} for every code with n >= {TARGET_N}: "
        + ("met" if not low else "missed by " + ", ".join(low))
    )
    true, judged = result.overall()
    overall = true / judged if judged else 0.0
    lines.append(
        f"overall precision >= {TARGET_ALL}: {'met' if overall >= TARGET_ALL else 'missed'}"
        f" ({overall:.2f}, n={judged})"
    )
    for kind in RECALL_KINDS:
        if kind not in result.recall:
            lines.append(f"recall >= {TARGET_RECALL} for {kind}: no such problem in the labels")
            continue
        found, total, _code = result.recall[kind]
        met = found / total >= TARGET_RECALL
        lines.append(
            f"recall >= {TARGET_RECALL} for {kind}: {'met' if met else 'missed'} ({found}/{total})"
        )
    return lines


def _tsv(finding: Finding) -> str:
    line = "" if finding.line is None else str(finding.line)
    return "\t".join([finding.dataset, finding.file, line, finding.code, finding.key, "?", ""])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=default_corpus())
    parser.add_argument("--labels", type=Path, default=LABELS, help="folder of the label files")
    parser.add_argument("--title", default="real-data caption precision")
    parser.add_argument("--unlabelled", type=Path, help="write unlabelled findings here (TSV)")
    parser.add_argument("--findings", type=Path, help="write every finding here (JSON lines)")
    parser.add_argument("--show-misses", action="store_true", help="list problems not reported")
    parser.add_argument("--show-false", action="store_true", help="list findings labelled false")
    parser.add_argument("--dataset", default="", help="only datasets whose name contains this")
    parser.add_argument(
        "--default-preset",
        action="store_true",
        help="every unit with the default preset, as the before table was measured",
    )
    args = parser.parse_args(argv)
    datasets = args.corpus / "datasets"
    if not datasets.is_dir():
        print(f"no corpus at {args.corpus} (expected a datasets/ folder)", file=sys.stderr)
        return 2
    units = [u for u in read_units(args.labels / "units.tsv") if args.dataset in u.dataset]
    if args.default_preset:
        units = [dataclasses.replace(u, preset=None) for u in units]
    labels = read_labels(args.labels / "findings.tsv")
    problems = [p for p in read_problems(args.labels / "problems.tsv") if args.dataset in p.dataset]
    findings: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="lintcap-realdata-") as tmp:
        build_mirror(datasets, Path(tmp), units)
        for unit in units:
            findings += run_unit(Path(tmp), unit)
    result = score(findings, labels, problems)
    print(
        f"lintcap check --select {SELECT} --ignore {','.join(pixel_codes())} on "
        f"{len(units)} lint units of {args.corpus}; "
        "triggers from trainer configs: "
        + ", ".join(f"{u.dataset}/{u.folder}={u.trigger}" for u in units if u.trigger)
        + "; presets from the base model trained: "
        + ", ".join(f"{u.dataset}/{u.folder}={u.preset}" for u in units if u.preset)
    )
    print()
    print(render(result, args.title))
    print()
    print("\n".join(targets(result)))
    if args.show_false and result.false_positives:
        print("\nFindings labelled false:")
        for finding, label in sorted(result.false_positives, key=lambda p: p[0].code):
            where = f"{finding.dataset}/{finding.location()}"
            print(f"  {finding.code} {where} '{finding.key}': {label.reason}")
    if args.show_misses and result.missed:
        print("\nProblems not reported:")
        for problem in result.missed:
            where = f"{problem.file}:{problem.line}" if problem.line else problem.file
            print(f"  {problem.dataset}/{where}\t{problem.kind} ({problem.code})\t{problem.note}")
    if result.unlabelled:
        print(f"\n{len(result.unlabelled)} findings without a label (dataset file line code key):")
        for finding in result.unlabelled:
            print(f"  {_tsv(finding)}\t{finding.message[:140]}")
    if args.unlabelled:
        args.unlabelled.write_text("".join(_tsv(f) + "\n" for f in result.unlabelled))
    if args.findings:
        args.findings.write_text(
            "".join(json.dumps(f.__dict__, ensure_ascii=False) + "\n" for f in findings)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
