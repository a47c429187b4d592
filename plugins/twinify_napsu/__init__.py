"""NAPSU-MQ: noise-aware synthetic data from differentially private marginal queries.

Räisä, Jälkö, Kaski and Honkela 2023, "Noise-aware statistical inference with
differentially private synthetic data" (AISTATS). The backend measures marginal
queries with the Gaussian mechanism, fits the maximum-entropy distribution over the
query cliques, and keeps a posterior over its parameters, so that several synthetic
data sets carry the uncertainty the privacy noise adds. Discrete data only.

The heavy modules (JAX, NumPyro) load when a model is fitted or loaded, not when
the plugin is listed.
"""

from __future__ import annotations

from typing import Any

from twinify import hookimpl
from twinify.types import BackendOption, InferenceBackend

MODEL_HELP = (
    "a query file (one marginal query per line: column names separated by commas, '#' starts "
    "a comment), or 'auto' to choose queries automatically: all one-way marginals and a tree of "
    "two-way marginals picked under differential privacy, from the same budget"
)

OPTIONS = (
    BackendOption(
        name="inference",
        type=str,
        default="laplace",
        choices=("laplace", "nuts", "laplace+nuts"),
        help="posterior approximation: laplace (fast), nuts (NumPyro NUTS, for small models), or "
        "laplace+nuts (NUTS started from the Laplace draws)",
    ),
    BackendOption(
        name="num_samples",
        type=int,
        default=20,
        minimum=1,
        help="posterior draws kept in the model; generated rows mix them, and each data set of "
        "generate_datasets uses one",
    ),
    BackendOption(
        name="selection_share",
        type=float,
        default=0.2,
        minimum=0.0,
        exclusive_minimum=True,
        maximum=0.99,
        help="with 'auto': share of the zCDP budget rho spent on choosing queries, the rest being "
        "split evenly between measuring the one-way and the chosen marginals",
    ),
    BackendOption(
        name="forced_queries",
        type=str,
        default="",
        help="with 'auto': query file whose queries are always measured, with selection building "
        "the tree around them",
    ),
    BackendOption(
        name="compress",
        type=bool,
        default=True,
        help="with 'auto': merge each column's values whose noisy count is below 3 noise standard "
        "deviations into one value",
    ),
    BackendOption(
        name="prior_scale",
        type=float,
        default=10.0,
        minimum=0.0,
        exclusive_minimum=True,
        help="standard deviation of the normal prior on each canonical parameter (a log odds "
        "ratio), used by NUTS",
    ),
    BackendOption(
        name="max_iterations",
        type=int,
        default=3000,
        minimum=1,
        help="maximum number of mirror-descent iterations when fitting the noisy marginals",
    ),
    BackendOption(
        name="refit_iterations",
        type=int,
        default=500,
        minimum=1,
        help="maximum number of mirror-descent iterations when mapping each Laplace draw to "
        "parameters",
    ),
    BackendOption(
        name="tolerance",
        type=float,
        default=1e-7,
        minimum=0.0,
        exclusive_minimum=True,
        help="the fits stop when the objective fell by less than this fraction over 100 iterations",
    ),
    BackendOption(
        name="num_warmup",
        type=int,
        default=500,
        minimum=1,
        help="NUTS warm-up steps per chain",
    ),
    BackendOption(
        name="num_chains", type=int, default=2, minimum=1, help="NUTS chains, run in turn"
    ),
    BackendOption(
        name="dense_limit",
        type=int,
        default=4000,
        minimum=1,
        help="NUTS: maximum number of measured cells for which the likelihood covariance is a "
        "dense matrix (memory grows with its square); above it only its diagonal is kept",
    ),
)


def _fit(request: Any) -> Any:
    from twinify_napsu.fit import fit

    return fit(request)


def _load(state: Any, schema: Any, privacy_report: Any, registry: Any) -> Any:
    from twinify_napsu.model import load_model

    return load_model(state, schema, privacy_report, registry)


@hookimpl
def twinify_backends():
    yield InferenceBackend(
        name="napsu",
        summary="NAPSU-MQ: noise-aware synthetic data from DP marginal queries (discrete data)",
        commands=("napsu", "napsumq"),
        model_help=MODEL_HELP,
        options=OPTIONS,
        fit=_fit,
        load=_load,
        supported_kinds=("categorical", "discrete"),
    )
