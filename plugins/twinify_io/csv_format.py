"""CSV reader and writer.

Columns are read with pandas' nullable dtypes, so an integer column with missing
values stays an integer column (``Int64``) and booleans stay booleans. Missing values
are written as empty fields.
"""

from __future__ import annotations

import csv

import pandas as pd

from twinify import hookimpl
from twinify.errors import InputError
from twinify.types import DataReader, DataWriter


def read_csv(path: str) -> pd.DataFrame:
    """Read a CSV file with a header row.

    Raises:
        InputError: the file is empty, not text, or not valid CSV.
    """
    try:
        frame = pd.read_csv(path, dtype_backend="numpy_nullable", skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"data file {path!r} is empty; give a CSV file with a header row") from None
    except UnicodeDecodeError:
        raise InputError(f"data file {path!r} is not UTF-8 text; is it really a CSV file?") from None
    except (pd.errors.ParserError, csv.Error) as error:
        first_line = str(error).splitlines()[0]
        raise InputError(f"data file {path!r} is not valid CSV: {first_line}") from None
    except OSError as error:
        raise InputError(f"cannot read data file {path!r}: {error.strerror or error}") from None
    unnamed = [str(column) for column in frame.columns if str(column).startswith("Unnamed: ")]
    if unnamed:
        raise InputError(
            f"data file {path!r} has {len(unnamed)} columns without a name in its header row; "
            "name every column"
        )
    return frame


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """Write ``frame`` as CSV without the index."""
    frame.to_csv(path, index=False)


@hookimpl
def twinify_readers():
    yield DataReader(name="csv", suffixes=(".csv",), summary="comma-separated values", read=read_csv)


@hookimpl
def twinify_writers():
    yield DataWriter(name="csv", suffixes=(".csv",), summary="comma-separated values", write=write_csv)
