"""The frequency check's counted phrases (A007, D008, D009;
``checks._counted_phrases``): a caption whose hits lie apart, in the
parser's order, takes a shortcut past the test of each hit against every
other; the phrases and pairs stay those of that test, on hits in any order,
nested, overlapping, sharing a start or empty."""

from __future__ import annotations

import random

from lintcap.caption.lexicon import normalise_phrase
from lintcap.caption.parse import ParsedCaption
from lintcap.caption.spans import LexiconHit
from lintcap.engine import checks


def _spelt_out(caption: ParsedCaption, categories: list[str]) -> tuple[list[str], list[str]]:
    """The phrases and side-by-side pairs, each hit asked about every other."""
    hits = [h for h in caption.hits if not h.cue]
    own = [
        h
        for h in hits
        if h.category in categories
        and not any(
            o.category != h.category
            and o.start <= h.start
            and h.end <= o.end
            and (o.end - o.start) > (h.end - h.start)
            for o in hits
        )
    ]
    own.sort(key=lambda h: (h.start, -h.end))
    phrases = [normalise_phrase(caption.text[h.start : h.end]) for h in own]
    pairs = [
        f"{phrases[i]} {phrases[i + 1]}"
        for i in range(len(own) - 1)
        if own[i].end <= own[i + 1].start
        and caption.text[own[i].end : own[i + 1].start] in (" ", "-")
    ]
    return phrases, pairs


def test_counted_phrases_as_each_hit_against_every_other() -> None:
    rng = random.Random(4)
    words = ["red", "dress", "studio", "lighting", "soft", "light", "hat", "-", " "]
    categories = ["clothing", "lighting", "setting"]
    shortcut = 0
    for _ in range(3000):
        text = "".join(rng.choice(words) + rng.choice([" ", "", "-", ", "]) for _ in range(8))
        hits = []
        start = 0
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.7:  # mostly apart and in order, as parsed
                start = rng.randint(start, min(start + 6, len(text)))
            else:
                start = rng.randint(0, len(text))
            end = rng.randint(start, min(start + 12, len(text)))
            hits.append(
                LexiconHit(start, end, rng.choice([*categories, "other"]), "p", rng.random() < 0.1)
            )
            start = end
        caption = ParsedCaption(text=text, hits=hits)
        wanted = rng.sample(categories, rng.randint(1, 3))
        assert checks._counted_phrases(caption, wanted) == _spelt_out(caption, wanted), hits
        shortcut += checks._apart([h for h in hits if not h.cue])
    assert 500 < shortcut < 2900  # both ways taken
