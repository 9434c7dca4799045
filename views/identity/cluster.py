"""Connected components with constraints: greedy union-find over edges, strongest first.

An edge joins two clusters unless that would put two different tax ids, or the two sides
of a steward's cannot_link, into one cluster; such edges are refused and reported, so the
pairs table can say why a link that looked right was not made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class ConstrainedUnionFind:
    """Union-find over record indexes ``0..n-1``; ``tax_ids[i]`` is None or a tax id."""

    def __init__(self, n: int, tax_ids: Sequence[str | None]) -> None:
        self.parent = np.arange(n, dtype=np.int64)
        self._size = np.ones(n, dtype=np.int64)
        # Per root: its tax ids and the records it must never join (cannot_link).
        self.taxes: dict[int, frozenset[str]] = {
            i: frozenset((t,)) for i, t in enumerate(tax_ids) if t}
        self.forbidden: dict[int, set[int]] = {}

    def find(self, i: int) -> int:
        parent = self.parent
        root = i
        while parent[root] != root:
            root = int(parent[root])
        while parent[i] != root:  # path compression
            parent[i], i = root, int(parent[i])
        return root

    def forbid(self, a: int, b: int) -> None:
        self.forbidden.setdefault(self.find(a), set()).add(b)
        self.forbidden.setdefault(self.find(b), set()).add(a)

    def conflict(self, a: int, b: int) -> str | None:
        """Why ``a`` and ``b`` may not be joined, or None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        ta, tb = self.taxes.get(ra), self.taxes.get(rb)
        if ta and tb and ta != tb:
            return f"different tax ids ({', '.join(sorted(ta))} vs {', '.join(sorted(tb))})"
        for x, y in ((ra, rb), (rb, ra)):
            for other in self.forbidden.get(x, ()):
                if self.find(other) == y:
                    return "a steward's cannot_link separates the two clusters"
        return None

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self._size[ra] += self._size[rb]
        if rb in self.taxes:
            self.taxes[ra] = self.taxes.get(ra, frozenset()) | self.taxes.pop(rb)
        if rb in self.forbidden:
            self.forbidden.setdefault(ra, set()).update(self.forbidden.pop(rb))

    def roots(self) -> np.ndarray:
        return np.fromiter((self.find(i) for i in range(len(self.parent))), np.int64,
                           count=len(self.parent))


def constrained_components(
    n: int,
    tax_ids: Sequence[str | None],
    must: Iterable[tuple[int, int]],
    cannot: Iterable[tuple[int, int]],
    edges: Iterable[tuple[int, int]],
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Cluster roots per record, and (edge index, reason) for every refused edge.

    Steward must_links are applied first and always (a steward may knowingly join two tax
    ids); then ``edges`` in the order given (strongest first), each only if it breaks no
    constraint.
    """
    uf = ConstrainedUnionFind(n, tax_ids)
    for a, b in cannot:
        uf.forbid(a, b)
    for a, b in must:
        reason = uf.conflict(a, b)
        if reason is not None and "cannot_link" in reason:
            raise ValueError(f"must_link ({a}, {b}) contradicts a cannot_link")
        uf.union(a, b)
    refused: list[tuple[int, str]] = []
    for k, (a, b) in enumerate(edges):
        reason = uf.conflict(a, b)
        if reason is None:
            uf.union(a, b)
        elif uf.find(a) != uf.find(b):
            refused.append((k, reason))
    return uf.roots(), refused
