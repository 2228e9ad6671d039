"""Subject kind: decided from captions (and faces, class tokens), overridable in
config, reported in text, JSON statistics and SARIF; rules declare the kinds
they apply to; D001's bounds follow the kind; a preset's ignores survive
--select. Captions are written here in the styles of real sets, never copied."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lintcap.config import Config, find_config, load_config
from lintcap.engine.run import lint, load_rulebook
from lintcap.engine.select import select_rules
from lintcap.engine.spec import DatasetSizeCheck
from lintcap.report import sarif, text
from lintcap.statistics import compute
from lintcap.subject import SubjectInference, decide_subject, load_cues

#: A tiny PNG: discovery needs an image beside each caption; no test here
#: analyses pixels.
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

PERSON_PROSE = [
    "qzv,The image is a portrait of a young woman with short red hair. She is wearing a "
    "green scarf and her eyes look to the left. The background is a blurred park.",
    "qzv,The image shows a woman standing on a bridge. Her coat is grey and she smiles.",
    "qzv,The image is a close-up of a woman's face with freckles; the light is soft.",
    "qzv,The image shows the woman sitting at a cafe table in a yellow dress.",
]
ANIME_TAGS = [
    "Mirae Sol, 1girl, solo, twintails, black hair, school uniform, smile, white background",
    "Mirae Sol, 1girl, solo, twintails, black hair, kimono, open mouth, night",
    "Mirae Sol, 1girl, solo, twintails, black hair, thighhighs, sitting, simple background",
    "Mirae Sol, 1girl, solo, twintails, black hair, hoodie, blush, looking at viewer",
]
PRODUCT_SPECS = [
    "Front view of a Velmora watch. Brushed steel case with polished bezel. Automatic "
    "movement. Blue rubber strap. Sunray blue dial. Luminous hands.",
    "Front view of a Velmora watch. King Gold case with ceramic bezel. Quartz movement. "
    "Black leather strap. Skeleton dial. Baton hands.",
    "Front view of a Velmora watch. Titanium case. Hand-wound movement. Grey strap. "
    "White dial. Hands not visible.",
]
STYLE_TAGS = [
    "BG-01, interior, kitchen, retro comic style, wide shot",
    "BG-02, exterior, harbor, retro comic style, medium shot",
    "BG-03, interior, attic, retro comic style, close up",
]
HOUSE_PROSE = [
    "This single-story home features a red brick facade, a two-car garage and a tidy lawn.",
    "Craftsman-style house with a deep porch, tapered columns and a stone path to the door.",
    "Modern farmhouse-style home with white siding, black window frames and a gravel drive.",
]
DOG_CAPTIONS = [
    "a small fluffy dog sitting on a rug, tongue out",
    "the puppy running across a lawn, ears flapping",
    "a dog asleep on a grey sofa next to a cushion",
]


def _decide(texts: list[str], **kwargs: object) -> str | None:
    decision = decide_subject(texts, SubjectInference(), load_cues(), **kwargs)  # type: ignore[arg-type]
    return decision.kind


@pytest.mark.parametrize(
    ("captions", "kind"),
    [
        (PERSON_PROSE, "person"),
        (ANIME_TAGS, "person"),
        (PRODUCT_SPECS, "object"),
        (STYLE_TAGS, "style"),
        (HOUSE_PROSE, "place"),
        (DOG_CAPTIONS, "animal"),
    ],
)
def test_kind_from_captions(captions: list[str], kind: str) -> None:
    assert _decide(captions) == kind


def test_attributes_alone_make_a_person_set() -> None:
    tags = [
        "ohwx, smiling, long hair, red dress, outdoors",
        "ohwx, short hair, denim jacket, city street",
        "ohwx, wearing a grey coat, snow",
    ]
    assert _decide(tags) == "person"
    assert _decide(["ohwx, matte finish", "ohwx, top view", "ohwx, close-up"]) == "object"


def test_decision_says_why() -> None:
    decision = decide_subject(PRODUCT_SPECS, SubjectInference(), load_cues())
    assert decision.source == "captions"
    assert "object words in 3 of 3 captions" in decision.reason
    assert "watch" in decision.reason
    # "King Gold" and "ranch-style" are no person and no style.
    assert decision.counts["person"] == 0
    assert _decide(["ranch-style home with a porch"] * 3) == "place"


def test_the_more_named_of_person_and_animal_wins() -> None:
    # A pet set where the owner is in some photos is a pet set; an anime
    # girl with cat ears (both words in every caption) stays a person.
    pet = [*DOG_CAPTIONS, "a woman holding the puppy on a porch"]
    assert _decide(pet) == "animal"
    ears = ["1girl, cat ears, tail, smile", "1girl, cat ears, skirt", "1girl, cat ears, night"]
    assert _decide(ears) == "person"


def test_faces_classes_and_config() -> None:
    unlabelled = ["qzv, standing by the window", "qzv, at the table", "qzv, on the stairs"]
    assert _decide(unlabelled) == "object"
    assert _decide(unlabelled, faces=(3, 3)) == "person"
    assert _decide([]) is None
    assert _decide([], class_tokens=["shih tzu dog"]) == "animal"
    assert _decide(PERSON_PROSE, configured="style") == "style"


def test_images_too_small_to_judge_are_not_counted_as_faceless(tmp_path: Path) -> None:
    """16 x 16 images: no detector runs on them, so they are no evidence that the
    set shows no people (before, each counted as an image without a face)."""
    from PIL import Image

    unlabelled = ["qzv, standing by the window", "qzv, at the table", "qzv, on the stairs"]
    root = _dataset(tmp_path / "u", unlabelled)
    for index, png in enumerate(sorted(root.glob("*.png"))):
        Image.new("RGB", (16, 16), (40 * index, 90, 160)).save(png)
    result = lint([root], Config(select=["A010"]))
    assert (result.images, result.images_analysed) == (3, 3)
    assert all(f.image_facts and f.image_facts.people for f in result.items)
    assert (result.subject.images_analysed, result.subject.images_with_faces) == (0, 0)
    assert "images" not in result.subject.reason
    assert result.diagnostics == []


def _dataset(root: Path, captions: list[str], config: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for index, caption in enumerate(captions):
        (root / f"{index:03}.png").write_bytes(_PNG)
        (root / f"{index:03}.txt").write_text(caption, encoding="utf-8")
    if config is not None:
        (root / "lintcap.toml").write_text(config, encoding="utf-8")
    return root


def test_person_rules_do_not_fire_on_products(tmp_path: Path) -> None:
    select = ["A001", "A003", "A004"]
    products = lint([_dataset(tmp_path / "p", PRODUCT_SPECS)], Config(select=select))
    assert products.subject.kind == "object"
    assert products.subject.skipped_rules == ["A001", "A003"]
    assert {d.code for d in products.diagnostics} <= {"A004"}
    people = lint([_dataset(tmp_path / "h", PERSON_PROSE)], Config(select=select))
    assert people.subject.kind == "person"
    assert "A003" in {d.code for d in people.diagnostics}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("lintcap.toml", '[subject]\nkind = "object"\n'),
        ("pyproject.toml", '[tool.lintcap.subject]\nkind = "object"\n'),
    ],
)
def test_kind_from_config_files(tmp_path: Path, name: str, content: str) -> None:
    root = _dataset(tmp_path / "d", PERSON_PROSE)
    (root / name).write_text(content, encoding="utf-8")
    config = load_config(find_config(root))
    result = lint([root], config.model_copy(update={"select": ["A001", "A003"]}))
    assert (result.subject.kind, result.subject.source) == ("object", "configured")
    assert result.diagnostics == []


def test_reports_name_the_subject_and_trigger(tmp_path: Path) -> None:
    result = lint([_dataset(tmp_path / "s", STYLE_TAGS)], Config(select=["A001", "C001"]))
    out = io.StringIO()
    text.write(result, out)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("Subject:"))
    assert "style" in line and "not run on style sets: A001" in line
    result.statistics = compute(result.views, result.diagnostics, result.trigger, result.subject)
    stats = json.loads(result.statistics.model_dump_json())
    assert stats["subject"]["kind"] == "style"
    assert stats["trigger"]["source"] == "none"
    properties = sarif.sarif_log(result)["runs"][0]["properties"]
    assert properties["subject"]["kind"] == "style"
    assert properties["subject"]["skipped_rules"] == ["A001"]


def test_dataset_size_bounds_follow_the_kind() -> None:
    book = load_rulebook(Config())
    rule = book.rule("D001")
    assert rule is not None and isinstance(rule.check, DatasetSizeCheck)
    assert rule.check.bounds("person").max == 150
    assert rule.check.bounds("style").max is None
    assert rule.check.bounds("object").max is None
    assert rule.check.bounds(None).max == 150


def test_no_ceiling_for_a_large_style_set(tmp_path: Path) -> None:
    captions = [f"BG-{i}, interior, room {i}, retro comic style" for i in range(160)]
    root = _dataset(tmp_path / "big", captions)
    assert lint([root], Config(select=["D001"])).diagnostics == []
    forced = lint([root], Config(select=["D001"], subject={"kind": "person"}))
    assert [d.code for d in forced.diagnostics] == ["D001"]
    assert "more than 150" in forced.diagnostics[0].message


def test_preset_ignores_survive_select() -> None:
    book = load_rulebook(Config())
    ignored = set(book.presets["flux-style"].ignore)

    def codes(select: list[str] | None, extend: list[str] | None = None) -> set[str]:
        return {r.code for r in select_rules(book, "flux-style", select, extend or [], [])}

    assert not codes(["C", "A"]) & ignored
    assert not codes(["ALL"]) & ignored
    assert "A001" in codes(["A001"])
    assert "A001" in codes(["C"], ["A001"])
    assert not codes(["C"], ["A"]) & ignored


def test_rules_explain_names_the_kinds() -> None:
    from click.testing import CliRunner

    from lintcap.cli import cli

    shown = CliRunner().invoke(cli, ["rules", "explain", "A001"])
    assert "Applies to: person sets" in shown.output
    assert "Applies to" not in CliRunner().invoke(cli, ["rules", "explain", "C001"]).output
    listing = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["rules", "list"])
    rows = {line.split("│")[1].strip(): line for line in listing.output.splitlines() if "│" in line}
    assert "person" in rows["A001"] and "all" in rows["C001"]


def test_person_only_rules_declare_it() -> None:
    book = load_rulebook(Config())
    declared = {rule.code: rule.subjects for rule in book.rules if rule.subjects}
    for code in ("A001", "A003", "A007", "D004", "D005", "D006", "D007", "D008"):
        assert declared.get(code) == ["person"], code
    assert declared.get("A002") == ["person", "animal"]
    a010 = book.rule("A010")
    assert a010 is not None and getattr(a010.check, "people_subjects", None) == ["person"]


def test_a010_judges_people_facts_on_person_sets_only(parse) -> None:  # type: ignore[no-untyped-def]
    from lintcap.analyse import ItemFacts
    from lintcap.dataset import Item
    from lintcap.engine.checks import CheckContext
    from lintcap.engine.view_checks import agreement
    from lintcap.image.facts import ImageFacts
    from lintcap.variety import ItemView, Observed

    rule = load_rulebook(Config()).rule("A010")
    assert rule is not None
    facts = ItemFacts(
        item=Item(root=Path(".")),
        parsed=parse("ohwx, a photo of a woman facing left"),
        image_facts=ImageFacts(sha256="0" * 64),
    )
    view = ItemView(index=0, display="a.jpg", angle=Observed(image="right", caption="left"))
    person = agreement(rule.check, [view], [facts], CheckContext(subject_kind="person"))
    assert ["angle" in f.values["detail"] for f in person] == [True]
    assert agreement(rule.check, [view], [facts], CheckContext(subject_kind="object")) == []


def test_tied_cue_words_are_listed_by_name() -> None:
    # One caption names six person cues, so all six are tied; the three shown
    # are the first by name, whatever order the caption's set of cues has.
    cues = load_cues()
    person = sorted(cues.phrases["person"])
    tied = [w for w in person if " " not in w][:6]
    assert len(tied) == 6
    text = "a photo of " + " and ".join(reversed(tied))
    decision = decide_subject([text], SubjectInference(), cues)
    assert decision.cues["person"] == tied[:3]
