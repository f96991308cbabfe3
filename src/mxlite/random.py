"""The one random source of mxlite.  ``mx.random.seed(n)`` makes every draw reproducible.

Every random number in mxlite (initializers, ``nd.random``, SGLD noise, Dropout, shuffling data
iterators) comes from :func:`generator`, a NumPy ``Generator`` (PCG64) reseeded by :func:`seed`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["generator", "seed"]

_generator = np.random.default_rng()


def seed(seed_state: int, ctx="all") -> None:
    """Reseed the global generator.  ``ctx`` is accepted for MXNet compatibility (one device)."""
    global _generator
    if isinstance(seed_state, bool) or not isinstance(seed_state, (int, np.integer)):
        raise ValueError(f"seed_state must be an int, got {seed_state!r}")
    if seed_state < 0:
        raise ValueError(f"seed_state must be non-negative, got {seed_state!r}")
    _generator = np.random.default_rng(int(seed_state))


def generator() -> np.random.Generator:
    """The generator every mxlite random draw uses."""
    return _generator


def __getattr__(name):  # uniform, normal, ... live in ndarray.random; imported lazily
    if name in ("uniform", "normal", "randint", "shuffle", "randn", "exponential", "gamma",
                "poisson"):
        from .ndarray import random as _ndrandom

        return getattr(_ndrandom, name)
    raise AttributeError(f"module 'mxlite.random' has no attribute {name!r}")
