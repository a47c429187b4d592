"""Independent epsilons for a fit's DP-SGD plan, from Google's dp-accounting.

The fits compute their epsilon with the Fourier accountant. dp-accounting has no
PLD accountant for fixed-size batches drawn without replacement (the
substitution plan), so that plan is checked with its RDP accountant, an upper
bound; the add/remove plan (Poisson sampling) is checked with its PLD accountant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dp_accounting
from dp_accounting import pld, rdp


def rdp_substitution_epsilon(num_rows: int, parameters: Mapping[str, Any], delta: float) -> float:
    """Return RDP's epsilon for the substitution plan with the report's mechanism ``parameters``."""
    accountant = rdp.RdpAccountant(neighboring_relation=dp_accounting.NeighboringRelation.REPLACE_ONE)
    event = dp_accounting.SampledWithoutReplacementDpEvent(
        num_rows, parameters["batch_size"], dp_accounting.GaussianDpEvent(parameters["noise_multiplier"])
    )
    accountant.compose(dp_accounting.SelfComposedDpEvent(event, parameters["steps"]))
    return accountant.get_epsilon(delta)


def pld_add_remove_epsilon(parameters: Mapping[str, Any], delta: float) -> float:
    """Return the PLD epsilon for the add/remove plan with the report's mechanism ``parameters``.

    The default discretization interval of 1e-4 moves epsilon by well under 1e-3.
    """
    accountant = pld.PLDAccountant(dp_accounting.NeighboringRelation.ADD_OR_REMOVE_ONE)
    event = dp_accounting.PoissonSampledDpEvent(
        parameters["sampling_ratio"], dp_accounting.GaussianDpEvent(parameters["noise_multiplier"])
    )
    accountant.compose(event, parameters["steps"])
    return accountant.get_epsilon(delta)
