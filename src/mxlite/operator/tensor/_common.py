"""Helpers shared by the tensor operator families."""

from __future__ import annotations

import numpy as np

from ..registry import ShapeError


def _shape_list(shapes) -> list:
    return [tuple(s) if s is not None else None for s in shapes]


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Reduce a broadcast gradient back to ``shape``."""
    if g.shape == tuple(shape):
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _axis(axis: int, ndim: int, who: str, extra: int = 0) -> int:
    if not -ndim - extra <= axis < ndim + extra:
        raise ShapeError(f"{who}: axis {axis} is out of range for {ndim} dimensions")
    return axis % (ndim + extra)
