"""A set captioned in tags only, linted under a Flux preset, gets one summary
line suggesting the SDXL/SD 1.x preset (instead of nothing but C005 on every
caption); a prose set, a mixed set and a set already on that preset get none.
Captions are written here in the styles of real sets, never copied."""

from __future__ import annotations

from pathlib import Path

from lintcap.config import Config, load_config
from lintcap.engine.run import LintResult, lint, load_rulebook

_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
TAGS = "Mirae Sol, 1girl, solo, twintails, black hair, {}, smile, white background"
PROSE = "Mirae Sol, a photo of a woman in a {} standing in a park. She smiles at the camera."


def _lint(root: Path, captions: list[str], config: str = "") -> LintResult:
    root.mkdir(parents=True)
    for index, caption in enumerate(captions):
        (root / f"{index:03}.png").write_bytes(_PNG)
        (root / f"{index:03}.txt").write_text(caption, encoding="utf-8")
    (root / "lintcap.toml").write_text(config + 'select = ["C"]\n', encoding="utf-8")
    loaded: Config = load_config(root / "lintcap.toml")
    return lint([root], loaded, load_rulebook(loaded))


def _notes(root: Path, captions: list[str], config: str = "") -> list[str]:
    return _lint(root, captions, config).notes


OUTFITS = ["kimono", "hoodie", "school uniform", "maid dress", "swimsuit", "armor"]


def test_tags_only_set_is_pointed_at_the_clip_preset(tmp_path: Path) -> None:
    notes = _notes(tmp_path / "d", [TAGS.format(o) for o in OUTFITS])
    (hint,) = [n for n in notes if n.startswith("Captions:")]
    assert "6 of 6 are tags only" in hint
    assert 'preset = "sdxl-tags"' in hint


def test_no_hint_for_prose_mixed_or_the_clip_preset(tmp_path: Path) -> None:
    prose = [PROSE.format(o) for o in OUTFITS]
    mixed = [TAGS.format(o) for o in OUTFITS[:4]] + prose[:2]  # 4 of 6: under 80 %
    tags = [TAGS.format(o) for o in OUTFITS]
    assert not any(n.startswith("Captions:") for n in _notes(tmp_path / "p", prose))
    assert not any(n.startswith("Captions:") for n in _notes(tmp_path / "m", mixed))
    on_preset = _notes(tmp_path / "t", tags, 'preset = "sdxl-tags"\n')
    assert not any(n.startswith("Captions:") for n in on_preset)


def test_tags_only_set_is_one_hint_not_a_finding_per_caption(tmp_path: Path) -> None:
    tags = [TAGS.format(o) for o in OUTFITS]
    codes = {d.code for d in _lint(tmp_path / "t", tags).diagnostics}
    assert "C005" not in codes and "C003" not in codes  # the hint says it once
    # In a set that writes sentences, the one tag-only caption is a slip: C005.
    slipped = [PROSE.format(o) for o in OUTFITS[:5]] + [TAGS.format("armor")]
    found = [d for d in _lint(tmp_path / "s", slipped).diagnostics if d.code == "C005"]
    assert [d.path.rsplit("/", 1)[-1] for d in found if d.path] == ["005.txt"]
