"""The privacy report that every fitted model carries, prints and saves."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from twinify.privacy.budget import RELATION_TEXT


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars and tuples into plain JSON types."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


@attrs.frozen(kw_only=True)
class Mechanism:
    """One step that read the sensitive data, with its privacy cost.

    Attributes:
        name: The mechanism, for example ``"subsampled Gaussian (DP-SGD)"``.
        purpose: What it was used for, for example ``"training steps"``.
        epsilon: Its ε under the fit's neighbouring relation.
        delta: Its δ.
        accountant: How its ε was computed, with the library version.
        parameters: Its settings: noise σ or noise multiplier, clipping threshold,
            sampling ratio and scheme, steps, sensitivity, queries.
    """

    name: str
    purpose: str
    epsilon: float
    delta: float
    accountant: str
    parameters: Mapping[str, Any] = attrs.field(factory=dict, converter=_jsonable)

    def to_dict(self) -> dict[str, Any]:
        """Return the mechanism as JSON-compatible data."""
        return _jsonable(attrs.asdict(self))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Mechanism:
        """Rebuild a mechanism from :meth:`to_dict` output."""
        return cls(**data)


@attrs.frozen(kw_only=True)
class PrivacyReport:
    """What a fitted model guarantees, how, and what it treated as public.

    Attributes:
        epsilon: Requested ε.
        delta: Requested δ.
        relation: Neighbouring relation, ``"substitution"`` or ``"add-remove"``.
        epsilon_spent: Total ε of the mechanisms; never above ``epsilon``.
        delta_spent: Total δ of the mechanisms; never above ``delta``.
        composition: How the mechanisms' costs were combined.
        mechanisms: Every step that read the sensitive data.
        public: What was treated as public.
        not_covered: Columns whose domain was read from the data; the guarantee
            does not cover what their domains reveal.
        seeded: Whether a user-given seed fixed the noise; anyone who knows the seed
            can reproduce it.
        notes: Further statements for the user.
        extra: Backend-specific details.
    """

    epsilon: float
    delta: float
    relation: str
    epsilon_spent: float
    delta_spent: float
    composition: str
    mechanisms: tuple[Mechanism, ...]
    public: tuple[str, ...] = ()
    not_covered: tuple[str, ...] = ()
    seeded: bool = False
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_jsonable)

    @property
    def covers_all_domains(self) -> bool:
        """Return whether every column's domain was public or paid for."""
        return not self.not_covered

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-compatible data."""
        data = attrs.asdict(self, recurse=False)
        data["mechanisms"] = [mechanism.to_dict() for mechanism in self.mechanisms]
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivacyReport:
        """Rebuild a report from :meth:`to_dict` output."""
        fields = dict(data)
        fields["mechanisms"] = tuple(Mechanism.from_dict(m) for m in fields.get("mechanisms", ()))
        for name in ("public", "not_covered", "notes"):
            fields[name] = tuple(fields.get(name, ()))
        return cls(**fields)

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def format_text(self) -> str:
        """Return the report as text for the terminal."""
        lines = [
            f"Privacy guarantee: ({self.epsilon:g}, {self.delta:.3g})-differential privacy",
            f"  neighbouring relation: {RELATION_TEXT.get(self.relation, self.relation)}",
            f"  spent: epsilon {self.epsilon_spent:.6g}, delta {self.delta_spent:.3g} "
            f"({self.composition})",
        ]
        for mechanism in self.mechanisms:
            lines.append(
                f"  - {mechanism.purpose}: {mechanism.name}, epsilon {mechanism.epsilon:.6g}, "
                f"delta {mechanism.delta:.3g} [{mechanism.accountant}]"
            )
            for key, value in mechanism.parameters.items():
                lines.append(f"      {key}: {_format_value(value)}")
        if self.public:
            lines.append("  treated as public:")
            lines.extend(f"    - {item}" for item in self.public)
        if self.not_covered:
            lines.append(
                "  NOT covered by the guarantee: the domains of these columns were read from the "
                "data: " + ", ".join(self.not_covered)
            )
        if self.seeded:
            lines.append(
                "  the noise came from a user-given seed: anyone who knows the seed can reproduce it"
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and len(value) > 12:
        return f"{value[:12]} ... ({len(value)} in all)"
    return str(value)
