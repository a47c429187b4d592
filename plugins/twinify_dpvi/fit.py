"""Fitting the automatic mixture model with DPVI.

Every mechanism is registered before the data values are read. So the fit first
parses the model argument and checks the column names, then plans the privacy
mechanisms and registers them. Only then does it encode the data, estimate the
row count (add/remove relation only) and run DP-SGD.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twinify.errors import InputError
from twinify.features import PreparedData, check_specs, columns_without_bounds, resolve_features
from twinify.mixture import MixtureModel
from twinify.modelspec import FeatureSpec, parse_model_text, read_model_file
from twinify.privacy import PrivacyAccountant, PrivacyReport
from twinify.privacy.dp_bounds import buy_bounds, register_bounds, warn_if_too_little
from twinify.types import FitRequest
from twinify_dpvi.model import DPVIModel
from twinify_dpvi.plan import PrivacyPlan, noisy_row_count, plan_privacy
from twinify_dpvi.sampling import FixedSizeSampler, PoissonSampler
from twinify_dpvi.training import TrainingPlan, train

logger = logging.getLogger(__name__)

#: Starting standard deviation of the variational posterior (numpyro's automatic
#: guides start at 0.1 too).
INIT_SCALE = 0.1

#: Starting means are uniform in [-INIT_RADIUS, INIT_RADIUS] of the unconstrained
#: space, numpyro's ``init_to_uniform`` default.
INIT_RADIUS = 2.0

#: Share of the final epochs whose end iterates are averaged into the posterior.
AVERAGED_EPOCH_SHARE = 0.5


def fit(request: FitRequest) -> DPVIModel:
    """Fit the mixture model of ``request.model`` to ``request.data`` under DP.

    Raises:
        InputError: an invalid model argument, column or option.
        DataError: values that do not fit a distribution.
        PrivacyBudgetError: the budget cannot pay for the plan.
        FitError: the optimization diverged.
    """
    specs = feature_specs(request.model)
    check_specs(specs, request.registry, request.data)
    num_rows = request.data.shape[0]
    accountant = PrivacyAccountant(request.budget)
    bounded = _columns_for_dp_bounds(specs, request)
    bounds_epsilon = register_bounds(bounded, request.bounds_epsilon or 0.0, accountant)
    warn_if_too_little(bounded, bounds_epsilon, num_rows)
    plan = plan_privacy(accountant, request.options, num_rows)

    dp_bounds = buy_bounds(bounded, request.data, bounds_epsilon, request.rng)
    prepared = resolve_features(
        specs, request.registry, request.data, request.schema, request.strict_domains, dp_bounds=dp_bounds
    )
    mixture = MixtureModel(prepared.features, int(request.options["k"]))
    training, default_num_rows = make_training(plan, num_rows, request)
    logger.info(
        "DPVI: %d mixture components, %d parameters, %d steps with noise multiplier %.4g",
        mixture.num_components, mixture.num_parameters, plan.num_steps, plan.noise_multiplier,
    )
    result = train(mixture, prepared.encoded, training, request.rng, request.show_progress)
    report = _report(accountant, plan, prepared, request, num_rows)
    return DPVIModel(mixture, result.loc, result.log_scale, prepared.schema, report,
                     request.options, default_num_rows)


def make_training(
    plan: PrivacyPlan, num_rows: int, request: FitRequest, **settings: Any
) -> tuple[TrainingPlan, int]:
    """Return the training plan of an approved privacy plan and the default synthetic row count.

    Under the add/remove relation the row count is estimated under DP here (the
    plan has registered that mechanism), and the batch sampler is sized by the
    estimate. ``settings`` override fields of the training plan.
    """
    if plan.row_count_scale is None:
        default_num_rows = num_rows
        sampler: Any = FixedSizeSampler(num_rows, plan.batch_size)
    else:
        default_num_rows = noisy_row_count(num_rows, plan.row_count_scale, request.rng)
        sampler = PoissonSampler.sized(num_rows, plan.poisson_threshold, expected_rows=default_num_rows)

    training = TrainingPlan(
        sampler=sampler,
        num_epochs=plan.num_epochs,
        steps_per_epoch=plan.steps_per_epoch,
        noise_std=plan.noise_std,
        clipping_threshold=plan.clipping_threshold,
        learning_rate=float(request.options["learning_rate"]),
        init_scale=INIT_SCALE,
        init_radius=INIT_RADIUS,
        averaged_epochs=max(int(AVERAGED_EPOCH_SHARE * plan.num_epochs), 1),
        **settings,
    )
    return training, default_num_rows


def _columns_for_dp_bounds(specs: list[FeatureSpec], request: FitRequest) -> list[str]:
    if request.bounds_epsilon is None:
        return []
    columns = columns_without_bounds(specs, request.registry, request.schema)
    if not columns:
        logger.info("every numeric column declares its bounds; the epsilon for DP bounds is not spent")
    return columns


def feature_specs(model: Any) -> list[FeatureSpec]:
    """Return the feature specs of a model argument.

    Accepts a model file path (``str`` or ``Path``), model-file text (a ``str``
    with a ``:``), or a sequence of :class:`~twinify.modelspec.FeatureSpec`.

    Raises:
        InputError: a custom NumPyro model file (fitted by :mod:`twinify_dpvi.custom`
            instead), or an argument of another type.
    """
    if isinstance(model, Sequence) and not isinstance(model, str):
        if model and all(isinstance(spec, FeatureSpec) for spec in model):
            return list(model)
        raise InputError("a model given as a list must hold twinify.modelspec.FeatureSpec entries, one per column")
    if isinstance(model, str) and not Path(model).is_file() and (":" in model or "\n" in model):
        return parse_model_text(model, source="model text")
    if isinstance(model, str | Path):
        path = Path(model)
        if path.suffix.lower() == ".py":
            raise InputError(
                f"model file {str(path)!r} is a custom NumPyro model, which has no feature specs; "
                "fit it with twinify.fit or twinify vi"
            )
        return read_model_file(path)
    raise InputError(
        f"invalid DPVI model of type {type(model).__name__}: give a model file path, model-file "
        "text or a list of FeatureSpec"
    )


def _report(
    accountant: PrivacyAccountant, plan: PrivacyPlan, prepared: PreparedData, request: FitRequest, num_rows: int
) -> PrivacyReport:
    public = []
    if plan.relation == "substitution":
        public.append(f"number of rows ({num_rows}), public under the substitution relation")
    declared = [column.name for column in prepared.schema.columns if column.covered]
    if declared:
        public.append(f"domains of columns {', '.join(declared)} (declared in the model file or schema)")
    public.append("the model file: the modelled columns and their distributions")
    notes = []
    if request.drop_na and plan.relation == "substitution":
        notes.append(
            "rows with missing values were dropped before fitting, and the number of remaining "
            "rows was treated as public although it depends on the data"
        )
    return accountant.report(
        public=public,
        not_covered=prepared.schema.not_covered,
        seeded=request.rng.seeded,
        notes=notes,
        extra={
            "mixture_components": int(request.options["k"]),
            "variational_posterior": "mean-field Gaussian over the unconstrained parameters",
        },
    )
