"""FullyConnected: ``out = data @ weight.T + bias`` (MXNet 1.9.1).

- ``flatten=True``: data ``(n, d1, d2, ...)`` is viewed as ``(n, d1*d2*...)``; weight is
  ``(num_hidden, d1*d2*...)``; output ``(n, num_hidden)``.
- ``flatten=False``: the last axis is contracted; data ``(..., k)``, weight ``(num_hidden, k)``,
  output ``(..., num_hidden)``.

Backward: ``d_data = d_out @ weight``, ``d_weight = d_out.T @ data``, ``d_bias = sum(d_out)``
over every axis but the last.  ``bias`` may be ``(num_hidden,)`` or ``(num_hidden, 1)``, as
MXNet's CPU kernel accepts both (its gradient has the bias's shape).
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from ._util import fmt, merge_shape, planned_buffer

#: weights of at least this many elements, with at most :data:`TRANSPOSED_ROWS` data rows, run
#: the forward GEMM as ``(weight @ data^T)^T`` and the weight gradient as ``(data^T @ dy)^T``
#: (OpenBLAS's kernels for the other operand order).  Measured (one thread, ms, float32,
#: forward / weight gradient, data rows x in x out, direct -> transposed): 32 x 16384 x 512
#: (VGG's fc): 12.0 -> 8.2 / 11.6 -> 9.4 (two threads: 5.7 -> 3.8 / 4.8 -> 3.8); 64 x 16384 x
#: 512: 15.0 -> 12.0 / 14.5 -> 13.3; 128 x 16384 x 512: 23.1 -> 20.6 / 23.1 -> 22.9; 16 x 9216
#: x 4096: 36.6 -> 28.4 / 41.0 -> 41.9; 32 x 4096 x 4096: 20.9 -> 18.1 / 20.4 -> 19.0.  The
#: MLP and LeNet layers (up to 800 x 500 weights) measured level or slower, so keep the order
TRANSPOSED_ELEMENTS = 1 << 20
TRANSPOSED_ROWS = 128

_FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _ak():
    """:mod:`._activation_kernels` (imported on first use: it imports Numba)."""
    from . import _activation_kernels

    return _activation_kernels


@register
class FullyConnected(Operator):
    name = "FullyConnected"
    params = {
        "num_hidden": Param("int"),
        "no_bias": Param("bool", False),
        "flatten": Param("bool", True),
    }
    partial_shapes = True  # data (0, H), an RNN cell's begin state: the weight from H

    def arguments(self, p):
        return ["data", "weight"] if p.no_bias else ["data", "weight", "bias"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        if p.num_hidden <= 0:
            raise ShapeError(f"FullyConnected: num_hidden must be positive, got {p.num_hidden}")
        # only the data may arrive partially known (0 dims); a partial weight / bias is checked
        # by the graph against what is inferred here
        in_shapes = [s if k == 0 or s is None or 0 not in s else None
                     for k, s in enumerate(in_shapes)]
        data = in_shapes[0]
        if not p.no_bias and (in_shapes[2] is None
                              or tuple(in_shapes[2]) != (p.num_hidden, 1)):  # MXNet takes both
            in_shapes[2] = merge_shape(self.name, "bias", in_shapes[2], (p.num_hidden,))
        if data is None:
            w = in_shapes[1]
            if w is not None and len(w) == 2 and w[0] != p.num_hidden:
                raise ShapeError(
                    f"FullyConnected: weight shape {fmt(w)} does not match "
                    f"num_hidden={p.num_hidden}"
                )
            return in_shapes, [None], aux_shapes
        data = tuple(data)
        if len(data) < 1:
            raise ShapeError(f"FullyConnected: data shape {fmt(data)} must have at least 1 axis")
        if 0 in data:  # partially known (0 = unknown): the weight from the known feature dims
            units = data[1:] if p.flatten else data[-1:]
            if 0 not in units:
                in_units = int(np.prod(units, dtype=np.int64))
                in_shapes[1] = merge_shape(self.name, "weight", in_shapes[1],
                                           (p.num_hidden, in_units))
            return in_shapes, [None], aux_shapes
        if p.flatten:
            in_units = int(np.prod(data[1:], dtype=np.int64))
            out = (data[0], p.num_hidden)
        else:
            in_units = data[-1]
            out = (*data[:-1], p.num_hidden)
        try:
            in_shapes[1] = merge_shape(self.name, "weight", in_shapes[1], (p.num_hidden, in_units))
        except ShapeError:
            raise ShapeError(
                f"FullyConnected: weight shape {fmt(in_shapes[1])} does not match data shape "
                f"{fmt(data)} (expected {(p.num_hidden, in_units)} with flatten={p.flatten})"
            ) from None
        in_shapes[0] = data
        return in_shapes, [out], aux_shapes

    def infer_inputs_from_outputs(self, p, in_shapes, out_shapes):
        """The unknown (0) leading dims of a partially known data shape from the output (the
        batch size of an ``mx.rnn`` begin state ``zeros((0, H))``)."""
        data, out = in_shapes[0], out_shapes[0]
        if data is None or out is None or 0 not in data or 0 in out or len(out) < 1:
            return in_shapes
        lead = 1 if p.flatten else len(data) - 1
        if len(out) < lead:
            return in_shapes
        data = tuple(o if d == 0 else d for d, o in zip(data[:lead], out[:lead], strict=True)) \
            + tuple(data[lead:])
        return [data, *in_shapes[1:]]

    @staticmethod
    def _as_2d(p, x):
        if p.flatten:
            return x.reshape(x.shape[0], -1)
        return x.reshape(-1, x.shape[-1])

    writes_outputs = True
    writes_grads = True

    def forward(self, p, inputs, aux, is_train, out=None, relu=False):
        """``relu``: the output is ``relu(data @ weight.T + bias)`` (a fused
        ``FullyConnected -> relu``: bias and relu in one pass over the GEMM's output, with the
        bits of the two operators one after the other)."""
        x, w = inputs[0], inputs[1]
        x2 = self._as_2d(p, x)
        if not p.no_bias and tuple(inputs[2].shape) not in ((p.num_hidden,), (p.num_hidden, 1)):
            raise ShapeError(f"FullyConnected: bias shape {fmt(inputs[2].shape)} must be "
                             f"({p.num_hidden},) or ({p.num_hidden}, 1)")
        if p.flatten:
            shape = (x.shape[0], p.num_hidden)
        else:
            shape = (*x.shape[:-1], p.num_hidden)
        dtype = np.result_type(x2.dtype, w.dtype)
        y = planned_buffer(out, 0, shape, dtype)
        y2 = y.reshape(-1, p.num_hidden)
        if self._transposed(x2, w):
            yt = np.matmul(w, x2.T)  # (num_hidden, rows): small
            if p.no_bias:
                np.copyto(y2, yt.T)
            else:
                np.add(yt.T, inputs[2].reshape(-1), out=y2)
            if relu:
                self._relu(y2)
            return [y], None
        np.matmul(x2, w.T, out=y2)
        if relu and not p.no_bias and y2.dtype in _FUSED_DTYPES and y2.size:
            b = inputs[2].reshape(-1)
            if b.dtype == y2.dtype and b.flags.c_contiguous:
                _ak().bias_relu(y2, b)
                return [y], None
        if not p.no_bias:
            y2 += inputs[2].reshape(-1)
        if relu:
            self._relu(y2)
        return [y], None

    @staticmethod
    def _relu(y2):
        """relu in place, as the Activation operator computes it."""
        from .activation import act_forward

        res = act_forward("relu", y2, bufs=[y2])
        if res is not y2:  # (float16: computed in float32)
            np.copyto(y2, res)

    @staticmethod
    def _transposed(x2, w) -> bool:
        """Whether the GEMMs run in the transposed operand order (:data:`TRANSPOSED_ELEMENTS`)."""
        return w.size >= TRANSPOSED_ELEMENTS and x2.shape[0] <= TRANSPOSED_ROWS

    skips_grads = True

    def backward(self, p, out_grads, inputs, outputs, aux, saved, need=None, gout=None,
                 db=None):
        """``db``: the bias gradient, computed already (:meth:`backward_relu`)."""
        x, w = inputs[0], inputs[1]
        dy = out_grads[0].reshape(-1, p.num_hidden)
        x2 = self._as_2d(p, x)
        # the data gradient of a first layer is usually not needed: skip its GEMM then
        if need is not None and not need[0]:
            dx = None
        else:
            dx = planned_buffer(gout, 0, x.shape, np.result_type(dy.dtype, w.dtype))
            np.matmul(dy, w, out=dx.reshape(x2.shape))
        dw = planned_buffer(gout, 1, w.shape, np.result_type(dy.dtype, x2.dtype))
        if self._transposed(x2, w):
            np.matmul(x2.T, dy, out=dw.T)
        else:
            np.matmul(dy.T, x2, out=dw)
        grads = [dx, dw]
        if not p.no_bias:
            if db is None:
                db = planned_buffer(gout, 2, (p.num_hidden,), dy.dtype)
                np.add.reduce(dy, axis=0, out=db)  # the bias gradient: one pass over dy
            grads.append(db if db.shape == inputs[2].shape else db.reshape(inputs[2].shape))
        return grads

    def backward_relu(self, p, relu_grad, inputs, relu_output, need=None, gout=None,
                      mid=None):
        """The backward of a fused ``FullyConnected -> relu`` (:meth:`forward` with
        ``relu=True``): ``relu_grad`` is the gradient of the relu's output ``relu_output``.
        Returns ``(grads, dmid)``: the gradients of the inputs, as :meth:`backward`, and the
        gradient of the FullyConnected's own output (written into ``mid`` when that is an
        array of the right shape and dtype: keep it for the next batch).  The relu's gradient
        and the bias gradient come from one pass over ``relu_grad``."""
        y = relu_output.reshape(-1, p.num_hidden)
        g = relu_grad.reshape(-1, p.num_hidden)
        dt = y.dtype
        fast = (dt in _FUSED_DTYPES and g.dtype == dt and y.flags.c_contiguous
                and g.flags.c_contiguous and y.shape[0] > 0)
        dmid = planned_buffer([mid], 0, relu_output.shape, dt if fast else relu_grad.dtype)
        if not fast:
            from .activation import act_backward

            dmid = act_backward("relu", relu_output, relu_output, relu_grad, bufs=[dmid])
            return self.backward(p, [dmid], inputs, None, None, None, need=need,
                                 gout=gout), dmid
        db = None
        if not p.no_bias:
            db = planned_buffer(gout, 2, (p.num_hidden,), dt)
            _ak().relu_grad_bias(y, g, dmid.reshape(y.shape), db)
        else:
            _ak().backward(0, y.reshape(-1), y.reshape(-1), g.reshape(-1), 0.0,
                           dmid.reshape(-1))
        return self.backward(p, [dmid], inputs, None, None, None, need=need, gout=gout,
                             db=db), dmid
