"""A safe fix never changes meaning; a fix that harms is rolled back.

Captions are written here in the styles of real LoRA datasets (Florence-2
paragraphs with a comma-glued trigger, WD14 tag lists, product phrases,
short style captions); none is copied from one.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lintcap.config import Config
from lintcap.fix.run import fix, outcome_notes

TRIGGER = "stl_k4k40"


def write_set(root: Path, captions: dict[str, str | bytes]) -> Path:
    """Tiny images (caption rules never open them) and their captions."""
    root.mkdir(parents=True, exist_ok=True)
    for stem, caption in captions.items():
        Image.new("RGB", (8, 8), (90, 120, 150)).save(root / f"{stem}.png")
        data = caption if isinstance(caption, bytes) else caption.encode("utf-8")
        (root / f"{stem}.txt").write_bytes(data)
    return root


def fixed(root: Path, unsafe: bool = False, **config: object) -> dict[str, str]:
    config.setdefault("trigger", TRIGGER)
    config.setdefault("select", ["C", "F"])
    result = fix([root], Config.model_validate(config), unsafe=unsafe, write=False)
    return {Path(f.display).stem: f.after for f in result.files}


PHOTOS = {
    "p1": f"{TRIGGER}, a photo of a young woman in a red coat on a bridge. close-up, from side",
    "p2": f"{TRIGGER}, a photo of a man reading on a bench. waist-up, soft lighting",
    "p3": f"{TRIGGER}, a photo of a woman laughing in a kitchen. front view",
}


def test_the_trigger_and_medium_compounding_bug_cannot_happen(tmp_path: Path) -> None:
    # Before: C002 replaced "[trigger]" and C003 inserted "a photo of " at the
    # full stop in the same round ("stl_k4k40a photo of ."); the next round no
    # longer saw the trigger and C001 prepended it again:
    # "stl_k4k40, stl_k4k40a photo of . A young woman ...".
    root = write_set(
        tmp_path / "set",
        {
            **PHOTOS,
            "placeholder": "[trigger]. A young woman sits on a bench, smiling.",
            "stop": f"{TRIGGER}. A woman walks through a park in autumn.",
        },
    )
    after = fixed(root, unsafe=True)
    assert after == {"placeholder": f"{TRIGGER}. A young woman sits on a bench, smiling."}
    for text in after.values():
        assert len(re.findall(re.escape(TRIGGER), text)) == 1
        assert f"{TRIGGER}a" not in text and "of ." not in text


def test_medium_insert_uses_the_datasets_medium_where_one_can_go(tmp_path: Path) -> None:
    root = write_set(
        tmp_path / "photos",
        {
            **PHOTOS,
            "missing": f"{TRIGGER}, woman with a blue umbrella in the rain, from behind",
            "capital": f"{TRIGGER}, The woman holds a cup of tea. close-up",
        },
    )
    after = fixed(root, unsafe=True)
    assert after == {
        "missing": f"{TRIGGER}, a photo of woman with a blue umbrella in the rain, from behind"
    }


@pytest.mark.parametrize(
    "others",
    [
        # A WD14 anime set names no medium: "a photo of" would be a lie.
        {
            f"t{i}": f"{TRIGGER}, 1girl, solo, long_hair, smile, school_uniform, looking_at_viewer"
            for i in range(4)
        },
        # Renders and photos mixed: which one this caption is would be a guess.
        {
            "r1": f"{TRIGGER}, a 3d render of a watch on a stand. studio lighting",
            "r2": f"{TRIGGER}, a 3d render of a watch strap. white background",
            "p1": f"{TRIGGER}, a photo of a watch on a wrist. outdoors",
            "p2": f"{TRIGGER}, a photo of a watch in a box. top view",
        },
    ],
)
def test_no_medium_is_guessed(tmp_path: Path, others: dict[str, str]) -> None:
    root = write_set(tmp_path / "set", {**others, "bare": f"{TRIGGER}, watch face, black dial"})
    assert "bare" not in fixed(root, unsafe=True, select=["C003"])


def test_a_fix_that_harms_is_rolled_back_and_reported(tmp_path: Path) -> None:
    # User rules with deliberately bad fixes: one drops the trigger, one adds
    # a duplicate tag. Re-linting catches both; the good fix still applies.
    rules = tmp_path / "bad.yaml"
    rules.write_text(
        """rules:
  - code: X001
    name: drop-word
    scope: caption
    severity: warning
    check: {kind: forbids, patterns: ['stl_k4k40(?=, a photo of a young)'], replace-with: ""}
    message: "bad fix one"
    fix: {safety: safe, description: "drops the trigger"}
    why: "a rule whose fix deletes the trigger, to test the rollback"
  - code: X002
    name: add-tag
    scope: caption
    severity: warning
    check: {kind: forbids, patterns: ['soft lighting'], replace-with: "soft lighting, close-up"}
    message: "bad fix two"
    fix: {safety: safe, description: "adds a tag that is there already"}
    why: "a rule whose fix duplicates a tag, to test the rollback"
