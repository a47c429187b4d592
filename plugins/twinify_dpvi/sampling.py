"""Batch sampling that matches the privacy accounting of each neighbouring relation.

* Substitution: fixed-size batches drawn uniformly without replacement, as the
  Fourier accountant's substitution bound assumes; d3p's secure sampler draws them.
* Add/remove: Poisson sampling, as its add/remove bound assumes. Every row joins
  the batch independently: row *i* is in when a fresh 32-bit word from d3p's
  ChaCha20 generator is below ``threshold``, so the inclusion probability is
  exactly ``threshold / 2**32`` (the accounted sampling ratio). The selected rows
  are packed into chunks of a fixed ``capacity`` with a mask. A batch larger than
  one chunk is processed in several chunks, never truncated.

Both samplers run inside ``jax.jit``: ``draw`` takes a d3p key and returns the
batch's state, ``num_chunks`` and ``chunk`` read it.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import d3p.random
import d3p.util
import jax.numpy as jnp

#: 2**32, the number of values of one random word.
WORD_VALUES = 2**32


@attrs.frozen
class FixedSizeSampler:
    """Batches of exactly ``batch_size`` rows drawn without replacement.

    Attributes:
        num_rows: N, public under the substitution relation.
        batch_size: Rows per batch.
    """

    num_rows: int
    batch_size: int

    @property
    def capacity(self) -> int:
        """Return the rows of one chunk."""
        return self.batch_size

    @property
    def sampling_ratio(self) -> float:
        """Return batch size over N, the ratio the accountant uses."""
        return self.batch_size / self.num_rows

    def draw(self, key: Any) -> jnp.ndarray:
        """Return the indices of one batch."""
        return d3p.util.sample_from_array(key, jnp.arange(self.num_rows), self.batch_size, 0)

    def num_chunks(self, state: jnp.ndarray) -> int:
        """Return 1: a batch is always one chunk."""
        return 1

    def num_selected(self, state: jnp.ndarray) -> jnp.ndarray:
        """Return the batch size."""
        return jnp.asarray(self.batch_size, dtype=jnp.float32)

    def chunk(self, state: jnp.ndarray, index: Any) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Return the batch's indices and an all-ones mask."""
        return state, jnp.ones(self.batch_size, dtype=jnp.float32)


@attrs.frozen
class PoissonSampler:
    """Batches in which each row is included independently with a fixed probability.

    Attributes:
        num_rows: N. Only the array shapes depend on it; the batch distribution
            is the same whatever the capacity.
        threshold: A row is included when its random word is below this value.
        capacity: Rows per chunk.
    """

    num_rows: int
    threshold: int
    capacity: int

    @classmethod
    def sized(cls, num_rows: int, threshold: int, expected_rows: float) -> PoissonSampler:
        """Build a sampler whose chunks fit a batch from about ``expected_rows`` rows.

        The capacity covers the expected batch size plus five standard deviations,
        so a second chunk is rarely needed.
        """
        mean = expected_rows * threshold / WORD_VALUES
        capacity = max(int(math.ceil(mean + 5.0 * math.sqrt(mean) + 5.0)), 1)
        return cls(num_rows=num_rows, threshold=threshold, capacity=capacity)

    @property
    def sampling_ratio(self) -> float:
        """Return the exact inclusion probability, threshold / 2**32."""
        return self.threshold / WORD_VALUES

    def draw(self, key: Any) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]:
        """Return (selected flags, rank of each selected row, batch size)."""
        words = d3p.random.random_bits(key, 32, (self.num_rows,))
        selected = words < jnp.uint32(self.threshold)
        rank = jnp.cumsum(selected) - 1
        return selected, rank, jnp.sum(selected)

    def num_chunks(self, state: tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]) -> jnp.ndarray:
        """Return how many chunks the batch fills, at least one."""
        count = state[2]
        return jnp.maximum((count + self.capacity - 1) // self.capacity, 1)

    def num_selected(self, state: tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray]) -> jnp.ndarray:
        """Return the batch size."""
        return state[2].astype(jnp.float32)

    def chunk(self, state: tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray], index: Any) -> tuple[jnp.ndarray, jnp.ndarray]:
        """Return the row indices and mask of chunk ``index`` of the batch."""
        selected, rank, count = state
        position = rank - index * self.capacity
        in_chunk = selected & (position >= 0) & (position < self.capacity)
        # Rows outside this chunk get an out-of-range position and are dropped.
        target = jnp.where(in_chunk, position, self.capacity)
        indices = jnp.zeros(self.capacity, dtype=jnp.int32).at[target].set(
            jnp.arange(self.num_rows, dtype=jnp.int32), mode="drop"
        )
        mask = (jnp.arange(self.capacity) < count - index * self.capacity).astype(jnp.float32)
        return indices, mask
