"""``twinify report``: the HTML page, its images, and agreement with ``--json``."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from twinify.cli import main
from twinify.privacy.report import Mechanism, PrivacyReport

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _ReportParser(HTMLParser):
    """Collect image sources, metric cells, external references and the visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.metric_cells: list[tuple[list, object, str]] = []
        self.references: list[str] = []
        self.text: list[str] = []
        self._cell: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "img":
            self.images.append(attributes["src"])
        for name in ("src", "href"):
            if name in attributes and not attributes[name].startswith("data:"):
                self.references.append(attributes[name])
        if tag == "td" and "data-metric" in attributes:
            self._cell = attributes

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            path = json.loads(self._cell["data-metric"])
            self.metric_cells.append((path, json.loads(self._cell["data-value"]), data))
            self._cell = None


def _tables(folder):
    rng = np.random.default_rng(0)
    rows = 300
    colour = rng.choice(["red", "green", "blue"], size=rows)
    size = rng.normal(size=rows) + (colour == "red") * 2.0
    real = pd.DataFrame({
        "colour": colour,
        "size": np.where(rng.random(rows) < 0.1, np.nan, size),
        "count": rng.poisson(3, size=rows),
        "label": np.where(size > 1.0, "big", "small"),
    })
    synthetic = real.sample(frac=1.0, replace=True, random_state=1).reset_index(drop=True)
    synthetic["colour"] = rng.permutation(synthetic["colour"].to_numpy())
    real_path, synthetic_path = folder / "real.csv", folder / "synthetic.csv"
    real.to_csv(real_path, index=False)
    synthetic.to_csv(synthetic_path, index=False)
    return real_path, synthetic_path


def _model_file(path):
    report = PrivacyReport(
        epsilon=1.0, delta=1e-5, relation="add-remove", epsilon_spent=0.99, delta_spent=1e-5,
        composition="PLD accountant",
        mechanisms=(Mechanism(name="subsampled Gaussian (DP-SGD)", purpose="training steps", epsilon=0.99,
                              delta=1e-5, accountant="test", parameters={"noise multiplier": 10.5}),),
    )
    manifest = {
        "format": "twinify-model", "format_version": 1, "twinify_version": "test", "backend": "dpvi",
        "plugins": [], "privacy_report": report.to_dict(),
        "schema": {"columns": {"count": {"type": "categorical"}, "colour": {"type": "categorical"}}},
    }
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("backend.json", "{}")
        archive.writestr("arrays.npz", b"")
    return path


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    """One report run shared by the checks below: the page, the JSON and the inputs."""
    folder = tmp_path_factory.mktemp("report")
    real_path, synthetic_path = _tables(folder)
    model_path = _model_file(folder / "model.twinify")
    output = folder / "report.html"
    capture = io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(capture):
        status = main([
            "report", str(real_path), str(synthetic_path), "-o", str(output), "--json",
            "--target", "label", "--model", str(model_path),
        ])
    assert status == 0
    parser = _ReportParser()
    page = output.read_text(encoding="utf-8")
    parser.feed(page)
    return {"page": page, "parser": parser, "metrics": json.loads(capture.getvalue()), "output": output}


def test_report_images_are_png(report_run):
    images = report_run["parser"].images
    # 4 column plots, the association heat map and 3 worst pairs.
    assert len(images) == 8
    for source in images:
        assert source.startswith("data:image/png;base64,")
        data = base64.b64decode(source.split(",", 1)[1], validate=True)
        assert data[:8] == PNG_SIGNATURE
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            assert min(image.size) > 100


def test_report_metrics_match_json(report_run):
    metrics = report_run["metrics"]
    cells = report_run["parser"].metric_cells
    paths = {tuple(path) for path, _, _ in cells}
    assert ("two_way_tv", "mean") in paths
    assert ("utility", "train_on_synthetic_accuracy") in paths
    assert ("columns", "size", "missing_rate_real") in paths
    for path, value, shown in cells:
        expected = metrics
        for key in path:
            expected = expected[key]
        assert value == expected, path
        assert shown == (f"{expected:.4g}" if isinstance(expected, float) else str(expected)), path


def test_report_embedded_json_matches(report_run):
    match = re.search(r'<script type="application/json" id="metrics">(.*?)</script>', report_run["page"], re.S)
    assert json.loads(match.group(1)) == report_run["metrics"]


def test_report_is_self_contained(report_run):
    assert report_run["parser"].references == []
    assert "http://" not in report_run["page"]
    assert "https://" not in report_run["page"]


def test_report_states_private_use(report_run):
    text = " ".join(report_run["parser"].text)
    assert "computed from the real data" in text
    assert "for the data holder's eyes only" in text


def test_report_includes_privacy_report(report_run):
    text = " ".join(report_run["parser"].text)
    assert "(1, 1e-05)-differential privacy" in text
    assert "noise multiplier: 10.5" in text


def test_report_model_schema_sets_kinds(report_run):
    # The model file declares count categorical although the data hold numbers.
    columns = report_run["metrics"]["columns"]
    assert columns["count"]["kind"] == "categorical"
    assert columns["size"]["kind"] == "numeric"


def test_report_json_only_writes_no_page(tmp_path, capsys, monkeypatch):
    real_path, synthetic_path = _tables(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(real_path), str(synthetic_path), "--json", "--categorical", "count"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["utility"] is None
    assert metrics["columns"]["count"]["kind"] == "categorical"
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "nope"], "target column 'nope'"),
        (["--categorical", "nope"], "column 'nope'"),
        (["--model", "missing.twinify"], "model file 'missing.twinify' not found"),
        (["--bins", "0"], "invalid number of bins 0"),
    ],
)
def test_report_bad_input(tmp_path, capsys, monkeypatch, extra, message):
    real_path, synthetic_path = _tables(tmp_path)
    monkeypatch.chdir(tmp_path)
    status = main(["report", str(real_path), str(synthetic_path), "-o", "out.html", *extra])
    error = capsys.readouterr().err.strip()
    assert status == 2
    assert message in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "out.html").exists()


def test_report_missing_synthetic_column(tmp_path, capsys):
    real_path, synthetic_path = _tables(tmp_path)
    pd.read_csv(synthetic_path).drop(columns=["count"]).to_csv(synthetic_path, index=False)
    status = main(["report", str(real_path), str(synthetic_path), "-o", str(tmp_path / "out.html")])
    assert status == 2
    assert "'count'" in capsys.readouterr().err
    assert not (tmp_path / "out.html").exists()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_in_chromium(report_run, tmp_path):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    result = subprocess.run(
        [CHROMIUM, *flags, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         report_run["output"].as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # The browser parsed the page into a DOM holding the summary and every image.
    assert "Mean two-way total variation distance" in result.stdout
    assert result.stdout.count("data:image/png;base64,") == 8
