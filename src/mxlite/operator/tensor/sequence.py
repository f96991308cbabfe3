"""``SequenceMask``, ``SequenceReverse`` and ``SequenceLast`` (MXNet 1.9.1): operations on
batches of variable-length sequences laid out time-major (``axis=0``: ``(T, N, ...)``) or
batch-major (``axis=1``: ``(N, T, ...)``); ``sequence_length`` (one per batch entry) is used when
``use_sequence_length=True``, else every sequence has the full length.
"""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, register

__all__: list[str] = []

_COMMON = {"use_sequence_length": Param("bool", False), "axis": Param("int", 0)}


class _Sequence(Operator):
    def arguments(self, p):
        return ["data", "sequence_length"] if p.use_sequence_length else ["data"]

    def _lengths(self, p, inputs):
        x = inputs[0]
        axis = p.axis
        if axis not in (0, 1):
            raise MXNetError(f"{self.name}: axis must be 0 or 1, got {axis}")
        t, n = (x.shape[0], x.shape[1]) if axis == 0 else (x.shape[1], x.shape[0])
        if not p.use_sequence_length:
            return np.full(n, t, dtype=np.int64), t
        lengths = np.asarray(inputs[1]).reshape(-1).astype(np.int64)
        if lengths.size != n or (lengths < 0).any():
            raise MXNetError(f"{self.name}: sequence_length must hold {n} non-negative values, "
                             f"got {lengths.tolist()}")
        return np.minimum(lengths, t), t  # MXNet treats a longer length as the full one

    def _time_major(self, p, a):
        return a if p.axis == 0 else np.swapaxes(a, 0, 1)

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], aux_shapes
        data = tuple(data)
        batch = data[1] if p.axis == 0 else data[0]
        shapes = [data] + ([(batch,)] if p.use_sequence_length else [])
        return shapes, [self.out_shape(p, data)], aux_shapes

    def out_shape(self, p, s):
        return s

    def _zero_length_grads(self, p, inputs, grad):
        return [grad] + ([np.zeros_like(inputs[1])] if p.use_sequence_length else [])


@register
class SequenceMask(_Sequence):
    """Steps at or past each sequence's length are set to ``value``."""

    name = "SequenceMask"
    params = {**_COMMON, "value": Param("float", 0.0)}

    def _mask(self, p, inputs):
        lengths, t = self._lengths(p, inputs)
        keep = np.arange(t)[:, None] < lengths[None, :]  # (T, N)
        keep = keep.reshape(keep.shape + (1,) * (inputs[0].ndim - 2))
        return self._time_major(p, keep)

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        keep = self._mask(p, inputs)
        return [np.where(keep, x, x.dtype.type(p.value)).astype(x.dtype)], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        keep = self._mask(p, inputs)
        return self._zero_length_grads(p, inputs, np.where(keep, out_grads[0], 0)
                                       .astype(inputs[0].dtype))


@register
class SequenceReverse(_Sequence):
    """The first ``length`` steps of each sequence reversed (the rest unchanged)."""

    name = "SequenceReverse"
    params = dict(_COMMON)

    def _index(self, p, inputs):
        lengths, t = self._lengths(p, inputs)
        steps = np.arange(t)[:, None]
        return np.where(steps < lengths[None, :], lengths[None, :] - 1 - steps, steps)  # (T, N)

    def _apply(self, p, idx, a):
        tm = self._time_major(p, a)
        cols = np.arange(tm.shape[1])[None, :]
        out = tm[idx, cols]
        return np.ascontiguousarray(self._time_major(p, out))

    def forward(self, p, inputs, aux, is_train):
        return [self._apply(p, self._index(p, inputs), inputs[0])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        # the permutation is its own inverse
        return self._zero_length_grads(p, inputs,
                                       self._apply(p, self._index(p, inputs), out_grads[0]))


@register
class SequenceLast(_Sequence):
    """Each sequence's last step (``length - 1``): shape ``(N, ...)``."""

    name = "SequenceLast"
    params = dict(_COMMON)

    def out_shape(self, p, s):
        return (s[1] if p.axis == 0 else s[0], *s[2:])

    def forward(self, p, inputs, aux, is_train):
        lengths, _ = self._lengths(p, inputs)
        tm = self._time_major(p, inputs[0])
        return [np.ascontiguousarray(tm[np.maximum(lengths - 1, 0), np.arange(tm.shape[1])])], \
            None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        lengths, _ = self._lengths(p, inputs)
        x = inputs[0]
        grad = np.zeros_like(x)
        tm = self._time_major(p, grad)  # a view: writes reach grad
        tm[np.maximum(lengths - 1, 0), np.arange(tm.shape[1])] = out_grads[0]
        return self._zero_length_grads(p, inputs, grad)
