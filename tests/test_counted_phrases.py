"""The frequency check's counted phrases (A007, D008, D009;
``checks._counted_phrases``): a caption whose hits lie apart, in the
parser's order, takes a shortcut past the test of each hit against every
other; the phrases and pairs stay those of that test, on hits in any order,
nested, overlapping, sharing a start or empty."""

from __future__ import annotations

import random

import pytest

from lintcap.caption.parse import ParsedCaption
from lintcap.caption.spans import LexiconHit
from lintcap.engine import checks


def test_counted_phrases_as_each_hit_against_every_other(monkeypatch: pytest.MonkeyPatch) -> None:
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
        taken = checks._counted_phrases(caption, wanted)
        # The same caption with the shortcut barred: each hit against every other.
        with monkeypatch.context() as barred:
            barred.setattr(checks, "_apart", lambda hits: False)
            assert taken == checks._counted_phrases(caption, wanted), hits
        shortcut += checks._apart([h for h in hits if not h.cue])
    assert 500 < shortcut < 2900  # both ways taken
