"""Records that plugins yield from their hooks.

Each hook in :mod:`twinify.hookspecs` yields instances of one record class defined
here. Records are frozen attrs classes: the registry checks their names, records which
plugin provided each one, and hands them to the core, which never imports a plugin by
name.

Heavy libraries (jax, numpyro, d3p) appear only in type annotations here, so that
listing plugins stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from twinify.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpyro.distributions import Distribution

    from twinify.plugin.registry import Registry
    from twinify.privacy.budget import PrivacyBudget
    from twinify.privacy.report import PrivacyReport
    from twinify.privacy.rng import RandomSource
    from twinify.schema import ColumnSchema, Schema

DistributionKind = Literal["continuous", "discrete", "categorical"]
DISTRIBUTION_KINDS: tuple[str, ...] = ("continuous", "discrete", "categorical")

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_\-]*$")


def _check_name(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise InputError(
            f"invalid {type(instance).__name__} {attribute.name} {value!r}: use lower-case "
            "letters, digits, '-' and '_', starting with a letter"
        )


def _check_names(instance: Any, attribute: attrs.Attribute, value: tuple[str, ...]) -> None:
    for name in value:
        _check_name(instance, attribute, name)


def _lower_tuple(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(str(item).strip().lower() for item in value)


def _lower(value: str) -> str:
    return str(value).strip().lower()


# --------------------------------------------------------------------------------------
# Feature distributions


@attrs.frozen(kw_only=True)
class FeatureDistribution:
    """A distribution for one column of the automatic mixture model.

    The mixture model holds, for every mixture component, one set of this
    distribution's parameters. All callables receive the column's public
    :class:`~twinify.schema.ColumnSchema`, which says what is known about the column
    without looking at the data (categories, bounds).

    Attributes:
        name: Name used in model files, for example ``"normal"``; matched without
            regard to case.
        kind: ``"continuous"``, ``"discrete"`` (integer-valued with an order) or
            ``"categorical"`` (unordered labels).
        summary: One line for ``twinify plugins`` and the docs.
        column_types: Schema column types the distribution can model, among
            ``"real"``, ``"integer"``, ``"boolean"`` and ``"categorical"``.
        infer_schema: ``infer_schema(series, name) -> ColumnSchema``. Reads the
            column's domain from the data. This is *not* private; the core calls it
            only when the user declared no domain, warns, and records the column as
            not covered by the guarantee. Raises :class:`~twinify.errors.DataError`
            when the values do not fit the distribution; the message names the
            column and the problem but no value.
        check_schema: ``check_schema(column)`` raises
            :class:`~twinify.errors.InputError` when a declared schema lacks what
            the distribution needs, such as bounds for a Normal column.
        encode: ``encode(series, column) -> numpy.ndarray``. Maps in-domain values
            to a float64 array in the model's space, with NaN for missing values.
            The core has already applied the schema's out-of-domain rule, so every
            non-missing value is inside the declared domain.
        decode: ``decode(array, column) -> pandas.Series``. Inverse of ``encode``;
            restores the column's dtype (``column.dtype``), including nullable
            integers and categories.
        priors: ``priors(column) -> {parameter: numpyro Distribution}`` for one
            mixture component. Each prior's ``support`` defines the parameter's
            constraint. Priors depend only on the schema, never on the data.
        likelihood: ``likelihood(params, column) -> numpyro Distribution``. Given
            parameter arrays with leading batch shape ``(K,)`` (one entry per
            mixture component), returns a distribution with batch shape ``(K,)``
            over encoded values.
        fill_value: An encoded value inside the likelihood's support. The
            missing-value wrapper puts it in place of NaN before evaluating
            log-probabilities, so gradients stay finite.
        aliases: Other names accepted in model files.
        initial_values: Optional ``initial_values(column) -> {parameter: value}``:
            where inference starts some parameters of every mixture component,
            in the constrained space, from the schema only. The mixture model
            starts these parameters uniformly around their value instead of
            around 0 of the unconstrained space (see
            :meth:`~twinify.mixture.MixtureModel.initial_unconstrained`).
    """

    name: str = attrs.field(converter=_lower, validator=_check_name)
    kind: str = attrs.field(validator=attrs.validators.in_(DISTRIBUTION_KINDS))
    summary: str
    column_types: tuple[str, ...] = attrs.field(converter=tuple)
    infer_schema: Callable[[pd.Series, str], ColumnSchema]
    check_schema: Callable[[ColumnSchema], None]
    encode: Callable[[pd.Series, ColumnSchema], np.ndarray]
    decode: Callable[[np.ndarray, ColumnSchema], pd.Series]
    priors: Callable[[ColumnSchema], Mapping[str, Distribution]]
    likelihood: Callable[[Mapping[str, Any], ColumnSchema], Distribution]
    fill_value: float = 0.0
    aliases: tuple[str, ...] = attrs.field(
        default=(), converter=_lower_tuple, validator=_check_names
    )
    initial_values: Callable[[ColumnSchema], Mapping[str, Any]] | None = None


DistributionWrapperRole = Literal["missing-values"]


@attrs.frozen(kw_only=True)
class DistributionWrapper:
    """A transformation that turns any feature distribution into a new one.

    Attributes:
        name: Wrapper name, for example ``"missing"``.
        role: What the core uses the wrapper for. ``"missing-values"``: the core
            wraps every column that may hold missing values (NaN after encoding)
            with the wrapper of this role.
        summary: One line for ``twinify plugins``.
        wrap: ``wrap(distribution) -> FeatureDistribution``. The result must accept
            NaN in encoded data and may add parameters with their own priors.
    """

    name: str = attrs.field(converter=_lower, validator=_check_name)
    role: str = attrs.field(validator=attrs.validators.in_(("missing-values",)))
    summary: str
    wrap: Callable[[FeatureDistribution], FeatureDistribution]


# --------------------------------------------------------------------------------------
# Inference backends


@attrs.frozen(kw_only=True)
class BackendOption:
    """One tunable setting of an inference backend.

    The CLI turns every option into a command-line flag (``--name`` and
    ``--name-with-dashes`` plus ``flags``); the API accepts it as a keyword argument.

    Attributes:
        name: Python identifier, for example ``"num_epochs"``.
        type: ``int``, ``float``, ``str`` or ``bool``.
        default: Value used when the user gives none.
        help: What the option sets, with its unit.
        flags: Extra command-line spellings, for example ``("-e",)``.
        choices: Allowed values, or None for any value of ``type``.
        minimum: Smallest allowed value for numbers, or None.
        exclusive_minimum: Whether ``minimum`` itself is excluded.
        maximum: Largest allowed value for numbers, or None.
    """

    name: str = attrs.field(validator=attrs.validators.matches_re(r"^[a-z][a-z0-9_]*$"))
    type: type
    default: Any
    help: str
    flags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    exclusive_minimum: bool = False
    maximum: float | None = None

    def validate(self, value: Any) -> Any:
        """Convert ``value`` to the option's type and check its range.

        Raises:
            InputError: the value has the wrong type or is out of range.
        """
        converted = _convert_option_value(self, value)
        if self.choices is not None and converted not in self.choices:
            allowed = ", ".join(str(choice) for choice in self.choices)
            raise InputError(f"invalid value {value!r} for option {self.name}: use one of {allowed}")
        if self.minimum is not None:
            too_small = converted <= self.minimum if self.exclusive_minimum else converted < self.minimum
            if too_small:
                bound = "greater than" if self.exclusive_minimum else "at least"
                raise InputError(
                    f"invalid value {value!r} for option {self.name}: it must be {bound} {self.minimum}"
                )
        if self.maximum is not None and converted > self.maximum:
            raise InputError(
                f"invalid value {value!r} for option {self.name}: it must be at most {self.maximum}"
            )
        return converted


def _convert_option_value(option: BackendOption, value: Any) -> Any:
    if option.type is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise InputError(f"invalid value {value!r} for option {option.name}: use true or false")
    if option.type is int and isinstance(value, float) and not value.is_integer():
        raise InputError(f"invalid value {value!r} for option {option.name}: use a whole number")
    try:
        return option.type(value)
    except (TypeError, ValueError):
        raise InputError(
            f"invalid value {value!r} for option {option.name}: expected {option.type.__name__}"
        ) from None


@attrs.frozen(kw_only=True)
class FitRequest:
    """Everything a backend's ``fit`` receives.

    Attributes:
        data: The sensitive table as read, with the columns in file order.
        model: The backend's model argument, as the user gave it: a path to a
            model file or query file, the word ``"auto"``, or an object passed
            through the API (for example a parsed list of feature specs).
        schema: Public schema declared by the user, or None.
        budget: The privacy budget for this fit.
        options: Validated backend options, one entry per :class:`BackendOption`.
        rng: Secure random source; take keys from it, never reuse them.
        registry: The plugin registry, for looking up distributions and wrappers.
        strict_domains: Raise instead of warning when a column's domain would be
            read from the data.
        drop_na: Drop rows with missing values before fitting.
        show_progress: Show progress bars on the terminal.
        bounds_epsilon: ε of the budget to spend on DP bounds of numeric columns
            whose bounds are not declared, or None to read such bounds from the
            data (outside the guarantee, with a warning).
    """

    data: pd.DataFrame
    model: Any
    schema: Schema | None
    budget: PrivacyBudget
    options: Mapping[str, Any]
    rng: RandomSource
    registry: Registry
    strict_domains: bool = False
    drop_na: bool = False
    show_progress: bool = False
    bounds_epsilon: float | None = None


class FittedModel(Protocol):
    """What a backend's ``fit`` returns and ``load`` rebuilds.

    A fitted model generates synthetic data without reading the sensitive data
    again, so generation has no privacy cost.
    """

    backend: str
    privacy_report: PrivacyReport
    schema: Schema

    def generate(self, num_rows: int, rng: RandomSource) -> pd.DataFrame:
        """Draw ``num_rows`` synthetic rows, decoded to the original column types."""
        ...

    def to_saved(self) -> SavedState:
        """Return the backend's state as JSON-compatible data and NumPy arrays."""
        ...


