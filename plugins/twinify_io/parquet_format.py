"""Parquet reader and writer, built on pyarrow.

The writer stores pandas' own description of each column next to the Arrow
schema, so a round trip keeps categoricals (with their category order), nullable
integers, booleans, strings and timestamps (with time zones). Files written by other
tools lack that description. Their integer and boolean columns are read as pandas'
nullable dtypes, so that a column with missing values stays an integer column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from twinify import hookimpl
from twinify.errors import InputError
from twinify.types import DataReader, DataWriter

SUFFIXES = (".parquet", ".pq")
MAGIC = b"PAR1"

# Arrow types read as pandas nullable dtypes when a file has no pandas metadata.
_NULLABLE_DTYPES = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def read_parquet(path: str) -> pd.DataFrame:
    """Read a Parquet file into a data frame.

    Raises:
        InputError: the file is missing, a folder, empty, not a Parquet file, or damaged.
    """
    _check_parquet_file(Path(path))
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"data file {path!r} is not a valid Parquet file: {first_line}") from None

    if table.schema.pandas_metadata is None:
        return table.to_pandas(types_mapper=_NULLABLE_DTYPES.get)
    return table.to_pandas()


def _check_parquet_file(path: Path) -> None:
    name = str(path)
    if not path.exists():
        raise InputError(f"data file {name!r} not found; check the path")
    if path.is_dir():
        raise InputError(f"data file {name!r} is a folder; give a single Parquet file")
    try:
        with path.open("rb") as handle:
            start = handle.read(len(MAGIC))
    except OSError as error:
        raise InputError(f"cannot read data file {name!r}: {error.strerror or error}") from None
    if not start:
        raise InputError(f"data file {name!r} is empty; give a Parquet file with at least one column")
    if start != MAGIC:
        raise InputError(
            f"data file {name!r} is not a Parquet file (it lacks the PAR1 header); "
            "if it holds CSV text, rename it to .csv"
        )


def write_parquet(frame: pd.DataFrame, path: str) -> None:
    """Write ``frame`` as Parquet without the index, keeping pandas dtypes.

    Raises:
        InputError: a column contains values that Arrow cannot store in one column type.
    """
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as error:
        first_line = str(error).splitlines()[0]
        raise InputError(f"cannot write the table as Parquet: {first_line}") from None
    pq.write_table(table, path)


@hookimpl
def twinify_readers():
    yield DataReader(name="parquet", suffixes=SUFFIXES, summary="Apache Parquet (pyarrow)", read=read_parquet)


@hookimpl
def twinify_writers():
    yield DataWriter(name="parquet", suffixes=SUFFIXES, summary="Apache Parquet (pyarrow)", write=write_parquet)
