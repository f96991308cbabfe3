"""``mx.autograd``: record NDArray computations and differentiate them, as MXNet 1.x.

>>> import mxlite as mx
>>> x = mx.nd.array([1.0, 2.0, 3.0])
>>> x.attach_grad()
>>> with mx.autograd.record():
...     y = (x * x + 2 * x).sum()
>>> y.backward()
>>> x.grad.asnumpy().tolist()
[4.0, 6.0, 8.0]

Inside :func:`record` every operator call whose inputs take part in a gradient computation is
recorded; ``backward`` runs each operator's registered backward -- the one the Symbol executor
uses.  Training mode (``is_training``) decides how Dropout and BatchNorm behave; ``record()``
turns it on by default, ``pause()`` turns recording (and by default training) off.
"""

from __future__ import annotations

import numpy as np

from .base import MXNetError
from .ndarray import NDArray, _record
from .ndarray._record import STATE

__all__ = [
    "Function", "backward", "get_symbol", "grad", "is_recording", "is_training",
    "mark_variables", "pause",
    "predict_mode", "record", "set_recording", "set_training", "train_mode",
]


def set_recording(is_recording: bool) -> bool:
    """Turn recording on or off; returns the previous state."""
    prev = STATE.recording
    STATE.recording = bool(is_recording)
    return prev


def set_training(train_mode: bool) -> bool:
    """Turn training mode on or off; returns the previous state."""
    prev = STATE.training
    STATE.training = bool(train_mode)
    return prev


def is_recording() -> bool:
    """Whether operator calls are being recorded."""
    return STATE.recording


def is_training() -> bool:
    """Whether operators run in training mode (Dropout active, BatchNorm batch statistics)."""
    return STATE.training


class _RecordingStateScope:
    """Sets recording and/or training on entry and restores both on exit."""

    def __init__(self, is_record, train_mode):
        self._enter_record = is_record
        self._enter_train = train_mode
        self._prev_record = None
        self._prev_train = None

    def __enter__(self):
        self._prev_record, self._prev_train = STATE.recording, STATE.training
        if self._enter_record is not None:
            STATE.recording = bool(self._enter_record)
        if self._enter_train is not None:
            STATE.training = bool(self._enter_train)
        return self

    def __exit__(self, *exc):
        STATE.recording, STATE.training = self._prev_record, self._prev_train
        return False


def record(train_mode: bool = True) -> _RecordingStateScope:
    """Scope that records operator calls for :func:`backward` (training mode by default)."""
    return _RecordingStateScope(True, train_mode)


def pause(train_mode: bool = False) -> _RecordingStateScope:
    """Scope that stops recording (and, by default, training mode) inside ``record()``."""
    return _RecordingStateScope(False, train_mode)


def train_mode() -> _RecordingStateScope:
    """Scope in training mode; recording is left as it is."""
    return _RecordingStateScope(None, True)


def predict_mode() -> _RecordingStateScope:
    """Scope in inference mode; recording is left as it is."""
    return _RecordingStateScope(None, False)


def _as_list(x, what: str) -> list:
    if isinstance(x, NDArray):
        return [x]
    if isinstance(x, (list, tuple)) and all(isinstance(v, NDArray) for v in x):
        return list(x)
    raise TypeError(f"{what} must be an NDArray or a list of NDArrays, got {type(x).__name__}")


def mark_variables(variables, gradients, grad_reqs="write") -> None:
    """Mark NDArrays as variables whose gradients are written into ``gradients``."""
    variables = _as_list(variables, "variables")
    gradients = _as_list(gradients, "gradients")
    if len(variables) != len(gradients):
        raise ValueError(
            f"mark_variables: {len(variables)} variables but {len(gradients)} gradients")
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    if len(reqs) != len(variables):
        raise ValueError(f"mark_variables: {len(reqs)} grad_reqs for {len(variables)} variables")
    for v, g, r in zip(variables, gradients, reqs, strict=True):
        if r not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be 'write', 'add' or 'null', got {r!r}")
        if g.shape != v.shape:
            raise ValueError(f"gradient shape {g.shape} differs from variable shape {v.shape}")
        v._ag = _record.Var(g, r)


def backward(heads, head_grads=None, retain_graph: bool = False, train_mode: bool = True):
    """Compute the gradients of ``heads`` (an NDArray or a list) into the variables' ``grad``.

    ``head_grads``: the gradients of the heads (ones where None).  Without ``retain_graph`` the
    graph is freed, and a second backward through it raises MXNetError.
    """
    heads = _as_list(heads, "heads")
    if head_grads is not None:
        head_grads = [head_grads] if isinstance(head_grads, NDArray) else list(head_grads)
    _record.backward(heads, head_grads, retain_graph, train_mode)


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph: bool = False,
         train_mode: bool = True):
    """The gradients of ``heads`` with respect to ``variables`` as a list of new NDArrays (a
    list also for one variable, as MXNet returns it); the variables' ``grad`` buffers are left
    alone.

    ``retain_graph`` defaults to ``create_graph``.  With ``create_graph=True`` the backward
    pass is itself recorded (whether or not ``record()`` is active, as MXNet does): the returned
    gradients can be differentiated again -- ``grad`` of them, or ``.backward()`` -- for second
    and higher order gradients.  Each operator's gradient is then computed by its
    differentiable rule in :mod:`mxlite.operator._higher_order`; differentiating through an
    operator without one raises MXNetError naming ``_backward_<operator>``.

    >>> import mxlite as mx
    >>> x = mx.nd.array([0.5, 1.0]); x.attach_grad()
    >>> with mx.autograd.record():
    ...     y = mx.nd.sin(x)
    ...     dy = mx.autograd.grad(y, x, create_graph=True)[0]  # cos(x), recorded
    >>> dy.backward()                                         # d cos(x) / dx = -sin(x)
    >>> bool(abs(x.grad.asnumpy() + mx.nd.sin(x).asnumpy()).max() < 1e-6)
    True
    """
    if retain_graph is None:
        retain_graph = create_graph
    heads = _as_list(heads, "heads")
    variables = _as_list(variables, "variables")
    for v in variables:
        if not isinstance(v._ag, _record.Var):
            raise MXNetError("autograd.grad: every variable needs attach_grad() (or "
                             "mark_variables) before it is used in record()")
    if head_grads is None:
        head_grads = [None] * len(heads)
    else:
        head_grads = [head_grads] if isinstance(head_grads, NDArray) else list(head_grads)
    if len(head_grads) != len(heads):
        raise ValueError(f"head_grads has {len(head_grads)} arrays for {len(heads)} heads")
    prev = STATE.training
    STATE.training = bool(train_mode)
    try:
        if create_graph:
            out = _record.run_backward_graph(heads, head_grads, variables)
            return out
        grads = _record.run_backward(heads, head_grads, bool(retain_graph), variables)
    finally:
        STATE.training = prev
    out = [NDArray(np.ascontiguousarray(g, dtype=v._data.dtype), v.context)
           for g, v in zip(grads, variables, strict=True)]
    return out


