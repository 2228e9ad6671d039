"""Items joined pair by pair into groups (single linkage): near-duplicate
captions, lines of one sign, lines that read one word. One union-find for
all of them, so that each caller says only which pairs belong together."""

from __future__ import annotations


class DisjointSets:
    """``count`` items, each its own group until :meth:`join` links two."""

    def __init__(self, count: int) -> None:
        self._parent = list(range(count))

    def find(self, item: int) -> int:
        """The representative of ``item``'s group (paths halved on the way,
        so that long chains stay cheap)."""
        parent = self._parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(self, first: int, second: int) -> None:
        self._parent[self.find(second)] = self.find(first)

    def same(self, first: int, second: int) -> bool:
        return self.find(first) == self.find(second)

    def groups(self) -> list[list[int]]:
        """Every group, its members ascending, in the order of their first
        member (groups of one included)."""
        found: dict[int, list[int]] = {}
        for item in range(len(self._parent)):
            found.setdefault(self.find(item), []).append(item)
        return list(found.values())
