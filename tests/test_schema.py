"""The public schema: files, validation and the out-of-domain rule."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from twinify.errors import DataError, InputError
from twinify.schema import ColumnSchema, Schema, conform_column, format_schema_toml, read_schema
from twinify.schema_draft import draft_schema


def test_toml_round_trip(tmp_path):
    schema = Schema((
        ColumnSchema(name="age", type="integer", lower=17, upper=90, missing=False),
        ColumnSchema(name="native country", type="categorical", categories=("US", "Other"), missing=True),
    ))
    path = tmp_path / "schema.toml"
    path.write_text(format_schema_toml(schema, ["header"]))
    assert read_schema(path) == schema


def test_json_schema_file(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"columns": {"x": {"type": "real", "lower": 0, "upper": 1}}}))
    assert read_schema(path)["x"].upper == 1


@pytest.mark.parametrize(
    "entry, fragment",
    [
        ({"type": "text"}, "invalid entry"),
        ({"lower": 1}, "has no type"),
        ({"type": "real", "lower": 5, "upper": 1}, "must be smaller"),
        ({"type": "categorical", "categories": []}, "empty"),
        ({"type": "categorical", "categories": ["a", "a"]}, "repeats"),
        ({"type": "categorical", "out_of_domain": "clip"}, "numbers only"),
        ({"type": "real", "bins": [0, 0]}, "increasing"),
        ({"type": "real", "colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_invalid_entries_rejected(tmp_path, entry, fragment):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"columns": {"x": entry}}))
    with pytest.raises(InputError, match=fragment):
        read_schema(path)


def test_unreadable_schema_file(tmp_path):
    path = tmp_path / "schema.toml"
    path.write_text("[columns.x\n")
    with pytest.raises(InputError, match="cannot read schema file"):
        read_schema(path)


SECRET = 123456.75


def test_clip_rule_hides_values(caplog):
    column = ColumnSchema(name="income", type="real", lower=0, upper=1000)
    with caplog.at_level(logging.DEBUG):
        result = conform_column(pd.Series([5.0, SECRET, -SECRET, None]), column)
    assert result.tolist()[:3] == [5.0, 1000.0, 0.0]
    assert np.isnan(result.iloc[3])
    assert str(SECRET) not in caplog.text
    assert "123456" not in caplog.text


def test_missing_rule_and_text_in_numbers():
    column = ColumnSchema(name="age", type="integer", lower=0, upper=120, out_of_domain="missing")
    result = conform_column(pd.Series(["40", "unknown", "130", "33.6"]), column)
    assert result.iloc[0] == 40
    assert result.iloc[3] == 34
    assert result.iloc[1:3].isna().all()


def test_error_rule_reports_count_not_value():
    column = ColumnSchema(name="age", type="integer", lower=0, upper=120, out_of_domain="error")
    with pytest.raises(DataError) as raised:
        conform_column(pd.Series([40, 777777]), column)
    assert "1 values" in str(raised.value)
    assert "777777" not in str(raised.value)


def test_labels_outside_categories_become_missing():
    column = ColumnSchema(name="sex", type="categorical", categories=("F", "M"))
    result = conform_column(pd.Series(["F", "secret-label", None, "M"]), column)
    assert result.iloc[0] == "F"
    assert result.iloc[3] == "M"
    assert result.iloc[1:3].isna().all()


def test_integer_categories_match_text_and_floats():
    column = ColumnSchema(name="code", type="categorical", categories=(0, 1, 2))
    result = conform_column(pd.Series(["2", 1.0, 0]), column)
    assert result.tolist() == [2, 1, 0]


def test_merge_keeps_declared_and_marks_inferred():
    declared = ColumnSchema(name="age", type="integer", lower=17)
    inferred = ColumnSchema(name="age", type="integer", lower=16, upper=91, missing=True,
                            inferred=("lower", "upper", "missing"))
    merged = declared.merge(inferred)
    assert (merged.lower, merged.upper, merged.missing) == (17, 91, True)
    assert merged.inferred == ("missing", "upper")


def test_draft_schema_marks_everything_inferred():
    frame = pd.DataFrame({"a": [1, 2, None], "b": ["x", "y", "x"], "c": [0.5, 1.5, 2.5], "d": [True, False, True]})
    schema = draft_schema(frame)
    assert [c.type for c in schema.columns] == ["integer", "categorical", "real", "boolean"]
    assert schema["a"].missing is True
    assert schema["b"].categories == ("x", "y")
    assert all(column.inferred for column in schema.columns)
