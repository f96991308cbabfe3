"""Checkpoints of recurrent models with their weights unpacked gate by gate.

``save_rnn_checkpoint`` writes MXNet's checkpoint files (``prefix-symbol.json``,
``prefix-%04d.params``, see :mod:`mxlite.model`) after ``cell.unpack_weights``, so the file
holds ``lstm_i2h_f_weight``-style arrays (for a FusedRNNCell: per layer and direction) that
unfused and fused cells alike can read; ``load_rnn_checkpoint`` packs them back::

    mx.rnn.save_rnn_checkpoint(stack, 'lm', 3, net, arg_params, aux_params)
    net, arg_params, aux_params = mx.rnn.load_rnn_checkpoint(stack, 'lm', 3)
"""

from __future__ import annotations

import warnings

from ..model import load_checkpoint, save_checkpoint
from .rnn_cell import BaseRNNCell

__all__ = ["do_rnn_checkpoint", "load_rnn_checkpoint", "rnn_unroll", "save_rnn_checkpoint"]


def _as_cells(cells):
    if isinstance(cells, BaseRNNCell):
        return [cells]
    cells = list(cells)
    for cell in cells:
        if not isinstance(cell, BaseRNNCell):
            raise TypeError(f"cells must be an RNN cell or a list of them, got an element of "
                            f"type {type(cell).__name__}")
    return cells


def rnn_unroll(cell, length, inputs=None, begin_state=None, input_prefix="", layout="NTC"):
    """Deprecated: ``cell.unroll(length, inputs, begin_state, layout)``.

    (MXNet 1.9.1's version passes ``input_prefix`` on to ``unroll``, which no longer takes it,
    and always fails; here ``input_prefix`` is ignored.)"""
    warnings.warn("rnn_unroll is deprecated. Please call cell.unroll directly.",
                  DeprecationWarning, stacklevel=2)
    return cell.unroll(length=length, inputs=inputs, begin_state=begin_state, layout=layout)


def save_rnn_checkpoint(cells, prefix, epoch, symbol, arg_params, aux_params):
    """:func:`mxlite.model.save_checkpoint` of ``arg_params`` unpacked by each of ``cells``
    (a cell or a list of cells)."""
    for cell in _as_cells(cells):
        arg_params = cell.unpack_weights(arg_params)
    save_checkpoint(prefix, epoch, symbol, arg_params, aux_params)


def load_rnn_checkpoint(cells, prefix, epoch):
    """``(symbol, arg_params, aux_params)`` of :func:`mxlite.model.load_checkpoint`, the
    arguments packed back by each of ``cells`` (the inverse of :func:`save_rnn_checkpoint`)."""
    sym, arg, aux = load_checkpoint(prefix, epoch)
    for cell in _as_cells(cells):
        arg = cell.pack_weights(arg)
    return sym, arg, aux


def do_rnn_checkpoint(cells, prefix, period=1):
    """An epoch-end callback (for ``Module.fit``'s ``epoch_end_callback``) calling
    :func:`save_rnn_checkpoint` every ``period`` epochs, numbered from 1."""
    cells = _as_cells(cells)
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            save_rnn_checkpoint(cells, prefix, iter_no + 1, sym, arg, aux)

    return _callback
