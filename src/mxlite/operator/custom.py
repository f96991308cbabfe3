"""Operators written in Python: MXNet's ``CustomOp`` / ``CustomOpProp`` / ``register``.

>>> import mxlite as mx
>>> @mx.operator.register("twice")
... class TwiceProp(mx.operator.CustomOpProp):
...     def create_operator(self, ctx, shapes, dtypes):
...         return Twice()
>>> class Twice(mx.operator.CustomOp):
...     def forward(self, is_train, req, in_data, out_data, aux):
...         self.assign(out_data[0], req[0], in_data[0] * 2)
...     def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
...         self.assign(in_grad[0], req[0], out_grad[0] * 2)
>>> mx.nd.Custom(mx.nd.ones((2,)), op_type="twice").asnumpy()
array([2., 2.], dtype=float32)

``mx.sym.Custom(*inputs, op_type=name, **kwargs)`` creates the symbol; ``kwargs`` reach the
property class's constructor as strings, as in MXNet, and are stored in the symbol JSON.  A
property with ``need_top_grad=False`` makes a loss: its backward runs without head gradients.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .registry import Operator, Param, ShapeError
from .registry import register as _register_operator

__all__ = ["CustomOp", "CustomOpProp", "register"]

_PROPS: dict[str, type] = {}


class CustomOp:
    """The computation of a custom operator: override ``forward`` and ``backward``."""

    def forward(self, is_train, req, in_data, out_data, aux):
        """Write the outputs into ``out_data`` (NDArrays) according to ``req``."""

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        """Write the input gradients into ``in_grad`` (NDArrays) according to ``req``."""

    def assign(self, dst, req, src):
        """``dst[:] = src`` for ``'write'``/``'inplace'``, ``+=`` for ``'add'``, nothing for
        ``'null'``."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] += src
        else:
            raise ValueError(f"assign: req must be null, write, inplace or add, got {req!r}")


class CustomOpProp:
    """The description of a custom operator: names, shape and type inference, creation."""

    def __init__(self, need_top_grad: bool = True):
        self.need_top_grad_ = need_top_grad

    def infer_shape(self, in_shape):
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type):
        return (in_type, [in_type[0]] * len(self.list_outputs()),
                [in_type[0]] * len(self.list_auxiliary_states()))

    def list_outputs(self):
        return ["output"]

    def list_arguments(self):
        return ["data"]

    def list_auxiliary_states(self):
        return []

    def need_top_grad(self):
        return self.need_top_grad_

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        deps = list(in_data) + list(out_data)
        return deps + list(out_grad) if self.need_top_grad() else deps

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return CustomOp()


