"""MXNet 1.x's oldest NDArray functions, still called by old scripts: ``onehot_encode``,
``fill_element_0index``, and ``CachedOp`` (a symbol run as a function of NDArrays).

>>> import mxlite as mx
>>> out = mx.nd.zeros((2, 3))
>>> mx.nd.onehot_encode(mx.nd.array([2, 0]), out=out).asnumpy()
array([[0., 0., 1.],
       [1., 0., 0.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError
from .ndarray import NDArray

__all__ = ["CachedOp", "fill_element_0index", "onehot_encode"]


def _rows(indices: NDArray, n: int, depth: int, who: str) -> np.ndarray:
    idx = indices.asnumpy().astype(np.int64).reshape(-1)
    if idx.size != n:
        raise MXNetError(f"{who}: {idx.size} indices for {n} rows")
    if idx.size and (idx.min() < 0 or idx.max() >= depth):
        raise MXNetError(f"{who}: indices must be in [0, {depth}), got {idx.min()}..{idx.max()}")
    return idx


def onehot_encode(indices: NDArray, out: NDArray) -> NDArray:
    """Write the one-hot rows of ``indices`` into the 2-D ``out`` (``out[i, indices[i]] = 1``)."""
    if not isinstance(out, NDArray) or out.ndim != 2:
        raise ValueError(f"onehot_encode: out must be a 2-D NDArray, got {out!r}")
    idx = _rows(indices, out.shape[0], out.shape[1], "onehot_encode")
    out._data[...] = 0
    out._data[np.arange(out.shape[0]), idx] = 1
    return out


def fill_element_0index(lhs: NDArray, mhs: NDArray, rhs: NDArray, out=None) -> NDArray:
    """``lhs`` with ``lhs[i, rhs[i]] = mhs[i]`` for every row ``i`` (a new array unless ``out``)."""
    if lhs.ndim != 2:
        raise ValueError(f"fill_element_0index: lhs must be 2-D, got shape {lhs.shape}")
    idx = _rows(rhs, lhs.shape[0], lhs.shape[1], "fill_element_0index")
    values = mhs.asnumpy().reshape(-1)
    if values.size != lhs.shape[0]:
        raise MXNetError(f"fill_element_0index: {values.size} values for {lhs.shape[0]} rows")
    result = lhs._data.copy()
    result[np.arange(lhs.shape[0]), idx] = values.astype(result.dtype)
    if out is None:
        return NDArray(result, lhs.context)
    out._data[...] = result
    return out


class CachedOp:
    """A symbol called like a function: ``op(*inputs)`` binds (once per input shapes/dtypes)
    and runs forward; inputs are the symbol's ``list_inputs()`` in order.  Called under
    ``autograd.record()`` on recorded inputs, the call is recorded (its backward is the bound
    graph's) and runs in the recording's train/predict mode."""

    def __init__(self, sym, flags=()):
        from ..symbol import Symbol

        if not isinstance(sym, Symbol):
            raise TypeError(f"CachedOp: expected a Symbol, got {type(sym).__name__}")
        self._sym = sym
        self.flags = dict(flags)
        self._names = sym.list_inputs()
        self._cache: dict = {}

    def __call__(self, *args, out=None, **kwargs):
        if kwargs:
            raise TypeError(f"CachedOp: unexpected keyword arguments {sorted(kwargs)}")
        if len(args) != len(self._names):
            raise ValueError(f"CachedOp: expected {len(self._names)} inputs {self._names}, "
                             f"got {len(args)}")
        from . import _record

        if _record.STATE.recording and _record.tracked(args):
            return self._recorded(args, out)
        key = tuple((a.shape, np.dtype(a.dtype).str) for a in args)
        exe = self._cache.get(key)
        if exe is None:
            args_dict = dict(zip(self._names, args, strict=True))
            arg_names = self._sym.list_arguments()
            exe = self._sym.bind(
                args[0].context, args={k: args_dict[k].copy() for k in arg_names},
                grad_req="null",
                aux_states={k: args_dict[k].copy() for k in self._sym.list_auxiliary_states()},
            )
            self._cache[key] = exe
        for name, value in zip(self._names, args, strict=True):
            target = exe.arg_dict.get(name)
            if target is None:
                target = exe.aux_dict[name]
            target._data[...] = value._data
        outputs = exe.forward(is_train=False)
        return self._finish([NDArray(o._data.copy(), o.context) for o in outputs], out)

    def _recorded(self, args, out):
        """A recorded call: a graph bound for it alone (its values are kept for backward),
        with gradients for the recorded arguments."""
        from . import _record

        inputs = dict(zip(self._names, args, strict=True))
        arg_names = self._sym.list_arguments()
        need = {k for k in arg_names if inputs[k]._ag is not None}
        exe = self._sym.bind(
            args[0].context, args={k: inputs[k].copy() for k in arg_names},
            args_grad={k: NDArray(np.zeros(inputs[k].shape, inputs[k].dtype),
                                  inputs[k].context) for k in need},
            grad_req={k: "write" if k in need else "null" for k in arg_names},
            aux_states={k: inputs[k].copy() for k in self._sym.list_auxiliary_states()},
        )
        outputs = exe.forward(is_train=_record.STATE.training)
        results = [NDArray(o._data.copy(), o.context) for o in outputs]
        names = self._names

        def backward(out_grads, _inputs, saved):
            saved.backward([NDArray(np.ascontiguousarray(g), saved._ctx) for g in out_grads])
            grads = saved.grad_dict
            return [grads[n]._data if n in need else None for n in names]

        _record.record_node(_record.PyOp("_CachedOp", backward), None, list(args),
                            [a._data for a in args], results, saved=exe)
        return self._finish(results, out)

    @staticmethod
    def _finish(results, out):
        if out is not None:
            targets = out if isinstance(out, (list, tuple)) else [out]
            for t, r in zip(targets, results, strict=True):
                t._data[...] = r._data
            return out
        return results[0] if len(results) == 1 else results
