"""``lintcap fix --llm`` on a copy of examples/character with a scripted backend.

Two scripted models, each on its own temporary copy (the example folder
itself is never touched). The *careful* one answers each caption first with
known bad rewrites (a tag dropped, the trait kept, the trigger miscased) and
then with a good one; the *sloppy* one never gets it right (boilerplate
kept, a garment or the lighting lost, a finding made worse, the caption
doubled past nothing useful). Each run prints how many captions were sent,
accepted and rejected, and the rejected proposals per reason.

    python bench/llm_fix.py [--show-prompt]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lintcap.config import load_config
from lintcap.fix.llm.command import write_rewrites, write_summary
from lintcap.fix.llm.run import llm_fix
from lintcap.fix.run import fix
from tests.scripted_llm import ScriptedBackend

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "character"

BOILERPLATE = (
    "ohwx, a photo of a woman. The image shows a woman in an orange NASA spacesuit smiling at "
    "the camera, with a model of the space shuttle on a black stand behind her. The backdrop is "
    "a mottled grey studio cloth. portrait, front view, looking at viewer, soft lighting, indoors"
)
BOILERPLATE_FIXED = (
    "ohwx, a photo of a woman in an orange NASA spacesuit smiling at the camera, with a model "
    "of the space shuttle on a black stand behind her. The backdrop is a mottled grey studio "
    "cloth. portrait, front view, looking at viewer, soft lighting, indoors"
)
TRAIT = (
    "ohwx, a photo of a woman with short brown hair, smiling with her teeth showing, wearing a "
    "black collar inside the metal neck ring of an orange spacesuit. Mottled grey studio "
    "backdrop. close-up, front view, looking at viewer, soft lighting, simple background"
)
TRAIT_FIXED = TRAIT.replace("a woman with short brown hair, smiling", "a woman smiling")

SCRIPT = {
    BOILERPLATE: [
        BOILERPLATE_FIXED.removesuffix(", indoors"),  # tag-lost: 'indoors'
        f"```\n{BOILERPLATE_FIXED}\n```",  # accepted (the fence is stripped)
    ],
    TRAIT: [
        TRAIT.replace("short brown hair, smiling", "a smile and short brown hair"),  # remains
        "O" + TRAIT_FIXED[1:],  # 'Ohwx': a new C001 finding
        f"Caption: {TRAIT_FIXED}",  # accepted
    ],
}


SLOPPY = {
    BOILERPLATE: [
        BOILERPLATE.replace("The image shows a woman", "The image shows her"),  # remains
        BOILERPLATE_FIXED.replace("in an orange NASA spacesuit ", ""),  # clothing lost
        BOILERPLATE_FIXED.replace(", soft lighting", ""),  # a tag (and the lighting) lost
    ],
    TRAIT: [
        TRAIT_FIXED.replace("Mottled grey", "It appears to be a mottled grey"),  # new C007
        TRAIT_FIXED.replace("ohwx, ", ""),  # trigger gone
        f"{TRAIT_FIXED} {TRAIT_FIXED}",  # a loop: new C008
    ],
}


def run(name: str, script: dict[str, list[str]], show_prompt: bool) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "character"
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lintcap_cache"))
        config = load_config(root / "lintcap.toml")
        backend = ScriptedBackend(script)
        backend.name = f"scripted, {name}"
        started = time.perf_counter()
        start = fix([root], config, write=False)
        result = llm_fix([root], config, backend, start=start, write=True)
        seconds = time.perf_counter() - started
        print(f"=== {name} model ===")
        write_rewrites(result, sys.stdout, proposals=True)
        write_summary(result, backend.name, sys.stdout)
        written = [f.path.name for f in result.files if f.written]
        print(f"Written: {', '.join(written)} ({seconds:.1f} s, image analysis included)")
        unchanged = sorted(
            p.name for p in root.glob("*.txt") if p.read_bytes() == (EXAMPLE / p.name).read_bytes()
        )
        print(f"Unchanged: {len(unchanged)} captions\n")
        if show_prompt and backend.requests:
            print("--- system ---\n" + backend.requests[0].system)
            print("--- user ---\n" + backend.requests[0].user + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-prompt", action="store_true", help="print the first prompt")
    args = parser.parse_args()
    run("careful", SCRIPT, args.show_prompt)
    run("sloppy", SLOPPY, show_prompt=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
