"""``mx.rnn``: MXNet 1.9.1's symbolic recurrent cells, sentence bucketing and RNN checkpoints.

- :mod:`mxlite.rnn.rnn_cell`: :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`,
  :class:`FusedRNNCell`, the combinators :class:`SequentialRNNCell`, :class:`BidirectionalCell`,
  :class:`DropoutCell` and the modifiers :class:`ZoneoutCell`, :class:`ResidualCell`;
- :mod:`mxlite.rnn.conv_rnn_cell`: :class:`ConvRNNCell`, :class:`ConvLSTMCell`,
  :class:`ConvGRUCell`;
- :mod:`mxlite.rnn.io`: :func:`encode_sentences`, :class:`BucketSentenceIter`;
- :mod:`mxlite.rnn.rnn`: :func:`save_rnn_checkpoint`, :func:`load_rnn_checkpoint`,
  :func:`do_rnn_checkpoint`.
"""

from . import conv_rnn_cell, io, rnn, rnn_cell  # noqa: F401  (mx.rnn.io, ... as MXNet)
from .conv_rnn_cell import *  # noqa: F403
from .conv_rnn_cell import __all__ as _conv_all
from .io import *  # noqa: F403
from .io import __all__ as _io_all
from .rnn import *  # noqa: F403
from .rnn import __all__ as _rnn_all
from .rnn_cell import *  # noqa: F403
from .rnn_cell import __all__ as _cell_all

__all__ = sorted([*_cell_all, *_conv_all, *_io_all, *_rnn_all])
