"""``mx.contrib.autograd``: MXNet's first, experimental autograd API, kept for old programs.

It is a thin layer over :mod:`mxlite.autograd`: one switch turns recording and training mode on
together (``train_section``), and ``grad_and_loss(func)`` wraps a function so that calling it
returns the gradients of its arguments with its value::

    >>> import mxlite as mx
    >>> from mxlite.contrib import autograd
    >>> x = mx.nd.array([1.0, 2.0, 3.0])
    >>> grads, y = autograd.grad_and_loss(lambda x: (x * x).sum())(x)
    >>> grads[0].asnumpy().tolist()
    [2.0, 4.0, 6.0]
"""

from __future__ import annotations

import functools

from .. import autograd as _ag
from ..ndarray import NDArray, zeros_like

__all__ = ["TrainingStateScope", "backward", "compute_gradient", "grad", "grad_and_loss",
           "mark_variables", "set_is_training", "test_section", "train_section"]


def set_is_training(is_train: bool) -> bool:
    """Turn recording and training mode on or off together; returns the previous training
    mode (MXNet's contrib API had one switch for both)."""
    prev = _ag.set_training(bool(is_train))
    _ag.set_recording(bool(is_train))
    return prev


class TrainingStateScope:
    """``with TrainingStateScope(True):`` records (in training mode) inside the block and
    restores both switches after it."""

    def __init__(self, enter_state: bool):
        self._enter_state = bool(enter_state)
        self._prev = None

    def __enter__(self):
        self._prev = (_ag.is_training(), _ag.is_recording())
        set_is_training(self._enter_state)
        return self

    def __exit__(self, ptype, value, trace):
        training, recording = self._prev
        _ag.set_training(training)
        _ag.set_recording(recording)


def train_section() -> TrainingStateScope:
    """A scope that records the operations for gradients, in training mode."""
    return TrainingStateScope(True)


def test_section() -> TrainingStateScope:
    """A scope that neither records nor trains (inside a ``train_section``, for evaluation)."""
    return TrainingStateScope(False)


def mark_variables(variables, gradients, grad_reqs="write") -> None:
    """Attach the gradient buffers ``gradients`` to ``variables`` (see
    :func:`mxlite.autograd.mark_variables`)."""
    _ag.mark_variables(variables, gradients, grad_reqs)


def backward(outputs, out_grads=None, retain_graph: bool = False) -> None:
    """Gradients of ``outputs`` (an NDArray or a list) into the marked variables' buffers."""
    _ag.backward(outputs, out_grads, retain_graph=retain_graph)


def compute_gradient(outputs) -> None:
    """``backward(outputs)`` (the older name)."""
    backward(outputs)


def _variables(args, argnum):
    if argnum is None:
        chosen = list(args)
    else:
        nums = argnum if isinstance(argnum, (list, tuple)) else [argnum]
        for i in nums:
            if not isinstance(i, int) or not -len(args) <= i < len(args):
                raise ValueError(f"argnum {i!r} does not name one of the {len(args)} arguments")
        chosen = [args[i] for i in nums]
    for k, x in enumerate(chosen):
        if not isinstance(x, NDArray):
            raise TypeError(f"autograd inputs must be NDArrays, got {type(x).__name__} "
                            f"(argument {k})")
    return chosen


def grad_and_loss(func, argnum=None):
    """Wrap ``func`` so that calling it returns ``(gradients, value)``: the gradients of its
    value with respect to its arguments (those at ``argnum``, an int or a list, when given)."""

    @functools.wraps(func)
    def wrapped(*args):
        variables = _variables(args, argnum)
        grads = [zeros_like(x) for x in variables]
        mark_variables(variables, grads)
        with train_section():
            outputs = func(*args)
        compute_gradient([outputs] if isinstance(outputs, NDArray) else outputs)
        return grads, outputs

    return wrapped


def grad(func, argnum=None):
    """Wrap ``func`` so that calling it returns the gradients of its value (see
    :func:`grad_and_loss`)."""
    with_loss = grad_and_loss(func, argnum)

    @functools.wraps(func)
    def wrapped(*args):
        return with_loss(*args)[0]

    return wrapped
