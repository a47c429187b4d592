"""Saved model files: a versioned zip of JSON and NumPy arrays, never pickle.

Layout of a ``.twinify`` file (a zip archive):

``manifest.json``
    ``format`` (always ``"twinify-model"``), ``format_version``, the twinify
    version that wrote it, the backend and the plugins the model needs (with the
    versions that wrote it), the public schema and the privacy report.
``backend.json``
    The backend's configuration (:attr:`twinify.types.SavedState.config`).
``arrays.npz``
    The fitted parameters or posterior, as named numeric arrays. They are read
    with ``allow_pickle=False``, so a crafted object array is rejected.

Loading checks the format version, then that every plugin the model needs is
installed, then calls the backend to rebuild the model from these three parts. No code
stored in the file is run.
"""

from __future__ import annotations

import io
import json
import logging
import os
import tempfile
import zipfile
from importlib import metadata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from twinify.errors import InputError, ModelFileError, TwinifyError
from twinify.plugin.registry import Registry
from twinify.privacy.report import PrivacyReport
from twinify.schema import Schema
from twinify.types import FittedModel, SavedState

logger = logging.getLogger(__name__)

FORMAT_NAME = "twinify-model"
FORMAT_VERSION = 1

#: Time stamp of every archive entry (the earliest a zip file can hold).
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MODEL_SUFFIX = ".twinify"


def twinify_version() -> str:
    """Return the installed twinify version."""
    try:
        return metadata.version("twinify")
    except metadata.PackageNotFoundError:
        return "unknown"


def save_model(model: FittedModel, path: str | Path, registry: Registry) -> Path:
    """Write ``model`` to ``path`` atomically and return the path.

    The file is written under a temporary name in the same folder and renamed when
    complete, so an interrupted save leaves no partial file.
    """
    path = Path(path)
    write_atomically(path, model_writer(model, registry))
    return path


def model_writer(model: FittedModel, registry: Registry) -> Callable[[str], None]:
    """Return a function that writes ``model`` to the path it is given.

    The archive's entries carry a fixed time stamp, so that the same model gives
    the same bytes.
    """
    state = model.to_saved()
    _check_arrays(state.arrays)
    backend = registry.backend(model.backend)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "twinify_version": twinify_version(),
        "backend": model.backend,
        "plugins": _plugin_entries(registry, [("backends", backend.name), *state.plugins]),
        "schema": model.schema.to_dict(),
        "privacy_report": model.privacy_report.to_dict(),
    }
    arrays_buffer = io.BytesIO()
    np.savez(arrays_buffer, **{name: np.asarray(array) for name, array in state.arrays.items()})
    entries = {
        "manifest.json": json.dumps(manifest, indent=2),
        "backend.json": json.dumps(_jsonable(state.config), indent=2),
        "arrays.npz": arrays_buffer.getvalue(),
    }

    def write(temporary: str) -> None:
        with zipfile.ZipFile(temporary, "w") as archive:
            for name, content in entries.items():
                info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)

    return write


def load_model(path: str | Path, registry: Registry) -> FittedModel:
    """Read a model saved by :func:`save_model`.

    Raises:
        ModelFileError: the file is missing, not a twinify model, from a newer or
            unknown format version, damaged, or needs a plugin that is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} not found; check the path")
    manifest, config, arrays = _read_archive(path)
    _check_plugins(manifest, registry, path)
    backend = registry.backend(manifest["backend"])
    try:
        schema = Schema.from_dict(manifest["schema"], source=f"model file {path.name}")
        report = PrivacyReport.from_dict(manifest["privacy_report"])
        state = SavedState(config=config, arrays=arrays, plugins=())
        return backend.load(state, schema, report, registry)
    except TwinifyError:
        raise
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(
            f"model file {str(path)!r} is damaged ({type(error).__name__}: {error}); fit the model again"
        ) from None


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Return the manifest of a saved model without loading its arrays."""
    return _read_archive(Path(path), arrays=False)[0]


