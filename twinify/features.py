"""Turning model-file lines, the public schema and the data into encoded features.

This is the shared preparation step of the automatic mixture model: for each
feature it looks up the distribution in the registry, combines the declared domain
(schema file and inline metadata) with what must be read from the data, applies the
out-of-domain rule, encodes the column, and wraps the distribution for missing
values when the column may have any.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import pandas as pd

from twinify.errors import DataError, DomainNotDeclaredWarning, InputError
from twinify.modelspec import FeatureSpec
from twinify.plugin.registry import Registry
from twinify.schema import ColumnSchema, Schema, conform_column
from twinify.types import FeatureDistribution

logger = logging.getLogger(__name__)

MISSING_VALUES_ROLE = "missing-values"


@attrs.frozen(kw_only=True)
class Feature:
    """One modelled column.

    Attributes:
        column: Column name.
        distribution_name: Name of the base distribution in the registry.
        distribution: The distribution used in the model; wrapped for missing
            values when ``wrapper_name`` is set.
        wrapper_name: Name of the missing-value wrapper applied, or None.
        schema: The column's schema, with inferred parts recorded.
    """

    column: str
    distribution_name: str
    distribution: FeatureDistribution
    wrapper_name: str | None
    schema: ColumnSchema


@attrs.frozen(kw_only=True)
class PreparedData:
    """Encoded data and the features that describe it.

    Attributes:
        features: One feature per modelled column, in model-file order.
        encoded: float64 array of shape (rows, features), NaN where missing.
        schema: The schema of the modelled columns.
    """

    features: tuple[Feature, ...]
    encoded: np.ndarray
    schema: Schema


def resolve_features(
    specs: Sequence[FeatureSpec],
    registry: Registry,
    data: pd.DataFrame,
    schema: Schema | None = None,
    strict_domains: bool = False,
    dp_bounds: Mapping[str, tuple[float, float]] | None = None,
) -> PreparedData:
    """Prepare the columns named in ``specs`` for the automatic mixture model.

    Args:
        specs: Parsed model-file lines.
        registry: Where distributions and the missing-value wrapper come from.
        data: The sensitive table.
        schema: Declared public schema, if any.
        strict_domains: Raise instead of reading an undeclared domain from the data.
        dp_bounds: Bounds bought under DP for columns whose bounds are not
            declared; they replace bounds that would be read from the data.

    Raises:
        InputError: an unknown column or distribution, conflicting metadata, or an
            undeclared domain in strict mode.
        DataError: values that do not fit a distribution.
    """
    if data.shape[0] == 0:
        raise DataError("the data have no rows; check the file")
    check_specs(specs, registry, data)
    _log_unmodelled_columns(specs, data)

    features, columns = [], []
    for spec in specs:
        distribution = registry.distribution(spec.distribution)
        column_schema = _column_schema(spec, distribution, data[spec.column], schema)
        if dp_bounds and spec.column in dp_bounds:
            column_schema = _with_dp_bounds(column_schema, dp_bounds[spec.column])
        feature, encoded = _prepare_feature(spec, distribution, column_schema, data[spec.column], registry)
        features.append(feature)
        columns.append(encoded)

    prepared_schema = Schema(tuple(feature.schema for feature in features))
    report_undeclared_domains(prepared_schema, strict_domains)
    return PreparedData(
        features=tuple(features),
        encoded=np.column_stack(columns).astype(np.float64),
        schema=prepared_schema,
    )


def check_specs(specs: Sequence[FeatureSpec], registry: Registry, data: pd.DataFrame) -> None:
    """Check that every column exists and every distribution is installed.

    Reads only the column names, not the values, so a backend can call it before
    registering its privacy mechanisms and fail fast on a wrong model file.

    Raises:
        InputError: an unknown column or distribution.
    """
    _check_columns_exist(specs, data)
    for spec in specs:
        try:
            registry.distribution(spec.distribution)
        except InputError as error:
            raise InputError(f"model file line {spec.line}: {error}") from None


def columns_without_bounds(
    specs: Sequence[FeatureSpec], registry: Registry, schema: Schema | None = None
) -> list[str]:
    """Return the numeric columns whose distribution needs bounds that are not declared.

    Reads only the model file and the schema, never the data, so a backend can
    plan DP bounds for these columns before it registers its other mechanisms.
    """
    unbounded = []
    for spec in specs:
        distribution = registry.distribution(spec.distribution)
        declared = _declared_schema(spec, distribution, schema)
        kind = declared.type if declared is not None else distribution.column_types[0]
        if kind not in ("integer", "real"):
            continue
        if _needs_bounds(distribution, declared or ColumnSchema(name=spec.column, type=kind)):
            unbounded.append(spec.column)
    return unbounded


def rebuild_features(
    entries: Sequence[Mapping[str, str]], schema: Schema, registry: Registry
) -> tuple[Feature, ...]:
    """Rebuild features from a saved model's ``column``/``distribution``/``wrapper`` entries."""
    features = []
    for entry in entries:
        base = registry.distribution(entry["distribution"])
        column_schema = schema[entry["column"]]
        wrapper_name = entry.get("wrapper")
        distribution = base
        if wrapper_name:
            distribution = registry.wrapper_for(MISSING_VALUES_ROLE).wrap(base)
        features.append(
            Feature(
                column=entry["column"],
                distribution_name=base.name,
                distribution=distribution,
                wrapper_name=wrapper_name,
                schema=column_schema,
            )
        )
    return tuple(features)


