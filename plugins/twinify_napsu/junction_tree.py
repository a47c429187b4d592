"""Junction trees for Markov networks whose factors are marginal-query cliques.

The interaction graph joins every pair of variables that share a query. It is
triangulated by greedy elimination (always eliminating the variable whose
elimination clique has the smallest table), and the maximal cliques of the chordal
graph are joined by a maximum spanning tree over separator sizes, which has the
running-intersection property (Koller and Friedman 2009, "Probabilistic Graphical
Models", Section 10.4). Disconnected parts are joined through empty separators, so
there is always exactly one tree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import attrs

from twinify.errors import InputError

#: Maximum clique table size, in cells. Inference keeps several float64 copies of
#: every clique table, so a larger clique would not fit in memory.
MAX_CLIQUE_CELLS = 20_000_000


@attrs.frozen
class JunctionTree:
    """A rooted junction tree.

    Attributes:
        cliques: Variable indices of each clique, sorted.
        parents: Index of each clique's parent, -1 for the root.
        order: Clique indices with every parent before its children (root first).
        height: Number of edges on the longest path from the root to a leaf; upward
            message passing needs this many rounds.
    """

    cliques: tuple[tuple[int, ...], ...]
    parents: tuple[int, ...]
    order: tuple[int, ...]
    height: int

    @property
    def root(self) -> int:
        """Return the index of the root clique."""
        return self.order[0]

    def separator(self, clique: int) -> tuple[int, ...]:
        """Return the variables ``clique`` shares with its parent (empty for the root)."""
        parent = self.parents[clique]
        if parent < 0:
            return ()
        return tuple(sorted(set(self.cliques[clique]) & set(self.cliques[parent])))

    def children(self, clique: int) -> list[int]:
        """Return the children of ``clique``."""
        return [child for child, parent in enumerate(self.parents) if parent == clique]

    def containing(self, variables: Sequence[int]) -> int:
        """Return the first clique that contains all of ``variables``."""
        wanted = set(variables)
        for index, clique in enumerate(self.cliques):
            if wanted <= set(clique):
                return index
        raise KeyError(tuple(variables))


def build_junction_tree(queries: Sequence[Sequence[int]], sizes: Sequence[int]) -> JunctionTree:
    """Build a junction tree covering every query clique over variables ``0..len(sizes)-1``.

    Raises:
        InputError: the triangulated graph has a clique table above
            :data:`MAX_CLIQUE_CELLS` cells.
    """
    cliques = _triangulated_cliques(queries, sizes)
    largest = max(cliques, key=lambda clique: _cells(clique, sizes))
    if _cells(largest, sizes) > MAX_CLIQUE_CELLS:
        raise InputError(
            f"the marginal queries connect the variables into a clique of {len(largest)} columns "
            f"with {_cells(largest, sizes):.3g} cells, above the limit of {MAX_CLIQUE_CELLS:.3g}; "
            "use fewer or smaller queries, or bin large columns in the schema"
        )
    edges = _maximum_spanning_tree(cliques)
    return _rooted_tree(cliques, edges)


def _cells(variables: Sequence[int], sizes: Sequence[int]) -> int:
    return math.prod(sizes[variable] for variable in variables)


def _triangulated_cliques(
    queries: Sequence[Sequence[int]], sizes: Sequence[int]
) -> list[tuple[int, ...]]:
    neighbours: dict[int, set[int]] = {variable: set() for variable in range(len(sizes))}
    for query in queries:
        for first, second in itertools.combinations(query, 2):
            neighbours[first].add(second)
            neighbours[second].add(first)

    remaining = set(neighbours)
    elimination_cliques: list[frozenset[int]] = []
    while remaining:

        def elimination_cost(candidate: int) -> tuple[int, int]:
            return _cells((neighbours[candidate] & remaining) | {candidate}, sizes), candidate

        variable = min(remaining, key=elimination_cost)
        adjacent = neighbours[variable] & remaining
        elimination_cliques.append(frozenset(adjacent | {variable}))
        for first, second in itertools.combinations(adjacent, 2):
            neighbours[first].add(second)
            neighbours[second].add(first)
        remaining.remove(variable)

    maximal = []
    for clique in elimination_cliques:
        if not any(clique < other for other in elimination_cliques) and clique not in maximal:
            maximal.append(clique)
    return [tuple(sorted(clique)) for clique in maximal]


def _maximum_spanning_tree(cliques: list[tuple[int, ...]]) -> list[tuple[int, int]]:
    """Return the edges of a maximum spanning tree over separator sizes (Kruskal)."""
    candidates = sorted(
        itertools.combinations(range(len(cliques)), 2),
        key=lambda pair: (-len(set(cliques[pair[0]]) & set(cliques[pair[1]])), pair),
    )
    component = list(range(len(cliques)))

    def find(index: int) -> int:
        while component[index] != index:
            component[index] = component[component[index]]
            index = component[index]
        return index

    edges = []
    for first, second in candidates:
        first_root, second_root = find(first), find(second)
        if first_root != second_root:
            component[first_root] = second_root
            edges.append((first, second))
    return edges


def _rooted_tree(cliques: list[tuple[int, ...]], edges: list[tuple[int, int]]) -> JunctionTree:
    adjacent: dict[int, list[int]] = {index: [] for index in range(len(cliques))}
    for first, second in edges:
        adjacent[first].append(second)
        adjacent[second].append(first)

    # The root is a centre of the tree, which keeps the number of message rounds low.
    root = min(range(len(cliques)), key=lambda index: (_eccentricity(index, adjacent), index))
    parents = [-1] * len(cliques)
    depth = {root: 0}
    order = [root]
    for current in order:
        for neighbour in sorted(adjacent[current]):
            if neighbour not in depth:
                depth[neighbour] = depth[current] + 1
                parents[neighbour] = current
                order.append(neighbour)
    return JunctionTree(
        cliques=tuple(cliques),
        parents=tuple(parents),
        order=tuple(order),
        height=max(depth.values()),
    )


def _eccentricity(start: int, adjacent: dict[int, list[int]]) -> int:
    distance = {start: 0}
    frontier = [start]
    for current in frontier:
        for neighbour in adjacent[current]:
            if neighbour not in distance:
                distance[neighbour] = distance[current] + 1
                frontier.append(neighbour)
    return max(distance.values())