def write_atomically(path: Path, write: Any) -> None:
    """Call ``write(temporary_path)`` and move the result to ``path`` on success."""
    write_all_atomically([(Path(path), write)])


def write_all_atomically(outputs: Sequence[tuple[Path, Any]]) -> None:
    """Write every ``(path, write)`` pair to a temporary file, then move them all into place.

    If any write fails, every temporary file is removed and no output appears.

    Raises:
        InputError: a folder that does not exist or a file that cannot be written.
    """
    temporaries = []
    target = None
    try:
        for target, write in outputs:
            temporary = _temporary_beside(Path(target))
            temporaries.append(temporary)
            write(temporary)
        for (target, _), temporary in zip(outputs, temporaries):
            os.replace(temporary, target)
    except OSError as error:
        raise InputError(f"cannot write {str(target)!r}: {error.strerror or error}") from None
    finally:
        for temporary in temporaries:
            if os.path.exists(temporary):
                os.remove(temporary)


def _temporary_beside(path: Path) -> str:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(handle)
    # mkstemp makes the file private (0600); give it the mode a plain open would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    return temporary


# --------------------------------------------------------------------------------------


def _read_archive(path: Path, arrays: bool = True) -> tuple[dict, dict, dict[str, np.ndarray]]:
    name = str(path)
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{name!r} is not a twinify model file (expected a zip archive written by twinify)"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            _check_format(manifest, name)
            config = json.loads(archive.read("backend.json"))
            loaded: dict[str, np.ndarray] = {}
            if arrays:
                with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as npz:
                    loaded = {key: npz[key] for key in npz.files}
    except ModelFileError:
        raise
    except KeyError as error:
        raise ModelFileError(f"model file {name!r} lacks the entry {error}; fit the model again") from None
    except ValueError as error:
        # np.load raises ValueError for object arrays when pickles are not allowed.
        raise ModelFileError(
            f"model file {name!r} contains arrays that twinify does not load ({error}); "
            "it was not written by twinify"
        ) from None
    except (zipfile.BadZipFile, OSError, json.JSONDecodeError) as error:
        raise ModelFileError(f"model file {name!r} is damaged: {error}") from None
    return manifest, config, loaded


def _check_format(manifest: Any, name: str) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{name!r} is not a twinify model file (its manifest is missing or foreign)")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"model file {name!r} has no valid format version")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"model file {name!r} has format version {version}, written by twinify "
            f"{manifest.get('twinify_version', 'unknown')}; this twinify {twinify_version()} reads "
            f"versions up to {FORMAT_VERSION}; upgrade twinify"
        )
    if version < 1:
        raise ModelFileError(f"model file {name!r} has unknown format version {version}")


def _plugin_entries(registry: Registry, needed: list[tuple[str, str]]) -> list[dict[str, Any]]:
    entries = []
    for hook, record_name in dict.fromkeys(needed):
        record = _find_record(registry, hook, record_name)
        info = registry.provider(record)
        entries.append(
            {
                "hook": hook,
                "name": record_name,
                "plugin": info.name,
                "distribution": info.distribution,
                "version": info.version,
            }
        )
    return entries


def _find_record(registry: Registry, hook: str, name: str) -> Any:
    for record in registry.records(hook):
        if record.name == name:
            return record
    raise KeyError(name)


def _check_plugins(manifest: dict, registry: Registry, path: Path) -> None:
    missing = []
    for entry in manifest.get("plugins", []):
        try:
            _find_record(registry, entry["hook"], entry["name"])
        except KeyError:
            package = entry.get("distribution") or entry.get("plugin")
            missing.append(
                f"{entry['hook'].replace('_', ' ')} {entry['name']!r} from {package} {entry.get('version')}"
            )
    if missing:
        raise ModelFileError(
            f"model file {str(path)!r} needs plugins that are not installed: {', '.join(missing)}; "
            f"install them (twinify plugins lists what is installed){registry.failed_note()}"
        )


def _check_arrays(arrays: Any) -> None:
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"saved array {name!r} has dtype object; backends must save numeric arrays")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
