"""The Markov network: junction tree, belief propagation, features, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from napsu_helpers import brute_force_distribution, brute_force_query_marginals, canonical_features

jax = pytest.importorskip("jax")

from jax.experimental import enable_x64  # noqa: E402

from twinify.errors import InputError  # noqa: E402
from twinify_napsu.junction_tree import build_junction_tree  # noqa: E402
from twinify_napsu.markov_network import build_network, project_to_parameters  # noqa: E402
from twinify_napsu.sampling import sample_counts, sample_rows  # noqa: E402

# A chain (a tree), and a graph with a cycle a-b-c-a plus a pendant that needs a
# triangulated clique of three columns.
STRUCTURES = {
    "chain": ((2, 3, 2, 3), (1, 0, 1, 2), [(0,), (1,), (0, 1), (1, 2), (2, 3)]),
    "cycle": (
        (2, 3, 2, 3, 2),
        (0, 1, 0, 2, 1),
        [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (0, 4), (1,)],
    ),
    "three-way": ((3, 2, 2), (0, 0, 1), [(0, 1, 2), (0,), (2,)]),
    "disconnected": ((2, 3, 4), (0, 2, 1), [(0,), (1, 2)]),
}


def _random_theta(network, seed):
    return np.random.default_rng(seed).normal(scale=1.5, size=network.num_parameters)


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_marginals_match_enumeration(name):
    sizes, references, queries = STRUCTURES[name]
    with enable_x64():
        network = build_network(sizes, references, queries)
        theta = _random_theta(network, seed=len(name))
        marginals = np.asarray(network.functions.query_marginals(theta))
        log_partition = float(network.functions.log_partition(theta))
    expected = brute_force_query_marginals(network, theta)
    np.testing.assert_allclose(marginals, expected, atol=1e-12)

    values, _ = brute_force_distribution(network, theta)
    logits = canonical_features(network, values) @ theta
    assert log_partition == pytest.approx(np.log(np.exp(logits).sum()), abs=1e-10)


def test_mean_statistics_match_enumeration():
    sizes, references, queries = STRUCTURES["cycle"]
    with enable_x64():
        network = build_network(sizes, references, queries)
        theta = _random_theta(network, seed=3)
        means = np.asarray(network.functions.mean_statistics(theta))
    values, probabilities = brute_force_distribution(network, theta)
    np.testing.assert_allclose(
        means, canonical_features(network, values).T @ probabilities, atol=1e-12
    )


def test_cycle_is_triangulated():
    sizes, _, queries = STRUCTURES["cycle"]
    tree = build_junction_tree(queries, sizes)
    assert any({0, 1, 2} <= set(clique) for clique in tree.cliques)
    for query in queries:
        assert any(set(query) <= set(clique) for clique in tree.cliques)


def test_tree_has_running_intersection():
    sizes, _, queries = STRUCTURES["cycle"]
    tree = build_junction_tree(queries, sizes)
    for variable in range(len(sizes)):
        holding = {i for i, clique in enumerate(tree.cliques) if variable in clique}
        # The cliques holding a variable must form a connected subtree.
        connected = {min(holding)}
        changed = True
        while changed:
            changed = False
            for clique in holding - connected:
                parent = tree.parents[clique]
                children = {c for c in holding if tree.parents[c] == clique}
                if parent in connected or children & connected:
                    connected.add(clique)
                    changed = True
        assert connected == holding


def test_oversized_clique_rejected():
    with pytest.raises(InputError, match="clique"):
        build_junction_tree([(0, 1, 2, 3)], (1000, 1000, 1000, 1000))


def test_projection_gives_coefficients():
    sizes, references, queries = STRUCTURES["cycle"]
    with enable_x64():
        network = build_network(sizes, references, queries)
        cell_values = np.random.default_rng(0).normal(size=network.num_cells)
        functions = network.functions
        coefficients = np.asarray(
            project_to_parameters(cell_values, functions.arrays, functions.static)
        )
    values, _ = brute_force_distribution(network, np.zeros(network.num_parameters))
    function = np.zeros(len(values))
    for index, query in enumerate(network.queries):
        shape = [sizes[v] for v in query]
        cells = np.ravel_multi_index(tuple(values[:, list(query)].T), shape)
        function += cell_values[network.query_slice(index)][cells]
    difference = function - canonical_features(network, values) @ coefficients
    # The coefficients reproduce the function up to a constant.
    assert np.ptp(difference) < 1e-10


def test_sampled_rows_follow_distribution():
    sizes, references, queries = STRUCTURES["cycle"]
    num_rows = 200_000
    with enable_x64():
        network = build_network(sizes, references, queries)
        theta = _random_theta(network, seed=5)
        marginals = np.asarray(network.functions.clique_marginals(theta))
        uniforms = np.asarray(
            jax.random.uniform(jax.random.PRNGKey(0), (num_rows, len(network.tree.cliques)))
        )
    rows = sample_rows(network, marginals, uniforms)
    values, probabilities = brute_force_distribution(network, theta)
    observed = (
        np.bincount(np.ravel_multi_index(tuple(rows.T), sizes), minlength=len(values)) / num_rows
    )
    # Five binomial standard errors per cell: a false alarm is below 1e-4 per cell.
    tolerance = 5 * np.sqrt(probabilities * (1 - probabilities) / num_rows) + 1e-6
    assert np.all(np.abs(observed - probabilities) <= tolerance)


def test_sampled_counts_follow_distribution():
    sizes, references, queries = STRUCTURES["chain"]
    num_rows, num_draws = 500, 2000
    with enable_x64():
        network = build_network(sizes, references, queries)
        theta = _random_theta(network, seed=7)
        marginals = np.asarray(network.functions.clique_marginals(theta))
        expected = np.asarray(network.functions.query_marginals(theta)) * num_rows
    generator = np.random.default_rng(1)
    counts = np.stack(
        [sample_counts(network, marginals, num_rows, generator) for _ in range(num_draws)]
    )
    for index in range(len(queries)):
        assert counts[:, network.query_slice(index)].sum(axis=1) == pytest.approx(num_rows)
    # The mean must lie within five standard errors. The variance of each cell must
    # lie within 15% of the binomial N p (1 - p), because a variance from 2000 draws
    # has a relative error of about 3%.
    probabilities = expected / num_rows
    binomial = num_rows * probabilities * (1 - probabilities)
    assert np.all(
        np.abs(counts.mean(axis=0) - expected) <= 5 * np.sqrt(binomial / num_draws) + 1e-9
    )
    np.testing.assert_allclose(counts.var(axis=0), binomial, rtol=0.15)
