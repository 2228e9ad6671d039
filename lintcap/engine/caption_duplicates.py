"""Captions that say the same thing (C013 exact, C014 near).

A caption repeated over several images teaches the model that those words
mean all of those pictures: whatever differs between them (the pose, the
background, the part shown) is learned as noise, and the repeated words
weigh as many times as they are copied. Template-filled product sets and
auto-captioners that fall back to one sentence produce such copies by the
dozen; images are compared by D002/D003, tags by C009, captions here.

One finding per group of copies, at the group's first caption, naming every
member (``related``), so a user sees the whole group at once.
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence

from lintcap.engine.spec import DuplicateCaptionsCheck
from lintcap.grouping import DisjointSets

#: A word for :func:`normalise`: letters and digits, underscores excluded.
_WORD_CHARS = re.compile(r"[^\W_]+")


#: For ASCII text: A-Z to a-z, every byte but a letter or a digit to a space.
_ASCII_WORDS = (
    bytes(
        (byte | 0x20 if chr(byte).isalpha() else byte) if chr(byte).isalnum() else 0x20
        for byte in range(128)
    )
    + b" " * 128
)


def normalise(text: str) -> str:
    """Case, spacing and punctuation (underscores too) removed: what stays
    is the words, in order, one space apart. (Joining the words found is
    what replacing each run of other characters by a space and stripping
    gave, no word character being a space; ~30 % cheaper.) ASCII text, whose
    word characters are A-Z, a-z and 0-9 and lower-case alike whole or in
    parts, is done on its bytes in C: ~3 times cheaper again."""
    if text.isascii():
        return b" ".join(text.encode().translate(_ASCII_WORDS).split()).decode()
    return " ".join(_WORD_CHARS.findall(text.lower()))


def same_words(texts: Sequence[str | None]) -> dict[str, list[int]]:
    """The indices (into ``texts``) of the captions of each normalised text;
    None stands for an item without a caption."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        key = normalise(text) if text is not None else ""
        if key:
            groups.setdefault(key, []).append(index)
    return groups


def duplicate_groups(
    check: DuplicateCaptionsCheck, texts: Sequence[str | None] | dict[str, list[int]]
) -> list[list[int]]:
    """Indices (into ``texts``) of each group of copies, in order of their
    first member; None stands for an item without a caption. ``texts`` may
    be given grouped already (:func:`same_words`)."""
    groups = texts if isinstance(texts, dict) else same_words(texts)
    if check.method == "exact":
        clusters = [members for members in groups.values() if len(members) > 1]
    else:
        clusters = _near_clusters(check, groups)
    return sorted(clusters, key=lambda members: members[0])


def _near_clusters(check: DuplicateCaptionsCheck, groups: dict[str, list[int]]) -> list[list[int]]:
    """Groups of distinct captions linked by pairs at or above the similarity
    (single linkage), each group with two distinct texts at least: a group of
    one text is exact duplicates, C013's finding."""
    texts, words = [], []
    for key in groups:
        split = key.split()
        if len(split) >= check.min_words:
            texts.append(key)
            words.append(split)
    sets = DisjointSets(len(texts))

    threshold = check.min_similarity
    ranks = _ranked([_counted(caption) for caption in words])
    # Each caption's counted words as bits: the words two share are one AND
    # and a popcount.
    bits = [_bits(own) for own in ranks]
    sizes = [len(own) for own in ranks]
    least = _least_shared(threshold, max(sizes, default=0))
    longest = _longest_partner(least)
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    compared: set[tuple[int, int]] = set()
    for members, short, spans in _buckets(ranks, threshold):
        # Each bucket shortest first: a caption shares at most its own words,
        # so past the longest partner it can reach, every later one is longer
        # still. Only a member in its shorter role (``short``) opens a pair:
        # the shorter caption of a pair always is.
        for first, end in spans:
            for position in range(first, end - 1):
                if not short[position]:
                    continue
                i = members[position]
                bits_i = bits[i]
                size_i = sizes[i]
                limit = longest[size_i]
                for j in members[position + 1 : end]:
                    size_j = sizes[j]
                    if size_j > limit:
                        break
                    # difflib's ratio is at most its quick_ratio, 2.0 * M / total
                    # with M the words the two share as a multiset.
                    if (bits_i & bits[j]).bit_count() < least[size_i + size_j]:
                        continue
                    pair = (i, j) if i < j else (j, i)
                    if pair in compared or sets.same(i, j):
                        continue
                    compared.add(pair)
                    if _similar(matcher, words[pair[0]], words[pair[1]], threshold):
                        sets.join(i, j)
    result = []
    for members in sets.groups():
        if len(members) > 1:
            result.append(sorted(item for m in members for item in groups[texts[m]]))
    return result


