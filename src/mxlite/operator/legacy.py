"""MXNet's oldest Python operators, still subclassed by old examples: ``NumpyOp`` (forward and
backward on NumPy arrays) and ``NDArrayOp`` (on NDArrays).

An instance called on symbols gives a symbol of MXNet's ``_Native`` / ``_NDArray`` operator;
the instance is found again through its ``info`` key (in MXNet a C pointer, so such graphs were
never portable through JSON either).

>>> import numpy as np, mxlite as mx
>>> class Square(mx.operator.NumpyOp):
...     def forward(self, in_data, out_data):
...         out_data[0][:] = in_data[0] ** 2
...     def backward(self, out_grad, in_data, out_data, in_grad):
...         in_grad[0][:] = 2 * in_data[0] * out_grad[0]
>>> y = Square()(mx.sym.var("x"), name="sq")
>>> exe = y.bind(mx.cpu(), {"x": mx.nd.array([1, 2, 3])},
...              args_grad={"x": mx.nd.zeros(3)})
>>> exe.forward(is_train=True)[0].asnumpy().tolist()
[1.0, 4.0, 9.0]
>>> exe.backward(mx.nd.ones(3)); exe.grad_dict["x"].asnumpy().tolist()
[2.0, 4.0, 6.0]
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .registry import Operator, Param, register

__all__ = ["NDArrayOp", "NumpyOp", "PythonOp"]

_INSTANCES: dict[str, PythonOp] = {}


class PythonOp:
    """Base of NumpyOp and NDArrayOp: override ``forward``, ``backward`` and, for other shapes
    or several inputs/outputs, ``infer_shape``, ``list_arguments``, ``list_outputs``.

    ``need_top_grad=False`` makes it a loss (its backward ignores head gradients)."""

    _opname = "_Native"

    def __init__(self, need_top_grad=True):
        self.info_ = None
        self.need_top_grad_ = need_top_grad

    def __call__(self, *args, **kwargs):
        return self.get_symbol(*args, **kwargs)

    def get_symbol(self, *args, **kwargs):
        """A symbol applying this operator to the given symbols."""
        from ..symbol.symbol import _create

        key = f"{type(self).__name__}:{id(self):x}"
        _INSTANCES[key] = self
        self.info_ = key
        name, attr = kwargs.pop("name", None), kwargs.pop("attr", None)
        kwargs.update(info=key, need_top_grad=self.need_top_grad())
        return _create(self._opname, self._opname.strip("_").lower(), args, kwargs, name=name,
                       attr=attr)

    def forward(self, in_data, out_data):
        raise MXNetError(f"{type(self).__name__} must define forward(in_data, out_data)")

    def backward(self, out_grad, in_data, out_data, in_grad):
        raise MXNetError(f"{type(self).__name__} must define backward(out_grad, in_data, "
                         "out_data, in_grad)")

    def infer_shape(self, in_shape):
        """``(input shapes, output shapes)``; default: one output shaped like the first input."""
        return in_shape, [in_shape[0]]

    def list_outputs(self):
        return ["output"]

    def list_arguments(self):
        return ["data"]

    def need_top_grad(self):
        return self.need_top_grad_


class NumpyOp(PythonOp):
    """Forward/backward write into NumPy arrays (``out_data[0][:] = ...``)."""

    _opname = "_Native"


class NDArrayOp(PythonOp):
    """Forward/backward write into NDArrays (``out_data[0][:] = ...``)."""

    _opname = "_NDArray"

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        return list(out_grad) + list(in_data) + list(out_data)


class _PythonOpOperator(Operator):
    params = {"info": Param("str"), "need_top_grad": Param("bool", True)}
    wrap = False

    def inst(self, p) -> PythonOp:
        op = _INSTANCES.get(p.info)
        if op is None:
            raise MXNetError(f"{self.name}: no Python operator instance {p.info!r} in this "
                             "process (these graphs cannot be reloaded elsewhere)")
        return op

    def arguments(self, p):
        return list(self.inst(p).list_arguments())

    def outputs(self, p):
        return list(self.inst(p).list_outputs())

    def is_loss(self, p) -> bool:
        return not p.need_top_grad

    def infer_shape(self, p, in_shapes, aux_shapes):
        if any(s is None for s in in_shapes):
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        ins, outs = self.inst(p).infer_shape([list(s) for s in in_shapes])
        return ([tuple(int(d) for d in s) for s in ins],
                [tuple(int(d) for d in s) for s in outs], aux_shapes)

    def _as(self, arrays):
        if not self.wrap:
            return list(arrays)
        from ..ndarray.ndarray import NDArray

        return [NDArray(a) for a in arrays]

    def forward(self, p, inputs, aux, is_train):
        _, out_shapes, _ = self.infer_shape(p, [x.shape for x in inputs], [])
        outs = [np.zeros(s, dtype=inputs[0].dtype) for s in out_shapes]
        self.inst(p).forward(in_data=self._as(inputs), out_data=self._as(outs))
        return outs, None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        grads = [np.zeros_like(x) for x in inputs]
        self.inst(p).backward(out_grad=self._as(out_grads), in_data=self._as(inputs),
                              out_data=self._as(outputs), in_grad=self._as(grads))
        return grads


@register
class _Native(_PythonOpOperator):
    name = "_Native"


@register
class _NDArrayOperator(_PythonOpOperator):
    name = "_NDArray"
    wrap = True
