"""STREAM-style triad ``a = b + s * c`` with a Numba parallel kernel: the machine's bandwidth.

Bandwidth is counted the STREAM way: 12 bytes per float32 element (two reads, one write; the
write-allocate read of ``a`` is not counted).  An optimizer step reads and writes the arrays it
updates in place, so it pays no write-allocate and can, in principle, reach or pass this figure.
The kernel runs on the threads Numba is configured with (``mxlite.kernels.configure_threads``).
"""

from __future__ import annotations

import time

import numba
import numpy as np
from numba import prange

__all__ = ["BYTES_PER_ELEMENT", "Triad", "triad_kernel"]

BYTES_PER_ELEMENT = 12


@numba.njit(parallel=True, cache=True)
def triad_kernel(a, b, c, s):  # pragma: no cover - compiled
    for i in prange(a.size):
        a[i] = b[i] + s * c[i]


class Triad:
    """Three float32 arrays of ``n`` elements and a timed triad over them."""

    def __init__(self, n: int = 2**24):
        rng = np.random.default_rng(1)
        self.n = n
        self.a = np.zeros(n, dtype=np.float32)
        self.b = rng.random(n, dtype=np.float32)
        self.c = rng.random(n, dtype=np.float32)
        self.s = np.float32(3.0)
        self.a.fill(1.0)  # touch every page before timing
        triad_kernel(self.a, self.b, self.c, self.s)

    @property
    def nbytes(self) -> int:
        return BYTES_PER_ELEMENT * self.n

    def step(self) -> None:
        triad_kernel(self.a, self.b, self.c, self.s)

    def measure(self, reps: int = 21) -> float:
        """Median seconds of one triad over ``reps`` runs."""
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            self.step()
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    def gbps(self, seconds: float) -> float:
        return self.nbytes / seconds / 1e9
