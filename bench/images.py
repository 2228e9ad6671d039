"""Time lintcap's image analysis against cleanvision's on the same images.

Generates N images (default 1,000; 1024 x 768 JPEGs: crops of scikit-image's
photographs with random edits, and synthetic scenes), then times, cold (no
cache), in one run:

* ``lintcap check --select I,W,D`` with no cache yet (quality, overlays,
  people, hashes, duplicates: every image rule), which writes the cache as a
  first run does;
* the same with only the rules that match cleanvision's checks
  (I004-I007, I001, I003, D002, D003: equal work);
* cleanvision's default ``Imagelab(data_path=...).find_issues()``, run by
  another Python that has cleanvision installed (it is not a dependency):

    python3 -m venv /tmp/venv-cleanvision
    /tmp/venv-cleanvision/bin/pip install cleanvision
    .venv/bin/python bench/images.py --cleanvision-python /tmp/venv-cleanvision/bin/python

and a warm lintcap run (everything from the cache). Prints a table and the
ratios, with the CPU seconds of every process of each run and the load
average (2 shared cores: wall time is noisy).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from endtoend import become_subreaper, reap_descendants
from imageset import COLOUR, base_photo, blur, generated, sepia, watermark
from rulebook import codes_reading

CLEANVISION = """
import sys
from cleanvision import Imagelab
lab = Imagelab(data_path=sys.argv[1])
lab.find_issues()
print(int(lab.issues.filter(like="is_").any(axis=1).sum()))
"""


def make_images(folder: Path, count: int, seed: int = 0) -> None:
    generator = np.random.default_rng(seed)
    photos = [base_photo(name) for name in COLOUR]
    for index in range(count):
        if index % 4 == 3:
            rgb = generated(index, (768, 1024))
        else:
            photo = photos[index % len(photos)]
            height, width = photo.shape[:2]
            top = int(generator.integers(0, height // 6))
            left = int(generator.integers(0, width // 6))
            crop = photo[top : top + height * 5 // 6, left : left + width * 5 // 6]
            rgb = cv2.resize(crop, (1024, 768), interpolation=cv2.INTER_CUBIC)
            edit = index % 7
            if edit == 1:
                rgb = blur(3.0)(rgb)
            elif edit == 2:
                rgb = sepia(rgb)
            elif edit == 3:
                rgb = watermark("SAMPLE", cv2.FONT_HERSHEY_DUPLEX, 2.0, 0.5, "centre", 30)(rgb)
            rgb = np.clip(rgb + generator.normal(0, 3, rgb.shape), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"{index:04d}.jpg", quality=90)


def _descendants(root: int) -> set[int]:
    """``root`` and every process below it, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def _pss_mib(pids: set[int]) -> float:
    """Proportional set size of ``pids`` together (shared pages counted once
    in all: the workers share what the fork server loaded)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total / 1024


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system of every process of the run:
    this script is the subreaper of the image pool's fork server and workers,
    see bench/endtoend.py), peak memory in MiB (the run's processes together,
    proportional set size sampled every 0.2 s) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    peak = 0.0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env)
        while process.poll() is None:
            peak = max(peak, _pss_mib(_descendants(process.pid)))
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        reap_descendants()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({process.returncode}):\n{stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, peak, stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--cleanvision-python", help="a Python with cleanvision installed")
    parser.add_argument(
        "--mediapipe", action="store_true", help="also time the mediapipe people backend (cold)"
    )
    parser.add_argument("--save-json", type=Path, help="keep each lintcap run's JSON here")
    parser.add_argument(
        "--no-text",
        action="store_true",
        help="also time every image rule but those that read the text search (cold)",
    )
    args = parser.parse_args()
    if not become_subreaper():
        print("CPU s leaves out the image pool's workers (no subreaper on this system)")
    lintcap = [sys.executable, "-m", "lintcap", "check", "--isolated", "--select", "I,W,D"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "images"
        folder.mkdir()
        make_images(folder, args.count)
        rows = []

        def save(name: str, out: str) -> None:
            if args.save_json is not None:
                args.save_json.mkdir(parents=True, exist_ok=True)
                (args.save_json / f"{name}.json").write_text(out)

        # Cold: no cache yet. The run writes it, as a user's first run does.
        cold, cpu, mib, out = timed([*lintcap, "--format", "json", str(folder)])
        rows.append(("lintcap (cold, no cache)", cold, cpu, mib, out.count('"code"')))
        save("every-rule-cold", out)
        warm, cpu, mib, out = timed([*lintcap, "--format", "json", str(folder)])
        rows.append(("lintcap (warm cache)", warm, cpu, mib, out.count('"code"')))
        save("every-rule-warm", out)
        # Equal work: only the checks cleanvision makes (dark, light, odd
        # aspect/size, low information, blurry, grayscale, duplicates).
        equal = [*lintcap[:6], "I004,I005,I006,I007,I001,I003,D002,D003"]
        cold_equal, cpu, mib, out = timed([*equal, "--no-cache", "--format", "json", str(folder)])
        rows.append(("lintcap equal work (cold)", cold_equal, cpu, mib, out.count('"code"')))
        save("equal-work-cold", out)
        if args.mediapipe:
            config = Path(scratch) / "mediapipe.toml"
            config.write_text('people-backend = "mediapipe"\n')
            mediapipe = [*lintcap[:3], "check", "--config", str(config), *lintcap[5:]]
            cold_mp, cpu, mib, out = timed(
                [*mediapipe, "--no-cache", "--format", "json", str(folder)]
            )
            rows.append(("lintcap mediapipe (cold)", cold_mp, cpu, mib, out.count('"code"')))
        if args.no_text:
            # W001, W002, W004: the rules that read the text search's facts.
            ignore = ",".join(codes_reading("I,W,D", "image_text"))
            no_text = [*lintcap, "--ignore", ignore, "--no-cache", "--format", "json", str(folder)]
            cold_nt, cpu, mib, out = timed(no_text)
            rows.append(("lintcap but text (cold)", cold_nt, cpu, mib, out.count('"code"')))
        cleanvision = None
        if args.cleanvision_python:
            script = Path(scratch) / "cleanvision_run.py"
            script.write_text(CLEANVISION)
            env = {**os.environ, "MPLBACKEND": "Agg"}
            cleanvision, cpu, mib, out = timed(
                [args.cleanvision_python, str(script), str(folder)], env
            )
            rows.append(("cleanvision find_issues()", cleanvision, cpu, mib, int(out.split()[-1])))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{args.count} images, 1024 x 768 JPEG, {cores} cores, load average after {load}\n")
    print(f"{'tool':<28}{'wall s':>8}{'CPU s':>8}{'images/s':>10}{'peak MiB':>10}{'findings':>10}")
    for name, seconds, cpu, mib, findings in rows:
        print(
            f"{name:<28}{seconds:>8.1f}{cpu:>8.1f}{args.count / seconds:>10.1f}"
            f"{mib:>10.0f}{findings:>10}"
        )
    if cleanvision is not None:
        cleanvision_cpu = rows[-1][2]
        for name, seconds, cpu, _, _ in rows:
            if name.startswith("lintcap") and "warm" not in name:
                print(
                    f"cleanvision / {name}: {cleanvision / seconds:.2f}x wall, "
                    f"{cleanvision_cpu / cpu:.2f}x CPU"
                )
    warm_row = next((row for row in rows if "warm" in row[0]), None)
    if warm_row is not None:
        print(f"cold / warm (every rule): {rows[0][1] / warm_row[1]:.1f}x wall")


if __name__ == "__main__":
    main()
