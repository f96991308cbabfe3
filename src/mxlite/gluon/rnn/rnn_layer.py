"""Gluon's fused recurrent layers ``RNN``, ``LSTM`` and ``GRU`` (MXNet 1.9.1) over the ``RNN``
operator.

Each layer owns, for every layer ``i`` and direction ``d`` (``l``, then ``r`` when
``bidirectional``), the parameters ``{d}{i}_i2h_weight`` ``(G*H, in)``, ``{d}{i}_h2h_weight``
``(G*H, R)``, ``{d}{i}_i2h_bias``, ``{d}{i}_h2h_bias`` ``(G*H,)`` and with an LSTM projection
``{d}{i}_h2r_weight`` ``(R, H)`` (``G`` gates, ``H = hidden_size``, ``R = projection_size`` or
``H``; ``in`` is ``input_size`` in layer 0 -- 0 defers it to the first input -- and ``D*R``
above).  The forward packs them in the operator's layout (all weights, then all biases) and
calls it once.  ``layout`` is ``'TNC'`` or ``'NTC'``; states are ``(L*D, N, R)`` (and the LSTM
cell ``(L*D, N, H)``).  ``layer(x)`` returns the output only; ``layer(x, states)`` returns
``(output, new_states)``.  ``save_parameters`` writes MXNet 1.9.1's names for these layers
(``_unfused.0.l_cell.i2h_weight`` bidirectional, ``_unfused.0.i2h_weight`` otherwise), so files
go both ways.
"""

from __future__ import annotations

import re

from ... import ndarray, symbol
from ...ndarray import NDArray
from ...symbol import Symbol
from ..block import HybridBlock

__all__ = ["GRU", "LSTM", "RNN"]

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}
_KEY = re.compile(r"(l|r)(\d+)_(i2h|h2h|h2r)_(weight|bias)\Z")


def _state(shape, dtype):
    return {"shape": shape, "__layout__": "LNC", "dtype": dtype}


