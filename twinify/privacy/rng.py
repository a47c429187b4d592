"""Secure randomness: d3p's ChaCha20 generator, seeded from the OS by default."""

from __future__ import annotations

import logging
import secrets
from typing import Any

logger = logging.getLogger(__name__)

SEED_WARNING = (
    "a fixed seed makes the privacy noise reproducible: anyone who knows the seed can "
    "recompute it, so do not publish the seed with the synthetic data"
)


class RandomSource:
    """A stream of independent random keys from d3p's ChaCha20 generator.

    Every call to :meth:`key` or :meth:`jax_key` splits the internal state, so no key
    is handed out twice.

    Args:
        seed: An integer for reproducible runs, or None to seed from the operating
            system's secure generator.
    """

    def __init__(self, seed: int | None = None) -> None:
        import d3p.random

        self.seeded = seed is not None
        if seed is None:
            self._state = d3p.random.PRNGKey(secrets.token_bytes(32))
        else:
            if not isinstance(seed, int) or seed < 0:
                from twinify.errors import InputError

                raise InputError(f"invalid seed {seed!r}: use a non-negative integer")
            self._state = d3p.random.PRNGKey(seed)

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
