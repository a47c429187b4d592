"""The fitted NAPSU-MQ model: posterior draws of a Markov network, and data generation.

A table from :meth:`NapsuModel.generate` draws its rows from the posterior
predictive distribution: each row comes from a posterior draw chosen at random.
:meth:`NapsuModel.generate_datasets` gives one table per posterior draw instead,
for noise-aware analysis with :func:`twinify.rubins_rules`.

Rows are drawn by forward sampling on the junction tree. A model value that
represents several merged rare values is decoded to one of them at random, in
proportion to their clipped noisy one-way counts.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pandas as pd

from twinify.errors import InputError, ModelFileError
from twinify.privacy import PrivacyReport, RandomSource
from twinify.schema import Schema
from twinify.types import SavedState
from twinify_napsu.domain import DiscreteColumn, column_from_schema
from twinify_napsu.markov_network import MarkovNetwork, build_network
from twinify_napsu.sampling import sample_rows
from twinify_napsu.selection import Compression

#: Version of the NAPSU-MQ part of the model file.
SAVED_FORMAT = 1


@attrs.define(eq=False)
class NapsuModel:
    """A fitted NAPSU-MQ model.

    Attributes:
        columns: The modelled columns, in data order.
        compressions: How each column's values map to model values.
        network: The Markov network over the model values.
        draws: Posterior draws of the canonical parameters, one per row.
        point_estimate: The fit of the noisy marginals.
        num_rows: Row count used in the fit (public or estimated).
        privacy_report: The fit's privacy report.
        diagnostics: Optimizer and sampler diagnostics.
    """

    columns: tuple[DiscreteColumn, ...]
    compressions: tuple[Compression, ...]
    network: MarkovNetwork
    draws: np.ndarray
    point_estimate: np.ndarray
    num_rows: float
    privacy_report: PrivacyReport
    diagnostics: dict[str, Any]
    backend: str = "napsu"

    @property
    def schema(self) -> Schema:
        """Return the public schema of the modelled columns."""
        return Schema(tuple(column.schema for column in self.columns))

    @property
    def default_num_rows(self) -> int:
        """Return the row count of the fit, a DP estimate under the add/remove relation."""
        return max(int(round(self.num_rows)), 1)

    @property
    def num_draws(self) -> int:
        """Return the number of posterior draws in the model."""
        return int(self.draws.shape[0])

    def generate(self, num_rows: int, rng: RandomSource) -> pd.DataFrame:
        """Draw ``num_rows`` rows from the posterior predictive distribution."""
        import jax
        from jax.experimental import enable_x64

        with enable_x64():
            assign_key, rows_key, decode_key = jax.random.split(rng.jax_key(), 3)
            chosen = np.asarray(jax.random.randint(assign_key, (num_rows,), 0, self.num_draws))
            # One array of uniforms for all rows keeps one compiled shape.
            uniforms = np.asarray(
                jax.random.uniform(rows_key, (num_rows, len(self.network.tree.cliques)))
            )
            values = np.zeros((num_rows, len(self.columns)), dtype=np.int64)
            for draw in np.unique(chosen):
                rows = np.flatnonzero(chosen == draw)
                values[rows] = self._sample_values(self.draws[draw], uniforms[rows])
            return self._decode(values, decode_key)

    def generate_datasets(
        self, num_rows: int, num_datasets: int, rng: RandomSource
    ) -> list[pd.DataFrame]:
        """Draw ``num_datasets`` tables of ``num_rows`` rows, each from its own posterior draw.

        Raises:
            InputError: more data sets than posterior draws were requested.
        """
        import jax
        from jax.experimental import enable_x64

        if num_datasets > self.num_draws:
            raise InputError(
                f"the model contains {self.num_draws} posterior draws, fewer than the {num_datasets} "
                f"data sets requested; fit again with --num_samples {num_datasets} or more"
            )
        with enable_x64():
            order_key, rows_key, decode_key = jax.random.split(rng.jax_key(), 3)
            picked = np.asarray(jax.random.permutation(order_key, self.num_draws))[:num_datasets]
            row_keys = jax.random.split(rows_key, num_datasets)
            decode_keys = jax.random.split(decode_key, num_datasets)
            shape = (num_rows, len(self.network.tree.cliques))
            datasets = []
            for index, draw in enumerate(picked):
                uniforms = np.asarray(jax.random.uniform(row_keys[index], shape))
                values = self._sample_values(self.draws[draw], uniforms)
                datasets.append(self._decode(values, decode_keys[index]))
            return datasets

    def _sample_values(self, theta: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        marginals = np.asarray(self.network.functions.clique_marginals(theta), dtype=np.float64)
        return sample_rows(self.network, marginals, uniforms)

    def _decode(self, values: np.ndarray, key: Any) -> pd.DataFrame:
        """Turn model values into original codes, then into the columns' values and dtypes."""
        import jax

        uniforms = np.asarray(jax.random.uniform(key, values.shape))
        frame = {}
        for index, (column, compression) in enumerate(zip(self.columns, self.compressions)):
            codes = _expand(compression, values[:, index], uniforms[:, index])
            frame[column.name] = column.decode(codes)
        return pd.DataFrame(frame)

    # ----------------------------------------------------------------------------
    # Saving and loading

    def to_saved(self) -> SavedState:
        """Return the posterior draws and the network layout for the model file."""
        config = {
            "format": SAVED_FORMAT,
            "columns": [column.name for column in self.columns],
            "sizes": list(self.network.sizes),
            "references": list(self.network.references),
            "queries": [list(query) for query in self.network.queries],
            "num_rows": float(self.num_rows),
            "diagnostics": self.diagnostics,
        }
        arrays = {"draws": self.draws, "point_estimate": self.point_estimate}
        for index, compression in enumerate(self.compressions):
            arrays[f"groups_{index}"] = compression.groups
            arrays[f"weights_{index}"] = compression.weights
        return SavedState(config=config, arrays=arrays)


