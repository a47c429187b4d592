"""The fitted custom model: generation, saving, and loading without running code.

A saved custom model stores the model file's text and SHA-256 with the fitted
variational parameters, but loading never runs that text. To generate, the user
passes the model file again (``twinify generate --model-code``, or
``twinify.load(path, model_code=...)``); it runs only if its hash matches.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from twinify.custom_model import ModelCodeError
from twinify.custom_model.code import (
    FactoryContext,
    ModelCode,
    load_model_code,
    read_source,
    source_sha256,
)
from twinify.custom_model.frames import decode_columns, run_postprocess
from twinify.custom_model.guide import GuideStructure, inspect_guide
from twinify.custom_model.tracing import PLACEHOLDER_SEED, ModelStructure, inspect_model
from twinify.errors import InputError, ModelFileError
from twinify.privacy import PrivacyReport, RandomSource
from twinify.schema import Schema
from twinify.types import SavedState
from twinify_dpvi.custom.latent_space import LatentSpace
from twinify_dpvi.model import GENERATION_CHUNK_ROWS

logger = logging.getLogger(__name__)

#: Version of the layout of a custom model's ``backend.json``; bump on incompatible changes.
STATE_VERSION = 1

#: Value of ``backend.json``'s ``model`` entry that marks a custom model.
CUSTOM_MODEL = "custom"


@attrs.frozen(kw_only=True)
class SavedCode:
    """What a fitted model keeps of its model file.

    Attributes:
        name: The file name.
        source: The file's text; stored, never run.
        sha256: Its SHA-256, which the model file passed for generation must match.
        context: What ``model_factory`` received at fit time, or None.
    """

    name: str
    source: str
    sha256: str
    context: FactoryContext | None = None


@attrs.frozen(kw_only=True)
class Posterior:
    """The fitted variational posterior.

    Attributes:
        loc: Means of the default mean-field Gaussian over the unconstrained
            latent values, or None with the model file's guide.
        log_scale: Its log standard deviations, or None.
        guide_parameters: The flat unconstrained parameters of the model file's
            guide, or None with the default guide.
    """

    loc: np.ndarray | None = None
    log_scale: np.ndarray | None = None
    guide_parameters: np.ndarray | None = None

    @property
    def uses_guide(self) -> bool:
        """Return whether the model file's own guide was fitted."""
        return self.guide_parameters is not None


