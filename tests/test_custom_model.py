"""Custom NumPyro model files: loading, per-row gradients, fitting, privacy, saving and the CLI."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from custom_model_sources import (
    BAD_MODELS,
    GAUSS,
    GUIDED,
    LABELS,
    VALID_MODELS,
    gauss_data,
    labels_data,
)
from dpsgd_reference import pld_add_remove_epsilon, rdp_substitution_epsilon
from twinify_dpvi.custom.guide_training import data_free_gradient, guide_row_gradients
from twinify_dpvi.custom.latent_space import LatentSpace
from twinify_dpvi.gradients import clipped_likelihood_sum, per_example_gradients

import twinify
from twinify.cli import main
from twinify.custom_model import ModelCodeError
from twinify.custom_model.code import FactoryContext, load_model_code
from twinify.custom_model.frames import (
    decode_columns,
    describe_columns,
    encode_columns,
    run_preprocess,
)
from twinify.custom_model.guide import inspect_guide
from twinify.custom_model.tracing import inspect_model
from twinify.errors import DomainNotDeclaredWarning, InputError

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "examples" / "penguins.csv"
PENGUINS_CUSTOM = ROOT / "examples" / "penguins_custom.py"
# The fast settings of tests/test_dpvi.py, so that the RDP check below measures the same plan.
FAST_FLAGS = ["--epsilon", "1", "--delta", "1e-4", "-e", "5", "-q", "0.1"]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def _structure(path: Path, data: pd.DataFrame):
    context = FactoryContext(options={"epsilon": 1.0}, columns=list(data.columns), dtypes=map(str, data.dtypes))
    code = load_model_code(path, context)
    schema = describe_columns(run_preprocess(code, data), code)
    return code, schema, inspect_model(code, len(schema.columns))


def _outputs(prefix: Path) -> list[Path]:
    return [Path(f"{prefix}{suffix}") for suffix in (".csv", ".twinify", ".privacy.json")]


# --------------------------------------------------------------------------------------
# Loading twinify 2.x model files


@pytest.mark.parametrize("name", sorted(VALID_MODELS))
def test_loader_accepts_2x_models(name, tmp_path):
    path = _write(tmp_path, f"{name}.py", VALID_MODELS[name])
    data = labels_data() if name == "labels" else gauss_data()
    code, schema, structure = _structure(path, data)
    if name == "labels":
        assert schema.names == ["score", "group"]
        assert [site.name for site in structure.latent_sites] == ["mu", "sigma", "high"]
        assert structure.observed_sites == ("score", "group")
    else:
        assert schema.names == ["a", "b"]
        assert structure.observed_sites == ("x",)
    if code.guide is not None:
        guide = inspect_guide(structure, jax.random.PRNGKey(0))
        assert guide.num_parameters == 8


def test_text_columns_not_covered(tmp_path):
    path = _write(tmp_path, "gauss.py", GAUSS)
    code = load_model_code(path)
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": ["y", "x", None]})
    with pytest.warns(DomainNotDeclaredWarning, match="columns b are read from the data"):
        schema = describe_columns(frame, code)
    assert schema["b"].categories == ("x", "y")
    assert schema.not_covered == ["b (categories)"]
    with pytest.raises(ModelCodeError, match="strict mode"):
        describe_columns(frame, code, strict_domains=True)


def test_columns_encode_and_decode(tmp_path):
    code = load_model_code(_write(tmp_path, "gauss.py", GAUSS))
    frame = pd.DataFrame({
        "label": pd.Categorical(["b", None, "a"], categories=["a", "b"]),
        "flag": [True, False, True],
        "count": pd.array([3, None, 5], dtype="Int64"),
        "value": [0.5, np.nan, -1.5],
    })
    schema = describe_columns(frame, code)
    encoded = encode_columns(frame, schema)
    np.testing.assert_array_equal(encoded[:, 0], [1.0, -1.0, 0.0])  # 2.0.0's codes, -1 for missing
    np.testing.assert_array_equal(encoded[:, 1], [1.0, 0.0, 1.0])
    pd.testing.assert_frame_equal(decode_columns(encoded, schema, "gauss.py"), frame)
    with pytest.raises(ModelCodeError, match="generated code 2 for column 'label', which has 2 categories"):
        decode_columns(np.array([[2.0, 1.0, 3.0, 0.0]]), schema, "gauss.py")


# --------------------------------------------------------------------------------------
# Per-row gradients against jax.vmap(jax.grad(...))


@pytest.fixture(scope="module")
def penguins_structure():
    data = twinify.read_table(PENGUINS)
    code, schema, structure = _structure(PENGUINS_CUSTOM, data)
    # Rows 0-2 are complete, row 3 misses every measurement, row 8 misses sex.
    rows = jnp.asarray(encode_columns(run_preprocess(code, data), schema)[[0, 1, 2, 3, 8]])
    return structure, rows


def test_default_guide_row_gradients(penguins_structure):
    structure, rows = penguins_structure
    space = LatentSpace(structure)
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    loc = space.initial_unconstrained(keys[0])
    log_scale = jnp.log(0.1) + 0.1 * jax.random.normal(keys[1], loc.shape)
    noise = jax.random.normal(keys[2], loc.shape)

    def row_objective(loc, log_scale, row):
        latent, _ = space.constrain(loc + jnp.exp(log_scale) * noise)
        return structure.row_log_likelihood(latent, row)

    reference = jax.vmap(jax.grad(row_objective, argnums=(0, 1)), in_axes=(None, None, 0))(loc, log_scale, rows)
    gradients_of = per_example_gradients(space)
    groups = [None] * len(space.sites)
    # Compiled once, because running the model eagerly for each row is slow.
    summed_for = jax.jit(
        lambda mask: clipped_likelihood_sum(gradients_of, space.slices, groups, loc, log_scale, noise, rows, mask, 1e9)
    )
    for index in range(rows.shape[0]):
        summed = summed_for(jnp.zeros(rows.shape[0]).at[index].set(1.0))
        # float32 arithmetic along two different paths: relative error about 1e-6.
        np.testing.assert_allclose(summed.loc, reference[0][index], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(summed.log_scale, reference[1][index], rtol=1e-4, atol=1e-4)


def test_default_guide_clipping(penguins_structure):
    structure, rows = penguins_structure
    space = LatentSpace(structure)
    loc = space.initial_unconstrained(jax.random.PRNGKey(2))
    log_scale = jnp.full_like(loc, jnp.log(0.1))
    noise = jax.random.normal(jax.random.PRNGKey(3), loc.shape)

    def row_objective(loc, log_scale, row):
        return structure.row_log_likelihood(space.constrain(loc + jnp.exp(log_scale) * noise)[0], row)

    loc_grads, scale_grads = jax.vmap(jax.grad(row_objective, argnums=(0, 1)), in_axes=(None, None, 0))(
        loc, log_scale, rows
    )
    norms = jnp.sqrt(jnp.sum(loc_grads**2, axis=1) + jnp.sum(scale_grads**2, axis=1))
    threshold = 0.5 * float(jnp.min(norms))  # every row is clipped
    factors = threshold / norms
    summed = clipped_likelihood_sum(
        per_example_gradients(space), space.slices, [None] * len(space.sites), loc, log_scale, noise, rows,
        jnp.ones(rows.shape[0]), threshold,
    )
    np.testing.assert_allclose(summed.loc, factors @ loc_grads, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(summed.log_scale, factors @ scale_grads, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def autoguided_penguins(tmp_path_factory):
    source = PENGUINS_CUSTOM.read_text() + (
        "\nfrom numpyro.infer.autoguide import AutoDiagonalNormal\n\nguide = AutoDiagonalNormal(model)\n"
    )
    path = _write(tmp_path_factory.mktemp("autoguide"), "penguins_autoguide.py", source)
    data = twinify.read_table(PENGUINS)
    code, schema, structure = _structure(path, data)
    rows = jnp.asarray(encode_columns(run_preprocess(code, data), schema)[[0, 1, 3, 8]])
    return inspect_guide(structure, jax.random.PRNGKey(4)), rows


def test_guide_row_gradients(autoguided_penguins):
    guide, rows = autoguided_penguins
    key = jax.random.PRNGKey(5)
    vector = jnp.asarray(guide.initial_vector()) + 0.05 * jax.random.normal(key, (guide.num_parameters,))

    def row_objective(vector, row):
        return guide.model.row_log_likelihood(guide.sample_latent(vector, key)[0], row)

    reference = jax.vmap(jax.grad(row_objective), in_axes=(None, 0))(vector, rows)
    values, gradients = guide_row_gradients(guide, vector, key, rows)
    assert gradients.shape == (rows.shape[0], guide.num_parameters)
    np.testing.assert_allclose(gradients, reference, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(values, jax.vmap(row_objective, in_axes=(None, 0))(vector, rows), rtol=1e-5)


def test_guide_elbo_gradient(autoguided_penguins):
    guide, rows = autoguided_penguins
    key = jax.random.PRNGKey(6)
    vector = jnp.asarray(guide.initial_vector())

    def elbo(vector):
        latent, log_q = guide.sample_latent(vector, key)
        likelihood = jax.vmap(guide.model.row_log_likelihood, in_axes=(None, 0))(latent, rows)
        return jnp.sum(likelihood) + guide.model.log_prior(latent) - log_q

    _, gradients = guide_row_gradients(guide, vector, key, rows)
    combined = jnp.sum(gradients, axis=0) + data_free_gradient(guide, vector, key)
    np.testing.assert_allclose(combined, jax.grad(elbo)(vector), rtol=1e-3, atol=1e-3)


# --------------------------------------------------------------------------------------
# Fitting through the API


def _fit(data, path, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the fixed-seed warning
        return twinify.fit(data, path, epsilon=1.0, delta=1e-3, seed=0, **settings)


def test_fit_guided_model_learns(tmp_path):
    data = gauss_data(num_rows=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # A clipping threshold of 10 keeps the clipping bias, which shrinks the
        # fitted scales at threshold 1, small next to the tolerances below.
        twin = twinify.fit(data, _write(tmp_path, "guided.py", GUIDED), epsilon=5.0, delta=1e-4, seed=0,
                           num_epochs=20, sampling_ratio=0.1, learning_rate=0.05, clipping_threshold=10.0)
    mechanism = twin.privacy_report.mechanisms[-1]
    assert "model file's guide" in mechanism.parameters["clipped"]
    synthetic = twin.generate(4000, seed=2)
    # Measured with these seeds: means 0.89 and -1.16 for the data's 0.98 and
    # -1.03, standard deviations 0.46 and 2.25 for 0.50 and 2.01.
    np.testing.assert_allclose(synthetic.mean(), data.mean(), atol=0.3)
    np.testing.assert_allclose(synthetic.std(), data.std(), rtol=0.25)


@pytest.fixture(scope="module")
def labels_fit(tmp_path_factory):
    """LABELS fitted under add/remove; its file touches a marker file each time it runs."""
    source = LABELS + "\nimport pathlib\npathlib.Path(__file__).with_suffix('.ran').touch()\n"
    path = _write(tmp_path_factory.mktemp("labels"), "labels.py", source)
    twin = _fit(labels_data(), path, num_epochs=2, sampling_ratio=0.2, relation="add-remove")
    return twin, path


def test_add_remove_epsilon_by_pld(labels_fit):
    report = labels_fit[0].privacy_report
    assert report.relation == "add-remove"
    mechanism = next(m for m in report.mechanisms if m.purpose == "training steps")
    assert "Poisson" in mechanism.parameters["sampling_scheme"]
    count = next(m for m in report.mechanisms if m.purpose == "row count estimate")
    assert pld_add_remove_epsilon(mechanism.parameters, report.delta) <= report.epsilon - count.epsilon + 1e-3
    assert report.epsilon_spent <= report.epsilon * (1 + 1e-9)
    assert not any("number of rows" in item for item in report.public)


def test_load_never_runs_code(labels_fit, tmp_path):
    twin, path = labels_fit
    marker = path.with_suffix(".ran")
    synthetic = twin.generate(50, seed=1)
    assert list(synthetic.columns) == ["score", "group"]
    assert set(synthetic["group"]) <= {"low", "high"}
    assert twin.privacy_report.extra["model_file"] == "labels.py"
    saved = twin.save(tmp_path / "labels.twinify")
    marker.unlink()

    loaded = twinify.load(saved)
    assert not marker.exists()
    assert loaded.schema.names == ["score", "group"]
    with pytest.raises(InputError, match="--model-code"):
        loaded.generate(3, seed=0)
    loaded = twinify.load(saved, model_code=path)
    assert marker.exists()
    pd.testing.assert_frame_equal(loaded.generate(20, seed=4), twin.generate(20, seed=4))


def test_model_code_for_automatic_model(tmp_path, registry):
    from twinify_dpvi.model import DPVIModel

    from twinify.features import resolve_features
    from twinify.mixture import MixtureModel
    from twinify.modelspec import read_model_file
    from twinify.privacy import PrivacyAccountant, PrivacyBudget

    data = twinify.read_table(PENGUINS)
    prepared = resolve_features(read_model_file(ROOT / "examples" / "penguins.model"), registry, data)
    mixture = MixtureModel(prepared.features, 2)
    zeros = np.zeros(mixture.num_parameters)
    report = PrivacyAccountant(PrivacyBudget(1.0, 1e-4)).report()
    fitted = DPVIModel(mixture, zeros, zeros, prepared.schema, report, {"k": 2})
    saved = twinify.TwinModel(fitted, registry).save(tmp_path / "automatic.twinify")
    with pytest.raises(InputError, match="not fitted with a custom NumPyro model"):
        twinify.load(saved, model_code=PENGUINS_CUSTOM, registry=registry)


# --------------------------------------------------------------------------------------
# The command line


@pytest.fixture(scope="module")
def cli_fit(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("cli") / "penguins-custom"
    status = main(["vi", str(PENGUINS), str(PENGUINS_CUSTOM), str(prefix), "--seed", "0", "--quiet", *FAST_FLAGS])
    logging.captureWarnings(False)
    return status, prefix


def test_cli_end_to_end(cli_fit):
    status, prefix = cli_fit
    assert status == 0
    assert all(path.is_file() for path in _outputs(prefix))
    real = pd.read_csv(PENGUINS)
    synthetic = pd.read_csv(f"{prefix}.csv")
    assert list(synthetic.columns) == list(real.columns)
    assert len(synthetic) == len(real)
    assert set(synthetic["species"]) <= set(real["species"])
    assert set(synthetic["year"]) <= {2007, 2008, 2009}


def test_report_has_dpsgd(cli_fit):
    _, prefix = cli_fit
    report = json.loads(Path(f"{prefix}.privacy.json").read_text())
    mechanism = next(m for m in report["mechanisms"] if m["purpose"] == "training steps")
    assert mechanism["name"] == "subsampled Gaussian mechanism (DP-SGD)"
    parameters = mechanism["parameters"]
    assert parameters["steps"] == 5 * (344 // parameters["batch_size"])
    assert report["extra"]["model_sha256"] == twinify.load(f"{prefix}.twinify").privacy_report.extra["model_sha256"]

    # The plan of tests/test_dpvi.py: RDP gives 1.18 where the Fourier accountant gives 1.
    assert report["epsilon_spent"] <= 1.0
    assert rdp_substitution_epsilon(344, parameters, 1e-4) <= 1.0 * 1.25


def test_generate_same_rows_new_process(cli_fit, tmp_path):
    _, prefix = cli_fit
    output = tmp_path / "again.csv"
    result = subprocess.run(
        [sys.executable, "-m", "twinify", "generate", f"{prefix}.twinify", "-n", "344", "-o", str(output),
         "--seed", "1", "--model-code", str(PENGUINS_CUSTOM)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    # The fit wrote its synthetic rows with seed + 1.
    pd.testing.assert_frame_equal(pd.read_csv(output), pd.read_csv(f"{prefix}.csv"))


@pytest.mark.parametrize("case", ["missing", "changed"])
def test_generate_needs_same_code(case, cli_fit, tmp_path, capsys, restore_logging):
    _, prefix = cli_fit
    output = tmp_path / "rows.csv"
    flags = []
    if case == "changed":
        changed = _write(tmp_path, "penguins_custom.py", PENGUINS_CUSTOM.read_text() + "# edited\n")
        flags = ["--model-code", str(changed)]

    status = main(["generate", f"{prefix}.twinify", "-n", "5", "-o", str(output), *flags])

    errors = capsys.readouterr().err
    assert status == 2
    assert len(errors.splitlines()) == 1, errors
    assert ("differs from the model file" if case == "changed" else "--model-code FILE") in errors
    assert not output.exists()


def test_generate_allows_changed_code(cli_fit, tmp_path, capsys, restore_logging):
    _, prefix = cli_fit
    output = tmp_path / "rows.csv"
    changed = _write(tmp_path, "penguins_custom.py", PENGUINS_CUSTOM.read_text() + "# edited\n")

    status = main(["generate", f"{prefix}.twinify", "-n", "344", "-o", str(output), "--seed", "1",
                   "--model-code", str(changed), "--allow-changed-code"])

    assert status == 0
    assert "differs from the model file penguins_custom.py" in capsys.readouterr().err
    # The edit adds only a comment, so the rows are those of the fit (seed + 1).
    pd.testing.assert_frame_equal(pd.read_csv(output), pd.read_csv(f"{prefix}.csv"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_model_one_line(case, tmp_path, capsys, restore_logging):
    text, message = BAD_MODELS[case]
    data = tmp_path / "data.csv"
    gauss_data().to_csv(data, index=False)
    model = _write(tmp_path, "model.py", text)
    prefix = tmp_path / "out"

    status = main(["vi", str(data), str(model), str(prefix), "--quiet", "-e", "1", "-q", "0.2"])

    errors = capsys.readouterr().err
    assert status == 2
    assert len(errors.splitlines()) == 1, errors
    assert errors.startswith("twinify: error: model file ")
    assert message in errors
    assert "Traceback" not in errors
    assert not any(path.exists() for path in _outputs(prefix))


def test_bad_model_debug_traceback(tmp_path, restore_logging):
    data = tmp_path / "data.csv"
    gauss_data().to_csv(data, index=False)
    model = _write(tmp_path, "model.py", BAD_MODELS["failing module"][0])
    with pytest.raises(ModelCodeError) as raised:
        main(["--debug", "vi", str(data), str(model), str(tmp_path / "out")])
    # --debug lets the error through with the user's exception as its cause.
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert "broken on purpose" in str(raised.value.__cause__)
