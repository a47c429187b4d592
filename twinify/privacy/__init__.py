"""Privacy budget, accounting, secure randomness and the privacy report."""

from twinify.privacy.accountant import PrivacyAccountant
from twinify.privacy.budget import RELATIONS, PrivacyBudget, default_delta
from twinify.privacy.report import Mechanism, PrivacyReport
from twinify.privacy.rng import SEED_WARNING, RandomSource

__all__ = [
    "RELATIONS",
    "SEED_WARNING",
    "Mechanism",
    "PrivacyAccountant",
    "PrivacyBudget",
    "PrivacyReport",
    "RandomSource",
    "default_delta",
]