def register(reg_name: str):
    """Class decorator registering a :class:`CustomOpProp` subclass as ``op_type=reg_name``."""
    if not isinstance(reg_name, str) or not reg_name:
        raise TypeError(f"register expects a non-empty operator name, got {reg_name!r}")

    def deco(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise TypeError(f"register({reg_name!r}) decorates CustomOpProp subclasses, got "
                            f"{prop_cls!r}")
        _PROPS[reg_name] = prop_cls
        return prop_cls

    return deco


def _split_result(result, n_aux: int, what: str):
    result = list(result)
    if len(result) == 2:
        result.append([None] * n_aux)
    if len(result) != 3:
        raise MXNetError(f"Custom: {what} must return (in, out[, aux]), got {result!r}")
    return result


@_register_operator
class Custom(Operator):
    """``Custom``: dispatches to the registered :class:`CustomOpProp` named by ``op_type``."""

    name = "Custom"
    params = {"op_type": Param("str")}
    accepts_extra_params = True

    def __init__(self):
        self._props: dict[tuple, CustomOpProp] = {}
        self._ops: dict[tuple, CustomOp] = {}

    @staticmethod
    def _key(p) -> tuple:
        return tuple(sorted(p.items()))

    def prop(self, p) -> CustomOpProp:
        cls = _PROPS.get(p.op_type)
        if cls is None:
            raise MXNetError(f"Custom: no operator registered as op_type={p.op_type!r}; "
                             f"registered: {sorted(_PROPS)}")
        key = (cls, self._key(p))  # re-registering a name gets fresh property objects
        prop = self._props.get(key)
        if prop is None:
            prop = self._props[key] = cls(**{k: v for k, v in p.items() if k != "op_type"})
        return prop

    def arguments(self, p):
        return list(self.prop(p).list_arguments())

    def outputs(self, p):
        return list(self.prop(p).list_outputs())

    def aux_states(self, p):
        return list(self.prop(p).list_auxiliary_states())

    def is_loss(self, p) -> bool:
        return not self.prop(p).need_top_grad()

    def infer_shape(self, p, in_shapes, aux_shapes):
        unknown = [s is None for s in in_shapes]
        if all(unknown):
            return in_shapes, [None] * len(self.outputs(p)), aux_shapes
        # as MXNet, the user's infer_shape sees an unknown shape as [] and may fill it in
        # (a label shaped like the data); if it cannot cope yet, inference waits for more
        try:
            result = self.prop(p).infer_shape([[] if s is None else list(s) for s in in_shapes])
        except Exception:
            if any(unknown):
                return in_shapes, [None] * len(self.outputs(p)), aux_shapes
            raise
        ins, outs, aux = _split_result(result, len(aux_shapes), "infer_shape")

        def known(s):
            if s is None:
                return None
            s = tuple(int(d) for d in s)
            return s if s and 0 not in s else None

        conv = [known(s) for s in (*ins, *outs, *aux)]
        n_in, n_out = len(ins), len(outs)
        if n_in != len(in_shapes) or n_out != len(self.outputs(p)):
            raise ShapeError(f"Custom {p.op_type!r}: infer_shape returned {n_in} input and "
                             f"{n_out} output shapes for {len(in_shapes)} inputs and "
                             f"{len(self.outputs(p))} outputs")
        return conv[:n_in], conv[n_in:n_in + n_out], conv[n_in + n_out:]

    def infer_type(self, p, in_types, aux_types):
        if any(t is None for t in in_types):
            return in_types, [None] * len(self.outputs(p)), aux_types
        ins, outs, aux = _split_result(
            self.prop(p).infer_type([np.dtype(t).type for t in in_types]), len(aux_types),
            "infer_type")
        conv = [None if t is None else np.dtype(t) for t in (*ins, *outs, *aux)]
        n_in, n_out = len(ins), len(outs)
        return conv[:n_in], conv[n_in:n_in + n_out], conv[n_in + n_out:]

    def _operator(self, p, inputs) -> CustomOp:
        shapes = tuple(x.shape for x in inputs)
        dtypes = tuple(x.dtype for x in inputs)
        key = (id(self.prop(p)), self._key(p), shapes, dtypes)
        op = self._ops.get(key)
        if op is None:
            from ..context import current_context

            op = self._ops[key] = self.prop(p).create_operator(
                current_context(), [list(s) for s in shapes], [d.type for d in dtypes])
        return op

    def forward(self, p, inputs, aux, is_train):
        from ..ndarray.ndarray import NDArray

        _, out_shapes, _ = self.infer_shape(p, [x.shape for x in inputs], [a.shape for a in aux])
        _, out_types, _ = self.infer_type(p, [x.dtype for x in inputs], [a.dtype for a in aux])
        in_data = [NDArray(x) for x in inputs]
        out_data = [NDArray(np.zeros(s, dtype=t or inputs[0].dtype))
                    for s, t in zip(out_shapes, out_types, strict=True)]
        aux_data = [NDArray(a) for a in aux]
        op = self._operator(p, inputs)
        op.forward(is_train=is_train, req=["write"] * len(out_data), in_data=in_data,
                   out_data=out_data, aux=aux_data)
        return [o._data for o in out_data], op

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        from ..ndarray.ndarray import NDArray

        op = saved if saved is not None else self._operator(p, inputs)
        in_grad = [NDArray(np.zeros_like(x)) for x in inputs]
        out_grad = [NDArray(np.asarray(g)) if g is not None else NDArray(np.zeros_like(o))
                    for g, o in zip(out_grads or [None] * len(outputs), outputs, strict=True)]
        op.backward(req=["write"] * len(in_grad), out_grad=out_grad,
                    in_data=[NDArray(x) for x in inputs], out_data=[NDArray(o) for o in outputs],
                    in_grad=in_grad, aux=[NDArray(a) for a in aux])
        return [g._data for g in in_grad]
