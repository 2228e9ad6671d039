"""The caption parser: structure, offsets, and robustness on any string."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintcap.caption.nlp import CaptionNLP
from lintcap.caption.parse import CaptionParser, ParsedCaption, Span, tag_key

Parse = Callable[[str], ParsedCaption]


def kinds(caption: ParsedCaption) -> list[tuple[str, str]]:
    return [(segment.kind, caption.slice(segment)) for segment in caption.segments]


def test_house_style_caption(parse: Parse) -> None:
    text = (
        "ohwx, a photo of a woman standing in a park, wearing a red dress. "
        "She is smiling. close-up, soft lighting, from side"
    )
    caption = parse(text)
    assert caption.trigger is not None and caption.slice(caption.trigger) == "ohwx"
    assert caption.medium is not None and caption.slice(caption.medium) == "a photo of"
    assert kinds(caption) == [
        ("sentence", "a photo of a woman standing in a park, wearing a red dress."),
        ("sentence", "She is smiling."),
        ("tags", "close-up, soft lighting, from side"),
    ]
    assert [tag.key for tag in caption.tags] == ["close up", "soft lighting", "from side"]
    assert {"clothing", "expression", "framing", "lighting", "angle"} <= caption.categories()


def test_commas_inside_a_sentence_are_not_tags(parse: Parse) -> None:
    caption = parse("ohwx, a photo of a woman who, despite the rain, is walking to the car.")
    assert caption.tags == []
    assert len(caption.sentences) == 1


def test_unterminated_sentence_then_tags(parse: Parse) -> None:
    caption = parse("ohwx, a photo of a woman wearing a coat in the snow, close-up, from above")
    assert kinds(caption) == [
        ("sentence", "a photo of a woman wearing a coat in the snow"),
        ("tags", "close-up, from above"),
    ]


def test_tags_only_caption(parse: Parse) -> None:
    caption = parse("ohwx, 1girl, solo, long_hair, looking_at_viewer, smile")
    assert caption.sentences == []
    assert [t.key for t in caption.tags] == [
        "1girl",
        "solo",
        "long hair",
        "looking at viewer",
        "smile",
    ]
    assert "gaze" in caption.categories()  # underscores read as spaces


def test_tags_then_sentence_are_seen_in_that_order(parse: Parse) -> None:
    caption = parse("ohwx, close-up, from side. She wears a white dress.")
    assert [s.kind for s in caption.segments] == ["tags", "sentence"]


def test_trigger_followed_by_comma_or_space(parse: Parse) -> None:
    for text in ("ohwx, a photo of a man", "ohwx a photo of a man", "ohwx: a photo of a man"):
        caption = parse(text)
        assert caption.trigger == Span(start=0, end=4)
        assert caption.medium is not None


def test_trigger_inside_another_word_is_not_the_trigger(parse: Parse) -> None:
    caption = parse("ohwxman, a photo of a man")
    assert caption.trigger is None
    assert caption.trigger_mentions == []


def test_mixed_case_trigger_is_found_and_kept_as_written(parse: Parse) -> None:
    caption = parse("OhWx, a photo of a man")
    assert caption.trigger is not None and caption.slice(caption.trigger) == "OhWx"


def test_repeated_trigger(parse: Parse) -> None:
    caption = parse("ohwx ohwx, a photo of a man")
    assert len(caption.trigger_repeats) == 1
    assert caption.medium is not None


def test_double_and_trailing_commas(parse: Parse) -> None:
    caption = parse("ohwx, a photo of a man. close-up,, from side,")
    assert [caption.slice(s) for s in caption.empty_tags] == [","]
    assert caption.trailing_separator is not None
    assert caption.slice(caption.trailing_separator) == ","


def test_weighted_tags_keep_commas_inside_brackets(parse: Parse) -> None:
    caption = parse("ohwx, a photo of a man. (smile:1.2), (from side, dutch angle)")
    assert [t.text for t in caption.tags] == ["(smile:1.2)", "(from side, dutch angle)"]
    assert tag_key("(smile:1.2)") == "smile"
    assert tag_key("Long_Hair") == "long hair"


def test_medium_with_modifiers(parse: Parse) -> None:
    caption = parse("ohwx, a candid close-up photo of a man reading")
    assert caption.medium is not None
    assert caption.slice(caption.medium) == "a candid close-up photo of"


def test_medium_later_in_the_caption_is_not_the_medium_phrase(parse: Parse) -> None:
    caption = parse("ohwx, a man holding a photo of his dog")
    assert caption.medium is None


def test_placeholder(parse: Parse) -> None:
    caption = parse("[trigger], a photo of a man")
    assert caption.placeholders == [Span(start=0, end=9)]
    assert caption.medium is not None


def test_boilerplate_hit(parse: Parse) -> None:
    caption = parse("ohwx, The image shows a man in a suit.")
    assert [h.phrase for h in caption.hits_in("boilerplate")] == ["the image shows"]


def test_trained_pipeline_path_is_used_when_configured(tmp_path, nlp: CaptionNLP) -> None:
    """A pipeline saved to disk loads by path (the way a trained one would)."""
    import spacy

    from lintcap.caption.lexicon import load_lexicon

    saved = tmp_path / "pipeline"
    spacy.blank("en").to_disk(saved)
    custom = CaptionNLP(load_lexicon(), model=str(saved))
    caption = CaptionParser(custom, "ohwx").parse("ohwx, a photo of a man. close-up")
    assert caption.medium is not None and [t.key for t in caption.tags] == ["close up"]


def test_missing_pipeline_is_a_clear_error() -> None:
    from lintcap.caption.lexicon import load_lexicon
    from lintcap.caption.nlp import ModelLoadError

    with pytest.raises(ModelLoadError, match="no_such_pipeline"):
        CaptionNLP(load_lexicon(), model="no_such_pipeline")


def _assert_spans_inside(caption: ParsedCaption) -> None:
    size = len(caption.text)
    spans: list[Span] = [
        *caption.trigger_mentions,
        *caption.trigger_repeats,
        *caption.placeholders,
        *caption.sentences,
        *caption.tags,
        *caption.segments,
        *caption.empty_tags,
        *caption.hits,
    ]
    for optional in (caption.trigger, caption.medium, caption.trailing_separator):
        if optional is not None:
            spans.append(optional)
    for span in spans:
        assert 0 <= span.start <= span.end <= size, (span, caption.text)
    for tag in caption.tags:
        assert caption.text[tag.start : tag.end] == tag.text
    starts = [s.start for s in caption.segments]
    assert starts == sorted(starts)


caption_alphabet = st.sampled_from(
    [*"ohwx ,.;!?_-()[]:\n\r\t\u00a0\u2028é😀\\\"'", "ohwx", "a photo of", "close-up", "[trigger]"]
)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parser_never_raises_on_any_string(text: str) -> None:
    parser = _parser()
    _assert_spans_inside(parser.parse(text))


@settings(max_examples=400, deadline=None)
@given(st.lists(caption_alphabet, max_size=40).map("".join))
def test_parser_spans_stay_inside_caption_like_strings(text: str) -> None:
    _assert_spans_inside(_parser().parse(text))


_PARSER: list[CaptionParser] = []


def _parser() -> CaptionParser:
    if not _PARSER:
        from lintcap.caption.lexicon import load_lexicon

        _PARSER.append(CaptionParser(CaptionNLP(load_lexicon()), "ohwx"))
    return _PARSER[0]
