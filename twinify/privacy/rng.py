"""Secure randomness: d3p's ChaCha20 generator, seeded from the OS by default."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from typing import Any

logger = logging.getLogger(__name__)

SEED_WARNING = (
    "a fixed seed makes the privacy noise reproducible: anyone who knows the seed can "
    "recompute it, so do not publish the seed with the synthetic data"
)


def import_d3p_random() -> Any:
    """Import and return ``d3p.random``, loading its ChaCha20 library single-threaded.

    The native ChaCha20 block function of jax-chacha-prng 1.4.3 runs an OpenMP
    parallel region on every call with more than one block. On 2 busy cores,
    waking the OpenMP team took about 17 ms per call, against 0.01 ms on one
    thread for the few thousand numbers of one DP-SGD step (measured with
    jax 0.4.30). The library's own copy of libgomp reads OMP_NUM_THREADS once,
    when it loads, so the variable is set to 1 for that import only. A value
    the user set, or a library that is already loaded, is left alone.
    """
    if "chacha" not in sys.modules and "OMP_NUM_THREADS" not in os.environ:
        # Load the libraries that read OMP_NUM_THREADS too (numpy's and
        # scipy's OpenBLAS) before setting it, so only the ChaCha20 library reads it.
        import jax  # noqa: F401
        import numpy  # noqa: F401

        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            import chacha.random  # noqa: F401
        finally:
            del os.environ["OMP_NUM_THREADS"]
    import d3p.random

    return d3p.random


class RandomSource:
    """A stream of independent random keys from d3p's ChaCha20 generator.

    Every call to :meth:`key` or :meth:`jax_key` splits the internal state, so no key
    is handed out twice.

    Args:
        seed: An integer for reproducible runs, or None to seed from the operating
            system's secure generator.
    """

    def __init__(self, seed: int | None = None) -> None:
        d3p_random = import_d3p_random()

        self.seeded = seed is not None
        if seed is None:
            self._state = d3p_random.PRNGKey(secrets.token_bytes(32))
        else:
            if not isinstance(seed, int) or seed < 0:
                from twinify.errors import InputError

                raise InputError(f"invalid seed {seed!r}: use a non-negative integer")
            self._state = d3p_random.PRNGKey(seed)

    def key(self) -> Any:
        """Return a fresh d3p (ChaCha20) key for privacy noise and batch sampling."""
        import d3p.random

        self._state, fresh = d3p.random.split(self._state, 2)
        return fresh

    def jax_key(self) -> Any:
        """Return a fresh ``jax.random`` key, for randomness that is not privacy noise.

        Use it for parameter initialization and synthetic data generation.
        """
        import d3p.random

        return d3p.random.convert_to_jax_rng_key(self.key())

    def integer_seed(self) -> int:
        """Return a fresh 31-bit integer, for libraries that take an integer seed."""
        import d3p.random

        bits = d3p.random.random_bits(self.key(), 32, (1,))
        return int(bits[0]) & 0x7FFFFFFF
