"""The privacy budget of one fit: ε, δ and the neighbouring relation."""

from __future__ import annotations

import math

import attrs

from twinify.errors import PrivacyBudgetError

#: Neighbouring relations: ``substitution`` (replace one row; the number of rows is
#: public) and ``add-remove`` (add or remove one row; the number of rows is private).
RELATIONS: tuple[str, ...] = ("substitution", "add-remove")

RELATION_TEXT = {
    "substitution": "substitution (data sets differing in one row's values; the row count is public)",
    "add-remove": "add/remove (data sets differing by one row's presence; the row count is private)",
}


def _check_epsilon(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise PrivacyBudgetError(
            f"invalid epsilon {value!r}: it must be a finite number greater than 0, "
            "for example epsilon 1"
        )


def _check_delta(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value) and 0 < value < 1):
        raise PrivacyBudgetError(
            f"invalid delta {value!r}: it must lie strictly between 0 and 1 and should be "
            "well below 1/(number of rows), for example delta 1e-6"
        )


def _check_relation(instance: object, attribute: attrs.Attribute, value: str) -> None:
    if value not in RELATIONS:
        raise PrivacyBudgetError(
            f"invalid neighbouring relation {value!r}: use substitution or add-remove"
        )


def _normalize_relation(value: str) -> str:
    text = str(value).strip().lower().replace("_", "-").replace("/", "-")
    return {"add-or-remove": "add-remove", "replace": "substitution", "replace-one": "substitution"}.get(
        text, text
    )


@attrs.frozen
class PrivacyBudget:
    """The (ε, δ) guarantee requested for one fit, under one neighbouring relation.

    Attributes:
        epsilon: ε > 0.
        delta: 0 < δ < 1.
        relation: ``"substitution"`` or ``"add-remove"``.
    """

    epsilon: float = attrs.field(validator=_check_epsilon)
    delta: float = attrs.field(validator=_check_delta)
    relation: str = attrs.field(default="substitution", converter=_normalize_relation, validator=_check_relation)


def default_delta(num_rows: int) -> float:
    """Return the default δ for a table of ``num_rows`` rows.

    twinify 2.x used 0.1 / N. This rounds that value down to a power of ten, so the
    default reveals only the order of magnitude of the row count and always stays
    below 1/N.
    """
    if num_rows < 1:
        raise PrivacyBudgetError("cannot choose a default delta for an empty table")
    return 10.0 ** math.floor(math.log10(0.1 / num_rows))
