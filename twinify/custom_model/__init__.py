"""Custom NumPyro model files (``.py``), compatible with twinify 2.x.

A model file defines ``model(x=None, num_obs_total=None)`` and optionally
``guide``, ``preprocess(df)`` and ``postprocess(df)``; instead of ``model`` it may
define twinify 2.0.0's ``model_factory(args, unknown_args, data_description)``.
docs/custom-models.md states the whole contract.

The modules here load such a file (:mod:`.code`), run its preprocessing and encode
the result (:mod:`.frames`), find the model's latent and observed sites and draw
from it (:mod:`.tracing`, :mod:`.guide`), and check it (:mod:`.checks`). The DPVI
backend fits it. Importing this package does not import jax.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from twinify.errors import InputError

#: File suffix of custom NumPyro model files.
MODEL_CODE_SUFFIX = ".py"


class ModelCodeError(InputError):
    """A custom NumPyro model file is missing or invalid, or its code failed."""


def is_custom_model(model: Any) -> bool:
    """Return whether a model argument names a custom NumPyro model file (``.py``)."""
    return isinstance(model, str | Path) and Path(model).suffix.lower() == MODEL_CODE_SUFFIX
