"""Shared helpers for the NAPSU-MQ tests: small networks, brute force, sampling."""

from __future__ import annotations

import itertools

import numpy as np


def brute_force_distribution(network, theta) -> tuple[np.ndarray, np.ndarray]:
    """Return every joint value combination and its probability, by enumeration."""
    sizes = network.sizes
    values = np.array(list(itertools.product(*[range(size) for size in sizes])))
    features = canonical_features(network, values)
    logits = features @ np.asarray(theta)
    probabilities = np.exp(logits - logits.max())
    return values, probabilities / probabilities.sum()


def canonical_features(network, values: np.ndarray) -> np.ndarray:
    """Return the canonical indicator features of each row of ``values``."""
    offsets = network.arrays["subset_offsets"]
    features = np.zeros((len(values), network.num_parameters))
    for index, subset in enumerate(network.subsets):
        picked = values[:, list(subset)]
        reference = np.asarray([network.references[v] for v in subset])
        active = np.all(picked != reference, axis=1)
        codes = picked - (picked > reference)
        shape = [network.sizes[v] - 1 for v in subset]
        rows = np.flatnonzero(active)
        columns = offsets[index] + np.ravel_multi_index(tuple(codes[rows].T), shape)
        features[rows, columns] = 1.0
    return features


def brute_force_query_marginals(network, theta) -> np.ndarray:
    """Return the measured-cell probabilities by enumeration, in measurement order."""
    values, probabilities = brute_force_distribution(network, theta)
    tables = []
    for query in network.queries:
        shape = [network.sizes[v] for v in query]
        cells = np.ravel_multi_index(tuple(values[:, list(query)].T), shape)
        tables.append(np.bincount(cells, weights=probabilities, minlength=int(np.prod(shape))))
    return np.concatenate(tables)


def sample_from_network(network, theta, num_rows: int, seed: int) -> np.ndarray:
    """Draw rows from the network by enumeration (independent of the junction tree code)."""
    values, probabilities = brute_force_distribution(network, theta)
    generator = np.random.default_rng(seed)
    return values[generator.choice(len(values), size=num_rows, p=probabilities)]
