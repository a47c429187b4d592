"""The fitted DPVI model: generation from the variational posterior, saving and loading.

:meth:`DPVIModel.generate` draws rows from the mixture at the posterior means of
the parameters (plug-in), not at one posterior draw. Under the DP-SGD noise the
posterior standard deviations barely move from where the fit starts them (0.1;
measured median 0.1 on UCI Adult), so a draw adds a perturbation set by that
start rather than by the data. On Adult at ε = 1 the means gave a lower mean
one-way TV distance than a draw in 22 of 25 tuning fits, by 0.007 on average
(docs/benchmarks.md). :meth:`DPVIModel.generate_datasets` still gives each data
set its own posterior draw, so that the data sets show the spread. Both read
only the fitted parameters, so they are post-processing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from twinify.errors import ModelFileError
from twinify.features import Feature, decode_features, feature_entries, rebuild_features
from twinify.mixture import MixtureModel
from twinify.plugin.registry import Registry
from twinify.privacy import PrivacyReport, RandomSource
from twinify.schema import Schema
from twinify.types import SavedState

#: Version of the layout of ``backend.json`` and the arrays; bump on incompatible changes.
STATE_VERSION = 1

#: Rows generated per jitted call, to bound memory for large requests.
GENERATION_CHUNK_ROWS = 65536


class DPVIModel:
    """A mixture model with a mean-field Gaussian posterior over its parameters.

    Args:
        mixture: The mixture model.
        loc: Posterior means of the unconstrained parameters.
        log_scale: Posterior log standard deviations.
        schema: Public schema of the modelled columns.
        privacy_report: The fit's privacy report.
        options: The backend options the model was fitted with.
        default_num_rows: Rows to generate when the user gives no number: N under
            the substitution relation, a DP estimate of N under add/remove.
    """

    backend = "dpvi"

    def __init__(
        self,
        mixture: MixtureModel,
        loc: np.ndarray,
        log_scale: np.ndarray,
        schema: Schema,
        privacy_report: PrivacyReport,
        options: Mapping[str, Any],
        default_num_rows: int | None = None,
    ) -> None:
        self.mixture = mixture
        self.loc = np.asarray(loc, dtype=np.float32)
        self.log_scale = np.asarray(log_scale, dtype=np.float32)
        self.schema = schema
        self.privacy_report = privacy_report
        self.options = dict(options)
        self.default_num_rows = default_num_rows
        self._sample = jax.jit(self._sample_chunk, static_argnums=(1,))

    @property
    def features(self) -> tuple[Feature, ...]:
        """Return the modelled features."""
        return self.mixture.features

    def generate(self, num_rows: int, rng: RandomSource) -> pd.DataFrame:
        """Draw ``num_rows`` rows from the mixture at the posterior means."""
        return self._generate(num_rows, jnp.asarray(self.loc), rng.jax_key())

    def generate_datasets(self, num_rows: int, num_datasets: int, rng: RandomSource) -> list[pd.DataFrame]:
        """Draw ``num_datasets`` data sets, each from its own posterior parameter draw."""
        datasets = []
        for _ in range(num_datasets):
            parameter_key, rows_key = jax.random.split(rng.jax_key())
            noise = jax.random.normal(parameter_key, self.loc.shape)
            unconstrained = jnp.asarray(self.loc) + jnp.exp(jnp.asarray(self.log_scale)) * noise
            datasets.append(self._generate(num_rows, unconstrained, rows_key))
        return datasets

    def _generate(self, num_rows: int, unconstrained: jax.Array, rows_key: jax.Array) -> pd.DataFrame:
        params, _ = self.mixture.constrain(unconstrained)

        chunks = []
        for index, start in enumerate(range(0, num_rows, GENERATION_CHUNK_ROWS)):
            size = min(GENERATION_CHUNK_ROWS, num_rows - start)
            chunks.append(np.asarray(self._sample(params, size, jax.random.fold_in(rows_key, index))))
        encoded = np.concatenate(chunks).astype(np.float64)
        return decode_features(self.features, encoded)

    def _sample_chunk(self, params: dict[str, jax.Array], num_rows: int, key: jax.Array) -> jax.Array:
        return self.mixture.sample_encoded(params, num_rows, key)

    # ----------------------------------------------------------------------------
    # Persistence

    def to_saved(self) -> SavedState:
        """Return the posterior and the model's structure as arrays and JSON."""
        config = {
            "state_version": STATE_VERSION,
            "num_components": self.mixture.num_components,
            "features": feature_entries(self.features),
            "sites": [[site.name, list(site.unconstrained_shape)] for site in self.mixture.sites],
            "options": self.options,
            "default_num_rows": self.default_num_rows,
        }
        arrays = {"posterior_loc": self.loc, "posterior_log_scale": self.log_scale}
        plugins = [("distributions", feature.distribution_name) for feature in self.features]
        plugins += [("distribution_wrappers", f.wrapper_name) for f in self.features if f.wrapper_name]
        return SavedState(config=config, arrays=arrays, plugins=tuple(plugins))

    @classmethod
    def load(
        cls, state: SavedState, schema: Schema, privacy_report: PrivacyReport, registry: Registry
    ) -> DPVIModel:
        """Rebuild a model from :meth:`to_saved` output; runs no code from the file.

        Raises:
            ModelFileError: the saved structure does not match what the installed
                distributions build.
        """
        config = state.config
        if config.get("state_version") != STATE_VERSION:
            raise ModelFileError(
                f"the DPVI model state has version {config.get('state_version')!r}; this twinify "
                f"reads version {STATE_VERSION}; fit the model again"
            )
        features = rebuild_features(config["features"], schema, registry)
        mixture = MixtureModel(features, int(config["num_components"]))
        _check_layout(mixture, config["sites"])
        loc, log_scale = state.arrays["posterior_loc"], state.arrays["posterior_log_scale"]
        if loc.shape != (mixture.num_parameters,) or log_scale.shape != loc.shape:
            raise ModelFileError(
                f"the saved posterior has shape {loc.shape}, but the model has "
                f"{mixture.num_parameters} parameters; fit the model again"
            )
        return cls(mixture, loc, log_scale, schema, privacy_report, config["options"],
                   config.get("default_num_rows"))


def _check_layout(mixture: MixtureModel, saved_sites: Sequence[Sequence[Any]]) -> None:
    built = [[site.name, list(site.unconstrained_shape)] for site in mixture.sites]
    if [[name, list(shape)] for name, shape in saved_sites] != built:
        raise ModelFileError(
            "the saved model's parameters do not match what the installed distribution plugins "
            "build (was a plugin upgraded?); fit the model again or install the plugin versions "
            "listed in the model file"
        )

