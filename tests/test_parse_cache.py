"""The parse cache (lintcap.caption.cache): a warm run parses nothing that
did not change, finds the same, and a foreign or linked cache is a miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from lintcap.caption.cache import PACK_NAME
from lintcap.caption.parse import CaptionParser
from lintcap.config import Config
from lintcap.engine.caption_duplicates import duplicate_groups
from lintcap.engine.run import lint
from lintcap.engine.spec import DuplicateCaptionsCheck
from lintcap.image.cache import CACHE_DIR_NAME
from tests.test_fix_safety import TRIGGER, write_set

CAPTIONS: dict[str, str | bytes] = {
    "a": f"{TRIGGER}, a photo of a woman in a red coat, standing in the rain. close-up, smiling",
    "b": "a photo of a man wearing a hat, the image shows a park, soft lighting, soft lighting",
    "c": f"{TRIGGER}, a photo of a woman in a red coat, standing in the rain. close-up, smiling",
    "d": f"{TRIGGER} watch, Steps: 20, Sampler: Euler a, CFG scale: 7",
}


def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts CaptionParser.parse is called with from now on."""
    calls: list[str] = []
    real = CaptionParser.parse

    def parse(self: CaptionParser, text: str):  # type: ignore[no-untyped-def]
        calls.append(text)
        return real(self, text)

    monkeypatch.setattr(CaptionParser, "parse", parse)
    return calls


def run(root: Path, **extra: object) -> list[tuple[str, str | None, int | None, str]]:
    config = Config(trigger=TRIGGER, select=["C", "A"], **extra)  # type: ignore[arg-type]
    found = lint([root], config).diagnostics
    return [(d.code, d.path, d.column, d.message) for d in found]


def test_warm_run_parses_nothing_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_set(tmp_path / "set", CAPTIONS)
    calls = counted(monkeypatch)
    cold = run(root)
    assert len(calls) == 3  # "a" and "c" are one text: parsed once
    assert (root / CACHE_DIR_NAME / "captions").is_dir()
    calls.clear()
    assert run(root) == cold
    assert calls == []
    (root / "b.txt").write_text("a photo of a dog on a beach, golden hour", encoding="utf-8")
    changed = run(root)
    assert calls == ["a photo of a dog on a beach, golden hour"]
    calls.clear()
    assert run(root, cache=False) == changed
    assert len(calls) == 3


