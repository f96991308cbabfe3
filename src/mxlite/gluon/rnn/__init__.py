"""``mx.gluon.rnn``: the fused recurrent layers ``RNN``, ``LSTM`` and ``GRU`` (MXNet 1.9.1),
each one call of the ``RNN`` operator, and the recurrent cells (``LSTMCell``, ... one step as a
Block, ``unroll`` for a sequence; see :mod:`.rnn_cell`).

>>> import mxlite as mx
>>> layer = mx.gluon.rnn.LSTM(4, num_layers=2, layout="NTC")
>>> layer.initialize()
>>> out, (h, c) = layer(mx.nd.ones((3, 5, 2)), layer.begin_state(3))
>>> out.shape, h.shape, c.shape
((3, 5, 4), (2, 3, 4), (2, 3, 4))
"""

from __future__ import annotations

from .rnn_cell import (
    BidirectionalCell,
    DropoutCell,
    GRUCell,
    HybridRecurrentCell,
    HybridSequentialRNNCell,
    LSTMCell,
    ModifierCell,
    RecurrentCell,
    ResidualCell,
    RNNCell,
    SequentialRNNCell,
    ZoneoutCell,
)
from .rnn_layer import GRU, LSTM, RNN

__all__ = [
    "GRU", "LSTM", "RNN", "BidirectionalCell", "DropoutCell", "GRUCell", "HybridRecurrentCell",
    "HybridSequentialRNNCell", "LSTMCell", "ModifierCell", "RNNCell", "RecurrentCell",
    "ResidualCell", "SequentialRNNCell", "ZoneoutCell",
]
