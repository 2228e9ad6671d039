"""C014's candidate buckets find every pair that comparing all pairs finds.

``caption_duplicates._near_clusters`` compares only the pairs that share a
bucket (prefix filtering over rare words); these tests check it against the
plain definition, every pair compared with difflib, on random captions drawn
from a small vocabulary so that near-copies, repeated words and length
differences are common.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lintcap.engine import caption_duplicates
from lintcap.engine.caption_duplicates import duplicate_groups, normalise
from lintcap.engine.spec import DuplicateCaptionsCheck


def _linked(first: list[str], second: list[str], threshold: float) -> bool:
    """The pair rule, spelt out: difflib's ratio, the shorter caption first;
    captions of one length either way round."""
    if len(second) < len(first):
        first, second = second, first
    orders = [(first, second)] + ([(second, first)] if len(first) == len(second) else [])
    return any(
        difflib.SequenceMatcher(None, a, b, autojunk=False).ratio() >= threshold for a, b in orders
    )


def brute_force(check: DuplicateCaptionsCheck, texts: list[str]) -> list[list[int]]:
    """Every pair of distinct normalised texts compared; groups by single linkage."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        key = normalise(text)
        if key:
            groups.setdefault(key, []).append(index)
    keys = [key for key in groups if len(key.split()) >= check.min_words]
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if _linked(keys[i].split(), keys[j].split(), check.min_similarity):
                parent[root(j)] = root(i)
    clusters: dict[int, list[int]] = {}
    for i in range(len(keys)):
        clusters.setdefault(root(i), []).append(i)
    found = [
        sorted(item for m in members for item in groups[keys[m]])
        for members in clusters.values()
        if len(members) > 1
    ]
    return sorted(found, key=lambda members: members[0])


def _near(similarity: float, min_words: int = 2) -> DuplicateCaptionsCheck:
    return DuplicateCaptionsCheck(
        kind="duplicate-captions", method="near", min_similarity=similarity, min_words=min_words
    )


@st.composite
def caption_sets(draw: st.DrawFn) -> list[str]:
    """A few base captions and variants of them: words replaced, dropped,
    inserted, repeated or swapped, from a vocabulary of a dozen words."""
    vocabulary = [f"w{n}" for n in range(draw(st.integers(3, 12)))]
    rng = random.Random(draw(st.integers(0, 2**32)))
    texts = []
    for _ in range(draw(st.integers(1, 4))):
        base = [rng.choice(vocabulary) for _ in range(rng.randint(2, 24))]
        texts.append(" ".join(base))
        for _ in range(rng.randint(0, 8)):
            variant = list(base)
            for _ in range(rng.randint(0, 3)):
                edit = rng.randrange(4)
                spot = rng.randrange(len(variant) + 1)
                if edit == 0 and spot < len(variant):
                    variant[spot] = rng.choice(vocabulary)
                elif edit == 1 and spot < len(variant) and len(variant) > 1:
                    del variant[spot]
                elif edit == 2:
                    variant.insert(spot, rng.choice(vocabulary))
                elif spot + 1 < len(variant):
                    variant[spot], variant[spot + 1] = variant[spot + 1], variant[spot]
            texts.append(" ".join(variant))
    rng.shuffle(texts)
    return texts


@settings(max_examples=150, deadline=None)
@given(
    texts=caption_sets(),
    similarity=st.sampled_from([0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0]),
    min_words=st.integers(1, 6),
)
def test_buckets_find_what_all_pairs_find(
    texts: list[str], similarity: float, min_words: int
) -> None:
    check = _near(similarity, min_words)
    assert duplicate_groups(check, texts) == brute_force(check, texts)


def test_every_bucket_split_still_finds_the_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny buckets force the deepest splits (a bucket of more than two
    members is split again): the result stays that of all pairs."""
    monkeypatch.setattr(caption_duplicates, "_SMALL_BUCKET", 2)
    rng = random.Random(5)
    vocabulary = [f"w{n}" for n in range(40)]
    slots = [rng.sample(vocabulary, 6) for _ in range(8)]
    texts = []
    for _ in range(160):  # a template: eight slots of six words, some filled twice
        words = ["a", "photo", "of"] + [rng.choice(slot) for slot in slots]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(vocabulary))
        texts.append(" ".join(words))
    for similarity in (0.75, 0.85, 0.9):
        check = _near(similarity, 6)
        expected = brute_force(check, texts)
        assert expected, "the template set should hold near-duplicates"
        assert duplicate_groups(check, texts) == expected


def test_long_captions_are_split_off_and_still_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """Captions far longer than the median are bucketed apart from the rest
    (with the captions that can reach them), so one long caption no longer
    widens every row of the word table: the table's width stays bounded by
    the median, and the groups stay those of all pairs, long ones included."""
    rng = random.Random(11)
    vocabulary = [f"w{n}" for n in range(30)]
    base = [rng.choice(vocabulary) for _ in range(12)]
    texts = [" ".join(rng.sample(base, 10)) for _ in range(60)]
    long_base = [rng.choice(vocabulary) for _ in range(150)]
    for cut in (0, 3, 9):  # near copies of a long caption, and one of middling length
        texts.append(" ".join(long_base[cut:]))
    texts.append(" ".join(long_base[:60]))
    widths: list[int] = []
    table_buckets = caption_duplicates._table_buckets

    def measured(ranks: list[list[int]], threshold: float) -> Iterator[list[int]]:
        widths.append(max(map(len, ranks)))
        return table_buckets(ranks, threshold)

    monkeypatch.setattr(caption_duplicates, "_table_buckets", measured)
    for similarity in (0.5, 0.8, 0.9):
        widths.clear()
        check = _near(similarity, 2)
        expected = brute_force(check, texts)
        assert any(len(group) >= 2 and min(group) >= 60 for group in expected)
        assert duplicate_groups(check, texts) == expected
        assert len(widths) >= 2 and widths[0] <= 64  # the usual captions' table


def test_longest_partner_walks_each_length_once() -> None:
    """The two-pointer walk gives, for each length, the longest partner the
    definition gives (each partner tried in turn)."""
    for threshold in (0.3, 0.5, 0.8, 0.9, 0.95, 1.0):
        least = caption_duplicates._least_shared(threshold, 300)
        top = (len(least) - 1) // 2
        for size, partner in enumerate(caption_duplicates._longest_partner(least)):
            reachable = [b for b in range(size, top + 1) if size >= least[size + b]]
            expected = size - 1
            while expected + 1 in reachable:
                expected += 1
            assert partner == expected, (threshold, size)


def test_least_shared_is_difflibs_own_arithmetic() -> None:
    """The fewest shared words that pass, for each total length, agree with
    difflib's float comparison (0.9 of 20 words is 18: 2.0 * 9 / 20 == 0.9)."""
    for threshold in (0.5, 0.8, 0.9, 0.95, 1.0):
        least = caption_duplicates._least_shared(threshold, 40)
        for total in range(1, 81):
            shared = least[total]
            assert 2.0 * shared / total >= threshold
            assert shared == 0 or 2.0 * (shared - 1) / total < threshold
    assert caption_duplicates._least_shared(0.9, 10)[20] == 9