""",
        encoding="utf-8",
    )
    root = write_set(
        tmp_path / "set",
        {
            "a": f"{TRIGGER.upper()}, a photo of a woman on a pier. close-up, soft lighting",
            "b": PHOTOS["p1"],
        },
    )
    config = Config(trigger=TRIGGER, select=["C001", "C009", "X"], extend_rules=[rules])
    result = fix([root], config, write=False)
    [file_fix] = [f for f in result.files if Path(f.display).stem == "a"]
    # The case fix (C001) applied, found by retrying a's fixes one at a time;
    # both bad fixes were undone, and each is reported once with its reason.
    assert file_fix.after == f"{TRIGGER}, a photo of a woman on a pier. close-up, soft lighting"
    assert [Path(f.display).stem for f in result.files] == ["a"]  # b is as it was
    [dropped, duplicated] = sorted(result.rolled_back, key=lambda line: "X002" in line)
    assert outcome_notes([], [], result.rolled_back) == [dropped, duplicated]  # what fix prints
    assert "b.txt: fix rolled back (X001" in dropped
    assert "the trigger 'stl_k4k40' would be lost" in dropped
    assert "a.txt: fix rolled back (X002" in duplicated and "would add C009" in duplicated


# --- property: safe fixes keep every word except the one the rule names -------------

#: Pieces of captions in the styles of real datasets, with the defects a safe
#: fix is for (trigger case, placeholder, repeated tag, mixed tag style, empty
#: tags, trailing comma, a line break, a byte-order mark, emphasis syntax, a
#: copy suffix, a file extension).
_LEADS = st.sampled_from(
    [TRIGGER + ", ", TRIGGER + ",", TRIGGER.upper() + ", ", "[trigger], ", "", TRIGGER + " "]
)
_BODIES = st.sampled_from(
    [
        "The image is a close-up portrait of a young woman's face. Her hair is styled in "
        "loose curls that are cascading down her back. The background is blurred.",
        "a photo of a woman in a grey wool coat, standing by a window. She is smiling.",
        "1girl, solo, long_hair, brown_hair, school_uniform, smile",
        "1girl, solo, long hair, brown_hair, pleated skirt, looking at viewer",
        "watch side profile detail, physical button, matte black finish, studio lighting",
        "interior, bedroom, 90s cartoon style, medium shot",
        "Front view of a silver watch. Polished steel case. Black leather strap.",
        "a dense mycelium network with interwoven filaments",
    ]
)
_TAILS = st.sampled_from(
    [
        "",
        ", close-up, from side",
        ", smile, smile",
        ", close-up,, from side",
        ", white background,",
        "\nclose-up, soft lighting",
        ", long_hair",
        ", long hair",
        ", (smile:1.2), [hat]",
        ", ((blush)), \\(cosplay\\)",
        " - Copy",
        ", ring (2).png",
    ]
)
#: What C015/C016 name and remove: a weight's digits, a copy suffix, an extension.
_ARTEFACTS = {"1", "2", "copy", "png"}

_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("[trigger]", TRIGGER))


def _tags(text: str) -> list[list[str]]:
    return [_words(chunk) for chunk in re.split(r"[,\n.]", text) if _words(chunk)]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(captions=st.lists(st.tuples(_LEADS, _BODIES, _TAILS, st.booleans()), min_size=2, max_size=3))
def test_safe_fixes_keep_every_word_but_the_one_the_rule_names(
    tmp_path_factory: pytest.TempPathFactory, captions: list[tuple[str, str, str, bool]]
) -> None:
    texts: dict[str, str | bytes] = {}
    for index, (lead, body, tail, bom) in enumerate(captions):
        text = lead + body + tail
        texts[f"{index}"] = b"\xef\xbb\xbf" + text.encode() if bom else text
    root = write_set(tmp_path_factory.mktemp("prop"), texts)
    after = fixed(root)
    for index, (lead, _, tail, bom) in enumerate(captions):
        if bom or lead in (TRIGGER.upper() + ", ", "[trigger], ") or "(smile:1.2)" in tail:
            assert f"{index}" in after  # the property is never vacuous: these are fixed
    trigger_words = set(_words(TRIGGER))
    for stem, new in after.items():
        old = texts[stem]
        old = old.decode("utf-8-sig") if isinstance(old, bytes) else old
        before_words, after_words = _words(old), _words(new)
        # Nothing invented: at most the trigger is added.
        added = Counter(after_words) - Counter(before_words)
        assert set(added) <= trigger_words, (old, new)
        # Nothing moved: the words other than the trigger keep their order.
        kept = [w for w in after_words if w not in trigger_words]
        source = iter(w for w in before_words if w not in trigger_words)
        assert all(any(w == s for s in source) for w in kept), (old, new)
        # Nothing lost but a repeat: every word dropped belongs to a tag that
        # is still there, or is a repeated trigger.
        dropped = Counter(before_words) - Counter(after_words)
        surviving = {" ".join(tag) for tag in _tags(new)}
        for word in dropped:
            assert (
                word in trigger_words
                or word in _ARTEFACTS
                or any(word in tag.split() for tag in surviving)
            ), (old, new, word)
