"""Total variation distances between one-way and two-way marginals of two tables."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from twinify.evaluation.columns import CodedColumn, pairs_of


def total_variation(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """Return the total variation distance ``0.5 * sum |p - q|`` of two distributions.

    Both inputs are normalised first, so counts work as well as probabilities.
    The result lies in [0, 1]: 0 for equal distributions, 1 for disjoint supports.
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.shape != q.shape:
        raise ValueError(f"distributions of different sizes {p.shape} and {q.shape}")
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("a distribution has no mass")
    return float(0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def marginal(codes: np.ndarray, size: int) -> np.ndarray:
    """Return the empirical distribution of integer ``codes`` over ``size`` values."""
    return np.bincount(codes, minlength=size) / codes.size


def joint_marginal(first: np.ndarray, second: np.ndarray, sizes: tuple[int, int]) -> np.ndarray:
    """Return the empirical joint distribution of two code arrays as a matrix."""
    flat = first * sizes[1] + second
    return (np.bincount(flat, minlength=sizes[0] * sizes[1]) / flat.size).reshape(sizes)


def one_way_distances(columns: Sequence[CodedColumn]) -> dict[str, float]:
    """Return the total variation distance of each column's marginal, by column name."""
    distances = {}
    for column in columns:
        size = len(column.labels)
        distances[column.name] = total_variation(
            marginal(column.real_codes, size), marginal(column.synthetic_codes, size)
        )
    return distances


def two_way_distances(columns: Sequence[CodedColumn]) -> list[tuple[str, str, float]]:
    """Return ``(first, second, distance)`` for every pair of columns, in column order."""
    distances = []
    for i, j in pairs_of([column.name for column in columns]):
        first, second = columns[i], columns[j]
        sizes = (len(first.labels), len(second.labels))
        real = joint_marginal(first.real_codes, second.real_codes, sizes)
        synthetic = joint_marginal(first.synthetic_codes, second.synthetic_codes, sizes)
        distances.append((first.name, second.name, total_variation(real.ravel(), synthetic.ravel())))
    return distances


def summarise(values: Sequence[float]) -> dict[str, float | None]:
    """Return the mean and maximum of ``values``, None for an empty sequence."""
    if not values:
        return {"mean": None, "max": None}
    return {"mean": float(np.mean(values)), "max": float(np.max(values))}
