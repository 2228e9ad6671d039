"""Start-up stays light: what each command imports (timings live in bench/startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE_CAPTION = """
import sys
from lintcap.caption.lexicon import load_lexicon
from lintcap.caption.nlp import CaptionNLP
nlp = CaptionNLP(load_lexicon())
assert nlp.hits(nlp.doc("a photo of a woman"), "a photo of a woman") is not None
print("torch" in sys.modules)
print(sum(name.startswith("spacy.cli.") for name in sys.modules) <= 3)
import torch  # the block is lifted: fix --llm can still import it
print(torch.tensor([1]).item())
import spacy.cli  # spaCy's command line still works once asked for
print(callable(spacy.cli.download), callable(spacy.cli.info), callable(spacy.info))
"""

PROBE_CLI = """
import sys
from lintcap.cli import cli
try:
    cli(["--version"], prog_name="lintcap")
except SystemExit:
    pass
heavy = {"spacy", "torch", "cv2", "numpy", "pydantic", "rich", "PIL", "yaml", "jinja2"}
print(sorted(heavy & {name.split(".")[0] for name in sys.modules}))
"""


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")


PROBE_RULES = """
import sys
from lintcap.cli import cli
try:
    cli(["rules", "list"], prog_name="lintcap")
except SystemExit:
    pass
print("cv2" in sys.modules, "spacy" in sys.modules, "torch" in sys.modules)
"""


def test_rules_list_imports_neither_opencv_nor_spacy() -> None:
    assert _run(PROBE_RULES)[-2] == "False False False"


def test_spacy_is_imported_without_torch() -> None:
    lines = _run(PROBE_CAPTION)
    assert lines[0] == "False"  # no torch
    assert lines[1] == "True"  # spaCy's commands not imported
    assert lines[2] == "1"
    assert lines[3] == "True True True"


def test_the_command_line_imports_nothing_heavy() -> None:
    lines = _run(PROBE_CLI)
    assert lines[0].startswith("lintcap, version ")
    assert lines[1] == "[]"


PROBE_JSON_CHECK = """
import sys
from lintcap.cli import cli
try:
    cli(["check", sys.argv[1], "--select", "F", "--format", "json"], prog_name="lintcap")
except SystemExit:
    pass
print(sorted({"rich", "jinja2", "spacy"} & {name.split(".")[0] for name in sys.modules}))
"""


def test_a_json_check_imports_no_terminal_or_html_report_code(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("ohwx, a photo of a woman", encoding="utf-8")
    (tmp_path / "a.png").write_bytes(b"not a png")
    done = subprocess.run(
        [sys.executable, "-c", PROBE_JSON_CHECK, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().split("\n")
    assert '"code": "F006"' in done.stdout  # the check ran and reported
    assert lines[-1] == "[]"


PROBE_WARM_IMAGES = """
import sys
from lintcap.cli import cli
try:
    cli(["check", sys.argv[1], "--select", "I007", "--format", "json"], prog_name="lintcap")
except SystemExit:
    pass
print("cv2" in sys.modules)
"""


def test_a_run_whose_image_facts_are_cached_imports_no_opencv(tmp_path: Path) -> None:
    from PIL import Image

    from lintcap.config import Config
    from lintcap.engine.run import lint

    Image.new("L", (24, 24), 90).convert("RGB").save(tmp_path / "a.jpg")
    (tmp_path / "a.txt").write_text("ohwx, a photo of a woman", encoding="utf-8")
    cold = lint([tmp_path], Config(select=["I007"]))  # fills the cache, here
    assert [d.code for d in cold.diagnostics] == ["I007"]
    done = subprocess.run(
        [sys.executable, "-c", PROBE_WARM_IMAGES, str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert '"code": "I007"' in done.stdout  # the same finding, from the cached facts
    assert done.stdout.strip().split("\n")[-1] == "False"


def test_the_opencv_version_is_read_from_the_wheel_or_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    import cv2

    from lintcap import lazy

    lazy.opencv_version.cache_clear()
    try:
        # A package laid out as the PyPI wheels are: its version.py is read.
        wheel = tmp_path / "wheel"
        wheel.mkdir()
        (wheel / "__init__.py").write_text("", encoding="utf-8")
        (wheel / "version.py").write_text('opencv_version = "9.8.7.65"\n', encoding="utf-8")
        in_wheel = importlib.util.spec_from_file_location("cv2", wheel / "__init__.py")
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: in_wheel)
        assert lazy.opencv_version() == "wheel 9.8.7.65"
        # No version.py: OpenCV is imported and asked.
        bare = tmp_path / "bare"
        bare.mkdir()
        (bare / "__init__.py").write_text("", encoding="utf-8")
        spec = importlib.util.spec_from_file_location("cv2", bare / "__init__.py")
        monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
        lazy.opencv_version.cache_clear()
        assert lazy.opencv_version() == cv2.__version__
    finally:
        lazy.opencv_version.cache_clear()


PROBE_MEDIAPIPE = """
import sys
from lintcap.image.people import detect_people
from imageset import base_photo
facts = detect_people(base_photo("astronaut"), backend="mediapipe")
print(len(facts.faces), "matplotlib" in sys.modules)
import mediapipe as mp  # the drawing helpers are still there when read
print(mp.solutions.drawing_utils.DrawingSpec().thickness, "matplotlib" in sys.modules)
"""


def test_mediapipe_finds_faces_without_importing_its_drawing_helpers() -> None:
    tests = str(Path(__file__).resolve().parent)
    code = f"import sys; sys.path.insert(0, {tests!r})\n" + PROBE_MEDIAPIPE
    first, second, _ = _run(code)
    assert first == "1 False"
    assert second == "2 True"