def load_model(
    state: SavedState, schema: Schema, privacy_report: PrivacyReport, registry: Any
) -> NapsuModel:
    """Rebuild a model from the parts of a model file, without running code from the file.

    Raises:
        ModelFileError: the saved parts do not fit together.
    """
    config = state.config
    if config.get("format") != SAVED_FORMAT:
        raise ModelFileError(
            f"the NAPSU-MQ part of the model file has format {config.get('format')!r}, but this "
            f"twinify reads format {SAVED_FORMAT}; fit the model again"
        )
    columns = tuple(column_from_schema(schema[name]) for name in config["columns"])
    compressions = tuple(
        Compression(
            groups=np.asarray(state.arrays[f"groups_{i}"], dtype=np.int64),
            weights=np.asarray(state.arrays[f"weights_{i}"], dtype=np.float64),
        )
        for i in range(len(columns))
    )
    network = build_network(config["sizes"], config["references"], config["queries"])
    draws = np.asarray(state.arrays["draws"], dtype=np.float64)
    _check_shapes(columns, compressions, network, draws)
    return NapsuModel(
        columns=columns,
        compressions=compressions,
        network=network,
        draws=draws,
        point_estimate=np.asarray(state.arrays["point_estimate"], dtype=np.float64),
        num_rows=float(config["num_rows"]),
        privacy_report=privacy_report,
        diagnostics=dict(config.get("diagnostics", {})),
    )


def _check_shapes(columns, compressions, network: MarkovNetwork, draws: np.ndarray) -> None:
    problems = []
    if draws.ndim != 2 or draws.shape[1] != network.num_parameters or draws.shape[0] < 1:
        problems.append(
            f"posterior draws of shape {draws.shape} for {network.num_parameters} parameters"
        )
    for column, compression, size in zip(columns, compressions, network.sizes):
        if len(compression.groups) != column.size or compression.size != size:
            problems.append(
                f"column {column.name!r} has {column.size} values but the file maps them differently"
            )
    if problems:
        raise ModelFileError(f"the model file is inconsistent: {problems[0]}; fit the model again")


def _expand(compression: Compression, values: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Map model values back to original value codes, splitting merged values by weight."""
    size = compression.size
    order = np.argsort(compression.groups, kind="stable")
    grouped = compression.groups[order]
    starts = np.searchsorted(grouped, np.arange(size))
    counts = np.bincount(compression.groups, minlength=size)
    if np.all(counts == 1):
        return order[starts[values]]
    weights = compression.weights[order]
    cumulative = np.zeros_like(weights)
    for group in range(size):
        block = slice(starts[group], starts[group] + counts[group])
        cumulative[block] = np.cumsum(weights[block]) / max(weights[block].sum(), 1e-300)
    picked = np.empty(len(values), dtype=np.int64)
    for group in np.unique(values):
        rows = np.flatnonzero(values == group)
        block = cumulative[starts[group] : starts[group] + counts[group]]
        within = np.minimum(np.searchsorted(block, uniforms[rows], side="right"), counts[group] - 1)
        picked[rows] = order[starts[group] + within]
    return picked
