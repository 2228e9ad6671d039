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
import math
import re
from collections.abc import Iterator, Sequence

from lintcap.engine.spec import DuplicateCaptionsCheck

_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Case, spacing and punctuation (underscores too) removed: what stays
    is the words, in order."""
    return _NOT_WORD.sub(" ", text.lower()).strip()


def duplicate_groups(check: DuplicateCaptionsCheck, texts: Sequence[str | None]) -> list[list[int]]:
    """Indices (into ``texts``) of each group of copies, in order of their
    first member; None stands for an item without a caption."""
    groups: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        key = normalise(text) if text is not None else ""
        if key:
            groups.setdefault(key, []).append(index)
    if check.method == "exact":
        clusters = [members for members in groups.values() if len(members) > 1]
    else:
        clusters = _near_clusters(check, groups)
    return sorted(clusters, key=lambda members: members[0])


def _near_clusters(check: DuplicateCaptionsCheck, groups: dict[str, list[int]]) -> list[list[int]]:
    """Groups of distinct captions linked by pairs at or above the similarity
    (single linkage), each group with two distinct texts at least: a group of
    one text is exact duplicates, C013's finding."""
    texts = [key for key in groups if len(key.split()) >= check.min_words]
    words = [key.split() for key in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    threshold = check.min_similarity
    tokens = [_counted(caption) for caption in words]
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    for i, j in _candidates(tokens, threshold):
        if root(i) == root(j):
            continue
        # difflib's real_quick_ratio and quick_ratio, computed as difflib does
        # (2.0 * M / total) but from the counted words: M is the multiset
        # intersection, one C-level set operation instead of difflib's
        # per-pair dictionaries (most candidate pairs stop here).
        total = len(words[i]) + len(words[j])
        if 2.0 * min(len(words[i]), len(words[j])) / total < threshold:
            continue
        if 2.0 * len(tokens[i].keys() & tokens[j].keys()) / total < threshold:
            continue
        matcher.set_seqs(words[i], words[j])
        if matcher.ratio() >= threshold:
            parent[root(j)] = root(i)
    clusters: dict[int, list[int]] = {}
    for i in range(len(texts)):
        clusters.setdefault(root(i), []).append(i)
    result = []
    for members in clusters.values():
        if len(members) > 1:
            result.append(sorted(item for m in members for item in groups[texts[m]]))
    return result


def _counted(caption: list[str]) -> dict[tuple[str, int], None]:
    """Each word with its occurrence ("a#1", "a#2"), in order: two captions
    share as many of these as difflib's quick_ratio counts in common."""
    seen: dict[str, int] = {}
    own: dict[tuple[str, int], None] = {}
    for word in caption:
        seen[word] = seen.get(word, 0) + 1
        own[(word, seen[word])] = None
    return own


def _candidates(
    tokens: list[dict[tuple[str, int], None]], threshold: float
) -> Iterator[tuple[int, int]]:
    """Pairs that can reach ``threshold``, found without comparing all pairs
    (prefix filtering). difflib's ratio is 2M / (a + b) with M at most the
    words two captions share, so for a caption of ``a`` words and a longer one,
    M >= threshold * a: they must share one of the shorter caption's
    a - ceil(threshold * a) + 1 rarest words. Each word is counted with its
    occurrence ("a#1", "a#2") so that shared counts are multiset counts."""
    holders: dict[tuple[str, int], list[int]] = {}
    for index, own in enumerate(tokens):
        for token in own:
            holders.setdefault(token, []).append(index)
    for i, own in enumerate(tokens):
        size = len(own)
        prefix = size - math.ceil(threshold * size - 1e-9) + 1
        rarest = sorted(own, key=lambda token: (len(holders[token]), token))[:prefix]
        seen_here: set[int] = {i}
        for token in rarest:
            for j in holders[token]:
                if j in seen_here:
                    continue
                seen_here.add(j)
                longer = len(tokens[j])
                # The shorter caption's prefix finds the pair (ties: both do);
                # ratio <= 2a / (a + b): a much longer caption cannot reach it.
                if longer >= size and 2 * size / (size + longer) >= threshold:
                    yield i, j
