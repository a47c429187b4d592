"""Helpers for plugin authors: conformance checks and isolated plugin managers.

Run each record your plugin yields through its check in your own tests::

    from twinify.testing import check_distribution
    from my_plugin import GAMMA

    def test_gamma_conforms():
        check_distribution(GAMMA, sample=pd.Series([0.5, 2.0, 7.5]))

The fixtures in :mod:`twinify.testing.fixtures` build isolated plugin managers.
"""

from twinify.testing.backends import check_backend
from twinify.testing.distributions import ConformanceError, check_distribution, check_wrapper, sample_column
from twinify.testing.plugins import build_manager, build_registry, entry_points_in, importable
from twinify.testing.tables import check_reader, check_writer, plain_values, sample_table

#: The conformance check for the records of each hook, by hook name.
CONFORMANCE_CHECKS = {
    "distributions": check_distribution,
    "distribution_wrappers": check_wrapper,
    "backends": check_backend,
    "readers": check_reader,
    "writers": check_writer,
}

__all__ = [
    "CONFORMANCE_CHECKS",
    "ConformanceError",
    "build_manager",
    "build_registry",
    "check_backend",
    "check_distribution",
    "check_reader",
    "check_wrapper",
    "check_writer",
    "entry_points_in",
    "importable",
    "plain_values",
    "sample_column",
    "sample_table",
]
