"""The maximum-entropy distribution over marginal-query cliques, as a Markov network.

The distribution is ``p(x) ∝ exp(Σ_k θ_k t_k(x))``. Its features ``t_k`` are the
*canonical* indicators: for every non-empty subset S of a query's columns and every
value combination v of S in which no column takes its reference value,
``t(x) = 1[x_S = v]``. These span the same functions as the indicators of all query
cells, minus the constants, and are linearly independent, so θ is identifiable and
its posterior is proper. A parameter is a log odds ratio against the reference
values.

The log-partition function is computed by upward message passing on a junction
tree. Every clique table is one slice of a flat vector and every message one slice
of another, and a round computes all messages at once with segment sums over static
index arrays. ``height`` rounds make all messages exact, so the compiled program has
the same size for any number of cliques. Marginals are gradients of the
log-partition function with respect to the clique tables.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import NamedTuple

import attrs
import numpy as np

from twinify_napsu.junction_tree import JunctionTree, build_junction_tree


@attrs.frozen(eq=False)
class MarkovNetwork:
    """The structure of a maximum-entropy distribution: variables, features, tree.

    Attributes:
        sizes: Number of values of each variable.
        references: Reference value of each variable. Features never use it, so it
            has no parameters of its own.
        queries: The measured marginals, as sorted variable indices. Their cells,
            each query's table raveled in C order, make up the full measurement
            vector.
        subsets: Variable subsets that carry canonical parameters, in parameter order.
        tree: The junction tree used for inference.
        arrays: Index arrays for the compiled functions (see :func:`build_network`).
    """

    sizes: tuple[int, ...]
    references: tuple[int, ...]
    queries: tuple[tuple[int, ...], ...]
    subsets: tuple[tuple[int, ...], ...]
    tree: JunctionTree
    arrays: dict[str, np.ndarray]

    @property
    def num_parameters(self) -> int:
        """Return the number of canonical parameters."""
        return int(self.arrays["num_parameters"])

    @property
    def num_cells(self) -> int:
        """Return the number of cells in all measured marginals together."""
        return int(self.arrays["query_offsets"][-1])

    def query_slice(self, index: int) -> slice:
        """Return where query ``index``'s cells lie in the full measurement vector."""
        offsets = self.arrays["query_offsets"]
        return slice(int(offsets[index]), int(offsets[index + 1]))

    @functools.cached_property
    def functions(self) -> NetworkFunctions:
        """Return the compiled inference functions of this network."""
        return NetworkFunctions(self)


def build_network(
    sizes: Sequence[int], references: Sequence[int], queries: Sequence[Sequence[int]]
) -> MarkovNetwork:
    """Lay out the features, junction tree and index arrays for ``queries``."""
    sizes = tuple(int(size) for size in sizes)
    queries = tuple(tuple(sorted(int(v) for v in query)) for query in queries)
    subsets = _canonical_subsets(queries, sizes)
    tree = build_junction_tree(queries, sizes)
    arrays = _index_arrays(sizes, tuple(references), queries, subsets, tree)
    return MarkovNetwork(
        sizes=sizes,
        references=tuple(int(r) for r in references),
        queries=queries,
        subsets=subsets,
        tree=tree,
        arrays=arrays,
    )


def _canonical_subsets(
    queries: Sequence[tuple[int, ...]], sizes: Sequence[int]
) -> tuple[tuple[int, ...], ...]:
    closure = set()
    for query in queries:
        for length in range(1, len(query) + 1):
            closure.update(itertools.combinations(query, length))
    # A variable with one value has no non-reference value, so its subsets have no features.
    kept = [subset for subset in closure if all(sizes[v] > 1 for v in subset)]
    return tuple(sorted(kept, key=lambda subset: (len(subset), subset)))


def _clique_values(clique: Sequence[int], sizes: Sequence[int]) -> np.ndarray:
    """Return every value combination of ``clique``, one row each, in C order."""
    shape = [sizes[v] for v in clique]
    return np.indices(shape).reshape(len(shape), -1).T


