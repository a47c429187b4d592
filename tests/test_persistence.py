"""Saved model files never run code from the file."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from twinify.errors import InputError, ModelFileError
from twinify.persistence import FORMAT_VERSION, load_model, write_all_atomically


class _CreatesFileWhenUnpickled:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _write_archive(path, manifest, arrays_bytes):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("backend.json", "{}")
        archive.writestr("arrays.npz", arrays_bytes)


def _manifest(version=FORMAT_VERSION):
    return {"format": "twinify-model", "format_version": version, "backend": "dpvi", "plugins": [],
            "schema": {"columns": {}}, "privacy_report": {}}


def test_pickle_payload_is_not_run(tmp_path, registry):
    marker = tmp_path / "payload-ran"
    buffer = io.BytesIO()
    payload = np.array([_CreatesFileWhenUnpickled(str(marker))], dtype=object)
    np.savez(buffer, params=payload)
    model_path = tmp_path / "crafted.twinify"
    _write_archive(model_path, _manifest(), buffer.getvalue())

    with pytest.raises(ModelFileError, match="not written by twinify"):
        load_model(model_path, registry)
    assert not marker.exists()


def test_plain_pickle_file_rejected(tmp_path, registry):
    marker = tmp_path / "payload-ran"
    model_path = tmp_path / "model.p"
    model_path.write_bytes(pickle.dumps(_CreatesFileWhenUnpickled(str(marker))))
    with pytest.raises(ModelFileError, match="not a twinify model file"):
        load_model(model_path, registry)
    assert not marker.exists()


def test_newer_format_names_versions(tmp_path, registry):
    model_path = tmp_path / "future.twinify"
    _write_archive(model_path, _manifest(version=FORMAT_VERSION + 1), b"")
    with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION + 1}.*upgrade twinify"):
        load_model(model_path, registry)


def test_missing_plugin_named(tmp_path, registry):
    manifest = _manifest()
    manifest["plugins"] = [{"hook": "distributions", "name": "zeta", "plugin": "zeta",
                            "distribution": "twinify-plugin-zeta", "version": "0.3"}]
    buffer = io.BytesIO()
    np.savez(buffer, x=np.zeros(2))
    model_path = tmp_path / "needs-plugin.twinify"
    _write_archive(model_path, manifest, buffer.getvalue())
    with pytest.raises(ModelFileError, match="twinify-plugin-zeta 0.3"):
        load_model(model_path, registry)


def test_missing_file(tmp_path, registry):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nothing.twinify", registry)


def test_failed_write_leaves_no_file(tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.csv"

    def fail(temporary):
        raise PermissionError(13, "Permission denied", temporary)

    with pytest.raises(InputError, match="cannot write .*second.csv"):
        write_all_atomically([(first, lambda temporary: open(temporary, "w").write("{}")), (second, fail)])

    assert list(tmp_path.iterdir()) == []


def test_written_together(tmp_path):
    paths = [tmp_path / "a.txt", tmp_path / "b.txt"]

    write_all_atomically([(path, lambda temporary, text=path.name: open(temporary, "w").write(text)) for path in paths])

    assert [path.read_text() for path in paths] == ["a.txt", "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_outputs_follow_umask(tmp_path):
    import os
    import stat

    path = tmp_path / "out.txt"
    previous = os.umask(0o022)
    try:
        write_all_atomically([(path, lambda temporary: open(temporary, "w").write("x"))])
    finally:
        os.umask(previous)

    assert stat.S_IMODE(path.stat().st_mode) == 0o644
