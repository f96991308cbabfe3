"""Pieces the per-algorithm optimizer files share: hyperparameter checks, zero states and the
scalar layouts (``*Hyper`` tuples) that the fused kernels read.

The scalar layouts are a contract with :mod:`mxlite.kernels.optimizer`: a kernel reads its
scalars by position, so a ``*Hyper`` tuple lists them in exactly the kernel's order.  Most
kernels start with :data:`BASE_FIELDS`; the Adam family follows them with :data:`ADAM_FIELDS`.
Each ``_hyper`` still fills its tuple with one inline call: it runs once per tensor and step,
where a helper call and an unpacking cost a measurable share of a small tensor's update.
"""

from __future__ import annotations

from typing import NamedTuple

from ..ndarray import zeros
from .optimizer import check_nonnegative, check_unit_interval

#: learning rate, weight decay, gradient rescale and clip bound (negative: no clipping)
BASE_FIELDS = ("lr", "wd", "rescale_grad", "clip")
#: the moment decays and epsilon of Adam-style kernels, each decay with its complement
ADAM_FIELDS = ("beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "epsilon")

_ABSENT = object()


def hyper_type(name: str, *fields: str) -> type:
    """A ``NamedTuple`` class ``name`` of float ``fields`` (the kernel's scalar order)."""
    return NamedTuple(name, [(f, float) for f in fields])


def check_decays(epsilon=_ABSENT, **decays) -> None:
    """ValueError unless each decay rate is in ``[0, 1)`` and ``epsilon`` (if given) is >= 0.

    The decays are checked in the order given, then ``epsilon``.
    """
    for name, value in decays.items():
        check_unit_interval(name, value)
    if epsilon is not _ABSENT:
        check_nonnegative("epsilon", epsilon)


def zeros_state(weight):
    """A zero array with the weight's shape, context and dtype."""
    return zeros(weight.shape, weight.context, dtype=weight.dtype)


def zeros_states(weight, n: int) -> tuple:
    """``n`` zero arrays shaped like the weight (see :func:`zeros_state`)."""
    return tuple(zeros_state(weight) for _ in range(n))

