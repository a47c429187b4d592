"""Conformance checks for inference backend records.

:func:`check_backend` checks the record's fields and, given a small public data
set, fits it through :func:`twinify.fit`, generates, saves and loads the model.
"""

from __future__ import annotations

import tempfile
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from twinify.plugin.registry import Registry
from twinify.testing.distributions import ConformanceError, _require
from twinify.types import DISTRIBUTION_KINDS, InferenceBackend


def check_backend(
    record: InferenceBackend,
    *,
    data: pd.DataFrame | None = None,
    model: Any = None,
    schema: Any = None,
    options: Mapping[str, Any] | None = None,
    epsilon: float = 1.0,
    num_rows: int = 5,
    registry: Registry | None = None,
) -> None:
    """Check an inference backend record, and fit it when ``data`` is given.

    Args:
        record: The record a ``twinify_backends`` hook yields.
        data: A small public table to fit; without it only the fields are checked.
        model: The backend's model argument for that table.
        schema: Public schema for the fit, or the path of a schema file.
        options: Backend options for a fast fit, such as a few epochs.
        epsilon: Privacy budget of the test fit.
        num_rows: Synthetic rows to generate.
        registry: Registry holding the backend; by default the built-in plugins
            plus ``record``.

    Raises:
        ConformanceError: the first rule the backend breaks.
    """
    _check_fields(record)
    if data is None:
        return
    registry = registry or _registry_with(record)
    _require(registry.backend(record.name) is record, f"{record.name}: the registry holds another backend of that name")
    _check_fit(record, registry, data, model, schema, dict(options or {}), epsilon, num_rows)


def _check_fields(record: InferenceBackend) -> None:
    _require(isinstance(record, InferenceBackend), f"expected an InferenceBackend, got a {type(record).__name__}")
    _require(bool(record.commands), f"{record.name}: no CLI command")
    _require(bool(record.summary.strip()), f"{record.name}: the summary is empty")
    _require(callable(record.fit) and callable(record.load), f"{record.name}: fit and load must be callable")
    unknown = [kind for kind in record.supported_kinds if kind not in DISTRIBUTION_KINDS]
    _require(not unknown, f"{record.name}: unknown supported kinds {unknown}")

    names = [option.name for option in record.options]
    _require(len(names) == len(set(names)), f"{record.name}: an option name is repeated")
    for option in record.options:
        _require(option.type in (int, float, str, bool), f"{record.name}: option {option.name} has type {option.type}")
        _require(bool(option.help.strip()), f"{record.name}: option {option.name} has no help text")
        for flag in option.flags:
            _require(flag.startswith("-"), f"{record.name}: option {option.name} has flag {flag!r} without a dash")
        if option.default is not None:
            try:
                validated = option.validate(option.default)
            except Exception as error:  # noqa: BLE001 - reported as a broken default
                raise ConformanceError(f"{record.name}: option {option.name} rejects its default: {error}") from None
            _require(validated == option.default, f"{record.name}: option {option.name} changes its default")


def _registry_with(record: InferenceBackend) -> Registry:
    from twinify.testing.plugins import build_registry

    builtins = build_registry()
    if record.name in builtins.names("backends"):
        return builtins
    module = types.ModuleType("twinify_checked_backend")

    def twinify_backends():
        yield record

    module.twinify_backends = twinify_backends
    return build_registry(modules={"checked-backend": module})


def _check_fit(
    record: InferenceBackend,
    registry: Registry,
    data: pd.DataFrame,
    model: Any,
    schema: Any,
    options: dict[str, Any],
    epsilon: float,
    num_rows: int,
) -> None:
    import warnings

    from twinify import api

    with warnings.catch_warnings():
        # The fixed seed of a test fit warns that its noise is reproducible.
        warnings.simplefilter("ignore", UserWarning)
        twin = api.fit(data, model, epsilon=epsilon, backend=record.name, schema=schema, seed=0,
                       registry=registry, **options)

    report = twin.privacy_report
    _require(report.epsilon_spent <= epsilon * (1 + 1e-6), f"{record.name}: spent epsilon {report.epsilon_spent} of {epsilon}")
    _require(report.relation == "substitution", f"{record.name}: the report states relation {report.relation!r}")
    _require(twin.backend == record.name, f"{record.name}: the fitted model names backend {twin.backend!r}")
    _check_generated(record, twin.generate(num_rows, seed=1), data, num_rows)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.twinify"
        twin.save(path)
        loaded = api.load(path, registry)
    _require(loaded.privacy_report == report, f"{record.name}: loading changed the privacy report")
    _check_generated(record, loaded.generate(num_rows, seed=1), data, num_rows)


def _check_generated(record: InferenceBackend, synthetic: Any, data: pd.DataFrame, num_rows: int) -> None:
    _require(isinstance(synthetic, pd.DataFrame), f"{record.name}: generate returned a {type(synthetic).__name__}")
    _require(len(synthetic) == num_rows, f"{record.name}: generate returned {len(synthetic)} rows for {num_rows}")
    extra = [name for name in synthetic.columns if name not in data.columns]
    _require(not extra, f"{record.name}: generate returned columns not in the data: {extra}")
