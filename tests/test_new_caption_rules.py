"""C013-C017 and F006's Git-LFS hint, and the fixes that must not change
meaning (C007, C009, C010), on captions written here in the styles of real
datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from lintcap.config import Config
from lintcap.engine.caption_duplicates import duplicate_groups, normalise
from lintcap.engine.run import lint
from lintcap.engine.spec import DuplicateCaptionsCheck
from lintcap.models import Diagnostic
from tests.test_fix_safety import TRIGGER, fixed, write_set


def findings(root: Path, *codes: str) -> list[Diagnostic]:
    return lint([root], Config(trigger=TRIGGER, select=list(codes))).diagnostics


def names(paths: list[str]) -> list[str]:
    return [Path(p).stem for p in paths]


# --- C013 / C014 ---------------------------------------------------------------

WATCH = (
    f"{TRIGGER} watch side profile detail, physical button and speaker grille, "
    "matte black finish, professional product photography, studio lighting, white background"
)


def test_c013_one_finding_per_group_naming_every_copy(tmp_path: Path) -> None:
    root = write_set(
        tmp_path / "set",
        {
            "a1": WATCH,
            "a2": WATCH.upper(),  # case
            "a3": WATCH.replace(", ", " , ").replace("grille", "grille.") + "  ",  # punctuation
            "b1": f"{TRIGGER} watch strap, textured silicone, white background",
            "b2": f"{TRIGGER}  watch strap; textured silicone; white background.",
            "c": f"{TRIGGER} watch crown detail, brushed steel, white background",
        },
    )
    found = findings(root, "C013")
    assert [(names([d.path or ""]), names(d.related)) for d in found] == [
        (["a1"], ["a1", "a2", "a3"]),
        (["b1"], ["b1", "b2"]),
    ]
    assert found[0].message.startswith("3 captions are the same")
    assert found[0].line == 1 and found[0].column == 1


def test_c013_recall_on_a_template_set(tmp_path: Path) -> None:
    # 40 captions from 5 templates (as in template-filled product sets): every
    # extra copy is named, nothing distinct is.
    templates = [f"{TRIGGER}, 1girl, solo, cat_ears, black_hair, {extra}" for extra in "abcde"]
    captions: dict[str, str | bytes] = {f"{i:02d}": templates[i % 5] for i in range(40)}
    captions["unique"] = f"{TRIGGER}, 1girl, solo, cat_ears, white_hair, night"
    found = findings(write_set(tmp_path / "set", captions), "C013")
    assert len(found) == 5
    named = sorted(name for d in found for name in names(d.related))
    assert named == sorted(f"{i:02d}" for i in range(40))


def test_c014_near_duplicates_not_exact_ones(tmp_path: Path) -> None:
    florence = (
        f"{TRIGGER},The image is a close-up portrait of a young woman's face. Her hair is "
        "styled in loose curls that are cascading down her back. The curls are a vibrant shade "
        "of purple. The background is blurred. The overall mood of the image is peaceful."
    )
    root = write_set(
        tmp_path / "set",
        {
            "near1": florence,
            "near2": florence.replace("vibrant", "deep"),
            "exact1": WATCH,
            "exact2": WATCH,
            "other": f"{TRIGGER},The image shows a man in a grey suit standing in an office "
            "next to a window, holding a coffee cup and smiling at the camera.",
        },
    )
    found = findings(root, "C014")
    assert [names(d.related) for d in found] == [["near1", "near2"]]
    assert "90%" in found[0].message


def test_c014_threshold_and_minimum_length_come_from_the_rule() -> None:
    texts = [
        "ohwx a woman in a red coat on a bridge at night",
        "ohwx a woman in a blue coat on a bridge at dawn",  # 9 of 11 words: 0.82
        "ohwx a man",
        "ohwx a dog",
        None,
    ]
    strict = DuplicateCaptionsCheck(kind="duplicate-captions", method="near")
    loose = DuplicateCaptionsCheck(kind="duplicate-captions", method="near", min_similarity=0.8)
    short = DuplicateCaptionsCheck(
        kind="duplicate-captions", method="near", min_similarity=0.5, min_words=2
    )
    assert duplicate_groups(strict, texts) == []
    assert duplicate_groups(loose, texts) == [[0, 1]]
    assert duplicate_groups(short, texts) == [[0, 1], [2, 3]]
    assert normalise("  Long_Hair,  SMILE. ") == "long hair smile"


# --- C015 emphasis syntax ------------------------------------------------------


@pytest.mark.parametrize(
    ("caption", "hits", "after"),
    [
        (
            f"{TRIGGER}, 1girl, (long hair:1.2), ((smile)), [hat], blush",
            ["(long hair:1.2)", "((smile))", "[hat]"],
            f"{TRIGGER}, 1girl, long hair, smile, hat, blush",
        ),
        (
            f"{TRIGGER}, miner, (large pickaxe head), helmet",
            ["(large pickaxe head)"],
            f"{TRIGGER}, miner, large pickaxe head, helmet",
        ),
        (
            f"{TRIGGER}, a woman in a (red:1.3) coat. close-up",
            ["(red:1.3)"],
            f"{TRIGGER}, a woman in a red coat. close-up",
        ),
        # Prompt editing and alternation: reported, not rewritten.
        (f"{TRIGGER}, [cat:dog:0.5], {{red|blue}} scarf", ["[cat:dog:0.5]", "{red|blue}"], None),
        # Escaped brackets are literal text; a parenthesis in prose is prose;
        # [trigger] is C002's.
        (f"{TRIGGER}, 1girl, \\(cosplay\\), smile", [], None),
        ("[trigger], a photo of a woman (in her thirties) on a pier. close-up", [], None),
    ],
)
def test_c015_emphasis(tmp_path: Path, caption: str, hits: list[str], after: str | None) -> None:
    root = write_set(tmp_path / "set", {"x": caption})
    found = findings(root, "C015")
    assert [d.message.split("'")[1] for d in found] == hits
    assert fixed(root, select=["C015"]).get("x") == after


# --- C016 filename artefacts --------------------------------------------------


@pytest.mark.parametrize(
    ("caption", "hits", "after"),
    [
        (
            "fortune coin - Copy, gold, on a table",
            [" - Copy"],
            "fortune coin, gold, on a table",
        ),
        ("ring (2).png, silver band", [" (2)"], "ring, silver band"),
        (f"{TRIGGER}, IMG_1234, a woman at a cafe", ["IMG_1234"], None),
        (f"{TRIGGER}, 20221225_112302, a dog on a sofa", ["20221225_112302"], None),
        (f"{TRIGGER}, logo.png on a white shirt", [".png"], f"{TRIGGER}, logo on a white shirt"),
        # Ordinary text: a clock time, a version, a decimal, a hyphen.
        (f"{TRIGGER}, small seconds at 7 o'clock, 2.5D render, T-shirt, 1.5 metres", [], None),
    ],
)
def test_c016_filename_artefacts(
    tmp_path: Path, caption: str, hits: list[str], after: str | None
) -> None:
    root = write_set(tmp_path / "set", {"x": caption})
    found = findings(root, "C016")
    assert [d.message.split("'")[1] for d in found] == hits
    assert fixed(root, select=["C016"]).get("x") == after


# --- C017 generation parameters ------------------------------------------------

INFOTEXT = (
    "Negative prompt: lowres, bad anatomy, blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
    "Model hash: 6ce0161689"
)


def test_c017_generation_parameters(tmp_path: Path) -> None:
    root = write_set(
        tmp_path / "set",
        {
            "prompt": f"{TRIGGER}, a knight in silver armour, castle background\n{INFOTEXT}",
            "settings": INFOTEXT.split("\n")[1],
            "plain": f"{TRIGGER}, a knight taking steps: slow, careful, in the snow",
        },
    )
    found = findings(root, "C017")
    assert sorted(names([d.path or "" for d in found])) == ["prompt", "settings"]
    result = fixed(root, unsafe=True, select=["C017", "F003"])
    # The prompt stays; a caption that is nothing but settings is not emptied.
    assert result == {"prompt": f"{TRIGGER}, a knight in silver armour, castle background"}


def test_c017_fix_that_would_empty_a_caption_is_rolled_back(tmp_path: Path) -> None:
    from lintcap.fix.run import fix

    root = write_set(tmp_path / "set", {"settings": INFOTEXT})
    result = fix([root], Config(trigger=TRIGGER, select=["C017", "F003"]), unsafe=True)
    assert result.files == []
    [note] = result.rolled_back
    assert "C017" in note and "would add F003" in note
    assert (root / "settings.txt").read_text() == INFOTEXT


# --- F006 Git-LFS pointer -----------------------------------------------------


def test_f006_names_a_git_lfs_pointer(tmp_path: Path) -> None:
    root = write_set(tmp_path / "set", {"lfs": "a cat", "broken": "a dog", "fine": "a bird"})
    (root / "lfs.png").write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        "size 1558598\n"
    )
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    found = {Path(d.path or "").stem: d.message for d in findings(root, "F006")}
    assert set(found) == {"lfs", "broken"}
    assert "Git-LFS pointer" in found["lfs"] and "`git lfs pull`" in found["lfs"]
    assert "LFS" not in found["broken"]


# --- fixes that used to change meaning on real captions -----------------------


def test_c009_same_word_in_two_sentences_is_not_a_duplicate_tag(tmp_path: Path) -> None:
    catalogue = (
        "Front view of a steel watch. Manually wound movement, small seconds, skeleton. "
        "Black alligator strap. Sapphire dial, skeleton. Stick hands."
    )
    root = write_set(tmp_path / "set", {"x": catalogue, "y": f"{TRIGGER}, smile, hat, smile"})
    assert names([d.path or "" for d in findings(root, "C009")]) == ["y"]
    assert fixed(root, select=["C009"]) == {"y": f"{TRIGGER}, smile, hat"}


def test_c010_leaves_an_emoticon_tag_alone(tmp_path: Path) -> None:
    captions: dict[str, str | bytes] = {
        f"{i}": f"{TRIGGER}, 1girl, long hair, brown hair, open mouth, smile" for i in range(4)
    }
    captions["face"] = f"{TRIGGER}, 1girl, ^_^, long hair, closed eyes"
    assert findings(write_set(tmp_path / "set", captions), "C010") == []


def test_c007_cuts_an_opening_only_before_a_noun_phrase(tmp_path: Path) -> None:
    # Florence-2 style, with the trigger glued on by a comma.
    root = write_set(
        tmp_path / "set",
        {
            "x": "lunaria,The image is a close-up portrait of a young woman. "
            "The overall mood of the image is peaceful and serene."
        },
    )
    after = fixed(root, unsafe=True, select=["C007"], trigger="lunaria")
    # Before: "... Of the image is peaceful and serene."
    assert after == {
        "x": "lunaria,A close-up portrait of a young woman. "
        "The overall mood of the image is peaceful and serene."
    }


def test_c016_a_token_holding_the_files_own_name(tmp_path: Path) -> None:
    # A per-image id written from the file name (a real style set: 'BG-0010'
    # in 0010.txt); a bare number equal to the name is ordinary text.
    root = write_set(
        tmp_path / "set",
        {
            "0010": "BG-0010, exterior, pier, 90s cartoon style, wide shot",
            "0011": "BG-0010, exterior, pier, 90s cartoon style, wide shot",  # another's id
            "100": f"{TRIGGER}, 100 balloons over a field",
            "IMG_4032": f"{TRIGGER}, IMG_4032 woman at a cafe",
        },
    )
    found = {Path(d.path or "").stem: d.message for d in findings(root, "C016")}
    assert set(found) == {"0010", "IMG_4032"}
    assert "'BG-0010'" in found["0010"] and "'IMG_4032'" in found["IMG_4032"]
    assert fixed(root, select=["C016"]) == {}  # reported only: no certain fix
