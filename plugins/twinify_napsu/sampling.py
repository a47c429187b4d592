"""Drawing rows and count tables from a Markov network by forward sampling.

Both walk the junction tree from the root: the root clique is drawn from its
marginal, and every other clique from its conditional given the separator it shares
with its parent.
"""

from __future__ import annotations

import numpy as np

from twinify_napsu.markov_network import MarkovNetwork, ravel


def sample_rows(
    network: MarkovNetwork, clique_marginals: np.ndarray, uniforms: np.ndarray
) -> np.ndarray:
    """Draw rows by forward sampling on the junction tree.

    Args:
        network: The network.
        clique_marginals: Flat clique marginals from ``functions.clique_marginals``.
        uniforms: Uniform numbers in [0, 1) of shape (rows, cliques); row i uses
            row i, clique c uses column c.

    Returns:
        Integer array (rows, variables) of values.
    """
    tree = network.tree
    sizes = network.sizes
    offsets = network.arrays["clique_offsets"]
    num_rows = uniforms.shape[0]
    values = np.zeros((num_rows, len(sizes)), dtype=np.int64)

    for clique in tree.order:
        variables = tree.cliques[clique]
        separator = tree.separator(clique)
        new = [v for v in variables if v not in separator]
        table = np.asarray(
            clique_marginals[offsets[clique] : offsets[clique + 1]], dtype=np.float64
        )
        table = np.clip(table, 0.0, None).reshape([sizes[v] for v in variables])
        axes = [variables.index(v) for v in separator] + [variables.index(v) for v in new]
        new_shape = [sizes[v] for v in new]
        conditional = np.transpose(table, axes).reshape(-1, int(np.prod(new_shape)))
        given = ravel(values[:, list(separator)], [sizes[v] for v in separator])
        drawn = _draw_rows(conditional, given, uniforms[:, clique])
        values[:, new] = np.stack(np.unravel_index(drawn, new_shape), axis=1)
    return values


def _draw_rows(table: np.ndarray, given: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Draw one column index per row of ``given`` from the row ``table[given]`` (inverse CDF)."""
    cumulative = np.cumsum(normalized_rows(table), axis=1)
    cumulative[:, -1] = 1.0
    # Shifting row r by r makes one increasing array, so one search serves all rows.
    shifted = (cumulative + np.arange(table.shape[0])[:, None]).ravel()
    position = np.searchsorted(shifted, given + uniforms, side="right")
    drawn = position - given * table.shape[1]
    return np.clip(drawn, 0, table.shape[1] - 1)


def normalized_rows(table: np.ndarray) -> np.ndarray:
    """Return ``table`` with rows scaled to sum to one, and all-zero rows made uniform."""
    totals = table.sum(axis=1, keepdims=True)
    uniform = np.full_like(table, 1.0 / table.shape[1])
    return np.where(totals > 0, table / np.where(totals > 0, totals, 1.0), uniform)


def sample_counts(
    network: MarkovNetwork, clique_marginals: np.ndarray, num_rows: int, generator
) -> np.ndarray:
    """Return the measured-cell counts of ``num_rows`` rows drawn from the network.

    Draws the counts table by table down the junction tree (a multinomial for the
    root, then one per separator value), which costs time in proportion to the
    table sizes rather than to the number of rows.
    """
    tree = network.tree
    sizes = network.sizes
    offsets = network.arrays["clique_offsets"]
    tables: dict[int, np.ndarray] = {}
    for clique in tree.order:
        variables = tree.cliques[clique]
        shape = [sizes[v] for v in variables]
        table = np.clip(clique_marginals[offsets[clique] : offsets[clique + 1]], 0.0, None).reshape(
            shape
        )
        parent = tree.parents[clique]
        if parent < 0:
            flat = table.ravel()
            tables[clique] = generator.multinomial(num_rows, flat / flat.sum()).reshape(shape)
            continue
        separator = tree.separator(clique)
        new = [v for v in variables if v not in separator]
        summed = tuple(i for i, v in enumerate(tree.cliques[parent]) if v not in separator)
        separator_counts = tables[parent].sum(axis=summed).ravel()
        axes = [variables.index(v) for v in separator] + [variables.index(v) for v in new]
        conditional = normalized_rows(np.transpose(table, axes).reshape(len(separator_counts), -1))
        drawn = generator.multinomial(separator_counts, conditional)
        reordered = drawn.reshape([sizes[v] for v in separator] + [sizes[v] for v in new])
        tables[clique] = np.transpose(reordered, np.argsort(axes))
    flat = np.concatenate([tables[c].ravel() for c in range(len(tree.cliques))]).astype(np.float64)
    return np.bincount(
        network.arrays["query_cell"],
        weights=flat[network.arrays["query_entry"]],
        minlength=network.num_cells,
    )
