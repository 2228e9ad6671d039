"""The union-find behind near-duplicate captions, sign blocks and read words."""

from __future__ import annotations

import random

from lintcap.grouping import DisjointSets


def test_groups_are_the_connected_pairs_in_first_member_order() -> None:
    sets = DisjointSets(7)
    for first, second in [(5, 6), (0, 3), (3, 5), (2, 4)]:
        sets.join(first, second)
    assert sets.groups() == [[0, 3, 5, 6], [1], [2, 4]]
    assert sets.same(0, 6) and not sets.same(1, 2)


def test_groups_match_a_search_of_the_pairs() -> None:
    """Against a plain graph search over random pairs: same groups."""
    rng = random.Random(3)
    for _ in range(50):
        count = rng.randint(1, 40)
        pairs = [(rng.randrange(count), rng.randrange(count)) for _ in range(rng.randint(0, 30))]
        sets = DisjointSets(count)
        for first, second in pairs:
            sets.join(first, second)
        neighbours: dict[int, set[int]] = {item: set() for item in range(count)}
        for first, second in pairs:
            neighbours[first].add(second)
            neighbours[second].add(first)
        seen: set[int] = set()
        expected = []
        for item in range(count):
            if item in seen:
                continue
            group, todo = set(), [item]
            while todo:
                current = todo.pop()
                if current not in group:
                    group.add(current)
                    todo.extend(neighbours[current])
            seen |= group
            expected.append(sorted(group))
        assert sets.groups() == expected
