"""``RNN``: the fused multi-layer recurrent operator (LSTM, GRU, Elman tanh/relu), MXNet 1.9.1.

Inputs (layout ``TNC``): ``data`` ``(T, N, I)``; ``parameters``, every weight and bias packed in
one 1-D vector (below); ``state`` ``(L*D, N, R)``, the initial hidden state of each layer and
direction (index ``layer * D + direction``); for ``mode='lstm'`` ``state_cell`` ``(L*D, N, H)``;
with ``use_sequence_length`` ``sequence_length`` ``(N,)``.  ``H = state_size``,
``L = num_layers``, ``D = 2`` when ``bidirectional``, ``R = projection_size`` (LSTM only) or
``H``.  Outputs: ``output`` ``(T, N, D*R)``, the last layer's states of both directions side by
side; with ``state_outputs`` also ``state_output`` (the final states, like ``state``) and for the
LSTM ``statecell_output``.

Per step, with ``x`` the layer input and ``h`` the previous state (gate order as MXNet's)::

    rnn_tanh / rnn_relu:  h' = act(W_x x + b_x + W_h h + b_h)
    lstm (i, f, g, o):    i, f, o = sigmoid(.), g = tanh(.) of W_x x + b_x + W_h h + b_h
                          c' = f * c + i * g,  h' = o * tanh(c')   (h' = W_r (o * tanh(c')))
    gru (r, z, n):        r, z = sigmoid(W_x x + b_x + W_h h + b_h)
                          n = tanh(W_xn x + b_xn + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h

Packed ``parameters`` (the layout :class:`mxlite.initializer.FusedRNN` writes): for each layer,
for each direction (forward, then backward): ``W_x`` ``(G*H, in)`` (``in = I`` in layer 0,
``D*R`` above), ``W_h`` ``(G*H, R)``, with a projection ``W_r`` ``(R, H)``; then, in the same
order, ``b_x`` ``(G*H,)`` and ``b_h`` ``(G*H,)``.  ``G`` is 4 (LSTM), 3 (GRU) or 1; the rows of
``W_x``, ``W_h``, ``b_x``, ``b_h`` hold the gates in order.  The input projection of all time
steps is one GEMM per layer and direction; the recurrence runs in one Numba kernel per layer and
direction (:mod:`._rnn_kernels`), the step GEMM through BLAS.

``p``: in training, dropout with this rate on the outputs of every layer but the last.  Backward
is BPTT through every layer and direction, giving gradients of ``data``, ``parameters``,
``state`` and ``state_cell``.

Beyond MXNet 1.9.1's CPU operator (its GPU/cuDNN semantics): ``projection_size`` trains (MXNet's
CPU kernel has only its forward), ``lstm_state_clip_min/max`` clip the cell state after every
step (MXNet's CPU operator raises, or with oneDNN crashes; the gradient is zero where a value was
clipped; ``lstm_state_clip_nan`` turns a NaN cell state into ``lstm_state_clip_min`` instead of
passing it on), and ``use_sequence_length`` is honoured: sample ``n`` runs ``sequence_length[n]``
steps (the backward direction starts at its last valid step), its outputs beyond are 0 and its
final state is the one of its last valid step (MXNet 1.9.1's CPU operator silently ignores the
lengths and runs every sample over all ``T`` steps).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import random as _random
from ...base import MXNetError
from ..registry import Operator, Param, ShapeError, register
from . import _rnn_kernels as _k
from ._util import fmt, kernel_dtype, merge_shape, planned_buffer

GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


class Slot(NamedTuple):
    """Where one layer/direction's weights sit in the packed vector: ``(start, shape)``
    pairs (``wr`` is None without a projection)."""

    layer: int
    direction: int
    wx: tuple
    wh: tuple
    wr: tuple | None
    bx: tuple
    bh: tuple


def param_layout(mode: str, num_layers: int, bidirectional: bool, state_size: int,
                 input_size: int, projection_size: int | None = None):
    """``(slots, total)``: the packed parameter layout (see the module docstring) and its size."""
    g, h, d = GATES[mode], state_size, 2 if bidirectional else 1
    r = projection_size or h
    pos = 0
    weights = []
    for layer in range(num_layers):
        width = input_size if layer == 0 else d * r
        for direction in range(d):
            wx = (pos, (g * h, width))
            pos += g * h * width
            wh = (pos, (g * h, r))
            pos += g * h * r
            wr = None
            if projection_size:
                wr = (pos, (r, h))
                pos += r * h
            weights.append((layer, direction, wx, wh, wr))
    slots = []
    for layer, direction, wx, wh, wr in weights:
        bx = (pos, (g * h,))
        bh = (pos + g * h, (g * h,))
        pos += 2 * g * h
        slots.append(Slot(layer, direction, wx, wh, wr, bx, bh))
    return slots, pos


def param_size(mode: str, num_layers: int, bidirectional: bool, state_size: int,
               input_size: int, projection_size: int | None = None) -> int:
    """Number of elements of the packed ``parameters`` vector."""
    return param_layout(mode, num_layers, bidirectional, state_size, input_size,
                        projection_size)[1]


def _view(w, spec):
    start, shape = spec
    return w[start:start + int(np.prod(shape))].reshape(shape)


class _Dir(NamedTuple):
    """What backward needs of one layer and direction."""

    hprev: np.ndarray
    acts: np.ndarray
    extra: np.ndarray  # LSTM: cell states; GRU: W_hn h + b_hn; RNN: unused
    hraw: np.ndarray  # LSTMP: unprojected h
    cmask: np.ndarray  # LSTM with clipping: 1 where the cell state was not clipped


_EMPTY3 = {}


def _empty3(dtype):
    dtype = np.dtype(dtype)
    if dtype not in _EMPTY3:
        _EMPTY3[dtype] = np.empty((0, 0, 0), dtype)
    return _EMPTY3[dtype]


@register
class RNN(Operator):
    name = "RNN"
    params = {
        "state_size": Param("int"),
        "num_layers": Param("int"),
        "bidirectional": Param("bool", False),
        "mode": Param("str", choices=tuple(GATES)),
        "p": Param("float", 0.0),
        "state_outputs": Param("bool", False),
        "projection_size": Param("int", None, optional=True),
        "lstm_state_clip_min": Param("float", None, optional=True),
        "lstm_state_clip_max": Param("float", None, optional=True),
        "lstm_state_clip_nan": Param("bool", False),
        "use_sequence_length": Param("bool", False),
    }

    def arguments(self, p):
        args = ["data", "parameters", "state"]
        if p.mode == "lstm":
            args.append("state_cell")
        if p.use_sequence_length:
            args.append("sequence_length")
        return args

    def outputs(self, p):
        if not p.state_outputs:
            return ["output"]
        return ["output", "state_output"] + (["statecell_output"] if p.mode == "lstm" else [])

    # ------------------------------------------------------------------------------ checks
    @staticmethod
    def _check(p) -> None:
        if p.state_size <= 0:
            raise MXNetError(f"RNN: state_size must be positive, got {p.state_size}")
        if p.num_layers <= 0:
            raise MXNetError(f"RNN: num_layers must be positive, got {p.num_layers}")
        if not 0.0 <= p.p < 1.0:
            raise MXNetError(f"RNN: dropout p must be in [0, 1), got {p.p}")
        if p.projection_size is not None:
            if p.mode != "lstm":
                raise MXNetError(f"RNN: projection_size={p.projection_size} is only supported "
                                 f"for mode='lstm', got mode={p.mode!r}")
            if not 0 < p.projection_size <= p.state_size:
                raise MXNetError(f"RNN: projection_size must be in [1, state_size="
                                 f"{p.state_size}], got {p.projection_size}")
        lo, hi = p.lstm_state_clip_min, p.lstm_state_clip_max
        if lo is not None or hi is not None:
            if p.mode != "lstm":
                raise MXNetError(f"RNN: state clipping (lstm_state_clip_min/max) is only "
                                 f"supported for mode='lstm', got mode={p.mode!r}")
            if lo is None or hi is None:
                raise MXNetError(f"RNN: lstm_state_clip_min and lstm_state_clip_max must be "
                                 f"given together, got min={lo}, max={hi}")
            if not lo <= hi:
                raise MXNetError(f"RNN: lstm_state_clip_max={hi} must be >= "
                                 f"lstm_state_clip_min={lo}")

    @staticmethod
    def _dims(p):
        d = 2 if p.bidirectional else 1
        return d, p.projection_size or p.state_size

    def infer_shape(self, p, in_shapes, aux_shapes):
        self._check(p)
        nout = len(self.outputs(p))
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None] * nout, list(aux_shapes)
        data = tuple(int(s) for s in data)
        if len(data) != 3:
            raise ShapeError(f"RNN: data must be 3-D (seq_length, batch, input_size) in layout "
                             f"TNC, got shape {fmt(data)}")
        t, n, i = data
        d, r = self._dims(p)
        ld = p.num_layers * d
        names = self.arguments(p)
        want = {
            "data": data,
            "parameters": (param_size(p.mode, p.num_layers, p.bidirectional, p.state_size, i,
                                      p.projection_size),),
            "state": (ld, n, r),
            "state_cell": (ld, n, p.state_size),
            "sequence_length": (n,),
        }
        ins = [merge_shape(self.name, nm, s, want[nm])
               for nm, s in zip(names, in_shapes, strict=True)]
        outs = [(t, n, d * r), (ld, n, r), (ld, n, p.state_size)][:nout]
        return ins, outs, list(aux_shapes)

    def infer_type(self, p, in_types, aux_types):
        names = self.arguments(p)
        known = [t for nm, t in zip(names, in_types, strict=True)
                 if t is not None and nm != "sequence_length"]
        if not known:
            return list(in_types), [None] * len(self.outputs(p)), list(aux_types)
        t = known[0]
        ins = [ty if nm == "sequence_length" and ty is not None else t
               for nm, ty in zip(names, in_types, strict=True)]
        return ins, [t] * len(self.outputs(p)), list(aux_types)

    # ----------------------------------------------------------------------------- forward
    writes_outputs = True
    writes_grads = True
    skips_grads = True

    def _unpack(self, p, inputs):
        names = self.arguments(p)
        got = dict(zip(names, inputs, strict=True))
        x = got["data"]
        shapes = [tuple(a.shape) for a in inputs]
        self.infer_shape(p, shapes, [])  # raises on any mismatch
        dtype = kernel_dtype(x.dtype)
        t, n, _ = x.shape
        if p.use_sequence_length:
            raw = np.asarray(got["sequence_length"])
            lens = raw.astype(np.int64)
            if np.any(lens != raw) or np.any((lens < 1) | (lens > t)):
                raise MXNetError(f"RNN: sequence_length must hold integers in [1, {t}] "
                                 f"(the data's seq_length), got {raw.tolist()}")
        else:
            lens = np.full(n, t, dtype=np.int64)
        cx = got.get("state_cell")
        return (np.ascontiguousarray(x, dtype=dtype),
                np.ascontiguousarray(got["parameters"], dtype=dtype),
                np.ascontiguousarray(got["state"], dtype=dtype),
                None if cx is None else np.ascontiguousarray(cx, dtype=dtype), lens, dtype)

    def forward(self, p, inputs, aux, is_train, out=None):
        outs, saved = self._run(p, inputs, is_train, save=is_train, out=out)
        return outs, saved

    def _run(self, p, inputs, train, save, out=None):
        x, w, hx, cx, lens, dtype = self._unpack(p, inputs)
        t, n, in_size = x.shape
        d, r = self._dims(p)
        h, L, mode = p.state_size, p.num_layers, p.mode
        g = GATES[mode]
        slots, _ = param_layout(mode, L, p.bidirectional, h, in_size, p.projection_size)
        out_dtype = np.dtype(inputs[0].dtype)
        direct = out_dtype == dtype
        bufs = out if direct else None  # the executor's arrays only when no cast follows
        y_last = planned_buffer(bufs, 0, (t, n, d * r), dtype)
        hy = planned_buffer(bufs, 1, (L * d, n, r), dtype)
        cy = None
        if mode == "lstm":
            cy = planned_buffer(bufs, 2, (L * d, n, h), dtype)
        clip = p.lstm_state_clip_min is not None
        lo = float(p.lstm_state_clip_min) if clip else 0.0
        hi = float(p.lstm_state_clip_max) if clip else 0.0
        proj = p.projection_size is not None
        empty = _empty3(dtype)
        gx = np.empty((t * n, g * h), dtype)
        layer_inputs, masks, dirs = [], [], []
        inp = x
        for layer in range(L):
            y = y_last if layer == L - 1 else np.empty((t, n, d * r), dtype)
            inp2 = inp.reshape(t * n, -1)
            for direction in range(d):
                s = slots[layer * d + direction]
                wx, wh = _view(w, s.wx), _view(w, s.wh)
                bx, bh = _view(w, s.bx), _view(w, s.bh)
                np.matmul(inp2, wx.T, out=gx)
                gx += bx
                if mode != "gru":
                    gx += bh
                gx3 = gx.reshape(t, n, g * h)
                wht = np.ascontiguousarray(wh.T)
                k = layer * d + direction
                hprev = np.empty((t, n, r), dtype) if save else empty
                acts = np.empty((t, n, g * h), dtype) if save else empty
                extra, hraw, cmask = empty, empty, empty
                if mode == "lstm":
                    wrt = np.ascontiguousarray(_view(w, s.wr).T) if proj else \
                        np.empty((0, 0), dtype)
                    if save:
                        extra = np.empty((t, n, h), dtype)
                        if proj:
                            hraw = np.empty((t, n, h), dtype)
                        if clip:
                            cmask = np.empty((t, n, h), dtype)
                    _k.lstm_forward(gx3, wht, hx[k], cx[k], lens, direction == 1, y,
                                    direction * r, save, hprev, acts, extra, wrt, proj, hraw,
                                    clip, lo, hi, p.lstm_state_clip_nan, cmask, hy[k], cy[k])
                elif mode == "gru":
                    if save:
                        extra = np.empty((t, n, h), dtype)
                    _k.gru_forward(gx3, wht, bh, hx[k], lens, direction == 1, y, direction * r,
                                   save, hprev, acts, extra, hy[k])
                else:
                    _k.rnn_forward(gx3, wht, hx[k], lens, direction == 1, mode == "rnn_relu",
                                   y, direction * r, save, hprev, acts, hy[k])
                if save:
                    dirs.append(_Dir(hprev, acts, extra, hraw, cmask))
            if save:
                layer_inputs.append(inp)
            if layer < L - 1 and train and p.p > 0.0:
                keep = 1.0 - p.p
                mask = np.where(_random.generator().random(y.shape) < keep,
                                dtype.type(1.0 / keep), dtype.type(0.0)).astype(dtype)
                masks.append(mask)
                inp = y * mask
            else:
                masks.append(None)
                inp = y
        outs = [y_last]
        if p.state_outputs:
            outs.append(hy)
            if mode == "lstm":
                outs.append(cy)
        if not direct:
            outs = [o.astype(out_dtype) for o in outs]
        saved = (layer_inputs, masks, dirs, lens) if save else None
        return outs, saved

    # ---------------------------------------------------------------------------- backward
    def backward(self, p, out_grads, inputs, outputs, aux, saved, need=None, gout=None):
        if saved is None:  # forward ran without training: run it again, keeping its steps
            _, saved = self._run(p, inputs, train=False, save=True)
        layer_inputs, masks, dirs, lens = saved
        x, w, hx, cx, _, dtype = self._unpack(p, inputs)
        t, n, in_size = x.shape
        d, r = self._dims(p)
        h, L, mode = p.state_size, p.num_layers, p.mode
        g = GATES[mode]
        slots, size = param_layout(mode, L, p.bidirectional, h, in_size, p.projection_size)
        proj = p.projection_size is not None
        clip = p.lstm_state_clip_min is not None
        names = self.arguments(p)

        def dest(k, shape):
            same = np.dtype(inputs[k].dtype) == dtype
            return planned_buffer(gout, k, shape, dtype) if same else np.empty(shape, dtype)

        dw = dest(1, (size,))
        dhx = dest(2, hx.shape)
        dcx = dest(3, cx.shape) if mode == "lstm" else None
        dy = np.ascontiguousarray(out_grads[0], dtype=dtype)
        if p.state_outputs:
            dhy = np.ascontiguousarray(out_grads[1], dtype=dtype)
            dcy = np.ascontiguousarray(out_grads[2], dtype=dtype) if mode == "lstm" else None
        else:
            dhy = np.zeros(hx.shape, dtype)
            dcy = np.zeros(cx.shape, dtype) if mode == "lstm" else None
        want_dx = need is None or need[0]
        dg = np.empty((t, n, g * h), dtype)
        dgh = np.empty((t, n, g * h), dtype) if mode == "gru" else dg
        dr = np.empty((t, n, r), dtype) if proj else _empty3(dtype)
        dx = None
        for layer in range(L - 1, -1, -1):
            inp = layer_inputs[layer]
            inp2 = inp.reshape(t * n, -1)
            has_dinp = layer > 0 or want_dx
            dinp = (dest(0, x.shape) if layer == 0 else np.empty(inp.shape, dtype)) \
                if has_dinp else None
            for direction in range(d):
                k = layer * d + direction
                s = slots[k]
                sv = dirs[k]
                wx, wh = _view(w, s.wx), _view(w, s.wh)
                rev = direction == 1
                if mode == "lstm":
                    wr = _view(w, s.wr) if proj else np.empty((0, 0), dtype)
                    _k.lstm_backward(dy, direction * r, dhy[k], dcy[k], wh, cx[k], lens, rev,
                                     sv.acts, sv.extra, wr, proj, clip, sv.cmask, dg, dr,
                                     dhx[k], dcx[k])
                elif mode == "gru":
                    _k.gru_backward(dy, direction * r, dhy[k], wh, lens, rev, sv.hprev,
                                    sv.acts, sv.extra, dg, dgh, dhx[k])
                else:
                    _k.rnn_backward(dy, direction * r, dhy[k], wh, lens, rev,
                                    mode == "rnn_relu", sv.acts, dg, dhx[k])
                dg2 = dg.reshape(t * n, g * h)
                dgh2 = dgh.reshape(t * n, g * h)
                np.matmul(dg2.T, inp2, out=_view(dw, s.wx))
                np.matmul(dgh2.T, sv.hprev.reshape(t * n, r), out=_view(dw, s.wh))
                if proj:
                    np.matmul(dr.reshape(t * n, r).T, sv.hraw.reshape(t * n, h),
                              out=_view(dw, s.wr))
                np.sum(dg2, axis=0, out=_view(dw, s.bx))
                np.sum(dgh2, axis=0, out=_view(dw, s.bh))
                if dinp is not None:
                    dinp2 = dinp.reshape(t * n, -1)
                    if direction == 0:
                        np.matmul(dg2, wx, out=dinp2)
                    else:
                        dinp2 += dg2 @ wx
            if layer > 0:
                mask = masks[layer - 1]
                dy = dinp if mask is None else dinp * mask
            else:
                dx = dinp
        grads = [dx, dw, dhx]
        if mode == "lstm":
            grads.append(dcx)
        if p.use_sequence_length:
            grads.append(None)
        for k, nm in enumerate(names[:len(grads)]):
            if grads[k] is not None and np.dtype(inputs[k].dtype) != dtype and \
                    nm != "sequence_length":
                grads[k] = grads[k].astype(inputs[k].dtype)
        return grads




@register
class RNNParamConcat(Operator):
    """``_rnn_param_concat``: the packed ``parameters`` vector of a gluon RNN layer, every
    input flattened and joined (MXNet's graph flattens them before; 1-D inputs are the same).

    Shape inference also runs backwards (``infer_inputs_from_outputs``): once the ``RNN``
    operator has fixed the vector's size from the data, the one input whose shape has an
    unknown dimension (layer 0's ``i2h`` weight of a deferred layer) gets it, as MXNet's
    shape function does."""

    name = "_rnn_param_concat"
    variadic = "num_args"
    params = {"num_args": Param("int"), "dim": Param("int", 0)}
    partial_shapes = True

    def arguments(self, p):
        return [f"arg{i}" for i in range(p.num_args)]

    @staticmethod
    def _complete(s):
        return s is not None and len(s) > 0 and all(int(d) > 0 for d in s)

    def infer_shape(self, p, in_shapes, aux_shapes):
        if p.dim != 0:
            raise ShapeError(f"_rnn_param_concat: dim must be 0, got {p.dim}")
        if all(self._complete(s) for s in in_shapes):
            total = sum(int(np.prod(s)) for s in in_shapes)
            return list(in_shapes), [(total,)], aux_shapes
        return list(in_shapes), [None], aux_shapes

    def infer_inputs_from_outputs(self, p, in_shapes, out_shapes):
        """Fill the unknown inputs when they are alike -- one, or several of one partial shape
        with a single unknown dimension (both directions' layer-0 weights) -- from the size
        the output must have."""
        out = out_shapes[0] if out_shapes else None
        if not self._complete(out):
            return in_shapes
        missing = [k for k, s in enumerate(in_shapes) if not self._complete(s)]
        if not missing:
            return in_shapes
        rest = int(out[0]) - sum(int(np.prod(s)) for j, s in enumerate(in_shapes)
                                 if j not in missing)
        shape = in_shapes[missing[0]]
        if any(tuple(in_shapes[k] or ()) != tuple(shape or ()) for k in missing) or \
                rest <= 0 or rest % len(missing):
            return in_shapes
        each = rest // len(missing)
        if not shape:
            if len(missing) != 1:
                return in_shapes
            filled = (each,)
        else:
            unknown = [d for d, v in enumerate(shape) if int(v) == 0]
            known = int(np.prod([v for v in shape if int(v) > 0]))
            if len(unknown) != 1 or each % known:
                return in_shapes
            filled = tuple(each // known if d == unknown[0] else int(v)
                           for d, v in enumerate(shape))
        return [filled if j in missing else s for j, s in enumerate(in_shapes)]

    def forward(self, p, inputs, aux, is_train):
        return [np.concatenate([np.asarray(x).reshape(-1) for x in inputs])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        cuts = np.cumsum([x.size for x in inputs])[:-1]
        return [g.reshape(x.shape) for g, x in zip(np.split(out_grads[0], cuts), inputs,
                                                    strict=True)]