def feature_entries(features: Sequence[Feature]) -> list[dict[str, str | None]]:
    """Return the JSON description of ``features`` stored in saved models."""
    return [
        {"column": f.column, "distribution": f.distribution_name, "wrapper": f.wrapper_name}
        for f in features
    ]


def decode_features(features: Sequence[Feature], encoded: np.ndarray) -> pd.DataFrame:
    """Decode generated values of shape (rows, features) into a data frame."""
    return pd.DataFrame(
        {
            feature.column: feature.distribution.decode(np.asarray(encoded[:, index]), feature.schema)
            for index, feature in enumerate(features)
        }
    )


def report_undeclared_domains(schema: Schema, strict_domains: bool) -> None:
    """Warn about, or in strict mode reject, domains that were read from the data.

    Raises:
        InputError: in strict mode, when some column's domain was not declared.
    """
    not_covered = schema.not_covered
    if not not_covered:
        return
    listing = "; ".join(not_covered)
    if strict_domains:
        raise InputError(
            f"strict mode: these domain parts are not declared: {listing}. Declare them in a "
            "schema file (twinify schema DATA -o schema.toml writes a draft) or inline in the model file"
        )
    warnings.warn(
        f"read from the data, not covered by the privacy guarantee: {listing}. Declare them in a "
        "schema (twinify schema DATA -o schema.toml) to cover them",
        DomainNotDeclaredWarning,
        stacklevel=3,
    )


# --------------------------------------------------------------------------------------


def _check_columns_exist(specs: Sequence[FeatureSpec], data: pd.DataFrame) -> None:
    for spec in specs:
        if spec.column not in data.columns:
            available = ", ".join(map(str, data.columns[:20]))
            more = f" and {len(data.columns) - 20} more" if len(data.columns) > 20 else ""
            raise InputError(
                f"model file line {spec.line}: column {spec.column!r} is not in the data; "
                f"the data have columns {available}{more}"
            )


def _log_unmodelled_columns(specs: Sequence[FeatureSpec], data: pd.DataFrame) -> None:
    modelled = {spec.column for spec in specs}
    skipped = [str(column) for column in data.columns if column not in modelled]
    if skipped:
        logger.info("columns not in the model file are left out: %s", ", ".join(skipped))


