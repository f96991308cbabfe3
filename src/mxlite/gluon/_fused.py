"""Fused implementations of small hybridized graphs (a cached graph without an executor).

A hybridized block runs its symbolic graph on a bound executor (:class:`block._Graph`); for a
graph of a few tiny operators -- a loss over a batch of logits -- the executor's bookkeeping
costs more than the arithmetic.  A block may return one of these objects from
``HybridBlock._fused_graph()``: it is called like a ``_Graph`` (a list of NDArrays in, a list
out), computes with the operators' own NumPy helpers in the same order (so the values are
bitwise those of the executor), and records one tape node whose backward is the chained
operator backwards.  The symbol (``export``, ``infer_shape``) is unchanged.
"""

from __future__ import annotations

import numpy as np

from ..ndarray import NDArray, _record
from ..operator.nn.softmax import _softmax, _softmax_grad
from ..operator.tensor._common import _axes, _scalar_as
from ..operator.tensor.indexing import _pick_index
from ..operator.tensor.reduce import reduce

__all__ = ["SoftmaxCrossEntropy"]


class SoftmaxCrossEntropy:
    """``mean(-pick(log_softmax(pred, axis), label, axis, keepdims=True), exclude batch_axis)``
    -- the graph of ``SoftmaxCrossEntropyLoss(sparse_label=True, from_logits=False)`` without
    weights -- as one step."""

    def __init__(self, name, axis, batch_axis):
        self.axis = axis
        self.batch_axis = batch_axis
        self.op = _record.PyOp(f"{name}_fused", self._backward)
        self.op.graph_grads = self._graph_grads  # create_graph=True: the unfused chain

    def __call__(self, args):
        pred, label = args
        x = pred._data
        y = _softmax(x, self.axis, None, True)[0]  # log_softmax
        lab = label._data
        if y.ndim == 2 and self.axis in (-1, 1) and self.batch_axis == 0 and \
                lab.shape == (y.shape[0],):
            # (batch, classes): pick one value per row; negating and the mean over one
            # element are exact, so this is the general path's value
            idx = np.clip(lab.astype(np.int64), 0, y.shape[1] - 1)
            loss = -y[np.arange(y.shape[0]), idx]
            saved = (y, None, idx, None)
        else:
            ax, idx = _pick_index(y, lab, self.axis, "clip")
            picked = np.ascontiguousarray(np.take_along_axis(y, idx, axis=ax))  # keepdims
            minus = _scalar_as(-1.0, picked.dtype)
            neg = np.asarray(picked * minus, dtype=picked.dtype)  # -pick (_mul_scalar -1)
            axes = _axes((self.batch_axis,), neg.ndim, True, "mean")
            loss = reduce(np.mean, neg, axes, False, "mean")
            saved = (y, ax, idx, axes)
        out = NDArray(loss, pred.context)
        if _record.STATE.recording and _record.tracked((pred, label)):
            _record.record_node(self.op, None, [pred, label], [x, lab], [out], saved=saved)
        return [out]

    def _graph_grads(self, node, out_grads, ctx):
        """Higher-order gradients: the chain of operators recomputed (deterministically) with
        recorded calls and differentiated by their rules, down to this call's inputs."""
        from .. import ndarray as nd

        pred = NDArray(node.in_arrays[0], ctx)
        pred._ag = node.entries[0]
        label = NDArray(node.in_arrays[1], ctx)
        y = nd.log_softmax(pred, axis=self.axis)
        loss = nd.mean(-nd.pick(y, label, axis=self.axis, keepdims=True),
                       axis=self.batch_axis, exclude=True)
        if pred._ag is None or loss._ag is None:
            return [None, None]
        found = _record.graph_pass([loss._ag], [out_grads[0]], ctx, {id(pred._ag)})
        return [found.get(id(pred._ag)), None]

    @staticmethod
    def _backward(out_grads, inputs, saved):
        y, ax, idx, axes = saved
        if ax is None:  # the (batch, classes) path
            dy = np.zeros_like(y)
            dy[np.arange(y.shape[0]), idx] = -out_grads[0].astype(y.dtype, copy=False)
            return [np.asarray(_softmax_grad(y, dy, 1, True), dtype=inputs[0].dtype), None]
        shape = idx.shape  # the picked (and negated) values' shape
        # mean
        keep = tuple(1 if i in axes else d for i, d in enumerate(shape))
        count = int(np.prod([shape[a] for a in axes], dtype=np.int64))
        g = np.ascontiguousarray(np.broadcast_to(out_grads[0].reshape(keep) / max(count, 1),
                                                 shape), dtype=y.dtype)
        # -x
        g = np.asarray(g * _scalar_as(-1.0, y.dtype), dtype=y.dtype)
        # pick
        dy = np.zeros_like(y)
        np.put_along_axis(dy, idx, g.reshape(idx.shape), axis=ax)
        # log_softmax
        return [np.asarray(_softmax_grad(y, dy, ax, True), dtype=inputs[0].dtype), None]
