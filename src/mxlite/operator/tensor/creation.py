"""Operators without inputs: ``_zeros``, ``_ones``, ``_full``, ``_arange``."""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register

__all__: list[str] = []


# ---------------------------------------------------------------------- creation (no inputs)
_CREATE_TYPES = ("bool", "float16", "float32", "float64", "int32", "int64", "int8", "uint8")


class _Create(Operator):
    """An operator without inputs producing a constant array."""

    def arguments(self, p):
        return []

    def _shape(self, p):
        return tuple(p.shape)

    def infer_shape(self, p, in_shapes, aux_shapes):
        return in_shapes, [self._shape(p)], aux_shapes

    def infer_type(self, p, in_types, aux_types):
        return in_types, [np.dtype(p.dtype)], aux_types

    def value(self, p):
        raise NotImplementedError

    def forward(self, p, inputs, aux, is_train):
        return [np.full(self._shape(p), self.value(p), dtype=p.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return []


_CREATE_PARAMS = {
    "shape": Param("shape", ()),
    "ctx": Param("str", ""),
    "dtype": Param("dtype", "float32", choices=_CREATE_TYPES),
}


@register
class Zeros(_Create):
    """``mx.sym.zeros(shape)``."""

    name = "_zeros"
    params = dict(_CREATE_PARAMS)

    def value(self, p):
        return 0


@register
class Ones(_Create):
    """``mx.sym.ones(shape)``."""

    name = "_ones"
    params = dict(_CREATE_PARAMS)

    def value(self, p):
        return 1


@register
class Full(_Create):
    """``mx.sym.full(shape, value)``."""

    name = "_full"
    params = {**_CREATE_PARAMS, "value": Param("float")}

    def value(self, p):
        return p.value


@register
class Arange(_Create):
    """``mx.sym.arange(start, stop, step, repeat)``: evenly spaced values, each repeated."""

    name = "_arange"
    params = {
        "start": Param("float"),
        "stop": Param("float", None, optional=True),
        "step": Param("float", 1.0),
        "repeat": Param("int", 1),
        "infer_range": Param("bool", False),
        "ctx": Param("str", ""),
        "dtype": Param("dtype", "float32", choices=_CREATE_TYPES),
    }

    def _range(self, p):
        start, stop = (0.0, p.start) if p.stop is None else (p.start, p.stop)
        if p.step == 0:
            raise ShapeError("_arange: step must not be 0")
        if p.infer_range:
            raise ShapeError("_arange: infer_range=True is not supported")
        n = int(np.ceil((stop - start) / p.step))
        if n <= 0 or p.repeat < 1:
            raise ShapeError(f"_arange: start={start}, stop={stop}, step={p.step} give no values")
        return start, n

    def _shape(self, p):
        return (self._range(p)[1] * p.repeat,)

    def forward(self, p, inputs, aux, is_train):
        start, n = self._range(p)
        values = start + p.step * np.arange(n, dtype=np.float64)
        return [np.repeat(values, p.repeat).astype(p.dtype)], None
