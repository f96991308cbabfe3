"""Convolutional recurrent cells (Shi et al., 2015): the fully connected products of
:mod:`mxlite.rnn.rnn_cell` replaced by convolutions over image-shaped inputs and states.

The state has the shape of the input-to-hidden convolution's output (batch left 0 for shape
inference); the hidden-to-hidden convolution keeps it (odd ``h2h_kernel``, "same" padding
``h2h_dilate * (h2h_kernel - 1) // 2``).  Weights ``<prefix>i2h_weight`` ``(gates * num_hidden,
C, kh, kw)``, ``i2h_bias``, ``h2h_weight``, ``h2h_bias``.
"""

from __future__ import annotations

import functools

from .. import symbol
from .rnn_cell import BaseRNNCell, _check_hidden

__all__ = ["BaseConvRNNCell", "ConvGRUCell", "ConvLSTMCell", "ConvRNNCell"]

_LEAKY = functools.partial(symbol.LeakyReLU, act_type="leaky", slope=0.2)


def _pair(cls, name, value):
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{cls}: {name} must be a pair of ints, got {value!r}")
    return value


class BaseConvRNNCell(BaseRNNCell):
    """Shared part of the convolutional cells: the two convolutions of a step and the state
    shape, inferred once from ``input_shape`` (one step's input, batch included)."""

    #: the prefix when ``prefix`` is None (each cell's MXNet default)
    _default_prefix = ""

    def __init__(self, input_shape, num_hidden, h2h_kernel=(3, 3), h2h_dilate=(1, 1),
                 i2h_kernel=(3, 3), i2h_stride=(1, 1), i2h_pad=(1, 1), i2h_dilate=(1, 1),
                 i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", activation=_LEAKY,
                 prefix=None, params=None, conv_layout="NCHW"):
        super().__init__(prefix=self._default_prefix if prefix is None else prefix,
                         params=params)
        cls = type(self).__name__
        self._num_hidden = _check_hidden(cls, num_hidden)
        self._h2h_kernel = _pair(cls, "h2h_kernel", h2h_kernel)
        if self._h2h_kernel[0] % 2 != 1 or self._h2h_kernel[1] % 2 != 1:
            raise ValueError(f"{cls}: h2h_kernel must have odd sizes (the state keeps its "
                             f"shape), got {self._h2h_kernel}")
        self._h2h_dilate = _pair(cls, "h2h_dilate", h2h_dilate)
        self._h2h_pad = tuple(d * (k - 1) // 2
                              for d, k in zip(self._h2h_dilate, self._h2h_kernel, strict=True))
        self._i2h_kernel = _pair(cls, "i2h_kernel", i2h_kernel)
        self._i2h_stride = _pair(cls, "i2h_stride", i2h_stride)
        self._i2h_pad = _pair(cls, "i2h_pad", i2h_pad)
        self._i2h_dilate = _pair(cls, "i2h_dilate", i2h_dilate)
        self._input_shape = tuple(input_shape)
        self._conv_layout = conv_layout
        self._activation = activation
        probe = symbol.Convolution(data=symbol.Variable("data"), num_filter=self._num_hidden,
                                   kernel=self._i2h_kernel, stride=self._i2h_stride,
                                   pad=self._i2h_pad, dilate=self._i2h_dilate,
                                   layout=conv_layout)
        out_shape = probe.infer_shape(data=self._input_shape)[1][0]
        self._state_shape = (0, *out_shape[1:])
        self._iW = self.params.get("i2h_weight", init=i2h_weight_initializer)
        self._hW = self.params.get("h2h_weight", init=h2h_weight_initializer)
        self._iB = self.params.get("i2h_bias", init=i2h_bias_initializer)
        self._hB = self.params.get("h2h_bias", init=h2h_bias_initializer)

    @property
    def _num_gates(self):
        return len(self._gate_names)

    @property
    def state_info(self):
        return [{"shape": self._state_shape, "__layout__": self._conv_layout}
                for _ in range(self._num_states)]

    _num_states = 2

    @property
    def _channel_axis(self):
        return self._conv_layout.find("C")

    def _conv_forward(self, inputs, states, name):
        filters = self._num_hidden * self._num_gates
        i2h = symbol.Convolution(name=f"{name}i2h", data=inputs, num_filter=filters,
                                 kernel=self._i2h_kernel, stride=self._i2h_stride,
                                 pad=self._i2h_pad, dilate=self._i2h_dilate, weight=self._iW,
                                 bias=self._iB, layout=self._conv_layout)
        h2h = symbol.Convolution(name=f"{name}h2h", data=states[0], num_filter=filters,
                                 kernel=self._h2h_kernel, dilate=self._h2h_dilate,
                                 pad=self._h2h_pad, stride=(1, 1), weight=self._hW,
                                 bias=self._hB, layout=self._conv_layout)
        return i2h, h2h


