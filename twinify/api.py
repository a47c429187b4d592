"""The programmatic API: fit a model to a data frame, generate, save and load.

Example::

    import pandas as pd
    import twinify

    data = pd.read_csv("examples/penguins.csv")
    twin = twinify.fit(data, "examples/penguins.model", epsilon=1.0)
    synthetic = twin.generate(len(data))
    print(twin.privacy_report.format_text())
    twin.save("penguins.twinify")
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from twinify.errors import InputError, PrivacyBudgetError
from twinify.persistence import load_model, save_model
from twinify.plugin import get_registry
from twinify.plugin.registry import Registry
from twinify.privacy import SEED_WARNING, PrivacyBudget, PrivacyReport, RandomSource, default_delta
from twinify.privacy.accounting import EPSILON_TOLERANCE
from twinify.schema import Schema, read_schema
from twinify.types import FitRequest, FittedModel, InferenceBackend

logger = logging.getLogger(__name__)

#: Default δ under the add/remove relation, where δ must not depend on the private
#: row count. It is below 1/rows for tables of up to a billion rows.
ADD_REMOVE_DEFAULT_DELTA = 1e-9


class TwinModel:
    """A fitted model that generates synthetic twins of the data it was fitted to.

    Generating reads only the fitted model, so it costs no privacy budget.
    """

    def __init__(self, fitted: FittedModel, registry: Registry) -> None:
        self.fitted = fitted
        self.registry = registry

    @property
    def privacy_report(self) -> PrivacyReport:
        """Return the privacy report of the fit."""
        return self.fitted.privacy_report

    @property
    def schema(self) -> Schema:
        """Return the public schema of the modelled columns."""
        return self.fitted.schema

    @property
    def default_num_rows(self) -> int | None:
        """Return the backend's default number of synthetic rows, or None.

        Under the add/remove relation the row count is private, so a backend may
        offer a DP estimate of it here instead of the true count.
        """
        return getattr(self.fitted, "default_num_rows", None)

    @property
    def backend(self) -> str:
        """Return the name of the backend that fitted the model."""
        return self.fitted.backend

    def generate(self, num_rows: int, seed: int | None = None) -> pd.DataFrame:
        """Draw ``num_rows`` synthetic rows.

        Args:
            num_rows: Number of rows, at least 1.
            seed: Seed for reproducible output; None draws a seed from the OS.
        """
        check_num_rows(num_rows)
        return self.fitted.generate(int(num_rows), RandomSource(seed))

    def generate_datasets(self, num_rows: int, num_datasets: int, seed: int | None = None) -> list[pd.DataFrame]:
        """Draw ``num_datasets`` synthetic data sets, each from its own posterior draw.

        Analyse each data set separately and combine the estimates with
        :func:`twinify.rubins_rules` for noise-aware inference.

        Raises:
            InputError: the backend does not support several data sets.
        """
        check_num_rows(num_rows)
        if num_datasets < 1:
            raise InputError(f"invalid number of data sets {num_datasets}: use at least 1")
        generate_many = getattr(self.fitted, "generate_datasets", None)
        if generate_many is None:
            raise InputError(f"the {self.backend} backend cannot generate several data sets")
        return generate_many(int(num_rows), int(num_datasets), RandomSource(seed))

    def save(self, path: str | Path) -> Path:
        """Save the model to ``path`` (conventionally ending in ``.twinify``)."""
        return save_model(self.fitted, path, self.registry)


def fit(
    data: pd.DataFrame,
    model: Any,
    *,
    epsilon: float,
    delta: float | None = None,
    backend: str = "dpvi",
    relation: str = "substitution",
    schema: Schema | str | Path | None = None,
    seed: int | None = None,
    strict_domains: bool = False,
    drop_na: bool = False,
    show_progress: bool = False,
    bounds_epsilon: float | None = None,
    registry: Registry | None = None,
    **options: Any,
) -> TwinModel:
    """Fit a model to ``data`` under (ε, δ)-differential privacy.

    Args:
        data: The sensitive table.
        model: The backend's model argument: for DPVI a model file path (automatic
            model or custom NumPyro model), for NAPSU-MQ a query file path or
            ``"auto"``.
        epsilon: ε > 0.
        delta: 0 < δ < 1; by default a power of ten below 0.1 / rows.
        backend: Backend name or CLI command, ``"dpvi"`` or ``"napsu"``.
        relation: ``"substitution"`` or ``"add-remove"``.
        schema: Public schema, or the path of a schema file.
        seed: Seed for a reproducible run; anyone with the seed can then
            reproduce the noise.
        strict_domains: Raise instead of reading undeclared domains from the data.
        drop_na: Drop rows with any missing value first.
        show_progress: Show progress bars.
        bounds_epsilon: Spend this part of ε on DP bounds (quantiles) of the
            numeric columns whose bounds are not declared, instead of reading
            those bounds from the data. DPVI's automatic model only.
        registry: Plugin registry; the installed plugins by default.
        **options: Backend options, for example ``k=50`` or ``num_epochs=200``.

    Raises:
        TwinifyError: invalid input, budget or data, or a failed fit.
    """
    registry = registry or get_registry()
    backend_record = registry.backend(backend)
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if drop_na:
        data = drop_missing_rows(data)
    if data.shape[0] == 0:
        raise InputError("the data have no rows; check the file")

    budget = make_budget(epsilon, delta, relation, num_rows=data.shape[0])
    check_bounds_epsilon(bounds_epsilon, budget)
    request = FitRequest(
        data=data,
        model=model,
        schema=read_schema(schema) if isinstance(schema, str | Path) else schema,
        budget=budget,
        options=resolve_options(backend_record, options),
        rng=make_random_source(seed),
        registry=registry,
        strict_domains=strict_domains,
        drop_na=drop_na,
        show_progress=show_progress,
        bounds_epsilon=bounds_epsilon,
    )
    fitted = backend_record.fit(request)
    check_report(fitted.privacy_report, budget)
    return TwinModel(fitted, registry)


def load(
    path: str | Path,
    registry: Registry | None = None,
    model_code: str | Path | None = None,
    allow_changed_code: bool = False,
) -> TwinModel:
    """Load a model saved with :meth:`TwinModel.save`; no code from the file runs.

    Args:
        path: The saved model.
        registry: Plugin registry; the installed plugins by default.
        model_code: For a model fitted with a custom NumPyro model file, that
            file. It runs only if its SHA-256 matches the one saved with the model
            (see ``allow_changed_code``), and the model generates only with it.
        allow_changed_code: Run ``model_code`` even if its SHA-256 differs from
            the saved one. Its latent variables must still match the saved ones.

    Raises:
        InputError: the file cannot be loaded, or ``model_code`` is given for a
            model that has no custom model code, or differs from the saved one
            without ``allow_changed_code``.
    """
    registry = registry or get_registry()
    fitted = load_model(path, registry)
    if model_code is not None:
        attach = getattr(fitted, "attach_model_code", None)
        if attach is None:
            raise InputError(
                f"model file {str(path)!r} was not fitted with a custom NumPyro model; leave out the model code"
            )
        attach(model_code, allow_changed_code)
    return TwinModel(fitted, registry)


# --------------------------------------------------------------------------------------
# Steps shared with the command-line interface


def check_bounds_epsilon(bounds_epsilon: float | None, budget: PrivacyBudget) -> None:
    """Check that the ε for DP bounds is positive and leaves part of the budget.

    Raises:
        InputError: ``bounds_epsilon`` is not in (0, ε).
    """
    if bounds_epsilon is None:
        return
    value = float(bounds_epsilon)
    if not (0.0 < value < budget.epsilon):
        raise InputError(
            f"invalid epsilon for DP bounds {bounds_epsilon!r}: use a positive share of the budget "
            f"below epsilon {budget.epsilon:g}; docs/privacy.md says how much a table of your size needs"
        )


def make_budget(epsilon: float, delta: float | None, relation: str, num_rows: int) -> PrivacyBudget:
    """Build the budget, choosing a default δ when none is given.

    Under the substitution relation the row count is public, so the default is
    the largest power of ten at or below 0.1 / rows. Under add/remove the row
    count is private, so the default is the fixed :data:`ADD_REMOVE_DEFAULT_DELTA`.
    """
    if delta is None:
        if _normalized_relation(relation) == "add-remove":
            delta = ADD_REMOVE_DEFAULT_DELTA
            logger.info("delta not given; using %g, a fixed value because the row count is private", delta)
        else:
            delta = default_delta(num_rows)
            logger.info("delta not given; using %g, below 1/(number of rows)", delta)
    budget = PrivacyBudget(epsilon, delta, relation)
    if budget.delta >= 1.0 / num_rows:
        warnings.warn(
            f"delta {budget.delta:g} is not below 1/(number of rows); such a delta allows "
            "releasing a few rows outright, so give a smaller --delta",
            UserWarning,
            stacklevel=3,
        )
    return budget


def _normalized_relation(relation: str) -> str:
    return PrivacyBudget(1.0, 0.5, relation).relation


def make_random_source(seed: int | None) -> RandomSource:
    """Create the fit's random source, warning when a seed fixes the noise."""
    if seed is not None:
        warnings.warn(SEED_WARNING, UserWarning, stacklevel=3)
    return RandomSource(seed)


