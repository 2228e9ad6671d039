"""Captions written as prose, in the styles of real datasets (Florence-2 and
GPT-4o paragraphs, product spec sheets, comma phrase lists, WD14 tags): the
attribute rules read what sentences say, lists inside sentences are not tags,
loops are loops, filler is found by family, and one fact is one finding.
Every caption here is written for the test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lintcap.caption.nlp import CaptionNLP
from lintcap.caption.parse import ParsedCaption
from lintcap.caption.patterns import PatternError, read_pattern_file
from lintcap.config import Config
from lintcap.engine.run import lint
from tests.conftest import TRIGGER, MakeDataset
from tests.test_caption_rules import CLEAN, single

Parse = Callable[[str], ParsedCaption]


def kinds(caption: ParsedCaption) -> list[str]:
    return [segment.kind for segment in caption.segments]


# --- attributes from sentences ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        (
            "ohwx, a photo of a man at a desk. Warm amber light spills across the papers.",
            "lighting",
        ),
        ("ohwx, a photo of a girl. Cool bluish light falls on her cheek.", "lighting"),
        ("ohwx, a photo of a boy on a porch, dimly lit by a lantern.", "lighting"),
        ("ohwx, a photo of a woman. Her mouth is closed.", "expression"),
        ("ohwx, a photo of a man with a calm, focused expression.", "expression"),
        ("ohwx, a photo of a child who frowned at the rain.", "expression"),
        ("ohwx, a photo of a woman. Her lips are slightly parted.", "expression"),
        ("ohwx, a photo of a man dressed in a long green coat.", "clothing"),
        ("ohwx, a photo of a woman in a cropped white top.", "clothing"),
        ("ohwx, a photo of a dancer on a stage.", "setting"),
        ("ohwx, a photo of a couple walking through a vineyard.", "setting"),
        ("ohwx, a photo of a man standing in front of a brick wall.", "setting"),
        ("ohwx, a photo of a man photographed from below.", "angle"),
        ("ohwx, a photo of a woman from the waist up.", "framing"),
    ],
)
def test_sentences_describe_attributes(parse: Parse, text: str, category: str) -> None:
    assert category in parse(text).categories()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ohwx, a photo of a light blue car by the curb.", "lighting"),
        ("ohwx, a photo of red curls with a hint of pink on the ends.", "expression"),
        ("ohwx, a photo of a cat on top of the table.", "clothing"),
        ("ohwx, a photo of a woman holding a toy car.", "setting"),
    ],
)
def test_words_that_only_look_like_attributes(parse: Parse, text: str, category: str) -> None:
    assert category not in parse(text).categories()


def test_labelled_patterns_count_as_their_label(parse: Parse) -> None:
    caption = parse("ohwx, a photo of a man. His mouth is wide open and his eyes are shut.")
    labels = {hit.phrase for hit in caption.hits_in("expression") if not hit.cue}
    assert labels == {"mouth open", "eyes closed"}


def test_attribute_rules_read_a_prose_caption(make_dataset: MakeDataset) -> None:
    prose = (
        "ohwx, a photo of a man reading in a ballroom. He is dressed in a grey wool jacket, "
        "and his mouth is slightly open. Soft window light falls across his face. close-up"
    )
    root = make_dataset({"prose": prose, "bare": "ohwx, a photo of a man there, quietly."})
    diagnostics = lint([root], Config(trigger=TRIGGER, select=["A001", "A003", "A004", "A006"]))
    fired = {(Path(d.path or "").stem, d.code) for d in diagnostics.diagnostics}
    assert fired == {("bare", "A001"), ("bare", "A003"), ("bare", "A004"), ("bare", "A006")}


def test_a_bad_pattern_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "lighting.yaml"
    path.write_text("patterns:\n  - [{LOWER: {IN: $missing}}]\n", encoding="utf-8")
    with pytest.raises(PatternError, match=r"lighting\.yaml: unknown word list"):
        read_pattern_file(path)


# --- prose-aware structure --------------------------------------------------


def test_a_list_inside_a_sentence_is_not_tags(parse: Parse) -> None:
    caption = parse(
        "ohwx, a photo of a man in a workshop. He wears a leather apron, canvas trousers, "
        "and heavy brown boots. close-up, from side"
    )
    assert kinds(caption) == ["sentence", "sentence", "tags"]
    assert [tag.key for tag in caption.tags] == ["close up", "from side"]


def test_a_spec_sheet_is_sentences(parse: Parse) -> None:
    caption = parse(
        "Side view of a steel kettle. Brushed steel body, matte black handle. Gooseneck spout."
    )
    assert kinds(caption) == ["sentence", "sentence", "sentence"]


def test_a_phrase_list_keeps_its_tags_after_an_inner_list(parse: Parse) -> None:
    caption = parse(
        "ohwx lamp base detail, brass stem with knurled ring, switch on left, right, and top "
        "edges, satin brass finish, studio lighting, white background"
    )
    assert [tag.key for tag in caption.tags] == [
        "satin brass finish",
        "studio lighting",
        "white background",
    ]


def test_c004_only_on_real_tags_before_sentences(make_dataset: MakeDataset) -> None:
    prose = (
        "ohwx, a photo of a two-story cottage with a red door, slate roof, and a low stone "
        "wall. Ivy covers the east side. close-up"
    )
    assert single(make_dataset, prose, "C004") == []
    [finding] = single(make_dataset, "ohwx, 1boy, solo, short hair. He sits on a bench.", "C004")
    assert finding.column == len("ohwx, ") + 1


def test_c006_sees_that_a_sentence_list_is_no_tags(make_dataset: MakeDataset) -> None:
    assert single(
        make_dataset, "ohwx, a photo of a man. He wears a coat, a scarf, and gloves.", "C006"
    )


def test_c008_ignores_a_phrase_that_recurs_in_prose(make_dataset: MakeDataset) -> None:
    two = (
        "ohwx, a photo of two boys on a beach. The boy on the left holds a kite, the boy on "
        "the right holds a ball, and the boy on the left is laughing."
    )
    assert single(make_dataset, two, "C008") == []
    spec = (
        "ohwx, a photo of a watch. Brushed and polished steel case with brushed and polished "
        "steel bezel and brushed and polished steel links."
    )
    assert single(make_dataset, spec, "C008") == []


def test_c008_finds_a_repeated_sentence(make_dataset: MakeDataset) -> None:
    caption = "ohwx, a photo of a man. He stands by the window. He stands by the window."
    [finding] = single(make_dataset, caption, "C008")
    assert finding.column == len("ohwx, a photo of a man. He stands by the window. ") + 1


@pytest.mark.parametrize(
    ("caption", "phrase"),
    [
        ("ohwx, a photo of a hat on a chair, adding a playful touch.", "adding a playful touch"),
        (
            "ohwx, a photo of two men. The composition conveys a quiet bond.",
            "The composition conveys",
        ),
        ("ohwx, a photo of a porch that evokes a feeling of calm.", "evokes a feeling of"),
        ("ohwx, a photo of a man. He appears to be reading.", "appears to be"),
        ("ohwx, a photo of a woman who looks curious or puzzled.", "curious or puzzled"),
        (
            "ohwx, a photo of a girl. The overall atmosphere of the photo is calm.",
            "The overall atmosphere of the photo is",
        ),
    ],
)
def test_c007_filler_families(make_dataset: MakeDataset, caption: str, phrase: str) -> None:
    [finding] = single(make_dataset, caption, "C007")
    assert f"'{phrase}'" in finding.message


@pytest.mark.parametrize(
    ("caption", "phrase"),
    [
        ("Charming brick bungalow with a green door and a gravel drive.", "Charming"),
        ("Two-story farmhouse with a wide porch, exuding rustic warmth.", "exuding"),
        ("Stone cottage with ivy walls; the arched gate adds charm.", "adds charm"),
        ("Flat-roofed villa with a pool, offering serene outdoor living.", "offering serene"),
    ],
)
def test_c007_marketing_filler(make_dataset: MakeDataset, caption: str, phrase: str) -> None:
    findings = single(make_dataset, f"ohwx, {caption}", "C007")
    assert any(f"'{phrase}'" in finding.message for finding in findings)


def test_c007_overlapping_phrases_are_one_finding(make_dataset: MakeDataset) -> None:
    caption = "ohwx, a photo of a field. It appears to be a snowy field."
    [finding] = single(make_dataset, caption, "C007")
    assert "'It appears to be'" in finding.message


def test_c007_leaves_plain_or(make_dataset: MakeDataset) -> None:
    assert single(make_dataset, "ohwx, a photo of a red or blue kite.", "C007") == []


def test_c007_hedges_but_not_a_described_look(make_dataset: MakeDataset) -> None:
    [finding] = single(make_dataset, "ohwx, a photo of a girl. She appears smiling.", "C007")
    assert "'appears smiling'" in finding.message
    look = "ohwx, a photo of a cabin. The porch appears weathered and grey."
    assert single(make_dataset, look, "C007") == []


def test_c003_message_names_the_words_found(make_dataset: MakeDataset) -> None:
    [finding] = single(make_dataset, "ohwx. A young man in a coat.", "C003")
    assert "after the trigger" in finding.message and "'A young man in'" in finding.message
    [finding] = single(make_dataset, "A young man in a coat, ohwx.", "C003")
    assert "at the start of the caption" in finding.message
    assert "after the trigger" not in finding.message


# --- one finding per fact ---------------------------------------------------


def test_a007_folds_sub_phrases(make_dataset: MakeDataset) -> None:
    captions = {
        f"{i}": f"ohwx, a photo of a woman with gold hoop earrings, take {i}." for i in range(5)
    }
    captions["x"] = "ohwx, a photo of a woman with hoop earrings."
    root = make_dataset(captions, config=None)
    config = Config(
        trigger=TRIGGER, select=["A007"], lexicons={"accessories": ["gold hoop earrings"]}
    )
    [finding] = lint([root], config).diagnostics
    assert finding.message.startswith("'hoop earrings' (with 'gold hoop earrings') is in 6 of 6")
    assert len(finding.related) == 6


def test_d009_counts_a_place_once_and_not_the_word_background(make_dataset: MakeDataset) -> None:
    caption = "ohwx, a photo of a woman. The background is blurred, showing a snowy forest."
    root = make_dataset({f"{i}": caption for i in range(6)}, config=None)
    diagnostics = lint([root], Config(trigger=TRIGGER, select=["D009"])).diagnostics
    assert [d.message.split("'")[1] for d in diagnostics] == ["snowy forest"]


def test_clean_captions_stay_clean(make_dataset: MakeDataset) -> None:
    assert single(make_dataset, CLEAN, "C007") == []


def test_c006_is_quiet_on_a_set_written_in_prose(make_dataset: MakeDataset) -> None:
    captions = {
        f"{i}": f"ohwx, a photo of a cottage number {i} with a red door, a slate roof, and ivy."
        for i in range(5)
    }
    root = make_dataset(captions, config=None)
    assert lint([root], Config(trigger=TRIGGER, select=["C006"])).diagnostics == []


@pytest.mark.parametrize(
    ("caption", "fires"),
    [
        ("ohwx, 1girl, solo, blush, school uniform, classroom, upper body", False),
        ("ohwx, 1girl, solo, jitome, school uniform, classroom, upper body", False),
        ("ohwx, 1girl, solo, head out of frame, school uniform, classroom", False),
        ("ohwx, 1girl, solo, school uniform, classroom, upper body", True),
    ],
)
def test_a003_reads_wd14_expression_tags(
    make_dataset: MakeDataset, caption: str, fires: bool
) -> None:
    assert bool(single(make_dataset, caption, "A003")) is fires


def test_a005_reads_a_named_view(parse: Parse) -> None:
    caption = parse("ohwx kettle, front/bottom face view showing the base, white background")
    assert "angle" in caption.categories()


def test_d009_leaves_out_kinds_of_place(make_dataset: MakeDataset) -> None:
    rooms = ["bedroom", "kitchen", "hallway", "attic", "garage", "library"]
    root = make_dataset(
        {room: f"ohwx, interior, {room}, 90s cartoon style, wide shot" for room in rooms},
        config=None,
    )
    assert lint([root], Config(trigger=TRIGGER, select=["D009"])).diagnostics == []


def test_text_rolls_up_a_code_on_every_caption(make_dataset: MakeDataset) -> None:
    import io

    from lintcap.report.text import TextOptions, write

    captions = {
        f"{i}": f"ohwx, a photo of a man in a coat in a park, smiling, take {i}." for i in range(4)
    }
    root = make_dataset(captions, config=None)
    result = lint([root], Config(trigger=TRIGGER, select=["A006"]))
    assert len(result.diagnostics) == 4  # every finding stays in the result (JSON, SARIF)
    out = io.StringIO()
    write(result, out, TextOptions())
    lines = [line for line in out.getvalue().splitlines() if "A006" in line]
    assert len(lines) == 1 and "on all 4 captions" in lines[0]
    assert lines[0].startswith(f"{root}/: ")
    verbose = io.StringIO()
    write(result, verbose, TextOptions(verbose=True))
    assert sum("A006" in line for line in verbose.getvalue().splitlines()) == 4


def test_text_keeps_a_code_that_misses_a_caption(make_dataset: MakeDataset) -> None:
    import io

    from lintcap.report.text import TextOptions, write

    captions = {f"{i}": f"ohwx, a photo of a man in a coat in a park, take {i}." for i in range(3)}
    captions["lit"] = "ohwx, a photo of a man in a coat in a park at dusk, soft lighting."
    result = lint([make_dataset(captions, config=None)], Config(trigger=TRIGGER, select=["A006"]))
    out = io.StringIO()
    write(result, out, TextOptions())
    assert sum("A006" in line for line in out.getvalue().splitlines()) == 3


def test_a006_is_quiet_on_drawn_art(make_dataset: MakeDataset) -> None:
    tags = "ohwx, 1girl, solo, long hair, school uniform, classroom, upper body, smile"
    root = make_dataset({f"{i}": f"{tags}, take {i}" for i in range(4)}, config=None)
    assert lint([root], Config(trigger=TRIGGER, select=["A006"])).diagnostics == []
    photo = "ohwx, a photo of a woman in a school uniform in a classroom, upper body, smiling"
    root = make_dataset(
        {f"{i}": f"{photo}, take {i}" for i in range(4)}, config=None, folder="photos"
    )
    assert len(lint([root], Config(trigger=TRIGGER, select=["A006"])).diagnostics) == 4


def test_d008_one_outfit_is_one_finding(make_dataset: MakeDataset) -> None:
    outfit = "ohwx, 1girl, solo, sailor uniform, pleated skirt, loafers, smile"
    captions = {f"{i}": f"{outfit}, take {i}" for i in range(5)}
    captions["casual"] = "ohwx, 1girl, solo, hoodie, jeans, smile"
    root = make_dataset(captions, config=None)
    [finding] = lint([root], Config(trigger=TRIGGER, select=["D008"])).diagnostics
    assert "is in 5 of 6" in finding.message
    assert all(word in finding.message for word in ("sailor uniform", "pleated skirt", "loafers"))


@pytest.mark.parametrize(
    "text",
    [
        "ohwx, a photo of a man. Warm amber light spills across his face; his mouth is closed.",
        "Side view of a kettle, bottom face view, studio lighting, adding a playful touch",
        "ohwx, 1girl, solo, blush, looking at viewer, it appears to be dusk or dawn, smiling",
    ],
)
def test_windows_around_anchor_words_find_every_match(nlp: CaptionNLP, text: str) -> None:
    doc = nlp.doc(text)
    whole = sorted(match for search in nlp._searches for match in search[0](doc))
    assert whole and sorted(nlp._pattern_matches(doc)) == whole


def test_dataset_view_counts_phrases_not_cues(make_dataset: MakeDataset) -> None:
    root = make_dataset(
        {"a": "ohwx, a photo of a man. He wears a grey wool coat, in front of a barn."}
    )
    result = lint([root], Config(trigger=TRIGGER, select=["D008"]))
    [view] = [v for v in result.views if v.phrases]
    assert view.phrases["clothing"] == ["coat"] and view.phrases["setting"] == ["barn"]


def test_dataset_view_reads_framing_from_a_sentence(make_dataset: MakeDataset) -> None:
    caption = "ohwx, a photo of a woman on a pier. The shot shows her entire figure in a red coat."
    root = make_dataset({"a": caption})
    result = lint([root], Config(trigger=TRIGGER, select=["D005"]))
    [view] = [v for v in result.views if v.image is not None]
    assert view.framing.caption == "full-body"
