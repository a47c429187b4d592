"""The DPVI backend: differentially private variational inference for the mixture model.

``twinify vi DATA MODEL_FILE OUTPUT_PREFIX`` fits the automatic mixture model of
the model file with DP-SGD on the ELBO (see :mod:`twinify_dpvi.gradients`), using
d3p for the secure noise generator and batch sampling and the Fourier accountant
for the privacy accounting. A custom NumPyro model file (``.py``) is fitted by
:mod:`twinify_dpvi.custom` with the same privacy plan.
"""

from __future__ import annotations

from twinify import hookimpl
from twinify.errors import InputError
from twinify.types import BackendOption, InferenceBackend

# twinify 2.x used k = 50, 200 epochs, sampling ratio 0.01, clipping threshold 1
# and learning rate 0.01. Measured on UCI Adult at epsilon 1 with seeds 0 to 2
# (docs/benchmarks.md, "DPVI on UCI Adult: tuning details"). Batches of 5% of
# the rows, clipping threshold 5 and a learning rate of 0.05 decaying along a
# cosine brought the mean one-way TV distance from 0.124 to 0.058 in the same 50
# epochs. At a fixed epsilon a larger batch gets more noise per step but less
# per row, and the larger threshold clips the per-parameter groups less. 100
# epochs, k = 10, thresholds 3, 7 and 10, sampling ratio 0.1 and constant
# learning rates of 0.01 to 0.05 were no better.
OPTIONS = (
    BackendOption(name="k", type=int, default=20, minimum=1,
                  help="number of mixture components"),
    BackendOption(name="num_epochs", type=int, default=50, flags=("-e",), minimum=1,
                  help="passes over the data, in epochs of 1 / sampling ratio steps"),
    BackendOption(name="sampling_ratio", type=float, default=0.05, flags=("-q",), minimum=0.0,
                  exclusive_minimum=True, maximum=1.0,
                  help="expected share of the rows in each batch"),
    BackendOption(name="clipping_threshold", type=float, default=5.0, minimum=0.0, exclusive_minimum=True,
                  help="bound on the L2 norm of each row's gradient"),
    BackendOption(name="learning_rate", type=float, default=0.05, minimum=0.0, exclusive_minimum=True,
                  help="Adam's first step size, decaying to 0 along a cosine"),
)


def _fit(request):
    from twinify.custom_model import is_custom_model

    if is_custom_model(request.model):
        from twinify_dpvi.custom.fit import fit_custom

        if request.bounds_epsilon is not None:
            raise InputError(
                "custom NumPyro models scale their columns in their own preprocess, so there are "
                "no bounds to buy: drop --dp-bounds and use public bounds in preprocess"
            )

        return fit_custom(request)
    from twinify_dpvi.fit import fit

    return fit(request)


def _load(state, schema, privacy_report, registry):
    if state.config.get("model") == "custom":
        from twinify_dpvi.custom.model import CustomDPVIModel

        return CustomDPVIModel.load(state, schema, privacy_report)
    from twinify_dpvi.model import DPVIModel

    return DPVIModel.load(state, schema, privacy_report, registry)


DPVI = InferenceBackend(
    name="dpvi",
    summary="differentially private variational inference of a mixture model (DPVI)",
    commands=("vi",),
    model_help="model file: one 'column: Distribution' line per column, optionally with public "
    "metadata such as age: Normal(lower=17, upper=90); or a custom NumPyro model file (.py)",
    options=OPTIONS,
    fit=_fit,
    load=_load,
)


@hookimpl
def twinify_backends():
    yield DPVI