def _column_schema(
    spec: FeatureSpec, distribution: FeatureDistribution, series: pd.Series, schema: Schema | None
) -> ColumnSchema:
    declared = _declared_schema(spec, distribution, schema)
    if declared is not None and declared.type not in distribution.column_types:
        raise InputError(
            f"column {spec.column!r} is declared as {declared.type}, which the "
            f"{distribution.name} distribution cannot model; it models "
            f"{', '.join(distribution.column_types)} columns"
        )
    if series.notna().sum() == 0:
        raise DataError(
            f"column {spec.column!r} has no values, only missing ones; remove it from the model file"
        )
    if declared is None:
        return distribution.infer_schema(series, spec.column)
    if _domain_declared(declared, distribution):
        # Only the output dtype comes from the data here; whether values may be
        # missing is decided after the out-of-domain rule, in _prepare_feature.
        if declared.dtype is None:
            return attrs.evolve(declared, dtype=str(series.dtype))
        return declared
    return declared.merge(distribution.infer_schema(series, spec.column))


def _needs_bounds(distribution: FeatureDistribution, column: ColumnSchema) -> bool:
    """Return whether ``column`` fails the distribution's check only for want of bounds."""
    if _domain_declared(column, distribution):
        return False
    return _domain_declared(attrs.evolve(column, lower=0.0, upper=1.0), distribution)


def _with_dp_bounds(column: ColumnSchema, bounds: tuple[float, float]) -> ColumnSchema:
    lower, upper = bounds
    if column.type == "integer":
        lower, upper = float(np.floor(lower)), float(np.ceil(upper))
    return attrs.evolve(
        column,
        lower=lower,
        upper=upper,
        out_of_domain=column.out_of_domain or "clip",
        inferred=tuple(part for part in column.inferred if part not in ("lower", "upper")),
    )


def _domain_declared(column: ColumnSchema, distribution: FeatureDistribution) -> bool:
    try:
        distribution.check_schema(column)
    except InputError:
        return False
    return True


def _declared_schema(
    spec: FeatureSpec, distribution: FeatureDistribution, schema: Schema | None
) -> ColumnSchema | None:
    from_schema = schema.get(spec.column) if schema is not None else None
    if not spec.metadata:
        return from_schema
    fields = dict(spec.metadata)
    if from_schema is not None:
        declared = from_schema.to_dict()
        for key, value in fields.items():
            if key in declared and _normalized(declared[key]) != _normalized(value):
                raise InputError(
                    f"model file line {spec.line}: {key} of column {spec.column!r} differs from "
                    "the schema file; declare it in one place"
                )
        declared.pop("inferred", None)
        fields = {**declared, **fields}
    fields.setdefault("type", distribution.column_types[0])
    return ColumnSchema.from_dict(spec.column, fields, source=f"model file line {spec.line}")


def _normalized(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _prepare_feature(
    spec: FeatureSpec,
    distribution: FeatureDistribution,
    column_schema: ColumnSchema,
    series: pd.Series,
    registry: Registry,
) -> tuple[Feature, np.ndarray]:
    distribution.check_schema(column_schema)
    conformed = conform_column(series, column_schema)
    encoded = np.asarray(distribution.encode(conformed, column_schema), dtype=np.float64)
    num_missing = int(np.isnan(encoded).sum())
    if column_schema.missing is None:
        column_schema = attrs.evolve(
            column_schema, missing=num_missing > 0, inferred=tuple(sorted({*column_schema.inferred, "missing"}))
        )

    if num_missing and column_schema.missing is False:
        raise DataError(
            f"column {spec.column!r} has {num_missing} missing values but its schema declares "
            "missing = false; declare missing = true or drop those rows with --drop_na"
        )
    wrapper_name = None
    model_distribution = distribution
    if column_schema.missing:
        wrapper = registry.wrapper_for(MISSING_VALUES_ROLE)
        model_distribution = wrapper.wrap(distribution)
        wrapper_name = wrapper.name
    feature = Feature(
        column=spec.column,
        distribution_name=distribution.name,
        distribution=model_distribution,
        wrapper_name=wrapper_name,
        schema=column_schema,
    )
    return feature, encoded
