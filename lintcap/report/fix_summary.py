"""What ``lintcap fix`` tells the user after a run: which files it changed
(and how many fixes each), and which fixable findings it left alone and why.

Left alone: unsafe fixes without ``--unsafe-fixes`` (they may change what the
caption says); fixes still pending after the run (rolled back, with
lintcap.fix.run's reasons, or waiting on another fix); files it refused to
write (lintcap.fix.run.outcome_notes).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lintcap.report.text import plural

if TYPE_CHECKING:
    from lintcap.fix.run import FileFix
    from lintcap.models import Diagnostic


def _codes(diagnostics: Sequence[Diagnostic]) -> str:
    counts = Counter(d.code for d in diagnostics)
    return ", ".join(f"{code} x{n}" if n > 1 else code for code, n in sorted(counts.items()))


def changed_lines(files: Sequence[FileFix], *, written: bool) -> list[str]:
    """``Fixed 3 findings in 2 files:`` then one line per file."""
    done = [f for f in files if f.written] if written else list(files)
    fixes = sum(f.fixes for f in done)
    verb = "Fixed" if written else "Would fix"
    if not done:
        return [f"{verb} nothing: no safe fix applies."] if written else []
    lines = [f"{verb} {plural(fixes, 'finding')} in {plural(len(done), 'file')}:"]
    lines += [f"  {f.display}: {plural(f.fixes, 'fix', 'fixes')}" for f in done]
    return lines


def skipped_lines(remaining: Sequence[Diagnostic], unsafe: bool) -> list[str]:
    """The fixable findings a run left, grouped by why."""
    lines = []
    held = [d for d in remaining if d.fixable and d.applicability == "unsafe" and not unsafe]
    if held:
        lines.append(
            f"Skipped {plural(len(held), 'unsafe fix', 'unsafe fixes')} ({_codes(held)}): "
            "they may change what a caption says; review with `lintcap fix --unsafe-fixes "
            "--diff`, apply with `--unsafe-fixes`."
        )
    pending = [d for d in remaining if d.fixable and (d.applicability == "safe" or unsafe)]
    if pending:
        lines.append(
            f"Not applied: {plural(len(pending), 'fix', 'fixes')} ({_codes(pending)}): rolled "
            "back (a reason is given below) or waiting on another fix; `lintcap fix` again "
            "retries them."
        )
    return lines