def ravel(values: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Return the flat C-order index of each row of ``values`` in a table of ``shape``."""
    if len(shape) == 0:
        return np.zeros(values.shape[0], dtype=np.int64)
    return np.ravel_multi_index(tuple(values.T), tuple(shape)).astype(np.int64)


def _index_arrays(
    sizes: tuple[int, ...],
    references: tuple[int, ...],
    queries: tuple[tuple[int, ...], ...],
    subsets: tuple[tuple[int, ...], ...],
    tree: JunctionTree,
) -> dict[str, np.ndarray]:
    subset_sizes = [int(np.prod([sizes[v] - 1 for v in subset])) for subset in subsets]
    subset_offsets = _offsets(subset_sizes)
    num_parameters = int(subset_offsets[-1])
    clique_values = [_clique_values(clique, sizes) for clique in tree.cliques]
    clique_offsets = _offsets([len(values) for values in clique_values])

    potential_index = _potential_index(
        sizes, references, subsets, subset_offsets, num_parameters, tree, clique_values
    )
    messages = _message_arrays(sizes, tree, clique_values, clique_offsets)
    measured = _query_arrays(sizes, queries, tree, clique_values, clique_offsets)
    query_sizes = np.diff(measured["query_offsets"]).tolist()
    projection = _projection_arrays(
        sizes, references, queries, subsets, subset_offsets, query_sizes
    )
    root = tree.root
    return {
        **messages,
        **measured,
        **projection,
        "num_parameters": np.asarray(num_parameters),
        "subset_offsets": subset_offsets,
        "clique_offsets": clique_offsets,
        "potential_index": potential_index,
        "root_entries": np.arange(clique_offsets[root], clique_offsets[root + 1], dtype=np.int64),
    }


def _offsets(lengths: Sequence[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _message_arrays(
    sizes: tuple[int, ...],
    tree: JunctionTree,
    clique_values: list[np.ndarray],
    clique_offsets: np.ndarray,
) -> dict[str, np.ndarray]:
    """Return where each clique entry sends its upward message and receives its children's.

    Every non-root clique owns one slot per value combination of its separator. A
    root entry sends to slot ``num_slots``, which the message rounds drop.
    """
    separator_sizes = [
        int(np.prod([sizes[v] for v in tree.separator(c)])) for c in range(len(tree.cliques))
    ]
    separator_offsets = _offsets(separator_sizes)
    num_slots = int(separator_offsets[-1])

    upward_slot, incoming_entry, incoming_slot = [], [], []
    for clique, values in enumerate(clique_values):
        parent = tree.parents[clique]
        if parent < 0:
            upward_slot.append(np.full(len(values), num_slots, dtype=np.int64))
            continue
        separator = tree.separator(clique)
        shape = [sizes[v] for v in separator]
        positions = [tree.cliques[clique].index(v) for v in separator]
        upward_slot.append(separator_offsets[clique] + ravel(values[:, positions], shape))

        parent_positions = [tree.cliques[parent].index(v) for v in separator]
        parent_values = clique_values[parent]
        incoming_entry.append(clique_offsets[parent] + np.arange(len(parent_values)))
        incoming_slot.append(
            separator_offsets[clique] + ravel(parent_values[:, parent_positions], shape)
        )

    empty = np.zeros(0, dtype=np.int64)
    return {
        "num_slots": np.asarray(num_slots),
        "upward_slot": np.concatenate(upward_slot),
        "incoming_entry": np.concatenate(incoming_entry) if incoming_entry else empty,
        "incoming_slot": np.concatenate(incoming_slot) if incoming_slot else empty,
    }


def _query_arrays(
    sizes: tuple[int, ...],
    queries: tuple[tuple[int, ...], ...],
    tree: JunctionTree,
    clique_values: list[np.ndarray],
    clique_offsets: np.ndarray,
) -> dict[str, np.ndarray]:
    """Return, for each measured cell, the clique entries whose probabilities sum to it."""
    query_entry, query_cell, query_sizes = [], [], []
    for query in queries:
        clique = tree.containing(query)
        positions = [tree.cliques[clique].index(v) for v in query]
        shape = [sizes[v] for v in query]
        query_entry.append(clique_offsets[clique] + np.arange(len(clique_values[clique])))
        query_cell.append(sum(query_sizes) + ravel(clique_values[clique][:, positions], shape))
        query_sizes.append(int(np.prod(shape)))
    return {
        "query_offsets": _offsets(query_sizes),
        "query_entry": np.concatenate(query_entry),
        "query_cell": np.concatenate(query_cell),
    }


def _projection_arrays(
    sizes: tuple[int, ...],
    references: tuple[int, ...],
    queries: tuple[tuple[int, ...], ...],
    subsets: tuple[tuple[int, ...], ...],
    subset_offsets: np.ndarray,
    query_sizes: list[int],
) -> dict[str, np.ndarray]:
    """Return the sparse map from a function on the measured cells to canonical coefficients.

    A function g(x) = Σ_q g_q(x_q) over the query tables has, for subset S and
    non-reference values v, the coefficient Σ over queries q ⊇ S and subsets T ⊆ S
    of (-1)^|S∖T| g_q(x_T = v_T, all other columns of q at their reference values)
    (Möbius inversion; queries not containing S cancel out). Applied to the gradient
    with respect to the cell probabilities, this gives the mirror-descent step.
    """
    query_offsets = _offsets(query_sizes)
    parameter_index, cell_index, signs = [], [], []
    for subset_index, subset in enumerate(subsets):
        shape = [sizes[v] - 1 for v in subset]
        codes = np.indices(shape).reshape(len(shape), -1).T
        reference = np.asarray([references[v] for v in subset])
        values = codes + (codes >= reference)
        parameters = subset_offsets[subset_index] + np.arange(len(codes))
        for query_index, query in enumerate(queries):
            if not set(subset) <= set(query):
                continue
            for length in range(len(subset) + 1):
                for kept in itertools.combinations(range(len(subset)), length):
                    cell = np.tile([references[v] for v in query], (len(codes), 1))
                    for position in kept:
                        cell[:, query.index(subset[position])] = values[:, position]
                    parameter_index.append(parameters)
                    cell_index.append(
                        query_offsets[query_index] + ravel(cell, [sizes[v] for v in query])
                    )
                    signs.append(np.full(len(codes), (-1.0) ** (len(subset) - length)))
    if not parameter_index:
        empty = np.zeros(0, dtype=np.int64)
        return {
            "projection_parameter": empty,
            "projection_cell": empty,
            "projection_sign": np.zeros(0),
        }
    return {
        "projection_parameter": np.concatenate(parameter_index),
        "projection_cell": np.concatenate(cell_index),
        "projection_sign": np.concatenate(signs),
    }


def _potential_index(
    sizes: tuple[int, ...],
    references: tuple[int, ...],
    subsets: tuple[tuple[int, ...], ...],
    subset_offsets: np.ndarray,
    num_parameters: int,
    tree: JunctionTree,
    clique_values: list[np.ndarray],
) -> np.ndarray:
    """Return, per clique entry, the parameters summed into its log-potential.

    Each subset's parameters go into the first clique containing it. Index
    ``num_parameters`` points at a constant zero. It pads the rows and marks value
    combinations that include a reference value.
    """
    assigned: list[list[int]] = [[] for _ in tree.cliques]
    for index, subset in enumerate(subsets):
        assigned[tree.containing(subset)].append(index)
    width = max(1, max(len(items) for items in assigned))

    columns = []
    for clique, values in enumerate(clique_values):
        block = np.full((len(values), width), num_parameters, dtype=np.int64)
        for column, subset_index in enumerate(assigned[clique]):
            subset = subsets[subset_index]
            positions = [tree.cliques[clique].index(v) for v in subset]
            picked = values[:, positions]
            reference = np.asarray([references[v] for v in subset])
            at_reference = np.any(picked == reference, axis=1)
            # Number the non-reference values 0..k-2 by skipping the reference value.
            codes = picked - (picked > reference)
            shape = [sizes[v] - 1 for v in subset]
            index = subset_offsets[subset_index] + ravel(
                np.where(at_reference[:, None], 0, codes), shape
            )
            block[:, column] = np.where(at_reference, num_parameters, index)
        columns.append(block)
    return np.concatenate(columns, axis=0)


# --------------------------------------------------------------------------------------
# JAX functions of θ
#
# They take the index arrays as arguments (``NetworkFunctions.arrays``) and the sizes
# as a static, hashable ``NetworkStatic``, so that compiled programs stay small and
# compilation time depends on array shapes only.


class NetworkStatic(NamedTuple):
    """Sizes that fix the shapes of the compiled programs."""

    rounds: int
    num_slots: int
    num_cells: int
    num_parameters: int


class NetworkFunctions:
    """Compiled log-partition and marginal functions of one network."""

    def __init__(self, network: MarkovNetwork) -> None:
        import jax.numpy as jnp

        keys = (
            "potential_index",
            "upward_slot",
            "incoming_entry",
            "incoming_slot",
            "root_entries",
            "query_entry",
            "query_cell",
            "projection_parameter",
            "projection_cell",
            "projection_sign",
        )
        self.arrays = {key: jnp.asarray(network.arrays[key]) for key in keys}
        self.static = NetworkStatic(
            rounds=network.tree.height,
            num_slots=int(network.arrays["num_slots"]),
            num_cells=network.num_cells,
            num_parameters=network.num_parameters,
        )
        self._compiled = _compiled_functions()

    def log_partition(self, theta):
        """Return log Z(θ)."""
        return self._compiled["log_partition"](theta, self.arrays, self.static)

    def clique_marginals(self, theta):
        """Return the marginal probability of every clique entry (flat)."""
        return self._compiled["clique_marginals"](theta, self.arrays, self.static)

    def query_marginals(self, theta):
        """Return the probability of every measured cell, in measurement order."""
        return self._compiled["query_marginals"](theta, self.arrays, self.static)

    def mean_statistics(self, theta):
        """Return the expected canonical features E[t(x)] (the gradient of log Z)."""
        return self._compiled["mean_statistics"](theta, self.arrays, self.static)


@functools.cache
def _compiled_functions() -> dict:
    """Return the jitted functions, shared by all networks so that equal shapes reuse programs."""
    import jax

    return {
        "log_partition": jax.jit(log_partition, static_argnums=2),
        "clique_marginals": jax.jit(clique_marginals, static_argnums=2),
        "query_marginals": jax.jit(query_marginals, static_argnums=2),
        "mean_statistics": jax.jit(jax.grad(log_partition), static_argnums=2),
    }


def _segment_logsumexp(values, segments, num_segments):
    import jax
    import jax.numpy as jnp

    maximum = jax.ops.segment_max(values, segments, num_segments)
    maximum = jax.lax.stop_gradient(jnp.where(jnp.isfinite(maximum), maximum, 0.0))
    total = jax.ops.segment_sum(jnp.exp(values - maximum[segments]), segments, num_segments)
    return maximum + jnp.log(total)


def potentials(theta, arrays):
    """Return the log-potential of every clique entry."""
    import jax.numpy as jnp

    padded = jnp.concatenate([theta, jnp.zeros(1, dtype=theta.dtype)])
    return padded[arrays["potential_index"]].sum(axis=1)


def log_partition_of_potentials(entry_potentials, arrays, static: NetworkStatic):
    """Return log Z for given clique log-potentials, by ``static.rounds`` upward rounds."""
    import jax
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    num_entries = entry_potentials.shape[0]

    def beliefs(messages):
        incoming = jax.ops.segment_sum(
            messages[arrays["incoming_slot"]], arrays["incoming_entry"], num_entries
        )
        return entry_potentials + incoming

    def one_round(_, messages):
        # Root entries go to an extra slot that is dropped.
        upward = _segment_logsumexp(beliefs(messages), arrays["upward_slot"], static.num_slots + 1)
        return upward[: static.num_slots]

    initial = jnp.zeros(static.num_slots, dtype=entry_potentials.dtype)
    messages = jax.lax.fori_loop(0, static.rounds, one_round, initial)
    return logsumexp(beliefs(messages)[arrays["root_entries"]])


def log_partition(theta, arrays, static: NetworkStatic):
    """Return log Z(θ)."""
    return log_partition_of_potentials(potentials(theta, arrays), arrays, static)


def clique_marginals(theta, arrays, static: NetworkStatic):
    """Return clique marginals as the gradient of log Z with respect to the potentials."""
    import jax

    return jax.grad(log_partition_of_potentials)(potentials(theta, arrays), arrays, static)


def project_to_parameters(cell_values, arrays, static: NetworkStatic):
    """Return the canonical coefficients of the function with values ``cell_values`` on the cells."""
    import jax

    terms = arrays["projection_sign"] * cell_values[arrays["projection_cell"]]
    return jax.ops.segment_sum(terms, arrays["projection_parameter"], static.num_parameters)


def query_marginals(theta, arrays, static: NetworkStatic):
    """Return the probability of every measured cell, in measurement order."""
    import jax

    marginals = clique_marginals(theta, arrays, static)
    return jax.ops.segment_sum(
        marginals[arrays["query_entry"]], arrays["query_cell"], static.num_cells
    )


def cell_marginals_with_offsets(theta, offsets, arrays, static: NetworkStatic):
    """Return the cell probabilities after adding ``offsets`` to the log-potential of every cell.

    Its Jacobian with respect to ``offsets`` at zero is the covariance of the cell
    indicators for one row.
    """
    import jax

    num_entries = arrays["potential_index"].shape[0]
    entry_potentials = potentials(theta, arrays) + jax.ops.segment_sum(
        offsets[arrays["query_cell"]], arrays["query_entry"], num_entries
    )
    clique_probabilities = jax.grad(log_partition_of_potentials)(entry_potentials, arrays, static)
    return jax.ops.segment_sum(
        clique_probabilities[arrays["query_entry"]], arrays["query_cell"], static.num_cells
    )