class ConvRNNCell(BaseConvRNNCell):
    """``h_t = activation(conv_i(x_t) + conv_h(h_{t-1}))``; the default activation is
    ``LeakyReLU(slope=0.2)``; default prefix ``'ConvRNN_'``."""

    _num_states = 1

    _default_prefix = "ConvRNN_"

    @property
    def _gate_names(self):
        return ("",)

    def __call__(self, inputs, states):
        name = self._step_name()
        i2h, h2h = self._conv_forward(inputs, states, name)
        output = self._get_activation(i2h + h2h, self._activation, name=f"{name}out")
        return output, [output]


class ConvLSTMCell(BaseConvRNNCell):
    """Convolutional LSTM: gates ``i, f, c, o`` split along the channel axis;
    ``c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * act(c~)``, ``h_t = sigmoid(o) * act(c_t)`` with
    ``act`` the cell's activation (LeakyReLU(0.2) by default, as MXNet).  Default prefix
    ``'ConvLSTM_'``."""

    _default_prefix = "ConvLSTM_"

    @property
    def _gate_names(self):
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs, states):
        name = self._step_name()
        i2h, h2h = self._conv_forward(inputs, states, name)
        gates = symbol.SliceChannel(i2h + h2h, num_outputs=4, axis=self._channel_axis,
                                    name=f"{name}slice")
        in_gate = symbol.Activation(gates[0], act_type="sigmoid", name=f"{name}i")
        forget_gate = symbol.Activation(gates[1], act_type="sigmoid", name=f"{name}f")
        candidate = self._get_activation(gates[2], self._activation, name=f"{name}c")
        out_gate = symbol.Activation(gates[3], act_type="sigmoid", name=f"{name}o")
        next_c = symbol._internal._plus(forget_gate * states[1], in_gate * candidate,
                                        name=f"{name}state")
        next_h = symbol._internal._mul(out_gate, self._get_activation(next_c, self._activation),
                                       name=f"{name}out")
        return next_h, [next_h, next_c]


class ConvGRUCell(BaseConvRNNCell):
    """Convolutional GRU, the gates of :class:`~mxlite.rnn.GRUCell` (``r, z, o``) over
    convolutions and the cell's activation for the candidate.  Default prefix ``'ConvGRU_'``.

    (MXNet 1.9.1 splits the gates along axis 1 whatever ``conv_layout`` is, which is wrong for
    ``NHWC``; here they are split along the layout's channel axis.)"""

    _num_states = 1

    _default_prefix = "ConvGRU_"

    @property
    def _gate_names(self):
        return ["_r", "_z", "_o"]

    def __call__(self, inputs, states):
        name = self._step_name()
        i2h, h2h = self._conv_forward(inputs, states, name)
        axis = self._channel_axis
        i2h_r, i2h_z, i2h_o = symbol.SliceChannel(i2h, num_outputs=3, axis=axis,
                                                  name=f"{name}_i2h_slice")
        h2h_r, h2h_z, h2h_o = symbol.SliceChannel(h2h, num_outputs=3, axis=axis,
                                                  name=f"{name}_h2h_slice")
        reset_gate = symbol.Activation(i2h_r + h2h_r, act_type="sigmoid", name=f"{name}_r_act")
        update_gate = symbol.Activation(i2h_z + h2h_z, act_type="sigmoid", name=f"{name}_z_act")
        candidate = self._get_activation(i2h_o + reset_gate * h2h_o, self._activation,
                                         name=f"{name}_h_act")
        next_h = symbol._internal._plus((1.0 - update_gate) * candidate,
                                        update_gate * states[0], name=f"{name}out")
        return next_h, [next_h]
