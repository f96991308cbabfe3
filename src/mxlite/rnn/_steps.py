"""One time step of the Elman, LSTM and GRU cells, written once for ``F = mx.nd`` and
``F = mx.sym``.

Both families of cells run these: the symbolic ``mx.rnn`` cells and the Gluon cells of
``mx.gluon.rnn`` (which call them with either ``F``).  Each step takes

* ``weights``: ``(i2h_weight, i2h_bias, h2h_weight, h2h_bias)`` with the gates stacked on the
  rows in the order written below;
* ``name(key)``: the name of the graph node ``key`` (``'i2h'``, ``'out'``, ...) or None for an
  automatic one -- the two families name their nodes differently (MXNet 1.9.1's names);
* for the Elman and LSTM cells, the activation functions, as ``act(x, name)`` callables.

The equations (``W_i* x + b_i*`` from the ``i2h`` rows, ``W_h* h + b_h*`` from ``h2h``):

* Elman: ``h' = act(W_i x + b_i + W_h h + b_h)``.
* LSTM (gates ``i, f, c, o``): ``c' = gate(f) * c + gate(i) * act(c~)``,
  ``h' = gate(o) * out_act(c')``.
* GRU (gates ``r, z, n``; the reset gate applied after the recurrent product, as cuDNN):
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.
"""

from __future__ import annotations

__all__ = ["gru_step", "lstm_step", "rnn_step"]


def _projections(F, x, h, weights, rows, name):
    i2h_weight, i2h_bias, h2h_weight, h2h_bias = weights
    i2h = F.FullyConnected(data=x, weight=i2h_weight, bias=i2h_bias, num_hidden=rows,
                           name=name("i2h"))
    h2h = F.FullyConnected(data=h, weight=h2h_weight, bias=h2h_bias, num_hidden=rows,
                           name=name("h2h"))
    return i2h, h2h


def rnn_step(F, x, h, weights, hidden, name, act):
    """The Elman step; returns the new hidden state (also the output)."""
    i2h, h2h = _projections(F, x, h, weights, hidden, name)
    return act(F.elemwise_add(i2h, h2h, name=name("plus0")), name("out"))


def lstm_step(F, x, h, c, weights, hidden, name, gate_act, cell_act, out_act):
    """The LSTM step; returns ``(h', c')``."""
    i2h, h2h = _projections(F, x, h, weights, 4 * hidden, name)
    gates = F.SliceChannel(F.elemwise_add(i2h, h2h, name=name("plus0")), num_outputs=4,
                           name=name("slice"))
    in_gate = gate_act(gates[0], name("i"))
    forget_gate = gate_act(gates[1], name("f"))
    candidate = cell_act(gates[2], name("c"))
    out_gate = gate_act(gates[3], name("o"))
    next_c = F.elemwise_add(F.elemwise_mul(forget_gate, c, name=name("mul0")),
                            F.elemwise_mul(in_gate, candidate, name=name("mul1")),
                            name=name("state"))
    next_h = F.elemwise_mul(out_gate, out_act(next_c, name("activation0")), name=name("out"))
    return next_h, next_c


def gru_step(F, x, h, weights, hidden, name):
    """The GRU step; returns the new hidden state (also the output)."""
    i2h, h2h = _projections(F, x, h, weights, 3 * hidden, name)
    i2h_r, i2h_z, i2h_n = F.SliceChannel(i2h, num_outputs=3, name=name("i2h_slice"))
    h2h_r, h2h_z, h2h_n = F.SliceChannel(h2h, num_outputs=3, name=name("h2h_slice"))
    reset = F.Activation(F.elemwise_add(i2h_r, h2h_r, name=name("plus0")), act_type="sigmoid",
                         name=name("r_act"))
    update = F.Activation(F.elemwise_add(i2h_z, h2h_z, name=name("plus1")),
                          act_type="sigmoid", name=name("z_act"))
    candidate = F.Activation(
        F.elemwise_add(i2h_n, F.elemwise_mul(reset, h2h_n, name=name("mul0")),
                       name=name("plus2")),
        act_type="tanh", name=name("h_act"))
    keep = F.elemwise_sub(F.ones_like(update, name=name("ones_like0")), update,
                          name=name("minus0"))
    return F.elemwise_add(F.elemwise_mul(keep, candidate, name=name("mul1")),
                          F.elemwise_mul(update, h, name=name("mul20")), name=name("out"))