def test_warm_run_builds_no_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache key is computed without spaCy: a warm run with every parse in
    the cache never builds the pipeline (never imports spaCy); a changed
    caption builds it."""
    from lintcap.engine import run as engine

    root = write_set(tmp_path / "set", CAPTIONS)
    cold = run(root)

    def no_pipeline(*args: object) -> object:
        raise AssertionError("pipeline built")

    monkeypatch.setattr(engine, "_caption_nlp", no_pipeline)
    assert run(root) == cold
    (root / "b.txt").write_text("a photo of a dog on a beach, golden hour", encoding="utf-8")
    with pytest.raises(AssertionError, match="pipeline built"):
        run(root)


def test_another_trigger_is_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_set(tmp_path / "set", CAPTIONS)
    run(root)
    calls = counted(monkeypatch)
    lint([root], Config(trigger="sks", select=["C"]))
    assert len(calls) == 3


def test_foreign_pack_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_set(tmp_path / "set", CAPTIONS)
    cold = run(root)
    [pack] = (root / CACHE_DIR_NAME / "captions").rglob(PACK_NAME)
    pack.write_bytes(b'{"0": {"text": 3}}')
    calls = counted(monkeypatch)
    assert run(root) == cold
    assert len(calls) == 3
    # A link in place of the pack is not followed, even to a good pack: a miss.
    outside = tmp_path / "outside.json"
    valid = pack.read_bytes()  # the run above wrote a good pack again
    outside.write_bytes(valid)
    pack.unlink()
    pack.symlink_to(outside)
    calls.clear()
    assert run(root) == cold
    assert len(calls) == 3
    assert outside.read_bytes() == valid  # the write replaced the link
    assert not pack.is_symlink()


def test_near_duplicates_match_difflib_bounds() -> None:
    # Pairs at the edge of 0.9: one word in ten differs (joins), one in five (not).
    base = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    texts = [
        " ".join(base),
        " ".join([*base[:9], "eleven"]),
        " ".join(["x", *base[1:8], "y", "z"]),
        " ".join(base[::-1]),
    ]
    check = DuplicateCaptionsCheck(kind="duplicate-captions", method="near", min_words=6)
    assert duplicate_groups(check, texts) == [[0, 1]]


def test_streamed_json_is_what_json_dump_writes(tmp_path: Path) -> None:
    import io
    import json

    from lintcap.report import json_format

    captions = {**CAPTIONS, "e": "a photo of a café\u2028sign, , close-up, (smiling:1.2)"}
    result = lint([write_set(tmp_path / "set", captions)], Config(trigger=TRIGGER, select=["C"]))
    assert any(d.fixable for d in result.diagnostics)
    streamed = io.StringIO()
    json_format.write(result, streamed)
    by_caption = {f.caption_display: f for f in result.items if f.caption_display}
    entries = [json_format._entry(d, by_caption.get(d.path or "")) for d in result.diagnostics]
    assert streamed.getvalue() == json.dumps(entries, indent=2, ensure_ascii=False) + "\n"
    empty = io.StringIO()
    json_format.write(result.model_copy(update={"diagnostics": []}), empty)
    assert empty.getvalue() == "[]\n"


def test_pack_with_spans_outside_the_text_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack that passes the schema but whose spans lie outside their text
    (written by hand, or by a broken lintcap) is untrusted input: those parses
    are parsed again, never handed to the checks (an IndexError there)."""
    import json

    root = write_set(tmp_path / "set", CAPTIONS)
    cold = run(root)
    [pack] = (root / CACHE_DIR_NAME / "captions").rglob(PACK_NAME)
    good = json.loads(pack.read_bytes())

    def shifted(value: object) -> object:
        if isinstance(value, list):
            return [shifted(v) for v in value]
        return -value - 3 if isinstance(value, int) and not isinstance(value, bool) else value

    bad = {}
    for digest, parse in good.items():
        fields = ("trigger", "trigger_mentions", "tags", "segments", "hits", "body_start")
        bad[digest] = {k: shifted(v) if k in fields else v for k, v in parse.items()}
    pack.write_text(json.dumps(bad), encoding="utf-8")
    calls = counted(monkeypatch)
    assert run(root) == cold
    assert len(calls) == 3


def test_another_version_of_a_configured_pipeline_is_another_key(tmp_path: Path) -> None:
    """A configured pipeline (``spacy-model``) upgraded in place keeps its
    name; its tags, and so the parses, may change: the key holds its version."""
    import json

    import spacy

    from lintcap.caption.lexicon import load_lexicon
    from lintcap.caption.nlp import CaptionNLP

    folder = tmp_path / "pipeline"
    spacy.blank("en").to_disk(folder)
    lexicon = load_lexicon()
    before = CaptionNLP(lexicon, str(folder)).fingerprint
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    meta["version"] = meta["version"] + ".1"
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    assert CaptionNLP(lexicon, str(folder)).fingerprint != before


def test_pack_far_larger_than_its_captions_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validating a pack takes memory many times its size (a span ``[0,0]``
    is 6 bytes of JSON and ~70 of objects), so a pack is read only up to what
    the dataset's captions can make; a small set's own packs, of the densest
    captions (one-letter tags, control characters), are read back."""
    import json

    dense = {
        "a": ",".join("x" for _ in range(300)),
        "b": "\x01, \x02, " * 100,
        "c": "ohwx",
        "d": ",,,,,,,,,," * 50,
    }
    root = write_set(tmp_path / "set", dense)
    calls = counted(monkeypatch)
    cold = run(root)
    assert len(calls) == 4
    calls.clear()
    assert run(root) == cold
    assert calls == []  # every dense pack was read back
    [pack] = (root / CACHE_DIR_NAME / "captions").rglob(PACK_NAME)
    good = json.loads(pack.read_bytes())
    for parse in good.values():
        parse["sentences"] = [[0, 0]] * 100_000  # inside the text, 600 KB
    pack.write_text(json.dumps(good), encoding="utf-8")
    assert run(root) == cold
    assert len(calls) == 4
