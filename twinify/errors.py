"""Exceptions and warnings raised by twinify.

Every error a user can cause derives from :class:`TwinifyError`. The command-line
interface prints such an error as one line and exits with status 2, so each message
must name the offending value and say how to fix it, and must never contain a value
read from the sensitive data.
"""

from __future__ import annotations


class TwinifyError(Exception):
    """Base class for errors caused by input, configuration or installed plugins."""


class InputError(TwinifyError):
    """Invalid user input: a file, an option, a model file or a schema."""


class DataError(InputError):
    """The data do not fit the model or the schema.

    Messages name columns and counts, never values from the data.
    """


class PrivacyBudgetError(TwinifyError):
    """The requested privacy budget is invalid or a plan would exceed it."""


class ModelFileError(InputError):
    """A saved model file cannot be read."""


class FitError(TwinifyError):
    """Inference failed, for example because the parameters became NaN."""


class PluginError(TwinifyError):
    """A plugin is missing, broken or conflicts with another one."""


class PluginLoadError(PluginError):
    """An entry point of the ``twinify`` group failed to load or to validate."""


class PluginConflictError(PluginError):
    """Two plugins provide the same name for the same hook."""


class TwinifyPluginWarning(UserWarning):
    """A plugin failed to load and was skipped; the other plugins keep working."""


class DomainNotDeclaredWarning(UserWarning):
    """A column's domain was read from the data and is not covered by the guarantee."""
