"""A test backend that samples uniformly from the declared public schema.

It reads nothing from the data but the column names, so it spends no privacy
budget. The tests use it to drive the fitting command, saving and loading, and
:func:`twinify.testing.check_backend` while no real backend is installed.
"""

from __future__ import annotations

import types

import numpy as np
import pandas as pd

from twinify import hookimpl
from twinify.errors import InputError
from twinify.privacy import PrivacyAccountant
from twinify.types import BackendOption, FitRequest, InferenceBackend, SavedState


class UniformModel:
    """Draws every column independently and uniformly from its declared domain."""

    backend = "uniform"

    def __init__(self, schema, privacy_report):
        self.schema = schema
        self.privacy_report = privacy_report

    def generate(self, num_rows, rng):
        generator = np.random.default_rng(rng.integer_seed())
        return pd.DataFrame({column.name: _draw(column, num_rows, generator) for column in self.schema.columns})

    def to_saved(self):
        return SavedState(config={"columns": self.schema.names}, arrays={"num_columns": np.array([len(self.schema.columns)])})


def _draw(column, num_rows, generator):
    if column.categories is not None:
        values = generator.choice(np.arange(len(column.categories)), size=num_rows)
        drawn = pd.Series([column.categories[index] for index in values])
    elif column.type == "integer":
        drawn = pd.Series(generator.integers(int(column.lower), int(column.upper) + 1, size=num_rows))
    else:
        drawn = pd.Series(generator.uniform(column.lower, column.upper, size=num_rows))
    return drawn.astype(column.dtype) if column.dtype else drawn


def fit_uniform(request: FitRequest) -> UniformModel:
    if request.schema is None:
        raise InputError("the uniform backend needs a schema declaring every column's domain")
    accountant = PrivacyAccountant(request.budget)
    schema = request.schema
    for name in schema.names:
        if name not in request.data.columns:
            raise InputError(f"column {name!r} of the schema is not in the data")
    report = accountant.report(public=["column names", "the declared schema"], seeded=request.rng.seeded)
    return UniformModel(schema, report)


def load_uniform(state, schema, privacy_report, registry):
    return UniformModel(schema, privacy_report)


UNIFORM = InferenceBackend(
    name="uniform",
    summary="uniform draws from the declared schema (tests only)",
    commands=("uniform",),
    model_help="unused; pass '-'",
    options=(BackendOption(name="spread", type=float, default=1.0, help="unused", minimum=0.0),),
    fit=fit_uniform,
    load=load_uniform,
)


def plugin_module() -> types.ModuleType:
    """Return a plugin module that provides the uniform backend."""
    module = types.ModuleType("twinify_test_uniform_backend")

    @hookimpl
    def twinify_backends():
        yield UNIFORM

    module.twinify_backends = twinify_backends
    return module
