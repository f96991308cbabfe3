"""BatchNorm (MXNet 1.9.1).

Inputs ``data``, ``gamma``, ``beta`` (shape ``(C,)`` with ``C = data.shape[axis]``); auxiliary
states ``moving_mean`` (initialized to zeros) and ``moving_var`` (ones).

Training (``is_train`` and not ``use_global_stats``): per channel, over every other axis,
``mean`` and the *biased* variance ``var`` (divided by the element count ``m``);
``out = gamma * (data - mean) / sqrt(var + eps) + beta`` (``gamma`` taken as 1 when
``fix_gamma``), and the moving statistics are updated in place::

    moving_mean = moving_mean * momentum + mean * (1 - momentum)
    moving_var  = moving_var  * momentum + var  * (1 - momentum)

Inference or ``use_global_stats``: the moving statistics replace ``mean`` / ``var``.

With ``output_mean_var`` the outputs are ``[out, mean, invstd]`` where, as in MXNet 1.9.1, the
third output is ``1 / sqrt(var + eps)`` (not the variance).  Gradients flow from ``out`` only.

Backward (batch statistics), with ``xhat = (x - mean) * invstd``::

    d_beta  = sum(dy)            d_gamma = sum(dy * xhat)   (0 when fix_gamma)
    d_x     = gamma * invstd / m * (m * dy - sum(dy) - xhat * sum(dy * xhat))

With global statistics ``d_x = gamma * invstd * dy``.  Numba kernels in
:mod:`._batch_norm_kernels` (training forward: one pass for both statistics and one for the
normalization, channel by channel while it is in cache; backward: one reduction pass and one
elementwise pass; float64 accumulation).

MXNet 1.9.1 updates the moving statistics during the *backward* pass of a training step;
mxlite updates them in the training forward pass, so that after forward + backward both hold
the same values, and a forward-only training pass also updates them.
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from . import _batch_norm_kernels as _kernels
from ._util import fmt, kernel_dtype, merge_shape, planned_buffer


@register
class BatchNorm(Operator):
    name = "BatchNorm"
    params = {
        "eps": Param("float", 0.001),
        "momentum": Param("float", 0.9),
        "fix_gamma": Param("bool", True),
        "use_global_stats": Param("bool", False),
        "output_mean_var": Param("bool", False),
        "axis": Param("int", 1),
        "cudnn_off": Param("bool", False),
        "min_calib_range": Param("float", None, optional=True),
        "max_calib_range": Param("float", None, optional=True),
    }
    aux_inits = {"moving_mean": '["zero", {}]', "moving_var": '["one", {}]'}

    def arguments(self, p):
        return ["data", "gamma", "beta"]

    def outputs(self, p):
        return ["output", "mean", "var"] if p.output_mean_var else ["output"]

    def aux_states(self, p):
        return ["moving_mean", "moving_var"]

    def num_outputs(self, p):
        return 3

    @staticmethod
    def _axis(p, ndim, shape):
        if not -ndim <= p.axis < ndim:
            raise ShapeError(f"BatchNorm: axis {p.axis} is out of range for data shape "
                             f"{fmt(shape)}")
        return p.axis % ndim

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        nout = len(self.outputs(p))
        if data is None:
            return list(in_shapes), [None] * nout, list(aux_shapes)
        data = tuple(int(s) for s in data)
        if len(data) < 1:
            raise ShapeError("BatchNorm: data must have at least one axis")
        c = (data[self._axis(p, len(data), data)],)
        ins = [data] + [merge_shape(self.name, n, s, c)
                        for n, s in zip(("gamma", "beta"), in_shapes[1:], strict=True)]
        aux = [merge_shape(self.name, n, s, c)
               for n, s in zip(("moving_mean", "moving_var"), aux_shapes, strict=True)]
        return ins, [data] + [c] * (nout - 1), aux

    @staticmethod
    def _view(x, ax):
        """``x`` as a C-contiguous (pre, C, post) array."""
        pre, post = math.prod(x.shape[:ax]), math.prod(x.shape[ax + 1:])
        return np.ascontiguousarray(x, dtype=kernel_dtype(x.dtype)).reshape(pre, x.shape[ax],
                                                                            post)

    def mutable_inputs(self, p):
        """With ``fix_gamma``, MXNet's executor writes 1 into the bound gamma at every forward
        (training or not); so do we, so that saved checkpoints carry the same gamma."""
        return [1] if p.fix_gamma else []

    writes_outputs = True
    writes_grads = True

    def forward(self, p, inputs, aux, is_train, out=None, relu=False):
        """``relu=True``: BatchNorm followed by ``Activation(relu)`` in one pass (the
        executor's fusion, :mod:`mxlite._fusion`): the output is ``max(out, 0)``, exactly the
        relu of the unfused output; :meth:`backward` then takes ``relu=True``."""
        x, gamma, beta = inputs
        ax = self._axis(p, x.ndim, x.shape)
        x3 = self._view(x, ax)
        if p.fix_gamma:
            gamma[...] = 1
        g = np.ones(gamma.shape) if p.fix_gamma else gamma.astype(np.float64)
        batch_stats = is_train and not p.use_global_stats
        b = beta.astype(np.float64)
        out = planned_buffer(out, 0, x.shape, x3.dtype)
        if batch_stats:
            # the moving statistics are updated by the kernel (float16 ones through a copy)
            moving = [a if a.dtype in (np.float32, np.float64) and a.flags.c_contiguous
                      else a.astype(np.float64) for a in aux[:2]]
            mean, invstd = _kernels.forward_train(x3, g, b, float(p.eps), float(p.momentum),
                                                  moving[0], moving[1], out.reshape(x3.shape),
                                                  relu)
            for a, m in zip(aux[:2], moving, strict=True):
                if m is not a:
                    a[...] = m
            scale = g * invstd
        else:
            mean, invstd, scale, shift = self._global_affine(g, b, aux, p.eps)
            _kernels.affine(x3, scale, shift, out.reshape(x3.shape), relu)
        outs = [out.astype(x.dtype, copy=False)]
        if p.output_mean_var:
            outs += [mean.astype(x.dtype), invstd.astype(x.dtype)]
        return outs, (mean, invstd, scale, batch_stats)

    @staticmethod
    def _global_affine(g, b, aux, eps):
        """``(mean, invstd, scale, shift)`` (float64) of the moving statistics: the output is
        ``x * scale + shift`` per channel."""
        mean = aux[0].astype(np.float64)
        invstd = 1.0 / np.sqrt(aux[1].astype(np.float64) + eps)
        scale = g * invstd
        return mean, invstd, scale, b - mean * scale

    def inference_affine(self, p, inputs, aux, stats=False):
        """For an epilogue applied elsewhere (a convolution's, :mod:`mxlite._fusion`): what
        an inference :meth:`forward` does before its pass (``fix_gamma`` writes 1 into gamma)
        and the float64 per-channel ``(scale, shift)`` that pass applies, for data whose
        channel axis is ``p.axis``; ``stats=True``: ``(mean, invstd, scale, shift)``, the
        first two as :meth:`backward` takes them."""
        gamma, beta = inputs[1], inputs[2]
        if p.fix_gamma:
            gamma[...] = 1
        g = np.ones(gamma.shape) if p.fix_gamma else gamma.astype(np.float64)
        affine = self._global_affine(g, beta.astype(np.float64), aux, p.eps)
        return affine if stats else affine[2:]

    def backward(self, p, out_grads, inputs, outputs, aux, saved, gout=None, relu=False,
                 acc=None):
        """``relu=True``: after a fused forward with ``relu=True``; ``out_grads[0]`` is then
        the relu's head gradient, masked where the relu's output is not positive (the mask is
        recomputed from ``x`` by the forward's own arithmetic: no pass over the output).
        ``acc=(prev, buf)`` (the executor's, for data read by other operators too): the data
        gradient is ``prev + dx``, written into ``buf`` (C-contiguous, ``x``'s shape and
        float dtype, neither ``prev`` nor the head gradient)."""
        x, gamma, beta = inputs
        mean, invstd, scale, batch_stats = saved
        ax = self._axis(p, x.ndim, x.shape)
        x3 = self._view(x, ax)
        dy3 = self._view(np.asarray(out_grads[0], dtype=x3.dtype), ax)
        # the forward's shift, by the same float64 operations (fix_gamma: scale == invstd)
        shift = beta.astype(np.float64) - mean * scale if relu else None
        if acc is None:
            dx, prev = planned_buffer(gout, 0, x.shape, x3.dtype), None
        else:
            prev, dx = acc
            prev = prev.reshape(x3.shape)
        dgamma, dbeta = _kernels.backward(x3, dy3, mean, invstd, scale, batch_stats,
                                          dx.reshape(x3.shape), shift, prev)
        dgamma = np.zeros_like(gamma) if p.fix_gamma else dgamma.astype(gamma.dtype)
        return [dx.astype(x.dtype, copy=False), dgamma, dbeta.astype(beta.dtype)]


class AffineCache:
    """:meth:`BatchNorm.inference_affine` (``stats=True``) of one BatchNorm node, kept while
    its gamma, beta and moving statistics hold the same bytes and its ``eps`` / ``fix_gamma``
    are the same (a fused inference step recomputed it at every batch: a dozen small NumPy
    operations, against four ``tobytes`` and one ``bytes`` comparison here).  The value is
    computed from the bytes it is compared with, so the two always agree."""

    __slots__ = ("bits", "key", "value")

    def __init__(self):
        self.key = self.bits = self.value = None

    def get(self, op, p, inputs, aux):
        gamma, beta = inputs[1], inputs[2]
        mean, var = aux[0], aux[1]
        dt, shape = gamma.dtype, gamma.shape
        if not (len(shape) == 1 and (beta.dtype, mean.dtype, var.dtype) == (dt, dt, dt)
                and beta.shape == mean.shape == var.shape == shape):
            return op.inference_affine(p, inputs, aux, stats=True)
        if p.fix_gamma:
            gamma[...] = 1  # (as inference_affine: what an inference forward writes)
        bits = b"".join((gamma.tobytes(), beta.tobytes(), mean.tobytes(), var.tobytes()))
        key = (p.eps, p.fix_gamma, dt, shape)
        if bits == self.bits and key == self.key:
            return self.value
        cat = np.frombuffer(bits, dt).copy()
        c = shape[0]
        value = op.inference_affine(p, [None, cat[:c], cat[c:2 * c]],
                                    [cat[2 * c:3 * c], cat[3 * c:]], stats=True)
        self.key, self.bits, self.value = key, bits, value
        return value