def _similar(
    matcher: difflib.SequenceMatcher[str], first: list[str], second: list[str], threshold: float
) -> bool:
    """difflib's ratio at or above ``threshold``, the shorter caption first;
    of two as long, either way round (difflib's ratio is not symmetric: its
    longest-match ties are broken by position)."""
    if len(second) < len(first):
        first, second = second, first
    matcher.set_seqs(first, second)
    if matcher.ratio() >= threshold:
        return True
    if len(first) != len(second):
        return False
    matcher.set_seqs(second, first)
    return matcher.ratio() >= threshold


def _counted(caption: list[str]) -> list[str]:
    """Each word with its occurrence ("a", "a#2", ...), in no particular
    order: two captions share as many of these as difflib's quick_ratio
    counts in common. Normalised words hold no "#"."""
    counts = Counter(caption)
    own = list(counts)
    for word, count in counts.items():
        if count > 1:
            own.extend(f"{word}#{n}" for n in range(2, count + 1))
    return own


def _ranked(tokens: list[list[str]]) -> list[list[int]]:
    """Each caption's counted words as ranks in one global order, rarest
    first (ties by the word), each list ascending."""
    holders = Counter(itertools.chain.from_iterable(tokens))
    order = sorted(holders, key=lambda token: (holders[token], token))
    rank = {token: index for index, token in enumerate(order)}
    return [sorted(map(rank.__getitem__, own)) for own in tokens]


def _bits(ranks: list[int]) -> int:
    """The set of ``ranks`` as an integer's bits."""
    data = bytearray((ranks[-1] >> 3) + 1 if ranks else 0)
    for rank in ranks:
        data[rank >> 3] |= 1 << (rank & 7)
    return int.from_bytes(data, "little")


def _least_shared(threshold: float, longest: int) -> list[int]:
    """For each total length a + b, the fewest shared words M for which
    difflib's ``2.0 * M / (a + b) >= threshold`` (its own float arithmetic)."""
    least = [0]
    for total in range(1, 2 * longest + 1):
        shared = max(0, math.floor(threshold * total / 2) - 1)
        while 2.0 * shared / total < threshold:
            shared += 1
        least.append(shared)
    return least


def _longest_partner(least: list[int]) -> list[int]:
    """For each length a, the longest b >= a with a >= ``least[a + b]``: the
    longest caption one of a words can reach (it shares a words at most);
    a - 1 when none can."""
    top = (len(least) - 1) // 2
    longest = []
    partner = -1
    for size in range(top + 1):
        # A partner one caption reaches, a caption one word longer reaches
        # too (least grows by one word at most per word of total), so the
        # walk goes on from the last answer: linear, not quadratic, in the
        # longest caption (one of 32,000 words took 8 CPU s).
        partner = max(partner, size - 1)
        while partner < top and size >= least[size + partner + 1]:
            partner += 1
        longest.append(partner)
    return longest


#: A bucket this small is compared pair by pair rather than split further.
_SMALL_BUCKET = 48
#: Splits at most this deep; a deeper bucket is compared pair by pair.
_MAX_DEPTH = 8


#: The word table is at least this wide, and at most as wide as twice the
#: median caption over the shortest partner ratio (see :func:`_buckets`).
_MIN_TABLE_WIDTH = 64


#: Buckets, several at a time: members (indices into the ranks), for each
#: whether it is there in its shorter role (see :func:`_table_buckets`), and
#: the buckets as (first, end) slices of the two, each shortest first. One
#: batch per bucket split, not one yield per bucket (300,000 of them on
#: bench/captions.py's 100,000 captions).
Buckets = tuple[list[int], list[bool], list[tuple[int, int]]]


