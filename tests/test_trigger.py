"""Trigger inference: a rare token in most captions wherever it stands, in the
shapes real sets use; never a common word, a generic booru tag, a brand in a
sentence or a number. Captions written here in the styles of real sets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lintcap.caption.trigger import TriggerInfo, common_words, infer_trigger
from lintcap.config import Config
from lintcap.engine.run import lint, load_rulebook
from lintcap.report import sarif, text
from lintcap.statistics import compute

_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def _infer(captions: list[str]) -> str | None:
    settings = load_rulebook(Config()).settings.trigger_inference
    guess = infer_trigger(
        captions,
        settings.min_share,
        settings.min_captions,
        common_words(),
        settings.not_triggers,
        settings.max_short_length,
        settings.max_chunk_words,
    )
    return guess.word if guess else None


@pytest.mark.parametrize(
    ("captions", "trigger"),
    [
        # Mid-caption, in every caption.
        (
            [
                "a photo of ohwx woman, smiling, in a park",
                "a photo of ohwx woman sitting on a bench",
                "close-up photo of ohwx woman, red scarf",
                "ohwx woman walking a dog at dusk",
            ],
            "ohwx",
        ),
        # Glued to the first sentence by a comma.
        (
            [
                "tealwave,The image is a portrait of a man with a beard.",
                "tealwave,The image shows a man on a boat.",
                "tealwave,The image is a close-up of a man laughing.",
            ],
            "tealwave",
        ),
        # Underscore, WD14 style, next to generic tags.
        (
            [
                "mori_hana, 1girl, solo, long_hair, smile, simple_background",
                "mori_hana, 1girl, solo, long_hair, kimono, night",
                "mori_hana, 1girl, solo, short_hair, looking_at_viewer",
            ],
            "mori_hana",
        ),
        # Hyphenated.
        (
            [
                "zel-ta watch front view, matte black finish, white background",
                "zel-ta watch strap detail, studio lighting, white background",
                "zel-ta device on a stand, studio lighting",
            ],
            "zel-ta",
        ),
        # A name of two words, a whole tag.
        (
            [
                "Kirise Amane, 1girl, solo, twintails, brown hair, skirt",
                "Kirise Amane, 1girl, solo, twintails, miko, hakama",
                "Kirise Amane, 1girl, solo, pajamas, very long hair",
            ],
            "Kirise Amane",
        ),
        # Angle brackets.
        (
            [
                "<gearQ> metal ring frame, top view, studio lighting",
                "<gearQ> ring frame with pins, side view",
                "<gearQ> ring frame attached to the core, white background",
            ],
            "<gearQ>",
        ),
        # A style token with its word.
        (
            [
                "vrdn style, dense branching roots in a dark field",
                "vrdn style, radial root fans from a central node",
                "vrdn style, layered filaments in a loose spread",
            ],
            "vrdn style",
        ),
    ],
)
def test_trigger_shapes(captions: list[str], trigger: str) -> None:
    assert _infer(captions) == trigger


@pytest.mark.parametrize(
    "captions",
    [
        # Generic booru tags in every caption, no trigger.
        [
            "1girl, solo, twintails, thighhighs, skirt",
            "1girl, solo, twintails, zettai ryouiki, hoodie",
            "1girl, solo, twintails, highres, absurdres",
        ],
        # A brand in a sentence and trade words are no trigger.
        [
            "Front view of a Velmora watch. Polished bezel. Blue dial.",
            "Front view of a Velmora watch. Ceramic bezel. Black dial.",
            "Front view of a Velmora watch. Steel bezel. White dial.",
        ],
        # Numbers, decades and a per-image ID.
        [
            "BG-001, interior, bedroom, 90s cartoon style, medium shot",
            "BG-002, exterior, pier, 90s cartoon style, wide shot",
            "BG-003, exterior, stage, 90s cartoon style, 1024x1024",
        ],
        # Ordinary prose with hyphenated English words.
        [
            "This two-story house features a three-car garage and a lawn.",
            "A two-story home with a covered porch and a two-car garage.",
            "Two-story ranch-style home with a stone facade.",
        ],
    ],
)
def test_no_trigger_from_common_or_generic_tokens(captions: list[str]) -> None:
    assert _infer(captions) is None


def _dataset(root: Path, captions: list[str]) -> Path:
    root.mkdir(parents=True)
    for index, caption in enumerate(captions):
        (root / f"{index:02}.png").write_bytes(_PNG)
        (root / f"{index:02}.txt").write_text(caption, encoding="utf-8")
    return root


def test_mid_caption_trigger_is_found_and_c001_still_reports_it(tmp_path: Path) -> None:
    captions = [f"a photo of ohwx woman number {i}, in a garden" for i in range(4)]
    result = lint([_dataset(tmp_path / "d", captions)], Config(select=["C001"]))
    trigger = result.trigger
    assert (trigger.word, trigger.source) == ("ohwx", "inferred")
    assert (trigger.count, trigger.leads) == (4, 0)
    assert trigger.position == 4
    assert [d.code for d in result.diagnostics] == ["C001"] * 4
    out = io.StringIO()
    text.write(result, out)
    assert "Trigger 'ohwx' inferred: in 4 of 4 captions (100%), usually word 4" in out.getvalue()
    stats = compute(result.views, result.diagnostics, result.trigger, result.subject)
    dumped = json.loads(stats.model_dump_json())["trigger"]
    assert (dumped["word"], dumped["share"], dumped["position"]) == ("ohwx", 1.0, 4)
    run = sarif.sarif_log(result)["runs"][0]
    assert run["properties"]["trigger"]["word"] == "ohwx"


def test_evidence_wording() -> None:
    first = TriggerInfo(word="x", source="inferred", count=9, total=10, leads=9, position=1)
    assert first.evidence() == "in 9 of 10 captions (90%), first in 9"
    assert first.share == 0.9


def test_no_trigger_line_only_when_inference_ran(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "n", ["a man on a bench", "a man by a lake", "a man at home"])
    searched = lint([root], Config(select=["C001"]))
    assert searched.trigger.searched and searched.trigger.word is None
    out = io.StringIO()
    text.write(searched, out)
    assert "none could be inferred" in out.getvalue()
    files_only = lint([root], Config(select=["F001"]))
    assert not files_only.trigger.searched
    out = io.StringIO()
    text.write(files_only, out)
    assert "none could be inferred" not in out.getvalue()
