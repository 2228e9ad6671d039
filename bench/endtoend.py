"""End-to-end caption linting as a user runs it: a fresh ``lintcap check``
process, start-up included, on a generated set of captioned tiny JPEGs.

    python bench/endtoend.py                       # 5,000 items, --select C,A,F, cold and warm
    python bench/endtoend.py --count 20000 --repeat 1 --select C   # 20,000 captions
    python bench/endtoend.py --data DIR --save-json out/   # a set already built; keep the JSON
    python bench/endtoend.py --data DIR --tree /tmp/old    # another checkout's lintcap

``python -m lintcap`` imports the lintcap of its working folder before any
on ``PYTHONPATH``: ``--tree`` runs it from another checkout's root (an
export of an older commit, say) so that two trees can be timed in turn on
the same set.

Every item is a distinct 16 x 16 JPEG with a house-style caption from
``bench/captions.py``. The table shows, per run, wall seconds (the best and
the median of ``--repeat``: the machine is shared), the median CPU seconds
of those runs (user + system of every process it started: lintcap, the image pool's fork server
and its workers, which are not lintcap's own children; this script makes
itself their "subreaper" (Linux ``PR_SET_CHILD_SUBREAPER``) so that they are
reaped here and their time counted), items per second, and the peak resident
memory of the largest of those processes (``ru_maxrss``, what
``/usr/bin/time -v`` reports as "Maximum resident set size"). "cold" removes
the cache folder first; "warm" runs once to fill it, then is timed. The load
average is printed with the table: timing on a shared machine is noisy.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from captions import make_captions

LINTCAP = [sys.executable, "-m", "lintcap"]
_PR_SET_CHILD_SUBREAPER = 36


def build(folder: Path, count: int) -> Path:
    data = folder / "data"
    data.mkdir()
    for index, caption in enumerate(make_captions(count)):
        stem = data / f"{index:07d}"
        colour = (index % 251, (index * 7) % 253, (index * 13) % 255)
        Image.new("RGB", (16, 16), colour).save(stem.with_suffix(".jpg"), quality=80)
        stem.with_suffix(".txt").write_text(caption, encoding="utf-8")
    return data


def become_subreaper() -> bool:
    """Adopt orphaned descendants (the image pool's fork server and workers
    outlive nothing, but are not lintcap's children), so that their CPU time
    reaches RUSAGE_CHILDREN here. False where the system has no such call."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_descendants(deadline_s: float = 10.0) -> None:
    """Wait for every adopted process to end (a fork server exits when
    lintcap does, a moment later)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def run_once(
    data: Path, select: str, cold: bool, extra: list[str], tree: Path | None = None
) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds (every process of the run), peak RSS (KiB)
    and stdout of one check."""
    if cold:
        shutil.rmtree(data / ".lintcap_cache", ignore_errors=True)
    command = [*LINTCAP, "check", str(data), "--select", select, "--format", "json"]
    command += ["--exit-zero", "--trigger", "ohwx", *extra]
    reap_descendants()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, env={**os.environ}, cwd=tree)
    wall = time.perf_counter() - start
    reap_descendants()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"lintcap failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--data", type=Path, help="a set built before (by build()); not removed")
    parser.add_argument("--select", default="C,A,F")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-warm", dest="warm", action="store_false", help="cold runs only")
    parser.add_argument("--no-cold", dest="cold", action="store_false", help="warm runs only")
    parser.add_argument("--jobs", type=int, help="passed to lintcap check --jobs")
    parser.add_argument("--save-json", type=Path, help="folder for each kind's JSON output")
    parser.add_argument("--tree", type=Path, help="the checkout whose lintcap runs (its root)")
    args = parser.parse_args()
    counted = become_subreaper()
    extra = ["--jobs", str(args.jobs)] if args.jobs else []
    where = f" ({args.tree})" if args.tree else ""
    table = Table(title=f"lintcap check{where}, fresh process, --select {args.select}")
    columns = ("items", "run", "wall s (best)", "wall s (median)", "CPU s (median)")
    for column in (*columns, "items/s (best)", "peak RSS MiB"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data.resolve() if args.data else build(Path(tmp), args.count)
        count = len(list(data.glob("*.txt"))) if args.data else args.count
        kinds = [("cold", True)] * args.cold + [("warm", False)] * args.warm
        for name, cold in kinds:
            runs: list[tuple[float, float, int, bytes]] = []
            for _ in range(args.repeat):
                if not cold:
                    run_once(data, args.select, False, extra, args.tree)  # fill the cache
                runs.append(run_once(data, args.select, cold, extra, args.tree))
            wall, _, _, stdout = min(runs, key=lambda run: run[0])
            median_wall = statistics.median(run[0] for run in runs)
            cpu = statistics.median(run[1] for run in runs)
            rss = max(run[2] for run in runs)
            if args.save_json:
                args.save_json.mkdir(parents=True, exist_ok=True)
                (args.save_json / f"{name}.json").write_bytes(stdout)
            table.add_row(
                f"{count:,}",
                name,
                f"{wall:.2f}",
                f"{median_wall:.2f}",
                f"{cpu:.2f}",
                f"{count / wall:,.0f}",
                f"{rss / 1024:.0f}",
            )
    console = Console()
    console.print(table)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    console.print(f"load average (1, 5, 15 min) after the runs: {load}; {os.cpu_count()} CPUs")
    if not counted:
        console.print("CPU s leaves out the image pool's workers (no subreaper on this system)")


if __name__ == "__main__":
    main()
