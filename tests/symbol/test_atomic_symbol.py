"""Symbol._gen_atomic_symbol: the head operator on fresh variables (MXNet 1.9.1 segfaults when
its atomic symbols are inspected; mxlite's are ordinary symbols)."""

from __future__ import annotations

import pytest

import mxlite as mx
from mxlite.base import MXNetError


def _rnn():
    return mx.sym.RNN(mx.sym.var("data"), mx.sym.var("param"), mx.sym.var("h0"),
                      mx.sym.var("h1"), state_size=10, num_layers=2, bidirectional=True,
                      state_outputs=True, mode="lstm", name="rnn")


@pytest.mark.parametrize("make, args, outs, aux", [
    (_rnn, ["rnn_data", "rnn_parameters", "rnn_state", "rnn_state_cell"],
     ["rnn_output", "rnn_state_output", "rnn_statecell_output"], []),
    (lambda: mx.sym.BatchNorm(mx.sym.var("x") * 2, name="bn"),
     ["bn_data", "bn_gamma", "bn_beta"], ["bn_output"], ["bn_moving_mean", "bn_moving_var"]),
    (lambda: mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")[0],
     ["fc_data", "fc_weight", "fc_bias"], ["fc_output"], []),
], ids=["rnn-multi-output", "batchnorm-aux", "fc"])
def test_atomic_symbol_is_the_head_operator_on_fresh_variables(make, args, outs, aux):
    sym = make()
    atom = sym._gen_atomic_symbol()
    assert atom.list_arguments() == args
    assert atom.list_outputs() == outs
    assert atom.list_auxiliary_states() == aux
    assert atom.list_attr() == sym.list_attr()


def test_atomic_symbol_keeps_the_parameters():
    atom = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")._gen_atomic_symbol()
    _, out_shapes, _ = atom.infer_shape(fc_data=(2, 5))
    assert out_shapes == [(2, 3)]


@pytest.mark.parametrize("make, match", [
    (lambda: mx.sym.var("x"), "is a variable"),
    (lambda: mx.sym.Group([mx.sym.var("a") + 1, mx.sym.var("b") * 2]), "one operator"),
], ids=["variable", "group-of-two"])
def test_atomic_symbol_errors(make, match):
    with pytest.raises(MXNetError, match=match):
        make()._gen_atomic_symbol()
