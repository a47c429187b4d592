"""Hook specifications: the only place twinify declares hooks.

A plugin is a module, listed in the ``twinify`` entry-point group of its package,
that implements some of these hooks with :data:`twinify.hookimpl`. Every hook takes
no arguments and yields records from :mod:`twinify.types`; the registry collects
them, checks their names for conflicts and remembers which plugin provided each.

Built-in plugins load through the same entry-point group, so the hooks below are
exactly what a third-party plugin can do.

Changes to these hooks are additive only: a new hook, or a new optional record
field, never a removed or renamed one. :data:`PLUGIN_API_VERSION` changes only on a
breaking change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from twinify.types import (
        DataReader,
        DataWriter,
        DistributionWrapper,
        FeatureDistribution,
        InferenceBackend,
    )

PROJECT_NAME = "twinify"
PLUGIN_API_VERSION = 1

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class TwinifySpecs:
    """Hooks a twinify plugin may implement."""

    @hookspec
    def twinify_distributions(self) -> Iterable[FeatureDistribution]:
        """Yield feature distributions for the automatic mixture model.

        Yields:
            :class:`twinify.types.FeatureDistribution` records. Each name and alias
            must be unique across all installed plugins.

        Privacy contract:
            ``priors``, ``check_schema``, ``encode``, ``decode`` and ``likelihood``
            may use the column's public schema but never statistics of the data:
            no means, spreads, counts or observed category sets. ``infer_schema``
            is the only function that reads the data to learn a domain, and the
            core calls it only when the user declared none, with a warning.
            Encoding must be a fixed function of one value (no scaling by the
            data's own mean or spread), so that one person's row changes only
            that person's encoded row.

        Example::

            import numpyro.distributions as dist
            from twinify import hookimpl
            from twinify.types import FeatureDistribution

            @hookimpl
            def twinify_distributions():
                yield FeatureDistribution(
                    name="exponential",
                    kind="continuous",
                    summary="Exponential, for positive waiting times",
                    column_types=("real",),
                    infer_schema=infer_positive_schema,
                    check_schema=require_upper_bound,
                    encode=scale_by_upper_bound,
                    decode=unscale_by_upper_bound,
                    priors=lambda column: {"rate": dist.Gamma(1.0, 1.0)},
                    likelihood=lambda params, column: dist.Exponential(params["rate"]),
                    fill_value=1.0,
                )

        .. versionadded:: 0.1
        """

    @hookspec
    def twinify_distribution_wrappers(self) -> Iterable[DistributionWrapper]:
        """Yield wrappers that turn any feature distribution into a new one.

        The built-in ``missing`` wrapper has the role ``"missing-values"``: the
        core wraps every column that may hold missing values with it, whichever
        plugin provides the column's distribution. At most one installed wrapper
        may have a given role.

        Yields:
            :class:`twinify.types.DistributionWrapper` records.

        Privacy contract:
            The wrapped distribution follows the same contract as the one it wraps;
            priors of added parameters must not depend on the data.

        Example::

            from twinify import hookimpl
            from twinify.types import DistributionWrapper

            @hookimpl
            def twinify_distribution_wrappers():
                yield DistributionWrapper(
                    name="missing",
                    role="missing-values",
                    summary="Each value is missing with a per-component probability",
                    wrap=wrap_with_missing_probability,
                )

        .. versionadded:: 0.1
        """

    @hookspec
    def twinify_backends(self) -> Iterable[InferenceBackend]:
        """Yield inference backends that learn a model under differential privacy.

        Each backend becomes a CLI subcommand (its ``commands``) whose flags come
        from the backend's ``options``, and can be chosen by name in
        :func:`twinify.fit`.

        Yields:
            :class:`twinify.types.InferenceBackend` records.

        Privacy contract:
            ``fit`` spends at most ``request.budget``. Before reading the data it
            builds its privacy plan with :class:`twinify.privacy.PrivacyAccountant`,
            which raises when the plan exceeds the budget. Every step that reads the
            sensitive data is a mechanism in that plan; all noise comes from
            ``request.rng``. The returned model carries the accountant's
            :class:`~twinify.privacy.PrivacyReport`. ``load`` rebuilds a model from
            saved arrays and JSON without executing code from the file.

        Example::

            from twinify import hookimpl
            from twinify.types import BackendOption, InferenceBackend

            @hookimpl
            def twinify_backends():
                yield InferenceBackend(
                    name="histogram",
                    summary="Noisy full histogram of categorical data",
                    commands=("histogram",),
                    model_help="unused; pass '-'",
                    options=(
                        BackendOption(name="smoothing", type=float, default=1.0,
                                      help="pseudo-count added to every cell", minimum=0.0),
                    ),
                    fit=fit_histogram,
                    load=load_histogram,
                    supported_kinds=("categorical",),
                )

        .. versionadded:: 0.1
        """

    @hookspec
    def twinify_readers(self) -> Iterable[DataReader]:
        """Yield file formats that twinify can read tables from.

        The core picks the reader by the file's suffix.

        Yields:
            :class:`twinify.types.DataReader` records. A suffix may be claimed by
            one reader only.

        Privacy contract:
            A reader returns the table as stored and logs nothing about its values.
            Error messages name the file and the problem, never a cell's content.

        Example::

            import pandas as pd
            from twinify import hookimpl
            from twinify.types import DataReader

            @hookimpl
            def twinify_readers():
                yield DataReader(name="feather", suffixes=(".feather",),
                                 summary="Apache Arrow Feather files",
                                 read=pd.read_feather)

        .. versionadded:: 0.1
        """

    @hookspec
    def twinify_writers(self) -> Iterable[DataWriter]:
        """Yield file formats that twinify can write synthetic tables to.

        The core picks the writer by the output file's suffix and passes it a
        temporary path, which it renames once ``write`` returns.

        Yields:
            :class:`twinify.types.DataWriter` records. A suffix may be claimed by
            one writer only.

        Privacy contract:
            Writers receive only synthetic data; they must not read other files.

        Example::

            from twinify import hookimpl
            from twinify.types import DataWriter

            @hookimpl
            def twinify_writers():
                yield DataWriter(name="feather", suffixes=(".feather",),
                                 summary="Apache Arrow Feather files",
                                 write=lambda frame, path: frame.to_feather(path))

        .. versionadded:: 0.1
        """


#: Hook names without the ``twinify_`` prefix, in documentation order.
HOOK_NAMES: tuple[str, ...] = (
    "distributions",
    "distribution_wrappers",
    "backends",
    "readers",
    "writers",
)
