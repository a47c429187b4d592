"""Fitting a custom NumPyro model file with DPVI.

The steps, in order:

1. run the model file and its preprocess, trace the model and guide with
   placeholder rows, describe the preprocessed columns (the category sets of
   text columns, read from the data, are reported as not covered by the
   guarantee), and draw a few prior-predictive rows through postprocess. Apart
   from preprocess and the column description this reads no data, and it makes
   errors in the model file show before the slow privacy planning;
2. plan the DP-SGD noise and register it with the accountant, as for the
   automatic model (:func:`twinify_dpvi.plan.plan_privacy`), then encode the rows;
3. run DP-SGD: the default guide through the automatic model's training loop,
   a guide from the model file through :mod:`.guide_training`.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import attrs
import numpy as np
import pandas as pd

from twinify.custom_model.checks import check_row_wise, prior_predictive
from twinify.custom_model.code import FactoryContext, ModelCode, load_model_code
from twinify.custom_model.frames import describe_columns, encode_columns, run_preprocess
from twinify.custom_model.guide import inspect_guide
from twinify.custom_model.tracing import inspect_model
from twinify.errors import FitError
from twinify.privacy import PrivacyAccountant, PrivacyReport
from twinify.schema import Schema
from twinify.types import FitRequest
from twinify_dpvi.custom.guide_training import train_guide
from twinify_dpvi.custom.latent_space import LatentSpace
from twinify_dpvi.custom.model import CustomDPVIModel, Posterior, SavedCode
from twinify_dpvi.fit import make_training
from twinify_dpvi.plan import PrivacyPlan, plan_privacy
from twinify_dpvi.training import train

logger = logging.getLogger(__name__)

#: Prior-predictive rows drawn through postprocess before the fit.
PREFLIGHT_ROWS = 4


def fit_custom(request: FitRequest) -> CustomDPVIModel:
    """Fit the custom NumPyro model file ``request.model`` to ``request.data`` under DP.

    Raises:
        ModelCodeError: the model file or its code is invalid or fails.
        PrivacyBudgetError: the budget cannot pay for the plan.
        FitError: the optimization diverged.
    """
    code = load_model_code(Path(request.model), factory_context(request))
    if request.schema is not None:
        warnings.warn(
            f"the schema is not used with the custom model {code.name!r}: its preprocess sets the columns",
            UserWarning,
            stacklevel=2,
        )
    preprocessed = run_preprocess(code, request.data)
    check_row_wise(code, request.data, preprocessed)
    structure = inspect_model(code, preprocessed.shape[1])
    guide = None if code.guide is None else inspect_guide(structure, request.rng.jax_key())
    schema = describe_columns(preprocessed, code, request.strict_domains)
    prior_predictive(structure, schema, PREFLIGHT_ROWS, request.rng.jax_key(), hide_inferred=False)

    num_rows = preprocessed.shape[0]
    accountant = PrivacyAccountant(request.budget)
    plan = plan_privacy(accountant, request.options, num_rows)
    if guide is not None:
        _describe_clipped_gradient(accountant)
    encoded = encode_columns(preprocessed, schema)

    training, default_num_rows = make_training(plan, num_rows, request, per_parameter_clipping=False)
    logger.info(
        "DPVI: custom model %s with %d latent variables, %d steps with noise multiplier %.4g",
        code.name, len(structure.latent_sites), plan.num_steps, plan.noise_multiplier,
    )
    try:
        if guide is None:
            result = train(LatentSpace(structure), encoded, training, request.rng, request.show_progress)
            posterior = Posterior(loc=result.loc, log_scale=result.log_scale)
        else:
            result = train_guide(guide, encoded, training, request.rng, request.show_progress)
            posterior = Posterior(guide_parameters=result.parameters)
    except FitError as error:
        # Telling whether the data have missing values costs one bit of privacy,
        # spent only when the fit has failed and nothing else is output.
        if np.isnan(encoded).any():
            raise FitError(
                f"{error}; the preprocessed data have missing values (NaN): make sure the model handles "
                "them, or drop them in preprocess or with --drop_na"
            ) from None
        raise

    report = _report(accountant, plan, code, schema, request, num_rows)
    saved = SavedCode(name=code.name, source=code.source, sha256=code.sha256, context=factory_context(request))
    return CustomDPVIModel(saved, posterior, schema, report, request.options, default_num_rows, loaded=code)


def factory_context(request: FitRequest) -> FactoryContext:
    """Return what a twinify 2.x ``model_factory`` receives: the fit's options and the data's columns."""
    budget = request.budget
    options = {**request.options, "epsilon": budget.epsilon, "delta": budget.delta, "drop_na": request.drop_na}
    data: pd.DataFrame = request.data
    return FactoryContext(
        options=options, columns=[str(name) for name in data.columns], dtypes=[str(dtype) for dtype in data.dtypes]
    )


def _describe_clipped_gradient(accountant: PrivacyAccountant) -> None:
    # The plan describes the default guide's clipped gradient; with the model
    # file's guide, the clipped gradient is with respect to that guide's parameters.
    mechanism = accountant.mechanisms[-1]
    parameters = {**mechanism.parameters, "clipped": "each row's log-likelihood gradient with respect to the "
                  "parameters of the model file's guide"}
    accountant.mechanisms[-1] = attrs.evolve(mechanism, parameters=parameters)


def _report(
    accountant: PrivacyAccountant,
    plan: PrivacyPlan,
    code: ModelCode,
    schema: Schema,
    request: FitRequest,
    num_rows: int,
) -> PrivacyReport:
    public = []
    if plan.relation == "substitution":
        public.append(f"number of rows after preprocess ({num_rows}), public under the substitution relation")
    declared = [column.name for column in schema.columns if column.type == "categorical" and column.covered]
    if declared:
        public.append(f"category lists of columns {', '.join(declared)} (set by preprocess)")
    public.append(f"the model file {code.name} (SHA-256 {code.sha256}): its latent variables, priors and likelihood")
    notes = [
        f"preprocess in {code.name} ran on the whole table; it passed the test that it transforms each "
        "row on its own, on which the guarantee depends"
    ]
    if plan.relation == "substitution" and num_rows != request.data.shape[0]:
        notes.append(
            f"preprocess kept {num_rows} of {request.data.shape[0]} rows, and the number of kept rows was "
            "treated as public although it depends on the data"
        )
    if request.drop_na and plan.relation == "substitution":
        notes.append(
            "rows with missing values were dropped before fitting, and the number of remaining "
            "rows was treated as public although it depends on the data"
        )
    posterior = "the model file's guide" if code.guide is not None else (
        "mean-field Gaussian over the unconstrained latent variables"
    )
    return accountant.report(
        public=public,
        not_covered=schema.not_covered,
        seeded=request.rng.seeded,
        notes=notes,
        extra={
            "model": "custom NumPyro model",
            "model_file": code.name,
            "model_sha256": code.sha256,
            "variational_posterior": posterior,
        },
    )