@attrs.frozen(kw_only=True)
class SavedState:
    """A backend's part of a saved model file.

    Attributes:
        config: JSON-compatible data: options, feature list, shapes.
        arrays: Named NumPy arrays of numeric dtypes (no object arrays).
        plugins: Names of the plugin records the model needs at load time, as
            ``(hook, name)`` pairs, for example ``("distributions", "normal")``.
    """

    config: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray]
    plugins: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class InferenceBackend:
    """A method that learns a generative model under differential privacy.

    Attributes:
        name: Backend name, for example ``"dpvi"``.
        summary: One line for ``twinify plugins`` and ``twinify --help``.
        commands: CLI subcommand names; the first is the main one and the others
            are aliases, for example ``("napsu", "napsumq")``.
        model_help: Help text for the CLI's MODEL positional argument.
        options: The backend's settings; the CLI builds flags from them.
        fit: ``fit(request: FitRequest) -> FittedModel``.
        load: ``load(state: SavedState, schema, privacy_report, registry) ->
            FittedModel``; must not execute code stored in the file.
        supported_kinds: Distribution kinds the backend can model.
    """

    name: str = attrs.field(converter=_lower, validator=_check_name)
    summary: str
    commands: tuple[str, ...] = attrs.field(converter=_lower_tuple, validator=_check_names)
    model_help: str
    options: tuple[BackendOption, ...] = attrs.field(converter=tuple)
    fit: Callable[[FitRequest], FittedModel]
    load: Callable[..., FittedModel]
    supported_kinds: tuple[str, ...] = attrs.field(default=DISTRIBUTION_KINDS, converter=tuple)

    def option(self, name: str) -> BackendOption:
        """Return the option called ``name``."""
        for option in self.options:
            if option.name == name:
                return option
        raise KeyError(name)