class CustomDPVIModel:
    """A custom NumPyro model fitted with DPVI.

    Args:
        code: The model file as saved.
        posterior: The fitted variational posterior.
        schema: The preprocessed columns that the model generates.
        privacy_report: The fit's privacy report.
        options: The backend options of the fit.
        default_num_rows: Rows to generate when the user gives no number.
        loaded: The model file's running code, or None after loading a saved
            model until :meth:`attach_model_code` is called.
        layout: Names and shapes of the latent variables (``"latent_sites"``)
            and guide parameters (``"guide_parameters"``) of a saved model, which
            the attached code must reproduce; None when ``loaded`` is given.
    """

    backend = "dpvi"

    def __init__(
        self,
        code: SavedCode,
        posterior: Posterior,
        schema: Schema,
        privacy_report: PrivacyReport,
        options: Mapping[str, Any],
        default_num_rows: int | None,
        loaded: ModelCode | None = None,
        layout: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = code
        self.posterior = Posterior(**{
            name: None if value is None else np.asarray(value, dtype=np.float32)
            for name, value in attrs.asdict(posterior).items()
        })
        self.schema = schema
        self.privacy_report = privacy_report
        self.options = dict(options)
        self.default_num_rows = default_num_rows
        self._layout = None if layout is None else dict(layout)
        self._structure: ModelStructure | None = None
        self._guide: GuideStructure | None = None
        if loaded is not None:
            self._bind(loaded)

    def attach_model_code(self, model_code: str | Path, allow_changed: bool = False) -> None:
        """Run the model file at ``model_code`` for generation, after checking its SHA-256.

        Args:
            model_code: The model file.
            allow_changed: Run the file even if its SHA-256 differs from the
                saved one, logging a warning. Generating from fitted parameters
                costs no privacy whatever the code, but rows from changed code
                may not follow the fitted model.

        Raises:
            ModelCodeError: the file differs from the one the model was fitted
                with (unless ``allow_changed``), or fails to load.
            ModelFileError: the file builds other latent variables or guide
                parameters than the saved model has.
        """
        path = Path(model_code)
        sha256 = source_sha256(read_source(path))
        if sha256 != self.code.sha256:
            if not allow_changed:
                raise ModelCodeError(
                    f"model code {str(path)!r} differs from the model file this model was fitted with "
                    f"({self.code.name}, SHA-256 {self.code.sha256[:16]}...); pass that file unchanged, "
                    "or allow the change with --allow-changed-code"
                )
            logger.warning(
                "model code %s (SHA-256 %s...) differs from the model file %s (SHA-256 %s...) that the model "
                "was fitted with; generating with it as allowed",
                path, sha256[:16], self.code.name, self.code.sha256[:16],
            )
        self._bind(load_model_code(path, self.code.context))

    def generate(self, num_rows: int, rng: RandomSource) -> pd.DataFrame:
        """Draw latent values from the posterior, then ``num_rows`` rows, postprocessed.

        Raises:
            InputError: the model code was not attached after loading.
            ModelCodeError: the model or postprocess fails.
        """
        return self._generate(num_rows, rng.jax_key())

    def generate_datasets(self, num_rows: int, num_datasets: int, rng: RandomSource) -> list[pd.DataFrame]:
        """Draw ``num_datasets`` data sets, each from its own posterior draw of the latent values."""
        return [self._generate(num_rows, rng.jax_key()) for _ in range(num_datasets)]

    def _generate(self, num_rows: int, key: jax.Array) -> pd.DataFrame:
        structure, loaded = self._require_code()
        latent_key, rows_key = jax.random.split(key)
        latent = self._draw_latent(latent_key)
        chunks = []
        for index, start in enumerate(range(0, num_rows, GENERATION_CHUNK_ROWS)):
            size = min(GENERATION_CHUNK_ROWS, num_rows - start)
            chunks.append(np.asarray(self._sample(latent, jax.random.fold_in(rows_key, index), size)))
        frame = decode_columns(np.concatenate(chunks), self.schema, self.code.name)
        return run_postprocess(loaded, frame)

    def _draw_latent(self, key: jax.Array) -> dict[str, jax.Array]:
        if self.posterior.uses_guide:
            return self._guide.sample_latent(jnp.asarray(self.posterior.guide_parameters), key)[0]
        noise = jax.random.normal(key, self.posterior.loc.shape)
        unconstrained = jnp.asarray(self.posterior.loc) + jnp.exp(jnp.asarray(self.posterior.log_scale)) * noise
        return LatentSpace(self._structure).constrain(unconstrained)[0]

    def _require_code(self) -> tuple[ModelStructure, ModelCode]:
        if self._structure is None:
            raise InputError(
                f"this model was fitted with the custom NumPyro model {self.code.name!r}; pass that file to "
                "generate: twinify generate MODEL_FILE --model-code FILE, or "
                "twinify.load(path, model_code=FILE)"
            )
        return self._structure, self._structure.code

    def _bind(self, loaded: ModelCode) -> None:
        structure = inspect_model(loaded, len(self.schema.columns))
        guide = None
        if self.posterior.uses_guide:
            guide = inspect_guide(structure, jax.random.PRNGKey(PLACEHOLDER_SEED))
        layout = {"latent_sites": [[site.name, list(site.shape)] for site in structure.latent_sites]}
        if guide is not None:
            layout["guide_parameters"] = [[parameter.name, list(parameter.shape)] for parameter in guide.parameters]
        size = guide.num_parameters if guide is not None else LatentSpace(structure).num_parameters
        fitted = self.posterior.guide_parameters if guide is not None else self.posterior.loc
        if fitted.shape != (size,) or self._layout is not None and _plain_layout(self._layout) != layout:
            raise ModelFileError(
                f"the model file {loaded.name!r} now builds other latent variables or guide parameters than "
                "the saved model has (was numpyro upgraded?); fit the model again"
            )
        self._layout, self._structure, self._guide = layout, structure, guide
        self._sample = jax.jit(structure.sample_rows, static_argnums=(2,))

    # ----------------------------------------------------------------------------
    # Persistence

    def to_saved(self) -> SavedState:
        """Return the posterior, the model file's text and hash, and the layout."""
        config = {
            "state_version": STATE_VERSION,
            "model": CUSTOM_MODEL,
            "model_file": self.code.name,
            "model_sha256": self.code.sha256,
            "model_source": self.code.source,
            "factory_context": None if self.code.context is None else self.code.context.to_config(),
            **self._layout,
            "options": self.options,
            "default_num_rows": self.default_num_rows,
        }
        if self.posterior.uses_guide:
            arrays = {"guide_parameters": self.posterior.guide_parameters}
        else:
            arrays = {"posterior_loc": self.posterior.loc, "posterior_log_scale": self.posterior.log_scale}
        return SavedState(config=config, arrays=arrays)

    @classmethod
    def load(cls, state: SavedState, schema: Schema, privacy_report: PrivacyReport) -> CustomDPVIModel:
        """Rebuild a model from :meth:`to_saved` output; runs no code from the file.

        The model generates only after :meth:`attach_model_code`.

        Raises:
            ModelFileError: the saved state has another version or lacks entries.
        """
        config = state.config
        if config.get("state_version") != STATE_VERSION:
            raise ModelFileError(
                f"the custom DPVI model state has version {config.get('state_version')!r}; this twinify "
                f"reads version {STATE_VERSION}; fit the model again"
            )
        context = config.get("factory_context")
        code = SavedCode(
            name=config["model_file"],
            source=config["model_source"],
            sha256=config["model_sha256"],
            context=None if context is None else FactoryContext.from_config(context),
        )
        arrays = state.arrays
        posterior = Posterior(
            loc=arrays.get("posterior_loc"),
            log_scale=arrays.get("posterior_log_scale"),
            guide_parameters=arrays.get("guide_parameters"),
        )
        layout = {key: config[key] for key in ("latent_sites", "guide_parameters") if key in config}
        return cls(code, posterior, schema, privacy_report, config["options"], config.get("default_num_rows"),
                   layout=layout)


def _plain_layout(layout: Mapping[str, Any]) -> dict[str, Any]:
    return {key: [[name, list(shape)] for name, shape in entries] for key, entries in layout.items()}