class _RNNLayer(HybridBlock):
    """The shared implementation; see the module docstring."""

    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                 i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, mode, projection_size, h2r_weight_initializer,
                 lstm_state_clip_min, lstm_state_clip_max, lstm_state_clip_nan, dtype,
                 use_sequence_length=False, **kwargs):
        super().__init__(**kwargs)
        if layout not in ("TNC", "NTC"):
            raise ValueError(f"Invalid layout {layout!r}; must be one of ['TNC' or 'NTC']")
        for name, value in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self._hidden_size = hidden_size
        self._projection_size = projection_size if projection_size else None
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._lstm_state_clip_min = lstm_state_clip_min
        self._lstm_state_clip_max = lstm_state_clip_max
        self._lstm_state_clip_nan = lstm_state_clip_nan
        self._dtype = dtype
        self._use_sequence_length = use_sequence_length
        self.skip_states = None
        self._gates = _GATES[mode]
        self._initializers = (i2h_weight_initializer, h2h_weight_initializer,
                              i2h_bias_initializer, h2h_bias_initializer)
        ng, nh = self._gates, hidden_size
        nr = self._projection_size or nh
        ni = input_size
        for i in range(num_layers):
            for d in "lr"[:self._dir]:
                self._register_param(f"{d}{i}_i2h_weight", (ng * nh, ni), i2h_weight_initializer,
                                     dtype)
                self._register_param(f"{d}{i}_h2h_weight", (ng * nh, nr), h2h_weight_initializer,
                                     dtype)
                self._register_param(f"{d}{i}_i2h_bias", (ng * nh,), i2h_bias_initializer, dtype)
                self._register_param(f"{d}{i}_h2h_bias", (ng * nh,), h2h_bias_initializer, dtype)
                if self._projection_size:
                    self._register_param(f"{d}{i}_h2r_weight", (nr, nh), h2r_weight_initializer,
                                         dtype)
            ni = nr * self._dir

    def _register_param(self, name, shape, init, dtype):
        p = self.params.get(name, shape=shape, init=init, allow_deferred_init=True, dtype=dtype)
        setattr(self, name, p)
        return p

    def __repr__(self) -> str:
        shape = self.l0_i2h_weight.shape
        text = f"{type(self).__name__}({shape[1] if shape[1] else None} -> " \
               f"{shape[0] // self._gates}, {self._layout}"
        if self._num_layers != 1:
            text += f", num_layers={self._num_layers}"
        if self._dropout != 0:
            text += f", dropout={self._dropout}"
        if self._dir == 2:
            text += ", bidirectional"
        return text + ")"

    def _collect_params_with_prefix(self, prefix=""):
        """MXNet 1.9.1's names in parameter files (those of the older unfused cells)."""
        if prefix:
            prefix += "."
        bidirectional = self._dir == 2
        ret = {}
        for key, val in self._reg_params.items():
            d, layer, kind, what = _KEY.match(key).groups()
            name = (f"_unfused.{layer}.{d}_cell.{kind}_{what}" if bidirectional
                    else f"_unfused.{layer}.{kind}_{what}")
            ret[prefix + name] = val
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def _unfuse(self):
        """The same network as a stack of recurrent cells sharing this layer's parameters (a
        :class:`HybridSequentialRNNCell` of per-layer cells -- BidirectionalCells when
        bidirectional -- with DropoutCells between layers); as MXNet 1.9.1, not for a
        projection or state clipping."""
        from . import rnn_cell

        if self._projection_size:
            raise ValueError("_unfuse does not support a projection layer (projection_size)")
        if self._lstm_state_clip_min is not None or self._lstm_state_clip_max is not None:
            raise ValueError("_unfuse does not support state clipping (state_clip_min/max)")
        make = {
            "rnn_relu": lambda **kw: rnn_cell.RNNCell(self._hidden_size, "relu", **kw),
            "rnn_tanh": lambda **kw: rnn_cell.RNNCell(self._hidden_size, "tanh", **kw),
            "lstm": lambda **kw: rnn_cell.LSTMCell(self._hidden_size, **kw),
            "gru": lambda **kw: rnn_cell.GRUCell(self._hidden_size, **kw),
        }[self._mode]
        i2h_w, h2h_w, i2h_b, h2h_b = self._initializers
        stack = rnn_cell.HybridSequentialRNNCell(prefix=self.prefix, params=self.params)
        with stack.name_scope():
            width = self._input_size
            for i in range(self._num_layers):
                kwargs = {"input_size": width, "i2h_weight_initializer": i2h_w,
                          "h2h_weight_initializer": h2h_w, "i2h_bias_initializer": i2h_b,
                          "h2h_bias_initializer": h2h_b}
                if self._dir == 2:
                    stack.add(rnn_cell.BidirectionalCell(make(prefix=f"l{i}_", **kwargs),
                                                         make(prefix=f"r{i}_", **kwargs)))
                else:
                    stack.add(make(prefix=f"l{i}_", **kwargs))
                if self._dropout > 0 and i != self._num_layers - 1:
                    stack.add(rnn_cell.DropoutCell(self._dropout))
                width = self._hidden_size * self._dir
        return stack

    def infer_shape(self, inputs, *args):
        """Input widths from the data alone: layer 0's ``i2h`` weights take the data's channels,
        the others are known from the start."""
        if len(inputs.shape) != 3:
            raise ValueError(f"{type(self).__name__}: input must be 3-D ({self._layout}), got "
                             f"shape {tuple(inputs.shape)}")
        ni = inputs.shape[self._layout.find("C")]
        for d in "lr"[:self._dir]:
            getattr(self, f"{d}0_i2h_weight").shape = (self._gates * self._hidden_size, ni)

    def cast(self, dtype):
        super().cast(dtype)
        self._dtype = dtype

    def state_info(self, batch_size=0):
        """Shape, layout and dtype of each state: ``(L*D, N, R)``, and for the LSTM the cell
        ``(L*D, N, H)``."""
        ld = self._num_layers * self._dir
        info = [_state((ld, batch_size, self._projection_size or self._hidden_size),
                       self._dtype)]
        if self._mode == "lstm":
            info.append(_state((ld, batch_size, self._hidden_size), self._dtype))
        return info

    def begin_state(self, batch_size=0, func=ndarray.zeros, **kwargs):
        """Initial states, one per entry of :meth:`state_info`, made by ``func`` (named
        ``{prefix}h0_{i}``); ``kwargs`` (``ctx``, ``dtype``, ...) go to ``func``."""
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info = dict(info)
            info.update(kwargs)
            states.append(func(name=f"{self.prefix}h0_{i}", **info))
        return states

    def __call__(self, inputs, states=None, sequence_length=None):
        self.skip_states = states is None
        if states is None:
            if isinstance(inputs, NDArray):
                batch_size = inputs.shape[self._layout.find("N")]
                states = self.begin_state(batch_size, ctx=inputs.context, dtype=inputs.dtype)
            else:
                states = self._zero_states_like(inputs)
        if isinstance(states, (NDArray, Symbol)):
            states = [states]
        if self._use_sequence_length:
            out = super().__call__(inputs, states, sequence_length)
        else:
            out = super().__call__(inputs, states)
        # the graph always returns the states (a hybridized layer traces once, whichever way
        # it is called first); without given states only the output is returned, as MXNet
        return out[0] if self.skip_states else out

    def _zero_states_like(self, inputs):
        """Zero initial states for a symbolic input whose batch size is not known yet: built
        from the data (``sum(zeros_like(x))`` over time and channels, tiled), so shape
        inference needs nothing else (MXNet uses ``zeros`` of shape ``(L*D, 0, H)`` and infers
        the 0 backwards)."""
        axes = (self._layout.find("T"), self._layout.find("C"))
        column = symbol.reshape(symbol.sum(symbol.zeros_like(inputs), axis=axes),
                                shape=(1, -1, 1))
        return [symbol.tile(column, reps=(info["shape"][0], 1, info["shape"][2]))
                for info in self.state_info(0)]

    def hybrid_forward(self, F, inputs, states, sequence_length=None, **kwargs):
        if F is ndarray:
            batch_size = inputs.shape[self._layout.find("N")]
            for state, info in zip(states, self.state_info(batch_size), strict=True):
                if tuple(state.shape) != tuple(info["shape"]):
                    raise ValueError(f"Invalid recurrent state shape. Expecting "
                                     f"{info['shape']}, got {tuple(state.shape)}.")
        return self._forward_kernel(F, inputs, states, sequence_length, **kwargs)

    def _forward_kernel(self, F, inputs, states, sequence_length, **kwargs):
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, dim1=0, dim2=1)
        kinds = ("i2h", "h2h", "h2r") if self._projection_size else ("i2h", "h2h")
        names = [f"{d}{i}_{g}_{t}"
                 for t in ("weight", "bias")
                 for i in range(self._num_layers)
                 for d in "lr"[:self._dir]
                 for g in kinds
                 if not (g == "h2r" and t == "bias")]
        if all(all(getattr(self, n).shape) for n in names):
            # MXNet's graph: each flattened, then joined (MXNet loads the exported JSON)
            flat = [F.reshape(kwargs[n], shape=(-1,)) for n in names]
        else:
            # a deferred input width traced inside a hybridized container: the weights go in
            # as they are, so that _rnn_param_concat can infer the unknown width backwards
            flat = [kwargs[n] for n in names]
        params = F._internal._rnn_param_concat(*flat, dim=0)
        args = [*states, sequence_length] if self._use_sequence_length else list(states)
        rnn = F.RNN(inputs, params, *args, use_sequence_length=self._use_sequence_length,
                    state_size=self._hidden_size, projection_size=self._projection_size,
                    num_layers=self._num_layers, bidirectional=self._dir == 2,
                    p=self._dropout, state_outputs=True, mode=self._mode,
                    lstm_state_clip_min=self._lstm_state_clip_min,
                    lstm_state_clip_max=self._lstm_state_clip_max,
                    lstm_state_clip_nan=self._lstm_state_clip_nan)
        if self._mode == "lstm":
            outputs, states = rnn[0], [rnn[1], rnn[2]]
        else:
            outputs, states = rnn[0], [rnn[1]]
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, dim1=0, dim2=1)
        return outputs, states


