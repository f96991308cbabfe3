"""``CTCLoss``: connectionist temporal classification (Graves et al. 2006), MXNet 1.9.1.

``data`` ``(T, N, C)`` holds unnormalized activations (a log-softmax over ``C`` is taken
inside); ``label`` ``(N, L)`` class indices padded with 0 (``blank_label='first'``, channel 0
is the blank) or -1 (``'last'``, channel ``C - 1`` is the blank).  With ``use_data_lengths`` /
``use_label_lengths`` extra inputs give each sample's lengths.  Output ``(N,)``: ``-log p(label
| data)``.  A label equal to the blank (possible with given label lengths) is taken as MXNet
1.9.1 (warp-ctc) takes it: a label position emitting the blank channel, which no path may skip.

The forward-backward recursions run in log space over the label with blanks interleaved
(``S = 2L + 1`` states); the gradient with respect to the activations is
``softmax(u)_tk - exp(logsumexp_{s: l'_s = k}(alpha_ts + beta_ts) - log p - log y_tk)``, scaled by
the head gradient of each sample.
"""

from __future__ import annotations

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from ._util import fmt

_NEG = -np.inf


def _log_softmax(u):
    m = u.max(axis=-1, keepdims=True)
    z = u - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _lse(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = np.logaddexp(out, x)
    return out


def ctc_one(u, labels, blank):
    """``(loss, grad)`` for one sample: activations ``u`` ``(T, C)``, labels (ints)."""
    T, C = u.shape
    logp = _log_softmax(u.astype(np.float64))
    ext = np.full(2 * len(labels) + 1, blank, dtype=np.int64)
    ext[1::2] = labels
    S = len(ext)
    skip = np.zeros(S, dtype=bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    emit = logp[:, ext]  # (T, S)
    alpha = np.full((T, S), _NEG)
    alpha[0, 0] = emit[0, 0]
    if S > 1:
        alpha[0, 1] = emit[0, 1]
    for t in range(1, T):
        prev = alpha[t - 1]
        a1 = np.concatenate(([_NEG], prev[:-1]))
        a2 = np.where(skip, np.concatenate(([_NEG, _NEG], prev[:-2])), _NEG)
        alpha[t] = _lse(prev, a1, a2) + emit[t]
    beta = np.full((T, S), _NEG)
    beta[T - 1, S - 1] = emit[T - 1, S - 1]
    if S > 1:
        beta[T - 1, S - 2] = emit[T - 1, S - 2]
    skip_next = np.zeros(S, dtype=bool)
    skip_next[:-2] = skip[2:]
    for t in range(T - 2, -1, -1):
        nxt = beta[t + 1]
        b1 = np.concatenate((nxt[1:], [_NEG]))
        b2 = np.where(skip_next, np.concatenate((nxt[2:], [_NEG, _NEG])), _NEG)
        beta[t] = _lse(nxt, b1, b2) + emit[t]
    logprob = _lse(alpha[T - 1, S - 1], alpha[T - 1, S - 2]) if S > 1 else alpha[T - 1, 0]
    ab = alpha + beta
    occupancy = np.full((T, C), _NEG)
    for s in range(S):
        occupancy[:, ext[s]] = np.logaddexp(occupancy[:, ext[s]], ab[:, s])
    with np.errstate(invalid="ignore", over="ignore"):
        grad = np.exp(logp) - np.exp(occupancy - logprob - logp)
    return -logprob, grad


@register
class CTCLoss(Operator):
    name = "CTCLoss"
    aliases = ("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss")
    params = {
        "use_data_lengths": Param("bool", False),
        "use_label_lengths": Param("bool", False),
        "blank_label": Param("str", "first", choices=("first", "last")),
    }

    def arguments(self, p):
        args = ["data", "label"]
        if p.use_data_lengths:
            args.append("data_lengths")
        if p.use_label_lengths:
            args.append("label_lengths")
        return args

    def num_outputs(self, p):
        return 2

    def infer_shape(self, p, in_shapes, aux_shapes):
        data, label = in_shapes[0], in_shapes[1]
        if data is None:
            return in_shapes, [None], aux_shapes
        if len(data) != 3:
            raise ShapeError(f"CTCLoss: data must be (T, N, C), got {fmt(data)}")
        if label is not None and (len(label) != 2 or label[0] != data[1]):
            raise ShapeError(f"CTCLoss: label shape {fmt(label)} must be (N, L) with "
                             f"N = {data[1]} (data {fmt(data)})")
        in_shapes = list(in_shapes)
        for i in range(2, len(in_shapes)):
            in_shapes[i] = (data[1],)
        return in_shapes, [(data[1],)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        data, label = inputs[0], inputs[1]
        T, N, C = data.shape
        rest = list(inputs[2:])
        data_len = rest.pop(0) if p.use_data_lengths else None
        label_len = rest.pop(0) if p.use_label_lengths else None
        blank = 0 if p.blank_label == "first" else C - 1
        pad = 0 if p.blank_label == "first" else -1
        loss = np.zeros(N, dtype=data.dtype)
        grad = np.zeros(data.shape, dtype=np.float64)
        for b in range(N):
            tb = int(data_len[b]) if data_len is not None else T
            row = label[b].astype(np.int64)
            if label_len is not None:
                row = row[:int(label_len[b])]
            else:
                hits = np.nonzero(row == pad)[0]
                row = row[:hits[0]] if len(hits) else row
            if tb <= 0 or tb > T:
                raise ShapeError(f"CTCLoss: data length {tb} of sample {b} outside [1, {T}]")
            if np.any((row < 0) | (row >= C)):
                raise ShapeError(f"CTCLoss: labels {row.tolist()} of sample {b} must be class "
                                 f"indices in [0, {C})")
            value, g = ctc_one(data[:tb, b, :], row, blank)
            loss[b] = value
            grad[:tb, b, :] = g
        return [loss], grad

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        dx = saved * out_grads[0].reshape(1, -1, 1)
        return [dx.astype(inputs[0].dtype)] + [None] * (len(inputs) - 1)