# --------------------------------------------------------------------------------------
# Readers and writers


def _suffixes(value: Sequence[str]) -> tuple[str, ...]:
    return tuple(s.lower() if s.startswith(".") else "." + s.lower() for s in value)


@attrs.frozen(kw_only=True)
class DataReader:
    """A file format twinify can read tables from.

    Attributes:
        name: Format name, for example ``"csv"``.
        suffixes: File suffixes handled, for example ``(".csv",)``; matched without
            regard to case.
        summary: One line for ``twinify plugins``.
        read: ``read(path) -> pandas.DataFrame``. Raises
            :class:`~twinify.errors.InputError` with a one-line message when the
            file is missing, empty or malformed.
    """

    name: str = attrs.field(converter=_lower, validator=_check_name)
    suffixes: tuple[str, ...] = attrs.field(converter=_suffixes)
    summary: str
    read: Callable[[str], pd.DataFrame]


@attrs.frozen(kw_only=True)
class DataWriter:
    """A file format twinify can write tables to.

    Attributes:
        name: Format name, for example ``"parquet"``.
        suffixes: File suffixes handled.
        summary: One line for ``twinify plugins``.
        write: ``write(frame, path)``. The core passes a temporary path in the
            target folder and renames it when ``write`` returns, so a failed write
            leaves no partial output file.
    """

    name: str = attrs.field(converter=_lower, validator=_check_name)
    suffixes: tuple[str, ...] = attrs.field(converter=_suffixes)
    summary: str
    write: Callable[[pd.DataFrame, str], None]


RecordHook = Literal["distributions", "distribution_wrappers", "backends", "readers", "writers"]

#: Record class yielded by each hook, keyed by hook name without the prefix.
RECORD_TYPES: dict[str, type] = {
    "distributions": FeatureDistribution,
    "distribution_wrappers": DistributionWrapper,
    "backends": InferenceBackend,
    "readers": DataReader,
    "writers": DataWriter,
}
