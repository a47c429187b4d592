"""Conformance checks for reader and writer records: a round trip through a file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from twinify.errors import InputError
from twinify.testing.distributions import ConformanceError, _require
from twinify.types import DataReader, DataWriter


def sample_table() -> pd.DataFrame:
    """Return the small table the round-trip checks write and read back."""
    return pd.DataFrame(
        {
            "age": pd.array([34, 51, None, 27], dtype="Int64"),
            "income": [41000.5, np.nan, 23750.0, 88000.25],
            "region": pd.Series(["north", "south", None, "east"]),
            "member": [True, False, True, False],
        }
    )


def plain_values(frame: pd.DataFrame) -> list[list[object]]:
    """Return the frame's cells as Python objects, None for every missing value."""
    rows = frame.astype(object).to_numpy().tolist()
    return [[None if pd.isna(value) else value for value in row] for row in rows]


def check_reader(reader: DataReader, writer: DataWriter | None = None, *, frame: pd.DataFrame | None = None) -> None:
    """Check a reader: record fields, a round trip with ``writer``, and its errors.

    Args:
        reader: The record a ``twinify_readers`` hook yields.
        writer: A writer of the same format; without one, only the record's fields
            and the errors for a missing and an empty file are checked.
        frame: The table to round trip; by default :func:`sample_table`.

    Raises:
        ConformanceError: the first rule the reader breaks.
    """
    _check_record(reader, DataReader, "read")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"absent{reader.suffixes[0]}"
        _expect_input_error(reader, path, "a missing file")
        path.write_bytes(b"")
        _expect_input_error(reader, path, "an empty file")
        if writer is not None:
            _round_trip(reader, writer, frame if frame is not None else sample_table(), Path(folder))


def check_writer(writer: DataWriter, reader: DataReader, *, frame: pd.DataFrame | None = None) -> None:
    """Check a writer: record fields and a round trip through ``reader``.

    Raises:
        ConformanceError: the first rule the writer breaks.
    """
    _check_record(writer, DataWriter, "write")
    with tempfile.TemporaryDirectory() as folder:
        _round_trip(reader, writer, frame if frame is not None else sample_table(), Path(folder))


def _check_record(record: object, expected: type, function: str) -> None:
    _require(isinstance(record, expected), f"expected a {expected.__name__}, got a {type(record).__name__}")
    _require(bool(record.suffixes), f"{record.name}: no file suffixes")
    for suffix in record.suffixes:
        _require(suffix.startswith(".") and len(suffix) > 1 and suffix == suffix.lower(),
                 f"{record.name}: invalid suffix {suffix!r}; use a lower-case suffix such as '.csv'")
    _require(callable(getattr(record, function)), f"{record.name}: {function} is not callable")


def _expect_input_error(reader: DataReader, path: Path, what: str) -> None:
    try:
        reader.read(str(path))
    except InputError as error:
        _require("\n" not in str(error), f"{reader.name}: the error for {what} spans several lines")
        return
    except Exception as error:  # noqa: BLE001 - any other exception breaks the contract
        raise ConformanceError(
            f"{reader.name}: reading {what} raised {type(error).__name__}, not twinify.errors.InputError"
        ) from None
    raise ConformanceError(f"{reader.name}: reading {what} raised no error")


def _round_trip(reader: DataReader, writer: DataWriter, frame: pd.DataFrame, folder: Path) -> None:
    path = folder / f"table{writer.suffixes[0]}"
    writer.write(frame, str(path))
    _require(path.is_file(), f"{writer.name}: write created no file at the given path")
    back = reader.read(str(path))
    _require(isinstance(back, pd.DataFrame), f"{reader.name}: read returned a {type(back).__name__}")
    _require([str(name) for name in back.columns] == [str(name) for name in frame.columns],
             f"{reader.name}/{writer.name}: the round trip changed the columns to {list(back.columns)}")
    _require(back.shape == frame.shape, f"{reader.name}/{writer.name}: the round trip changed the shape to {back.shape}")
    _require(plain_values(back) == plain_values(frame),
             f"{reader.name}/{writer.name}: the round trip changed some values")
