"""Run ``lintcap gate`` on the real trainer configs and compare its passes per
image with the trainer's own formula.

    python bench/gate_sweep.py [--realdata ../shared/realdata] [--before CHECKOUT]

Reads every config in ``<realdata>/configs`` (never copied into the project).
Where a config's dataset is in ``<realdata>/datasets``, its captions are copied
into a temporary folder with stand-in images of the sizes its ``images.txt``
lists (1024x1024 where unknown), and the config's folder path is pointed there;
the other configs run as they are (their datasets are not published). Pixel
rules (I, W, D002, D003) are left out: the stand-in images are flat colour.
``--before`` runs a second lintcap checkout (e.g. a worktree of an older
main) on the same inputs, for a before/after table.

The formula column is computed here, independently of lintcap, from the
trainers' documented arithmetic: ai-toolkit passes = steps x batch x
gradient_accumulation / images (steps default 1000); kohya passes =
steps x batch x accumulation x r / sum(N r), steps = epochs x ceil(sum(N r) /
batch / accumulation) when max_train_epochs is set, ceil(sum(N r) / batch /
accumulation x epoch) for a kohya_ss GUI file's epoch without max steps (the GUI
computes it), else max_train_steps (default 1600). Multi-dataset ai-toolkit
jobs and unreadable configs show "-".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

HERE = Path(__file__).resolve().parent.parent
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
CAPTION_FILES = (".txt", ".caption", ".json", ".jsonl", ".md")
#: Config file -> {path written in the config: dataset folder under realdata/datasets}.
DATASETS = {
    "lolvoid_kyana_aitoolkit_train_flux_lora.yaml": {
        "/data/kyana-images/dataset": "product_kyana_smartwatch_aitoolkit/dataset"
    },
    "lolvoid_kyana_aitoolkit_train_sdxl_ring_frame_lora.yaml": {
        "/data/kyana-images/datasets/ring_frame": (
            "product_kyana_smartwatch_aitoolkit/datasets/ring_frame"
        )
    },
}
PIXEL_RULES = "I,W,D002,D003"
#: Images in the stand-in of a dataset that is not published.
STAND_IN_IMAGES = 20


def stand_in(realdata: Path, relative: str, target: Path) -> Path:
    """Captions copied, images generated at the listed sizes, under ``target``."""
    name, _, inner = relative.partition("/")
    source = realdata / "datasets" / name
    out = target / relative
    out.mkdir(parents=True, exist_ok=True)
    for path in (source / inner).rglob("*"):
        if path.is_file() and path.suffix in CAPTION_FILES:
            destination = out / path.relative_to(source / inner)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    for line in (source / "images.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        rel, _, size, *_ = line.split("\t")
        if not rel.startswith(inner + "/"):
            continue
        width, height = (1024, 1024)
        if re.fullmatch(r"\d+x\d+", size):
            width, height = (int(v) for v in size.split("x"))
        image = out / rel[len(inner) + 1 :]
        image.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (width, height), (120, 110, 100)).save(image)
    return out


def synthetic(folder: Path, count: int = STAND_IN_IMAGES) -> Path:
    """An unpublished dataset's stand-in: 1024x1024 images with a caption each."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (1024, 1024), (100, 120, 140)).save(folder / f"{i:03d}.png")
        (folder / f"{i:03d}.txt").write_text(f"a photo of the subject, view {i}, plain background")
    return folder


def prepare(config: Path, realdata: Path, work: Path) -> tuple[Path, str]:
    """The config pointed at its data; and which data ("real captions",
    "stand-in N", or "-" when the config names no dataset folder)."""
    mapping = DATASETS.get(config.name, {})
    try:
        text = config.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return config, "-"
    data = "-"
    for written, relative in mapping.items():
        folder = stand_in(realdata, relative, work / "data")
        text = re.sub(
            rf"(folder_path:\s*)[\"']?{re.escape(written)}[\"']?\s*$",
            lambda m, f=folder: f"{m.group(1)}{f}",
            text,
            flags=re.M,
        )
        data = "real captions"
    stand = work / "standin" / config.stem
    if config.suffix in {".yaml", ".yml"} and "folder_path" in text and not mapping:
        folder = synthetic(stand)
        text = re.sub(r"(folder_path:\s*).*$", lambda m: f"{m.group(1)}{folder}", text, flags=re.M)
        data = f"stand-in {STAND_IN_IMAGES}"
    elif "kohya_ss" in config.name and "train_data_dir" in text:
        synthetic(stand / "1_subject")
        value = json.dumps(str(stand))
        text = re.sub(
            r'("?train_data_dir"?\s*[=:]\s*)"[^"]*"', lambda m: f"{m.group(1)}{value}", text
        )
        data = f"stand-in {STAND_IN_IMAGES}"
    if data == "-":
        return config, data
    prepared = work / config.name
    prepared.write_text(text, encoding="utf-8")
    return prepared, data


def trainer_of(config: Path) -> str:
    if config.suffix in {".yaml", ".yml"}:
        return "ai-toolkit"
    return "kohya"


def count_images(folder: Path, recursive: bool) -> int:
    if not folder.is_dir():
        return 0
    walk = folder.rglob("*") if recursive else folder.glob("*")
    return sum(1 for p in walk if p.suffix.lower() in IMAGE_EXTENSIONS)


