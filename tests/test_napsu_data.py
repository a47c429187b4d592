"""NAPSU-MQ data handling: query files, discrete domains, encoding and decoding."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from twinify.errors import DataError, DomainNotDeclaredWarning, InputError
from twinify.schema import ColumnSchema, Schema
from twinify_napsu.domain import column_from_schema, encode_columns, resolve_domains
from twinify_napsu.queries import check_columns, parse_queries, query_indices, read_query_file


def test_query_file_format(tmp_path):
    path = tmp_path / "queries.txt"
    path.write_text(
        "# comment line\n age ,sex\n\neduc, race  # trailing comment\nmarried\n", encoding="utf-8"
    )
    queries = read_query_file(path)
    assert [q.columns for q in queries] == [("age", "sex"), ("educ", "race"), ("married",)]
    assert queries[1].source == "queries.txt line 4"


@pytest.mark.parametrize(
    "text, message",
    [("age,,sex\n", "empty column name"), ("age, age\n", "appears twice")],
)
def test_query_file_errors(text, message):
    with pytest.raises(InputError, match=message):
        parse_queries(text, "q.txt")


def test_empty_query_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(InputError, match="has no queries"):
        read_query_file(path)


def test_missing_query_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_query_file(tmp_path / "absent.txt")


def test_unknown_query_column():
    queries = parse_queries("age, height\n", "q.txt")
    with pytest.raises(InputError, match=r"q.txt line 1: column 'height' is not in the data"):
        check_columns(queries, ["age", "sex"])


def test_duplicate_queries_measured_once():
    queries = parse_queries("b, a\na, b\na\n", "q.txt")
    assert query_indices(queries, ["a", "b"]) == [(0, 1), (0,)]


# --------------------------------------------------------------------------------------
# Domains


def _resolve(data, schema=None, strict=False):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        columns = resolve_domains(data, list(data.columns), schema, strict)
    return columns, [w for w in caught if issubclass(w.category, DomainNotDeclaredWarning)]


def test_declared_categories_are_public():
    data = pd.DataFrame({"sex": ["F", "M", "F"]})
    schema = Schema((ColumnSchema(name="sex", type="categorical", categories=("F", "M", "X")),))
    columns, caught = _resolve(data, schema)
    assert columns[0].values == ("F", "M", "X")
    assert columns[0].schema.inferred == ()
    assert caught == []


def test_inferred_categories_warn():
    data = pd.DataFrame({"sex": pd.array(["F", "M", "F"], dtype="string")})
    columns, caught = _resolve(data)
    assert columns[0].values == ("F", "M")
    assert columns[0].schema.inferred == ("categories",)
    assert len(caught) == 1
    assert "sex (categories)" in str(caught[0].message)


def test_strict_mode_rejects_inferred():
    data = pd.DataFrame({"sex": ["F", "M"]})
    with pytest.raises(InputError, match="strict mode"):
        resolve_domains(data, ["sex"], None, strict_domains=True)


def test_integer_codes_become_categories():
    data = pd.DataFrame({"code": pd.array([3, 1, 3, 7], dtype="Int64")})
    columns, caught = _resolve(data)
    assert columns[0].values == (1, 3, 7)
    assert columns[0].schema.type == "integer"
    assert len(caught) == 1


def test_real_column_needs_bins():
    data = pd.DataFrame({"height": [1.5, 1.75, 1.8]})
    with pytest.raises(InputError, match="declare bins"):
        resolve_domains(data, ["height"], None, False)
    schema = Schema((ColumnSchema(name="height", type="real"),))
    with pytest.raises(InputError, match="declare bins"):
        resolve_domains(data, ["height"], schema, False)


def test_bins_encode_and_decode_midpoints():
    data = pd.DataFrame({"height": [1.0, 1.5, 2.0, 2.5, 3.0]})
    schema = Schema((ColumnSchema(name="height", type="real", bins=(1.0, 2.0, 3.0)),))
    columns, _ = _resolve(data, schema)
    encoded = encode_columns(data, columns, drop_na=False)
    # Bins are [1, 2) and [2, 3], so the last bin contains its upper edge.
    assert encoded.codes[:, 0].tolist() == [0, 0, 1, 1, 1]
    assert columns[0].decode(np.array([0, 1])).tolist() == [1.5, 2.5]


def test_integer_bins_decode_to_integers():
    schema = Schema((ColumnSchema(name="age", type="integer", bins=(0, 10, 20), dtype="int64"),))
    column = column_from_schema(schema["age"])
    decoded = column.decode(np.array([0, 1, 1]))
    assert decoded.tolist() == [5, 15, 15]
    assert decoded.dtype == np.int64


def test_integer_bounds_give_every_value():
    data = pd.DataFrame({"n": [0, 2, 5]})
    schema = Schema((ColumnSchema(name="n", type="integer", lower=0, upper=5),))
    columns, caught = _resolve(data, schema)
    assert columns[0].values == (0, 1, 2, 3, 4, 5)
    assert caught == []


def test_missing_values_rejected_without_drop():
    data = pd.DataFrame({"a": pd.array(["x", None, "y"], dtype="string"), "b": [1, 2, 3]})
    columns, _ = _resolve(data)
    with pytest.raises(DataError, match=r"1 rows have missing .* columns 'a'.*--drop_na"):
        encode_columns(data, columns, drop_na=False)
    encoded = encode_columns(data, columns, drop_na=True)
    assert encoded.codes.shape == (2, 2)


def test_out_of_domain_label_is_missing():
    data = pd.DataFrame({"sex": ["F", "M", "Q"]})
    schema = Schema((ColumnSchema(name="sex", type="categorical", categories=("F", "M")),))
    columns, _ = _resolve(data, schema)
    with pytest.raises(DataError, match="1 rows"):
        encode_columns(data, columns, drop_na=False)


def test_decode_restores_dtypes():
    data = pd.DataFrame(
        {
            "label": pd.array(["b", "a", "b"], dtype="string"),
            "code": pd.array([2, 1, 2], dtype="Int64"),
            "flag": [True, False, True],
        }
    )
    columns, _ = _resolve(data)
    encoded = encode_columns(data, columns, drop_na=False)
    decoded = {column.name: column.decode(encoded.codes[:, i]) for i, column in enumerate(columns)}
    assert decoded["label"].tolist() == ["b", "a", "b"]
    assert str(decoded["label"].dtype) == "string"
    assert decoded["code"].tolist() == [2, 1, 2]
    assert str(decoded["code"].dtype) == "Int64"
    assert decoded["flag"].tolist() == [True, False, True]
    assert decoded["flag"].dtype == bool
