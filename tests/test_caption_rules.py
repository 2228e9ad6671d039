"""Every caption (C) and attribute (A) rule, with passing and failing captions."""

from __future__ import annotations

from pathlib import Path

import pytest

from lintcap.config import Config, SubjectConfig
from lintcap.engine.run import lint
from lintcap.models import Diagnostic
from tests.conftest import TRIGGER, MakeDataset

CLEAN = (
    "ohwx, a photo of a woman wearing a red wool coat, standing on a city street at night. "
    "She is smiling. close-up, from side, looking at viewer, neon lighting"
)


#: The photos here are thumbnails: image rules would fire on every one.
# Image and dataset-view rules have their own tests (test_images.py,
# test_dataset_view.py); these sets are all one photo by design.
IMAGE_RULES = ["I", "W", "D", "A010"]


def run(make_dataset: MakeDataset, captions: dict[str, str], **config: object) -> list[Diagnostic]:
    root = make_dataset(captions, config=None)
    config.setdefault("ignore", [])
    config["ignore"] = [*config["ignore"], *IMAGE_RULES]  # type: ignore[list-item]
    settings = Config.model_validate({"trigger": TRIGGER, **config})
    return lint([root], settings).diagnostics


def codes_for(diagnostics: list[Diagnostic], name: str) -> list[str]:
    return [d.code for d in diagnostics if d.path and Path(d.path).name == name]


def single(
    make_dataset: MakeDataset, caption: str, code: str, **config: object
) -> list[Diagnostic]:
    """Findings of ``code`` for one caption in an otherwise clean set."""
    captions = {f"{i:03d}": CLEAN for i in range(1, 5)}
    captions["bad"] = caption
    diagnostics = run(make_dataset, captions, select=[code], **config)
    assert not [d for d in diagnostics if d.path and "bad" not in d.path], diagnostics
    return [d for d in diagnostics if d.code == code]


def test_clean_caption_has_no_caption_findings(make_dataset: MakeDataset) -> None:
    # Six copies of one caption: C013/C014's finding by construction.
    diagnostics = run(
        make_dataset, {f"{i:03d}": CLEAN for i in range(6)}, ignore=["A007", "C013", "C014"]
    )
    assert diagnostics == []


@pytest.mark.parametrize(
    ("caption", "problem", "column"),
    [
        ("a photo of a woman in a coat. close-up", "missing", 1),
        ("ohwxwoman, a photo of a woman in a coat. close-up", "missing", 1),
        ("a photo of ohwx in a coat. close-up", "not first", 12),
        ("OHWX, a photo of a woman in a coat. close-up", "written 'OHWX'", 1),
        ("Ohwx a photo of a woman in a coat. close-up", "written 'Ohwx'", 1),
        ("ohwx ohwx, a photo of a woman in a coat. close-up", "repeated 2 times", 6),
        ("ohwx, ohwx, a photo of a woman in a coat. close-up", "repeated 2 times", 7),
    ],
)
def test_c001_trigger_first(
    make_dataset: MakeDataset, caption: str, problem: str, column: int
) -> None:
    [finding] = single(make_dataset, caption, "C001")
    assert problem in finding.message
    assert finding.column == column
    assert finding.fixable


@pytest.mark.parametrize(
    "caption",
    [
        "ohwx, a photo of a woman in a coat. close-up",
        "ohwx a photo of a woman in a coat",
        "  ohwx: a photo of a woman in a coat",
        "[trigger], a photo of a woman in a coat",
    ],
)
def test_c001_passes(make_dataset: MakeDataset, caption: str) -> None:
    assert single(make_dataset, caption, "C001") == []


def test_c002_placeholder(make_dataset: MakeDataset) -> None:
    root = make_dataset({"a": "[trigger], a photo of a woman in a coat", "b": CLEAN}, config=None)
    diagnostics = lint([root], Config(select=["C002"])).diagnostics
    assert [(Path(d.path or "").name, d.code) for d in diagnostics] == [("a.txt", "C002")]
    # No trigger configured: nothing to write in its place.
    assert not diagnostics[0].fixable
    # With one, only ai-toolkit would expand it; the fix writes it in.
    (configured,) = lint([root], Config(trigger=TRIGGER, select=["C002"])).diagnostics
    assert configured.fixable and configured.applicability == "safe"
    assert [(e.start, e.end, e.replacement) for e in configured.edits] == [(0, 9, TRIGGER)]


@pytest.mark.parametrize(
    ("caption", "fires"),
    [
        ("ohwx, a photo of a woman in a coat", False),
        ("ohwx, A close-up photo of a woman in a coat", False),
        ("ohwx, an illustration of a woman in a coat", False),
        ("ohwx, CGI, a woman in a coat", False),
        ("ohwx, a woman in a coat", True),
        # A tag list has no place for a medium phrase (C003 reads prose only);
        # the same caption with a sentence after its tags is asked for one.
        ("ohwx, 1girl, solo, coat", False),
        ("ohwx, 1girl, solo, coat. She stands in the rain.", True),
        ("ohwx, a woman holding a photo of a dog", True),
    ],
)
def test_c003_medium(make_dataset: MakeDataset, caption: str, fires: bool) -> None:
    assert bool(single(make_dataset, caption, "C003")) is fires


def test_c004_tags_before_sentences(make_dataset: MakeDataset) -> None:
    [finding] = single(make_dataset, "ohwx, close-up, from side. She wears a white dress.", "C004")
    assert finding.column == 7
    assert single(make_dataset, CLEAN, "C004") == []