def resolve_options(backend: InferenceBackend, given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate backend options and fill in defaults.

    Raises:
        InputError: an unknown option or an invalid value.
    """
    known = {option.name: option for option in backend.options}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InputError(
            f"unknown option {unknown[0]!r} for the {backend.name} backend; "
            f"its options are {', '.join(sorted(known)) or 'none'}"
        )
    resolved = {}
    for name, option in known.items():
        value = given.get(name)
        resolved[name] = option.default if value is None else option.validate(value)
    return resolved


def drop_missing_rows(data: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with any missing value, as twinify 2.x's ``--drop_na`` did."""
    kept = data.dropna().reset_index(drop=True)
    logger.info("dropped %d of %d rows with missing values", data.shape[0] - kept.shape[0], data.shape[0])
    return kept


def check_report(report: PrivacyReport, budget: PrivacyBudget) -> None:
    """Check a backend's privacy report against the budget it was given.

    Raises:
        PrivacyBudgetError: the backend reports spending more than its budget or a
            different neighbouring relation; the model must not be used.
    """
    if report.relation != budget.relation:
        raise PrivacyBudgetError(
            f"the backend reports the {report.relation} relation but {budget.relation} was requested"
        )
    if not math.isfinite(report.epsilon_spent) or report.epsilon_spent > budget.epsilon * (1 + EPSILON_TOLERANCE):
        raise PrivacyBudgetError(
            f"the backend reports spending epsilon {report.epsilon_spent} of {budget.epsilon}; "
            "the model was discarded"
        )
    if report.delta_spent > budget.delta * (1 + EPSILON_TOLERANCE):
        raise PrivacyBudgetError(
            f"the backend reports spending delta {report.delta_spent} of {budget.delta}; "
            "the model was discarded"
        )


#: Most rows generated in one call: 100 million rows of 15 columns take about 12 GB.
MAX_SYNTHETIC_ROWS = 100_000_000


def check_num_rows(num_rows: int) -> None:
    if isinstance(num_rows, bool) or not isinstance(num_rows, int) or num_rows < 1:
        raise InputError(f"invalid number of rows {num_rows!r}: use a whole number of at least 1")
    if num_rows > MAX_SYNTHETIC_ROWS:
        raise InputError(
            f"invalid number of rows {num_rows}: generate at most {MAX_SYNTHETIC_ROWS:,} rows at a time "
            "and run generate several times with different seeds for more"
        )

