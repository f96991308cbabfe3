"""The convolutional cells' default prefixes and the names of an unrolled graph, as MXNet 1.9.1
lists them (recorded with MXNet for ``input_shape=(2, 3, 5, 5), num_hidden=4``, 2 steps)."""

from __future__ import annotations

import pytest

import mxlite as mx


@pytest.mark.parametrize("cls, prefix", [
    ("ConvRNNCell", "ConvRNN_"), ("ConvLSTMCell", "ConvLSTM_"), ("ConvGRUCell", "ConvGRU_"),
], ids=["rnn", "lstm", "gru"])
def test_default_prefix_and_unrolled_names(cls, prefix):
    cell = getattr(mx.rnn, cls)(input_shape=(2, 3, 5, 5), num_hidden=4)
    out, _ = cell.unroll(2, inputs=[mx.sym.var("x0"), mx.sym.var("x1")], merge_outputs=False)
    group = mx.sym.Group(out)
    assert group.list_arguments() == ["x0", f"{prefix}i2h_weight", f"{prefix}i2h_bias",
                                      f"{prefix}h2h_weight", f"{prefix}h2h_bias", "x1"]
    assert group.list_outputs() == [f"{prefix}t0_out_output", f"{prefix}t1_out_output"]


def test_explicit_prefix_wins():
    cell = mx.rnn.ConvGRUCell(input_shape=(2, 3, 5, 5), num_hidden=4, prefix="g_")
    assert cell(mx.sym.var("x"), cell.begin_state())[0].name == "g_t0_out"