class _FunctionOp:
    """Node operator calling a :class:`Function`'s ``backward``."""

    def __init__(self, fn: Function):
        self.fn = fn
        self.name = type(fn).__name__

    def is_loss(self, p) -> bool:
        return False

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        ctx = saved
        with pause():
            grads = self.fn.backward(*[NDArray(np.asarray(g), ctx) for g in out_grads])
        grads = [grads] if isinstance(grads, NDArray) else list(grads)
        if len(grads) != len(inputs):
            raise MXNetError(
                f"{self.name}.backward returned {len(grads)} gradients for {len(inputs)} inputs")
        return [None if g is None else g._data for g in grads]


class Function:
    """A differentiable function written with NDArray operations: subclass it, write
    ``forward(self, *inputs)`` and ``backward(self, *output_grads)`` (returning one gradient per
    input), and call an instance on NDArrays.  ``save_for_backward`` keeps arrays for backward.

    >>> import mxlite as mx
    >>> class Sigmoid(mx.autograd.Function):
    ...     def forward(self, x):
    ...         y = 1 / (1 + mx.nd.exp(-x))
    ...         self.save_for_backward(y)
    ...         return y
    ...     def backward(self, dy):
    ...         y, = self.saved_tensors
    ...         return dy * y * (1 - y)
    >>> x = mx.nd.array([0.0]); x.attach_grad()
    >>> with mx.autograd.record():
    ...     z = Sigmoid()(x)
    >>> z.backward(); x.grad.asscalar()
    np.float32(0.25)
    """

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args) -> None:
        self.saved_tensors = args

    def forward(self, *inputs):
        raise TypeError(f"{type(self).__name__} must define forward(self, *inputs)")

    def backward(self, *output_grads):
        raise TypeError(f"{type(self).__name__} must define backward(self, *output_grads)")

    def __call__(self, *inputs):
        if self._used:
            raise MXNetError("each autograd.Function instance can be called only once")
        self._used = True
        inputs = list(inputs)
        for x in inputs:
            if not isinstance(x, NDArray):
                raise TypeError(f"Function inputs must be NDArrays, got {type(x).__name__}")
        with pause():
            outputs = self.forward(*inputs)
        single = isinstance(outputs, NDArray)
        outs = [outputs] if single else list(outputs)
        if STATE.recording:
            outs = [NDArray(o._data, o.context) for o in outs]
            _record.record_node(_FunctionOp(self), None, inputs, [x._data for x in inputs], outs,
                                saved=inputs[0].context if inputs else None)
        return outs[0] if single else outs


def get_symbol(x):
    """The recorded computation that produced ``x``, as a Symbol (MXNet's
    ``autograd.get_symbol``): a graph of the operators called, whose arguments are the
    variables (``var<k>``, arrays with ``attach_grad``/``mark_variables``) and the constant
    inputs (``null<k>``) it used.  Calls recorded as a whole (a hybridized block, a CachedOp,
    indexing) are not operators and raise MXNetError."""
    from . import symbol
    from .operator.registry import Operator

    if not isinstance(x, NDArray) or x._ag is None:
        raise MXNetError("get_symbol: the array is not the result of a recorded computation "
                         "(compute it inside autograd.record() from arrays with attach_grad)")
    names = {}
    counts = {"var": 0, "null": 0}

    def var(key, kind):
        if key not in names:
            names[key] = symbol.var(f"{kind}{counts[kind]}")
            counts[kind] += 1
        return names[key]

    built = {}

    def entry(e, array_id):
        if e is None:
            return var(("const", array_id), "null")
        if isinstance(e, _record.Var):
            return var(("var", id(e)), "var")
        node = e.node
        if node.freed:
            return var(("const", array_id), "null")
        if id(node) not in built:
            if not isinstance(node.op, Operator):
                raise MXNetError(f"get_symbol: the recorded call {node.op.name!r} is not an "
                                 "operator and has no Symbol form")
            inputs = [entry(c, id(a)) for c, a in zip(node.entries, node.in_arrays,
                                                       strict=True)]
            inputs += [var(("const", id(a)), "null") for a in node.aux]
            params = {k: v for k, v in node.params.items() if v is not None}
            out = getattr(symbol, node.op.name)(*inputs, **params)
            built[id(node)] = out
        out = built[id(node)]
        return out[e.index] if len(out.list_outputs()) > 1 else out

    return entry(x._ag, id(x._data))