def formula(config: Path, trainer: str) -> float | None:
    """The trainer's passes per image, from its documented arithmetic."""
    try:
        if trainer == "ai-toolkit":
            data = yaml.safe_load(config.read_text())
            process = data["config"]["process"][0]
            datasets = process["datasets"]
            if len(datasets) != 1:
                return None
            train = process.get("train", {})
            images = count_images(Path(datasets[0]["folder_path"]), recursive=True)
            steps = int(train.get("steps", 1000))
            batch = int(datasets[0].get("batch_size") or train.get("batch_size", 1))
            accumulation = int(train.get("gradient_accumulation", 1))
            return steps * batch * accumulation / images if images else None
        import tomllib

        text = config.read_text()
        data = json.loads(text) if config.suffix == ".json" else tomllib.loads(text)
        flat: dict[str, Any] = {}
        for key, value in data.items():
            flat.update(value if isinstance(value, dict) else {key: value})
        root = Path(str(flat.get("train_data_dir", "")))
        subsets = []
        if root.is_dir():
            for folder in root.iterdir():
                repeats, _, _ = folder.name.partition("_")
                if folder.is_dir() and repeats.isdigit():
                    subsets.append((count_images(folder, False), int(repeats)))
        total = sum(n * r for n, r in subsets)
        if not total:
            return None
        batch = int(flat.get("train_batch_size", 1))
        accumulation = int(flat.get("gradient_accumulation_steps", 1))
        if flat.get("max_train_epochs"):
            steps = int(flat["max_train_epochs"]) * math.ceil(total / batch / accumulation)
        elif flat.get("epoch") and not flat.get("max_train_steps"):  # kohya_ss GUI's count
            steps = math.ceil(total / batch / accumulation * int(flat["epoch"]))
        else:
            steps = int(flat.get("max_train_steps", 1600))
        return steps * batch * accumulation * subsets[0][1] / total
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, yaml.YAMLError):
        return None


def run_gate(checkout: Path, trainer: str, config: Path, cwd: Path) -> dict[str, Any]:
    """Verdict, passes and finding codes of one gate run (JSON where the
    checkout supports it, else its text output)."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    base = [
        sys.executable,
        "-m",
        "lintcap",
        "gate",
        "--trainer",
        trainer,
        str(config),
        "--no-gpu-check",
    ]
    base += ["--dry-run", "--ignore", PIXEL_RULES]
    done = subprocess.run(
        [*base, "--format", "json"], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )
    if done.returncode in (0, 1) and done.stdout.startswith("{"):
        payload = json.loads(done.stdout)
        datasets = payload["plan"]["datasets"]
        passes = [d["passes_per_image"] for d in datasets if not d["is_reg"]]
        codes = Counter(f["code"] for f in payload["findings"])
        return {
            "verdict": payload["verdict"],
            "passes": passes[0] if passes else None,
            "codes": codes,
        }
    if "no such option: --format" in done.stderr:
        done = subprocess.run(base, capture_output=True, text=True, env=env, cwd=cwd, timeout=600)
    if done.returncode == 2:
        line = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"verdict": "refused", "passes": None, "codes": Counter(), "error": line}
    verdict = "pass" if "gate: pass" in done.stdout else "fail"
    seen = re.search(r"each image seen about ([\d.]+) times", done.stdout)
    codes = Counter(re.findall(r": ([A-Z]\d{3}) ", done.stdout))
    return {"verdict": verdict, "passes": float(seen.group(1)) if seen else None, "codes": codes}


def show(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def codes_text(codes: Counter[str]) -> str:
    return " ".join(f"{c}x{n}" if n > 1 else c for c, n in sorted(codes.items())) or "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = next(
        (
            p / "shared" / "realdata"
            for p in (HERE.parent, HERE.parent.parent)
            if (p / "shared").is_dir()
        ),
        HERE.parent / "shared" / "realdata",
    )
    parser.add_argument("--realdata", type=Path, default=default)
    parser.add_argument("--before", type=Path, help="another lintcap checkout to compare")
    options = parser.parse_args()
    configs = sorted(p for p in (options.realdata / "configs").iterdir() if p.name != "SOURCES.md")
    rows = []
    with tempfile.TemporaryDirectory(prefix="gate-sweep-") as tmp:
        work = Path(tmp)
        for config in configs:
            prepared, data = prepare(config, options.realdata, work)
            trainer = trainer_of(config)
            after = run_gate(HERE, trainer, prepared, work)
            before = run_gate(options.before, trainer, prepared, work) if options.before else None
            rows.append((config.name, trainer, data, before, after, formula(prepared, trainer)))
    header = ["config", "trainer", "data"]
    if options.before:
        header += ["before", "passes"]
    header += ["after", "passes", "formula", "after: findings / refusal"]
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name, trainer, data, before, after, expected in rows:
        cells = [name, trainer, data]
        if before is not None:
            cells += [before["verdict"], show(before["passes"])]
        detail = after.get("error", "").replace(str(options.realdata), "realdata")
        detail = re.sub(r"/tmp/gate-sweep-\w+/", "", detail) or codes_text(after["codes"])
        cells += [after["verdict"], show(after["passes"]), show(expected), detail]
        print(" | ".join(cells))
    agree = sum(
        1
        for *_, a, f in rows
        if f is not None and a["passes"] is not None and abs(a["passes"] - f) < 0.05
    )
    known = sum(1 for *_, f in rows if f is not None)
    print(
        f"\n{len(rows)} configs; passes per image equal to the formula "
        f"in {agree} of {known} with a formula"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
