"""How long lintcap takes to answer: the commands a user or a hook runs most.

Each command runs as a fresh process (``python -m lintcap``), ``--repeat``
times; the table shows the median and the target from issue 11:

* ``lintcap --version`` (0.3 s) and ``lintcap rules list`` (0.5 s);
* a one-caption check, ``lintcap check --isolated one.txt`` (1.0 s);
* the pre-commit hook on one changed caption in a warm dataset of
  ``--count`` captioned images (1.5 s): ``lintcap check --whole-dataset
  --concise``, the hook's entry.

Wall time depends on what else runs on the machine, so the table also shows
the CPU time (user + system) each command used: on an otherwise idle machine
wall time is close to it. It also reports whether torch was imported by a one-caption check (spaCy's
thinc imports torch whenever it is installed, unless lintcap prevents it).

    .venv/bin/python bench/startup.py [--count 100] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from precommit import CAPTION, write_dataset

LINTCAP = [sys.executable, "-m", "lintcap"]


def timed(command: list[str], repeat: int, cwd: Path | None = None) -> tuple[float, float]:
    """The median wall time and CPU time of ``command`` over ``repeat`` fresh processes."""
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return statistics.median(times), statistics.median(cpu)


def imports_torch(caption: Path) -> bool:
    """Whether a one-caption check ends with torch in ``sys.modules``."""
    probe = (
        "import sys\nfrom lintcap.cli import main\nsys.argv = ['lintcap', 'check', "
        f"'--isolated', {str(caption)!r}]\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return done.stderr.strip().endswith("True")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--no-concise",
        dest="concise",
        action="store_false",
        help="time the hook without --concise (for lintcap versions before it)",
    )
    args = parser.parse_args()
    rows: list[tuple[str, tuple[float, float], float]] = []
    rows.append(("lintcap --version", timed([*LINTCAP, "--version"], args.repeat), 0.3))
    rows.append(("lintcap rules list", timed([*LINTCAP, "rules", "list"], args.repeat), 0.5))
    with tempfile.TemporaryDirectory() as scratch:
        one = Path(scratch) / "one"
        one.mkdir()
        caption = one / "a.txt"
        caption.write_text(CAPTION.format(outfit="red coat", place="park"))
        check_one = [*LINTCAP, "check", "--isolated", str(caption)]
        rows.append(("check one caption", timed(check_one, args.repeat), 1.0))
        torch = imports_torch(caption)

        data = Path(scratch) / "data"
        write_dataset(data, args.count)
        # The published hook's entry (.pre-commit-hooks.yaml); --concise only
        # prints less, so the commit before it is timed without the flag.
        flags = ["--concise", "--"] if args.concise else []
        hook = [*LINTCAP, "check", "--whole-dataset", *flags, str(data / "0000.txt")]
        timed(hook, 1)  # fills the image cache: every later commit is warm
        (data / "0000.txt").write_text(CAPTION.format(outfit="blue scarf", place="garden"))
        rows.append((f"pre-commit hook, warm, {args.count} images", timed(hook, args.repeat), 1.5))
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f}, median of {args.repeat} runs\n")
    print("| command | wall (s) | CPU (s) | target (s) | wall within |\n|---|---|---|---|---|")
    for name, (seconds, cpu), target in rows:
        within = "yes" if seconds <= target else "no"
        print(f"| {name} | {seconds:.2f} | {cpu:.2f} | {target:.1f} | {within} |")
    print(f"\ntorch imported by a one-caption check: {'yes' if torch else 'no'}")


if __name__ == "__main__":
    main()