def test_missing_empty_unicode_and_identical_captions_as_all_pairs() -> None:
    """Items without a caption, empty and punctuation-only captions (no
    words: never grouped), copies that differ only in case, spacing or
    punctuation (one text), and words outside ASCII, against all pairs."""
    rng = random.Random(11)
    vocabulary = ["é", "straße", "naïve", "日本", "x_y", "A", "a", "b", "c", "café", "ǅ", "ǆ"]
    for _ in range(60):
        base = [rng.choice(vocabulary) for _ in range(rng.randint(1, 10))]
        texts: list[str | None] = []
        for _ in range(rng.randint(2, 20)):
            variant = list(base)
            for _ in range(rng.randint(0, 2)):
                spot = rng.randrange(len(variant) + 1)
                if spot < len(variant) and rng.random() < 0.5:
                    variant[spot] = rng.choice(vocabulary)
                else:
                    variant.insert(spot, rng.choice(vocabulary))
            texts.append(rng.choice([" ", ", ", "; ", "  ", "_"]).join(variant))
        texts += [None, "", "   ", "!!!", texts[0], (texts[0] or "").upper() + "."]
        rng.shuffle(texts)
        for similarity in (0.6, 0.75, 0.9):
            check = _near(similarity, rng.randint(1, 3))
            expected = brute_force(check, [text or "" for text in texts])
            assert duplicate_groups(check, texts) == expected
            assert all(texts[i] for group in expected for i in group)


def test_normalise_keeps_the_words_one_space_apart() -> None:
    """Case, punctuation, underscores and any spacing go; the words stay in
    order with one space between them (letters and digits of any script)."""
    assert normalise("  A woman__IN a Hat!!\u2028 (30s)\u3000 Ünïcode ") == (
        "a woman in a hat 30s ünïcode"
    )
    assert normalise("_-_ ,. ") == ""


def test_normalise_ascii_path_is_the_pattern_path() -> None:
    """ASCII text is normalised on its bytes (a translation table): the same
    string as the pattern over the lower-cased text, on random strings of
    every ASCII character (controls, punctuation, underscores, digits)."""
    rng = random.Random(3)
    pattern = re.compile(r"[^\W_]+")
    alphabet = [chr(code) for code in range(128)] + list("aZ9 _")
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert normalise(text) == " ".join(pattern.findall(text.lower())), repr(text)


def test_each_pair_meets_with_its_shorter_caption_in_the_shorter_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every pair that reaches the threshold lies in a bucket where its shorter
    caption (both, when as long) is flagged in its shorter role, and each
    bucket comes shortest first: the pair loop opens pairs only from such
    members. Tiny buckets force the deep splits."""
    monkeypatch.setattr(caption_duplicates, "_SMALL_BUCKET", 2)
    rng = random.Random(8)
    vocabulary = [f"w{n}" for n in range(30)]
    base = [rng.choice(vocabulary) for _ in range(20)]
    texts = []
    for _ in range(120):
        words = list(base)
        for _ in range(rng.randint(0, 3)):
            spot = rng.randrange(len(words))
            if rng.random() < 0.4:
                words[spot] = rng.choice(vocabulary)
            elif rng.random() < 0.5:
                del words[spot]
            else:
                words.insert(spot, rng.choice(vocabulary))
        texts.append(words)
    ranks = caption_duplicates._ranked([caption_duplicates._counted(w) for w in texts])
    for threshold in (0.8, 0.9, 0.95):
        met: set[tuple[int, int]] = set()
        for ids, shorts, spans in caption_duplicates._buckets(ranks, threshold):
            for first, end in spans:
                members, short = ids[first:end], shorts[first:end]
                sizes = [len(ranks[m]) for m in members]
                assert len(members) >= 2 and sizes == sorted(sizes)
                for p, i in enumerate(members):
                    for q in range(p + 1, len(members)):
                        if short[p] and (short[q] or sizes[q] > sizes[p]):
                            met.add((min(i, members[q]), max(i, members[q])))
        pairs = [
            (i, j)
            for i in range(len(texts))
            for j in range(i + 1, len(texts))
            if _linked(texts[i], texts[j], threshold)
        ]
        assert len(pairs) > 20
        assert all(pair in met for pair in pairs), threshold
