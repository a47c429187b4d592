"""Reading and writing tables through the reader and writer plugins."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from twinify.errors import InputError
from twinify.persistence import write_atomically
from twinify.plugin.registry import Registry


def read_table(path: str | Path, registry: Registry) -> pd.DataFrame:
    """Read the table at ``path`` with the reader for its suffix.

    Raises:
        InputError: no reader for the suffix, or the file is missing, empty or malformed.
    """
    path = Path(path)
    reader = registry.reader_for(path)
    if not path.exists():
        raise InputError(f"data file {str(path)!r} not found; check the path")
    if path.is_dir():
        raise InputError(f"data file {str(path)!r} is a folder; give a {reader.name} file")
    frame = reader.read(str(path))
    if frame.shape[1] == 0:
        raise InputError(f"data file {str(path)!r} has no columns")
    if frame.shape[0] == 0:
        raise InputError(f"data file {str(path)!r} has columns but no rows")
    return frame


def write_table(frame: pd.DataFrame, path: str | Path, registry: Registry) -> Path:
    """Write ``frame`` to ``path`` with the writer for its suffix, atomically."""
    path = Path(path)
    writer = registry.writer_for(path)
    write_atomically(path, lambda temporary: writer.write(frame, temporary))
    return path


def check_writable(path: str | Path, registry: Registry) -> None:
    """Check before a long fit that ``path`` has a writer and an existing folder.

    Raises:
        InputError: unknown suffix or missing folder.
    """
    registry.writer_for(path)
    check_folder(path)


def check_folder(path: str | Path) -> None:
    """Check that ``path`` can be written: its folder exists and is writable, and it is no folder.

    Raises:
        InputError: the folder is missing or read-only, or ``path`` is a folder.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        raise InputError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {str(path)!r}: folder {str(folder)!r} is not writable")
    if path.is_dir():
        raise InputError(f"cannot write {str(path)!r}: a folder of that name exists; choose another name")