def _buckets(ranks: list[list[int]], threshold: float) -> Iterator[Buckets]:
    """:func:`_table_buckets` over captions of about the usual length, and
    again over the long ones with those that can reach them: one caption of
    thousands of words made every row of the padded table that wide (400
    captions and one of 32,000 words: 420 MB and 4.6 CPU s).

    A partner of a caption of ``a`` words has at least t / (2 - t) * a words
    (it shares at most its own words), so every pair with a caption longer
    than the table's width lies among the captions of at least that ratio
    of width + 1 words: the second set, which holds more than half the
    captions only when they are about as long as the longest."""
    if not ranks:
        return
    ratio = threshold / (2 - threshold)
    lengths = sorted(map(len, ranks))
    width = max(_MIN_TABLE_WIDTH, math.ceil(2 * lengths[len(lengths) // 2] / ratio))
    reach = math.floor(ratio * (width + 1)) - 1  # one word short, against float rounding
    tall = [index for index, own in enumerate(ranks) if len(own) >= reach]
    if lengths[-1] <= width or len(tall) == len(ranks):
        yield from _table_buckets(ranks, threshold)
        return
    usual = [index for index, own in enumerate(ranks) if len(own) <= width]
    for members, short, spans in _table_buckets([ranks[index] for index in usual], threshold):
        yield [usual[member] for member in members], short, spans
    for members, short, spans in _buckets([ranks[index] for index in tall], threshold):
        yield [tall[member] for member in members], short, spans


def _table_buckets(ranks: list[list[int]], threshold: float) -> Iterator[Buckets]:
    """Groups of captions such that every pair that can reach ``threshold``
    lies in one group at least (a pair may lie in several), with its shorter
    caption there in its shorter role, found without comparing all pairs.
    Each group comes shortest first.

    Why it is exact (prefix filtering, k-wise): difflib's ratio is 2M / (a + b)
    with M at most the words two captions share (as a multiset), and a partner
    of a caption of ``a`` words has at least t / (2 - t) * a words, so the pair
    needs M >= need = ceil(t / (2 - t) * a): at most ``a - need`` of the
    caption's words (its budget) are missing from the partner. Take the words
    a pair shares, in the global order (rarest first): c1 < c2 < ... Walking
    a caption's words in that order, every word before c1, and between c1 and
    c2, is one the partner lacks, so the walk reaches c1, then c2, ..., having
    skipped no more words than the budget. The whole set is split into buckets
    by the words within each caption's first budget + 1 (c1 among them); a
    large bucket is split again by the next words (a member that skipped s
    words has budget - s left), so each pair lies in the bucket of c1, then
    of (c1, c2), ... Words that every member of a bucket holds are shared by
    each pair in it: they split nothing and are stepped over without cost.
    When such shared words alone may reach a member's need, the pair may
    share nothing further: the members for which they do are yielded there
    as a group of their own. A small or deep bucket is yielded whole.

    The shorter caption of a pair (a <= b) has a tighter budget: M >= t (a + b)
    / 2 >= t * a, so at most a - ceil(t * a) of its words are missing from the
    partner (3 of 33 words at 0.9, against 6 in the longer role). A member
    that skipped no more than that is in a bucket in its shorter role; only
    such a member opens a pair (:func:`_near_clusters`), so a bucket without
    one is dropped, and so are the members before its first one (no longer
    than it: they could only be a pair's shorter caption themselves). Two
    captions of one length are both a pair's shorter caption.

    On template-made captions one rare word is held by a fiftieth of the set;
    two or three such words narrow a bucket to a handful. A level's buckets are
    split with numpy, each as a whole (its members' words as one table): the
    walk in Python cost a microsecond a step, 2.5 million steps on 100,000
    such captions."""
    if not ranks:
        return
    import numpy as np

    size = len(ranks)
    longest = max(map(len, ranks))
    lengths = np.fromiter(map(len, ranks), dtype=np.int32, count=size)
    flat = np.fromiter(
        itertools.chain.from_iterable(ranks), dtype=np.int32, count=int(lengths.sum())
    )
    vocabulary = 1 + int(flat.max(initial=-1))
    # The ranks as one table, each row padded with ``vocabulary`` (no word).
    table = np.full((size, longest), vocabulary, dtype=np.int32)
    table[np.arange(longest) < lengths[:, None]] = flat
    needs = np.ceil(threshold / (2 - threshold) * lengths - 1e-9).astype(np.int32)
    budgets = lengths - needs
    short_budgets = lengths - np.ceil(threshold * lengths - 1e-9).astype(np.int32)
    columns = np.arange(longest)
    # A bucket: its members' captions (shortest first), next positions in
    # their words and words skipped so far, as three arrays. The walk keeps
    # the members' order within each word's bucket (a stable sort by word of
    # the members' words taken member by member).
    everyone = np.argsort(lengths, kind="stable").astype(np.int32)
    level = [(everyone, np.zeros(size, np.int32), np.zeros(size, np.int32))]
    for depth in range(_MAX_DEPTH + 1):
        following = []
        for members, starts, skipped in level:
            short = skipped <= short_budgets[members]
            if (depth and len(members) <= _SMALL_BUCKET) or depth == _MAX_DEPTH:
                yield members.tolist(), short.tolist(), [(0, len(members))]
                continue
            rows = table[members]
            # Words every member holds (a caption holds a counted word once),
            # counted over the bucket's own words, or over the vocabulary when
            # the bucket holds more words than that (no sort of them).
            if rows.size >= vocabulary:
                held = np.bincount(rows.ravel(), minlength=vocabulary + 1)[:vocabulary]
                shared = np.flatnonzero(held == len(members))
            else:
                values, held = np.unique(rows, return_counts=True)
                shared = values[(held == len(members)) & (values < vocabulary)]
            complete = needs[members] <= len(shared)
            chosen = members[complete]
            if len(chosen) > 1 and (complete & short).any():
                yield chosen.tolist(), short[complete].tolist(), [(0, len(chosen))]
            # Each member's words from its next position, shared ones stepped
            # over, as far as its budget left allows (one past it: the walk).
            # The walk takes at most left + 1 words and steps over at most
            # the shared ones: only the columns it can reach are looked at.
            left = np.maximum(budgets[members] - skipped, 0)
            low = int(starts.min())
            high = min(longest, int((starts + left).max()) + 1 + len(shared))
            window = rows[:, low:high]
            open_ = (columns[low:high] >= starts[:, None]) & (window < vocabulary)
            if len(shared):
                stepped = np.zeros(vocabulary + 1, dtype=bool)
                stepped[shared] = True
                open_ &= ~stepped[window]
            order = np.cumsum(open_, axis=1, dtype=np.int32)
            row, column = np.nonzero(open_ & (order <= (left + 1)[:, None]))
            words = window[row, column]
            by_word = np.argsort(words, kind="stable")  # members keep their order
            words = words[by_word]
            row, column = row[by_word], column[by_word]
            ids = members[row]
            new_starts = (column + low + 1).astype(np.int32)
            new_skipped = (skipped[row] + order[row, column] - 1).astype(np.int32)
            new_short = new_skipped <= short_budgets[ids]
            # Each word's bucket from its first member in its shorter role
            # (the members before it are dropped); those of two members or more.
            count = len(words)
            marks = np.where(new_short, np.arange(count), count)
            next_short = np.minimum.accumulate(marks[::-1])[::-1] if count else marks
            ends = np.append(np.flatnonzero(np.diff(words)) + 1, count)
            firsts = np.concatenate(([0], ends[:-1]))
            firsts = next_short[np.minimum(firsts, count - 1)] if count else firsts
            counts = ends - firsts
            # What the next depth would yield whole is yielded now.
            small = (counts >= 2) & ((counts <= _SMALL_BUCKET) | (depth + 1 == _MAX_DEPTH))
            if small.any():
                spans = list(zip(firsts[small].tolist(), ends[small].tolist(), strict=True))
                yield ids.tolist(), new_short.tolist(), spans
            large = (counts >= 2) & ~small
            for first, end in zip(firsts[large].tolist(), ends[large].tolist(), strict=True):
                following.append((ids[first:end], new_starts[first:end], new_skipped[first:end]))
        level = following
        if not level:
            return
