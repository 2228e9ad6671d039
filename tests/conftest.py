"""Shared fixtures: datasets built in a temporary folder from real photographs
(scikit-image's bundled ones) and a runner for the real command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as photos

from lintcap.caption.lexicon import load_lexicon
from lintcap.caption.nlp import CaptionNLP
from lintcap.caption.parse import CaptionParser, ParsedCaption

TRIGGER = "ohwx"


def photo(name: str = "astronaut", size: int = 96) -> Image.Image:
    """A real photograph from scikit-image, shrunk so tests stay fast."""
    array = getattr(photos, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    image = Image.fromarray(array[..., :3].astype(np.uint8))
    image.thumbnail((size, size))
    return image


def flat_images(
    folder: Path,
    count: int,
    caption: str | None,
    ext: str = ".txt",
    size: tuple[int, int] = (64, 64),
    tint: tuple[int, int, int] = (7, 90, 160),
) -> Path:
    """``count`` flat-colour PNGs (000.png, 001.png, ...), each with ``caption``
    in a file of ``ext`` beside it unless None: a dataset for rules that count
    files and read captions, not pixels. Image ``i`` is ``tint`` with its red
    step multiplied by ``i`` (mod 255), so no two are the same picture."""
    step, green, blue = tint
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", size, (i * step % 255, green, blue)).save(folder / f"{i:03d}.png")
        if caption is not None:
            (folder / f"{i:03d}{ext}").write_text(caption)
    return folder


@pytest.fixture(scope="session")
def nlp() -> CaptionNLP:
    return CaptionNLP(load_lexicon())


@pytest.fixture(scope="session")
def parse(nlp: CaptionNLP) -> Callable[[str], ParsedCaption]:
    parser = CaptionParser(nlp, TRIGGER)
    return parser.parse


MakeDataset = Callable[..., Path]


@pytest.fixture
def make_dataset(tmp_path: Path) -> MakeDataset:
    """``make_dataset({"001": "caption", ...}, config="trigger = ...")`` writes
    one JPEG per key (a real photo) and its ``.txt`` caption (skipped when the
    caption is None), and returns the folder."""

    def build(
        captions: Mapping[str, str | None],
        config: str | None = f'trigger = "{TRIGGER}"\n',
        folder: str = "data",
        photo_name: str = "astronaut",
    ) -> Path:
        root = tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        # Full size (512 px), so that only the size *target* (I002, a warning)
        # fires; image rules are the subject of test_images.py.
        base = photo(photo_name, size=512)
        for index, (stem, caption) in enumerate(captions.items()):
            path = root / f"{stem}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            # Each image differs a little, as real sets do.
            base.rotate(index * 3).save(path, quality=85)
            if caption is not None:
                path.with_suffix(".txt").write_text(caption, encoding="utf-8")
        if config is not None:
            (root / "lintcap.toml").write_text(config, encoding="utf-8")
        return root

    return build


def run_lintcap(
    *args: str | os.PathLike[str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a subprocess, so stdout, stderr and the exit
    code are exactly what a user sees."""
    return subprocess.run(
        [sys.executable, "-m", "lintcap", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


@pytest.fixture
def analyser_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[list[str]], dict[str, int]]:
    """Counts of the image analyser's calls of each stage named (serial runs:
    a pool's workers are other processes): ``calls = analyser_calls([...])``."""
    from lintcap.image import analyser

    def count(names: list[str]) -> dict[str, int]:
        calls = dict.fromkeys(names, 0)
        for name in names:
            original = getattr(analyser, name)

            def counting(
                *args: object, _name: str = name, _f: object = original, **kw: object
            ) -> object:
                calls[_name] += 1
                return _f(*args, **kw)  # type: ignore[operator]

            monkeypatch.setattr(analyser, name, counting)
        return calls

    return count
