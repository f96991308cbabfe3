"""Pieces the per-algorithm optimizer files share: zero states shaped like the weight."""

from __future__ import annotations

from ..ndarray import zeros


def zeros_state(weight):
    """A zero array with the weight's shape, context and dtype."""
    return zeros(weight.shape, weight.context, dtype=weight.dtype)


def zeros_states(weight, n: int) -> tuple:
    """``n`` zero arrays shaped like the weight (see :func:`zeros_state`)."""
    return tuple(zeros_state(weight) for _ in range(n))
