"""twinify.testing's conformance checks pass good records and catch broken ones."""

from __future__ import annotations

import attrs
import numpy as np
import pandas as pd
import pytest
from reference_features import BOUNDED_NORMAL, MISSING, encode_bounded
from uniform_backend import UNIFORM

from twinify.schema import ColumnSchema
from twinify.testing import (
    ConformanceError,
    check_backend,
    check_distribution,
    check_reader,
    check_wrapper,
    check_writer,
)
from twinify.types import BackendOption, DataReader, DataWriter


def test_distribution_passes():
    check_distribution(BOUNDED_NORMAL)


def test_distribution_declared_column():
    sample = pd.Series([3, 7, 12], dtype="int64")
    column = ColumnSchema(name="sample", type="integer", lower=0, upper=20, missing=False, dtype="int64")

    check_distribution(BOUNDED_NORMAL, sample=sample, column=column)


def test_wrapper_passes():
    check_wrapper(MISSING, BOUNDED_NORMAL)


def test_wrapper_nullable_integers():
    check_wrapper(MISSING, BOUNDED_NORMAL, sample=pd.Series([3, 7, 12], dtype="Int64"))


def test_data_dependent_encoding():
    def centred_by_mean(series, column):
        encoded = encode_bounded(series, column)
        return encoded - np.nanmean(encoded)

    broken = attrs.evolve(BOUNDED_NORMAL, encode=centred_by_mean)

    with pytest.raises(ConformanceError, match="must not depend on other rows"):
        check_distribution(broken)


def test_decode_loses_dtype():
    broken = attrs.evolve(BOUNDED_NORMAL, decode=lambda array, column: pd.Series(np.asarray(array, dtype=object)))

    with pytest.raises(ConformanceError, match="decode returned dtype object, not the column's dtype float64"):
        check_distribution(broken)


def test_decode_wrong_values():
    broken = attrs.evolve(BOUNDED_NORMAL, decode=lambda array, column: pd.Series(np.asarray(array, dtype=float)))

    with pytest.raises(ConformanceError, match="does not restore the values"):
        check_distribution(broken)


def test_prior_outside_constraint():
    import numpyro.distributions as dist

    broken = attrs.evolve(BOUNDED_NORMAL, priors=lambda column: {"loc": dist.Normal(0.5, 1.0), "scale": dist.Normal(0.0, 1.0)})

    with pytest.raises(ConformanceError, match="likelihood rejects parameters drawn from the priors"):
        check_distribution(broken, seed=3)


def test_likelihood_not_jittable():
    import numpyro.distributions as dist

    def concrete_only(params, column):
        scale = np.asarray(params["scale"])
        return dist.Normal(params["loc"], scale)

    with pytest.raises(ConformanceError, match="cannot be compiled with jax.jit"):
        check_distribution(attrs.evolve(BOUNDED_NORMAL, likelihood=concrete_only))


def test_likelihood_batch_shape():
    import numpyro.distributions as dist

    def pooled(params, column):
        return dist.Normal(params["loc"].mean(), params["scale"].mean())

    with pytest.raises(ConformanceError, match="batch shape \\(\\), expected \\(3,\\)"):
        check_distribution(attrs.evolve(BOUNDED_NORMAL, likelihood=pooled))


def test_fill_value_outside_support():
    import numpyro.distributions as dist

    positive = attrs.evolve(
        BOUNDED_NORMAL,
        likelihood=lambda params, column: dist.LogNormal(params["loc"], params["scale"]),
        fill_value=-1.0,
    )
    sample = pd.Series([1.0, 2.0, 4.0])
    column = ColumnSchema(name="sample", type="real", lower=0.0, upper=5.0, dtype="float64")

    with pytest.raises(ConformanceError, match="fill_value -1.0 is outside the likelihood's support"):
        check_distribution(positive, sample=sample, column=column)


def test_schema_rejected():
    column = ColumnSchema(name="sample", type="real", dtype="float64")

    with pytest.raises(ConformanceError, match="check_schema rejects the sample's schema: .*declare lower and upper"):
        check_distribution(BOUNDED_NORMAL, column=column)


def test_wrapper_ignoring_missing():
    ignoring = attrs.evolve(MISSING, wrap=lambda base: base)

    with pytest.raises(ConformanceError, match="log-probabilities of the encoded sample are not finite"):
        check_wrapper(ignoring, BOUNDED_NORMAL)


# --------------------------------------------------------------------------------------
# Readers and writers


def test_builtin_io_passes(registry):
    for suffix in (".csv", ".parquet"):
        check_reader(registry.reader_for(f"x{suffix}"), registry.writer_for(f"x{suffix}"))
        check_writer(registry.writer_for(f"x{suffix}"), registry.reader_for(f"x{suffix}"))


def test_reader_raw_error(registry):
    def read_raw(path):
        return pd.read_csv(path)

    broken = DataReader(name="raw", suffixes=(".csv",), summary="pandas without checks", read=read_raw)

    with pytest.raises(ConformanceError, match="reading a missing file raised FileNotFoundError, not twinify"):
        check_reader(broken)


def test_writer_drops_column(registry):
    def write_some(frame, path):
        frame.iloc[:, 1:].to_csv(path, index=False)

    broken = DataWriter(name="lossy", suffixes=(".csv",), summary="drops a column", write=write_some)

    with pytest.raises(ConformanceError, match="the round trip changed the columns"):
        check_writer(broken, registry.reader_for("x.csv"))


# --------------------------------------------------------------------------------------
# Backends


def test_backend_passes(tmp_path):
    data = pd.DataFrame({"species": ["Adelie", "Gentoo", "Adelie"], "flipper": [181, 230, 195]})
    schema = tmp_path / "schema.toml"
    schema.write_text(
        '[columns.species]\ntype = "categorical"\ncategories = ["Adelie", "Gentoo"]\n'
        '[columns.flipper]\ntype = "integer"\nlower = 170\nupper = 235\ndtype = "int64"\n'
    )

    check_backend(UNIFORM, data=data, model="-", schema=schema)


def test_backend_bad_default():
    broken = attrs.evolve(
        UNIFORM, options=(BackendOption(name="steps", type=int, default=0, help="steps", minimum=1),)
    )

    with pytest.raises(ConformanceError, match="option steps rejects its default"):
        check_backend(broken)