def test_c005_tags_only(make_dataset: MakeDataset) -> None:
    assert single(make_dataset, "ohwx, 1girl, solo, red coat, smile, close-up", "C005")
    assert single(make_dataset, CLEAN, "C005") == []
    # sdxl-tags captions are tags by design: the preset does not run C005
    root = make_dataset({"tags": "ohwx, 1girl, solo, red coat"}, config=None, folder="sdxl")
    codes = {d.code for d in lint([root], Config(trigger=TRIGGER, preset="sdxl-tags")).diagnostics}
    assert "C005" not in codes and "C003" not in codes


def test_c006_no_tags(make_dataset: MakeDataset) -> None:
    assert single(make_dataset, "ohwx, a photo of a woman in a coat, walking to her car.", "C006")
    assert single(make_dataset, CLEAN, "C006") == []


@pytest.mark.parametrize(
    ("caption", "phrase"),
    [
        ("ohwx, The image shows a woman in a coat.", "The image shows"),
        ("ohwx, a photo of what appears to be a woman in a coat.", "appears to be"),
        ("ohwx, I'm sorry, but I cannot describe this image.", "I'm sorry"),
        ("ohwx, as an AI I see a woman in a coat.", "as an AI"),
    ],
)
def test_c007_boilerplate(make_dataset: MakeDataset, caption: str, phrase: str) -> None:
    findings = single(make_dataset, caption, "C007")
    assert findings and phrase in findings[0].message


def test_c007_passes_on_ordinary_words(make_dataset: MakeDataset) -> None:
    assert (
        single(make_dataset, "ohwx, a photo of a woman showing her image in a mirror.", "C007")
        == []
    )


def test_c008_looping_captioner(make_dataset: MakeDataset) -> None:
    loop = "ohwx, a photo of " + "a woman with a hat, " * 5
    [finding] = single(make_dataset, loop, "C008")
    assert "5 times" in finding.message
    assert single(make_dataset, CLEAN, "C008") == []


def test_c009_duplicate_tag(make_dataset: MakeDataset) -> None:
    [finding] = single(make_dataset, "ohwx, a photo of a woman. close-up, smile, Close_Up", "C009")
    assert "Close_Up" in finding.message
    assert finding.column == len("ohwx, a photo of a woman. close-up, smile, ") + 1
    assert single(make_dataset, CLEAN, "C009") == []


def test_c010_tag_style_follows_the_dataset(make_dataset: MakeDataset) -> None:
    captions = {f"{i}": "ohwx, a photo of a woman. long hair, looking at viewer" for i in range(4)}
    captions["odd"] = "ohwx, a photo of a woman. long_hair, looking_at_viewer"
    diagnostics = run(make_dataset, captions, select=["C010"])
    assert [Path(d.path or "").name for d in diagnostics] == ["odd.txt"]
    assert "underscores" in diagnostics[0].message and "4 of 5" in diagnostics[0].message


def test_c010_double_and_trailing_commas(make_dataset: MakeDataset) -> None:
    findings = single(make_dataset, "ohwx, a photo of a woman. close-up,, smile,", "C010")
    assert sorted(f.message for f in findings) == [
        "tag formatting: double comma (an empty tag)",
        "tag formatting: trailing comma",
    ]


def test_c011_length_flux_and_sdxl(make_dataset: MakeDataset) -> None:
    long_caption = "ohwx, a photo of a woman. " + ", ".join(f"tag{i} word" for i in range(60))
    assert single(make_dataset, long_caption, "C011") == []  # T5 reads 512
    [finding] = single(make_dataset, long_caption, "C011", preset="sdxl-tags")
    assert "clip tokens" in finding.message and "75" in finding.message
    assert finding.column is not None and finding.column > 1


def test_c012_attribute_order(make_dataset: MakeDataset) -> None:
    captions = {
        f"{i}": "ohwx, a photo of a woman. close-up, from side, soft lighting" for i in range(6)
    }
    captions["odd"] = "ohwx, a photo of a woman. soft lighting, from side, close-up"
    diagnostics = run(make_dataset, captions, select=["C012"])
    assert [Path(d.path or "").name for d in diagnostics] == ["odd.txt"]


def test_a001_to_a006_missing_descriptions(make_dataset: MakeDataset) -> None:
    bare = "ohwx, a photo of a woman standing there quietly."
    found = {d.code for d in run(make_dataset, {"bad": bare}, ignore=["A007"])}
    assert {"A001", "A003", "A004", "A005", "A006"} <= found
    root = make_dataset({"good": CLEAN}, config=None, folder="clean")
    config = Config(trigger=TRIGGER, select=["A"], ignore=["A007", "A010"])
    assert lint([root], config).diagnostics == []


def test_a002_intrinsic_trait(make_dataset: MakeDataset) -> None:
    caption = "ohwx, a photo of a woman with freckles and short_brown_hair in a coat."
    findings = single(
        make_dataset,
        caption,
        "A002",
        subject=SubjectConfig(intrinsic=["freckles", "short brown hair"]),
    )
    assert sorted(f.message.split("'")[1] for f in findings) == ["freckles", "short_brown_hair"]


def test_a007_identity_leak(make_dataset: MakeDataset) -> None:
    captions = {
        f"{i}": f"ohwx, a photo of a woman with blue eyes in a coat number {i}." for i in range(5)
    }
    captions["x"] = "ohwx, a photo of a woman in a dress."
    captions["y"] = "ohwx, a photo of a woman with blue eyes in a dress."
    root = make_dataset(captions, config=None)
    config = Config(trigger=TRIGGER, select=["A007"], lexicons={"hair": ["blue eyes"]})
    diagnostics = lint([root], config).diagnostics
    assert [d.message.split("'")[1] for d in diagnostics] == ["blue eyes"]
    assert "6 of 7" in diagnostics[0].message
    assert diagnostics[0].line is None
