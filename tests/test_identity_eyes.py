"""A007 counts eye colour as an identity phrase, written as a tag or as a
sentence ("Her eyes are a deep blue"), and only when nearly every caption says it."""

from __future__ import annotations

from pathlib import Path

from lintcap.config import Config, load_config
from lintcap.engine.run import lint, load_rulebook

_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
PLACES = ["a park", "a cafe", "a library", "a beach", "a station", "a garden"]


def _a007(root: Path, captions: list[str]) -> list[str]:
    root.mkdir(parents=True)
    for index, caption in enumerate(captions):
        (root / f"{index:03}.png").write_bytes(_PNG)
        (root / f"{index:03}.txt").write_text(caption, encoding="utf-8")
    (root / "lintcap.toml").write_text('trigger = "qzv"\nselect = ["A007"]\n', encoding="utf-8")
    loaded: Config = load_config(root / "lintcap.toml")
    return [d.message for d in lint([root], loaded, load_rulebook(loaded)).diagnostics]


def test_eye_colour_in_every_sentence_is_an_identity_phrase(tmp_path: Path) -> None:
    captions = [
        f"qzv, a photo of a woman sitting in {place}. Her eyes are a deep blue. She smiles."
        for place in PLACES
    ]
    (message,) = _a007(tmp_path / "prose", captions)
    assert "'eyes are a deep blue' is in 6 of 6 captions" in message


def test_eye_colour_as_a_tag_and_varied_colours(tmp_path: Path) -> None:
    tagged = [f"qzv, a photo of a woman in {place}, green eyes, smile" for place in PLACES]
    (message,) = _a007(tmp_path / "tags", tagged)
    assert "'green eyes' is in 6 of 6" in message
    colours = ["blue", "brown", "green", "grey", "hazel", "amber"]
    varied = [
        f"qzv, a photo of a woman in {place}. Her eyes are {colour}."
        for place, colour in zip(PLACES, colours, strict=True)
    ]
    assert _a007(tmp_path / "varied", varied) == []
