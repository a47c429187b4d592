"""Allow ``python -m twinify``."""

from twinify.cli import entry_point

entry_point()