class RNN(_RNNLayer):
    """Multi-layer Elman RNN, ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` with
    ``activation`` ``'relu'`` or ``'tanh'`` (MXNet 1.9.1's ``gluon.rnn.RNN``)."""

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC", dropout=0,
                 bidirectional=False, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 dtype="float32", **kwargs):
        if activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {activation!r}")
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "rnn_" + activation, None, None, None, None,
                         False, dtype, **kwargs)



class LSTM(_RNNLayer):
    """Multi-layer LSTM (gates i, f, g, o; ``c' = f c + i g``, ``h' = o tanh(c')``), with an
    optional projection ``h' = W_hr (o tanh(c'))`` (``projection_size``) and cell-state
    clipping (``state_clip_min/max/nan``); MXNet 1.9.1's ``gluon.rnn.LSTM``."""

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False,
                 input_size=0, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 projection_size=None, h2r_weight_initializer=None, state_clip_min=None,
                 state_clip_max=None, state_clip_nan=False, dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "lstm", projection_size, h2r_weight_initializer,
                         state_clip_min, state_clip_max, state_clip_nan, dtype, **kwargs)


class GRU(_RNNLayer):
    """Multi-layer GRU in cuDNN's form (the reset gate applied after the recurrent product:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``); MXNet 1.9.1's ``gluon.rnn.GRU``."""

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False,
                 input_size=0, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", dtype="float32",
                 **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "gru", None, None, None, None, False, dtype,
                         **kwargs)

