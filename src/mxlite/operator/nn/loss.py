"""Loss output operators (MXNet 1.9.1): SoftmaxOutput and the three regression outputs.

These are *loss* operators: the forward pass returns the prediction, and the backward pass
returns the gradient of the loss with respect to ``data`` and ignores head gradients (``loss =
True``).  The label input is named ``label`` (auto-created variables are ``<name>_label``) and
receives a zero gradient, as in MXNet.

SoftmaxOutput
    Softmax over the class axis: axis 1 of ``(n, k)`` data by default (data with more axes is
    flattened to ``(n, -1)`` and takes labels of shape ``(n,)``); axis 1 of ``(n, k, d1, ...)``
    with ``multi_output`` (labels ``(n, d1, ...)``); the last axis with ``preserve_shape``
    (labels ``data.shape[:-1]``).  Gradient per row: ``softmax - target`` where ``target`` is
    the one-hot label (a label outside ``[0, k)`` has no one-hot entry), or with
    ``smooth_alpha`` the smoothed ``1 - alpha`` / ``alpha / (k - 1)`` (in every mode; MXNet
    1.9.1 silently ignores ``smooth_alpha`` with ``multi_output``).  Rows whose label equals
    ``ignore_label`` get zero gradient when ``use_ignore``.  The gradient is multiplied by
    ``grad_scale / norm`` with ``norm`` = number of rows ``m`` for ``batch``, the number of
    non-ignored rows (at least 1) for ``valid``, and for ``null`` 1 (or, as MXNet does with
    ``multi_output``, the number of positions per sample ``d1*d2*...``).  With ``out_grad`` the
    gradient is also multiplied elementwise by the head gradient.

LinearRegressionOutput / LogisticRegressionOutput / MAERegressionOutput
    ``out = data`` / ``sigmoid(data)`` / ``data``; gradient ``(out - label)`` /
    ``(out - label)`` / ``sign(out - label)`` times ``grad_scale / (label.size / n)``.
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from . import _softmax_kernels as _sk
from ._util import fmt, merge_shape
from .activation import act_forward


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


@register
class SoftmaxOutput(Operator):
    name = "SoftmaxOutput"
    aliases = ("Softmax",)
    loss = True
    params = {
        "grad_scale": Param("float", 1.0),
        "ignore_label": Param("float", -1.0),
        "multi_output": Param("bool", False),
        "use_ignore": Param("bool", False),
        "preserve_shape": Param("bool", False),
        "normalization": Param("str", "null", choices=("null", "batch", "valid")),
        "out_grad": Param("bool", False),
        "smooth_alpha": Param("float", 0.0),
    }

    def arguments(self, p):
        return ["data", "label"]

    def _label_shape(self, p, data):
        if p.multi_output:
            if len(data) < 2:
                raise ShapeError(f"SoftmaxOutput: multi_output needs data with >= 2 axes, "
                                 f"got {fmt(data)}")
            return (data[0], *data[2:])
        if p.preserve_shape:
            return tuple(data[:-1])
        return (data[0],)

    def infer_shape(self, p, in_shapes, aux_shapes):
        data, label = in_shapes
        if data is None:
            return list(in_shapes), [None], aux_shapes
        data = tuple(data)
        if len(data) < 1:
            raise ShapeError("SoftmaxOutput: data must have at least one axis")
        want = self._label_shape(p, data)
        if label is not None and self._soft(p, data, label):
            return [data, tuple(label)], [data], aux_shapes
        if label is not None and int(np.prod(label)) == int(np.prod(want)) and len(want) == 1:
            label = tuple(label)  # (n, 1) style labels are accepted like (n,)
        else:
            label = merge_shape(self.name, "label", label, want)
        return [data, label], [data], aux_shapes

    @staticmethod
    def _soft(p, data, label) -> bool:
        """A label of the data's shape (>= 2 axes, not multi_output) holds class
        probabilities, as MXNet accepts: the gradient is ``grad_scale * (softmax - label)``
        (MXNet applies no ``normalization`` / ``ignore_label`` then)."""
        return (not p.multi_output and len(data) >= 2
                and tuple(int(d) for d in label) == tuple(int(d) for d in data))

    def _rows(self, p, x):
        """View ``x`` as (rows, classes) with the class axis last; returns (view2d, restore)."""
        if p.multi_output:
            moved = np.moveaxis(x, 1, -1)
            shape = moved.shape
            return moved.reshape(-1, x.shape[1]), lambda g: np.moveaxis(g.reshape(shape), -1, 1)
        if p.preserve_shape:
            return x.reshape(-1, x.shape[-1]), lambda g: g.reshape(x.shape)
        return x.reshape(x.shape[0], -1), lambda g: g.reshape(x.shape)

    writes_outputs = True

    def forward(self, p, inputs, aux, is_train, out=None):
        x = inputs[0]
        y = out[0] if out else None
        if y is None or y.shape != x.shape or y.dtype != x.dtype or not y.flags.c_contiguous:
            y = np.empty(x.shape, x.dtype)
        rows, restore = self._rows(p, x)
        if p.multi_output:
            y[...] = restore(_softmax(rows, axis=1))
        elif (rows.size >= _sk.FORWARD_MIN_SIZE and x.dtype in _sk.KERNEL_DTYPES
              and rows.flags.c_contiguous and rows.shape[1] > 0):
            _sk.forward(rows, y.reshape(rows.shape))  # one kernel, each row while in cache
        else:  # the softmax of each row straight into the output array
            yr = y.reshape(rows.shape)
            np.subtract(rows, rows.max(axis=1, keepdims=True), out=yr)
            np.exp(yr, out=yr)
            yr /= yr.sum(axis=1, keepdims=True)
        return [y], None

    writes_grads = True

    def backward(self, p, out_grads, inputs, outputs, aux, saved, gout=None):
        x, label = inputs
        prob, restore = self._rows(p, outputs[0])
        m, k = prob.shape
        if self._soft(p, x.shape, np.shape(label)):
            target, _ = self._rows(p, np.asarray(label))
            dx = restore((prob - target) * p.grad_scale)
            if p.out_grad and out_grads is not None and out_grads[0] is not None:
                dx = dx * out_grads[0]
            return [np.ascontiguousarray(dx, dtype=x.dtype), np.zeros_like(label)]
        lab = np.asarray(label).reshape(-1).astype(np.int64)
        if lab.size != m:
            raise ShapeError(
                f"SoftmaxOutput: label shape {fmt(label.shape)} does not match data shape "
                f"{fmt(x.shape)}"
            )
        if (not p.multi_output and x.dtype in _sk.KERNEL_DTYPES and prob.dtype == x.dtype
                and prob.flags.c_contiguous
                and not (p.out_grad and out_grads is not None and out_grads[0] is not None)):
            # one pass: dx = (softmax - target) * grad_scale / norm, ignored rows zero
            valid = int(np.count_nonzero(lab != int(p.ignore_label))) if p.use_ignore else m
            norm = m if p.normalization == "batch" else (
                max(valid, 1) if p.normalization == "valid" else 1)
            dx = gout[0] if gout and gout[0] is not None else None
            if dx is None or dx.shape != x.shape or dx.dtype != x.dtype \
                    or not dx.flags.c_contiguous:
                dx = np.empty(x.shape, x.dtype)
            _sk.backward(prob, lab, p.smooth_alpha, p.grad_scale / norm, p.use_ignore,
                         p.ignore_label, dx.reshape(prob.shape))
            return [dx, np.zeros_like(label)]
        grad = prob.astype(np.float64 if x.dtype == np.float64 else x.dtype, copy=True)
        inrange = (lab >= 0) & (lab < k)
        idx = np.nonzero(inrange)[0]
        alpha = p.smooth_alpha
        if alpha != 0.0:
            grad -= alpha / (k - 1)
            grad[idx, lab[idx]] -= 1.0 - alpha - alpha / (k - 1)
        else:
            grad[idx, lab[idx]] -= 1.0
        if p.use_ignore:
            keep = lab != int(p.ignore_label)
            grad *= keep[:, None]
            valid = int(keep.sum())
        else:
            valid = m
        if p.normalization == "batch":
            norm = m
        elif p.normalization == "valid":
            norm = max(valid, 1)
        elif p.multi_output:
            norm = int(np.prod(x.shape[2:], dtype=np.int64))
        else:
            norm = 1
        grad *= p.grad_scale / norm
        dx = restore(grad)
        if p.out_grad and out_grads is not None and out_grads[0] is not None:
            dx = dx * out_grads[0]
        return [np.ascontiguousarray(dx, dtype=x.dtype), np.zeros_like(label)]


class _RegressionOutput(Operator):
    loss = True
    params = {"grad_scale": Param("float", 1.0)}

    def arguments(self, p):
        return ["data", "label"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        data, label = in_shapes
        if data is None:
            if label is not None:
                return [tuple(label), tuple(label)], [tuple(label)], aux_shapes
            return list(in_shapes), [None], aux_shapes
        data = tuple(data)
        if len(data) == 2 and data[1] == 1 and (label is None or len(label) == 1):
            want = (data[0],)
        else:
            want = data
        label = merge_shape(self.name, "label", label, want)
        return [data, label], [data], aux_shapes

    def _link(self, x):
        return x

    def _grad(self, diff):
        return diff

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        return [np.asarray(self._link(x), dtype=x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, label = inputs
        n = label.shape[0] if label.ndim else 1
        num_output = max(label.size // max(n, 1), 1)
        diff = outputs[0] - label.reshape(outputs[0].shape)
        dx = self._grad(diff) * (p.grad_scale / num_output)
        return [np.asarray(dx, dtype=x.dtype), np.zeros_like(label)]


@register
class LinearRegressionOutput(_RegressionOutput):
    name = "LinearRegressionOutput"


@register
class LogisticRegressionOutput(_RegressionOutput):
    name = "LogisticRegressionOutput"

    def _link(self, x):
        return act_forward("sigmoid", x)


@register
class MAERegressionOutput(_RegressionOutput):
    name = "MAERegressionOutput"

    def _grad(self, diff):
        return np.sign(diff)
