"""The built-in Parquet reader and writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twinify.errors import InputError
from twinify.tableio import read_table, write_table


def typed_frame():
    frame = pd.DataFrame(
        {
            "species": pd.Categorical(["Adelie", "Gentoo", None, "Adelie"], categories=["Gentoo", "Adelie", "Chinstrap"]),
            "size": pd.Categorical(["small", "large", "small", "large"], categories=["small", "large"], ordered=True),
            "flipper": pd.array([181, None, 195, 210], dtype="Int64"),
            "year": np.array([2007, 2008, 2008, 2009], dtype="int64"),
            "clutch": pd.array([1, 2, None, 2], dtype="Int16"),
            "measured": np.array([True, False, True, True]),
            "sexed": pd.array([True, None, False, True], dtype="boolean"),
            "island": pd.array(["Biscoe", None, "Dream", "Torgersen"], dtype="string"),
            "mass": [3750.0, np.nan, 3250.5, 4675.0],
            "observed": pd.to_datetime(["2007-11-11 10:00", None, "2008-11-16 09:30", "2009-11-09 14:15"]),
        }
    )
    frame["observed_utc"] = frame["observed"].dt.tz_localize("UTC")
    return frame


@pytest.mark.parametrize("suffix", [".parquet", ".pq", ".PARQUET"])
def test_round_trip_dtypes(registry, tmp_path, suffix):
    frame = typed_frame()
    path = tmp_path / f"penguins{suffix}"

    write_table(frame, path, registry)
    back = read_table(path, registry)

    assert registry.reader_for(path).name == "parquet"
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    pd.testing.assert_frame_equal(back, frame)
    assert list(back["species"].cat.categories) == ["Gentoo", "Adelie", "Chinstrap"]
    assert back["size"].cat.ordered


def test_foreign_file_nullable(registry, tmp_path):
    # A file without pandas metadata, as other tools write it.
    path = tmp_path / "foreign.parquet"
    table = pa.table(
        {
            "count": pa.array([1, None, 3], pa.int32()),
            "flag": pa.array([True, None, False]),
            "label": pa.array(["a", None, "c"]),
        }
    )
    pq.write_table(table, path)

    back = read_table(path, registry)

    assert str(back["count"].dtype) == "Int32"
    assert str(back["flag"].dtype) == "boolean"
    assert back["count"].tolist()[0] == 1
    assert back["count"].isna().tolist() == [False, True, False]
    assert back["label"].isna().tolist() == [False, True, False]


def plain_values(frame):
    """Return the frame's values as Python objects, with None for every missing value."""
    return [[None if pd.isna(value) else value for value in row] for row in frame.astype(object).to_numpy()]


def test_csv_parquet_same_values(registry, tmp_path):
    frame = typed_frame().drop(columns=["observed", "observed_utc"])

    write_table(frame, tmp_path / "twin.csv", registry)
    write_table(frame, tmp_path / "twin.parquet", registry)
    from_csv = read_table(tmp_path / "twin.csv", registry)
    from_parquet = read_table(tmp_path / "twin.parquet", registry)

    assert list(from_csv.columns) == list(from_parquet.columns)
    assert plain_values(from_csv) == plain_values(from_parquet)
    assert plain_values(from_parquet) == plain_values(frame)


def test_missing_file(registry, tmp_path):
    from twinify_io.parquet_format import read_parquet

    with pytest.raises(InputError, match="data file '.*absent.parquet' not found; check the path"):
        read_parquet(str(tmp_path / "absent.parquet"))


def test_empty_file(registry, tmp_path):
    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")

    with pytest.raises(InputError, match="is empty"):
        read_table(path, registry)


def test_csv_renamed(registry, tmp_path):
    path = tmp_path / "renamed.parquet"
    path.write_text("species,mass\nAdelie,3750\n")

    with pytest.raises(InputError) as raised:
        read_table(path, registry)

    message = str(raised.value)
    assert "is not a Parquet file" in message
    assert "rename it to .csv" in message
    assert "Adelie" not in message
    assert "\n" not in message


def test_corrupt_file(registry, tmp_path):
    path = tmp_path / "cut.parquet"
    write_table(typed_frame(), path, registry)
    path.write_bytes(path.read_bytes()[:200])

    with pytest.raises(InputError, match="is not a valid Parquet file: ") as raised:
        read_table(path, registry)

    assert "\n" not in str(raised.value)


def test_folder_rejected(registry, tmp_path):
    from twinify_io.parquet_format import read_parquet

    folder = tmp_path / "dataset.parquet"
    folder.mkdir()

    with pytest.raises(InputError, match="is a folder"):
        read_parquet(str(folder))


def test_mixed_column_rejected(registry, tmp_path):
    frame = pd.DataFrame({"mixed": pd.Series([1, "two", 3.5], dtype=object)})

    with pytest.raises(InputError, match="cannot write the table as Parquet: "):
        write_table(frame, tmp_path / "mixed.parquet", registry)

    assert not (tmp_path / "mixed.parquet").exists()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------
# Parquet through the fitting command, with a test backend until DPVI is installed

SCHEMA_TOML = """
[columns.species]
type = "categorical"
categories = ["Adelie", "Chinstrap", "Gentoo"]
dtype = "category"

[columns.flipper]
type = "integer"
lower = 170
upper = 235
dtype = "Int64"
"""


def test_fit_command_parquet(make_registry, tmp_path, capsys):
    from uniform_backend import plugin_module

    from twinify.cli import build_parser

    registry = make_registry(modules={"uniform": plugin_module()})
    data = pd.DataFrame(
        {
            "species": pd.Categorical(["Adelie", "Gentoo", "Chinstrap", "Adelie"]),
            "flipper": pd.array([181, 230, 195, None], dtype="Int64"),
        }
    )
    data_path = tmp_path / "penguins.parquet"
    write_table(data, data_path, registry)
    (tmp_path / "schema.toml").write_text(SCHEMA_TOML)
    prefix = tmp_path / "twin"

    args = build_parser(registry).parse_args(
        ["uniform", str(data_path), "-", str(prefix), "--schema", str(tmp_path / "schema.toml"),
         "--output-format", "parquet", "--num_synthetic", "7"]
    )
    status = args.handler(args, registry)

    synthetic = read_table(tmp_path / "twin.parquet", registry)
    assert status == 0
    assert not (tmp_path / "twin.csv").exists()
    assert (tmp_path / "twin.twinify").is_file()
    assert synthetic.shape == (7, 2)
    assert str(synthetic["species"].dtype) == "category"
    assert str(synthetic["flipper"].dtype) == "Int64"
    assert set(synthetic["species"]) <= {"Adelie", "Chinstrap", "Gentoo"}
    assert "Privacy guarantee" in capsys.readouterr().out
