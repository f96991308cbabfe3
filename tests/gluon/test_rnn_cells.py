"""Gluon recurrent cells: float64 gradients, agreement with the fused layers, the cell API
(begin_state, state_info, reset, one step, hybridize, valid_length, parameter files) and bad
input.  MXNet 1.9.1 parity of names and numbers: test_rnn_cells_golden.py."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.gluon import rnn

B, T, F, H = 2, 3, 4, 3


def _cell(kind, **kwargs):
    return {
        "rnn_tanh": lambda: rnn.RNNCell(H, **kwargs),
        "rnn_relu": lambda: rnn.RNNCell(H, activation="relu", **kwargs),
        "rnn_leaky": lambda: rnn.RNNCell(H, activation=mx.gluon.nn.LeakyReLU(0.2), **kwargs),
        "lstm": lambda: rnn.LSTMCell(H, **kwargs),
        "lstm_softsign": lambda: rnn.LSTMCell(H, activation="softsign",
                                              recurrent_activation="tanh", **kwargs),
        "gru": lambda: rnn.GRUCell(H, **kwargs),
    }[kind]()


def _seeded_params(cell, seed, dtype="float64"):
    rng = np.random.RandomState(seed)
    for _, p in sorted(cell.collect_params().items()):
        p.set_data(mx.nd.array(rng.standard_normal(p.shape) * 0.5, dtype=dtype))


# ------------------------------------------------------------------ float64 gradients
@pytest.mark.parametrize("layout", ["NTC", "TNC"])
@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "rnn_leaky", "lstm", "lstm_softsign",
                                  "gru"])
def test_unroll_gradients_match_central_differences_in_float64(kind, layout):
    cell = _cell(kind, input_size=F)
    cell.initialize()
    cell.cast("float64")
    _seeded_params(cell, 0)
    rng = np.random.RandomState(1)
    shape = (B, T, F) if layout == "NTC" else (T, B, F)
    x = mx.nd.array(rng.uniform(-1, 1, shape), dtype="float64")
    n_states = len(cell.state_info())
    head = rng.standard_normal((B, T, H) if layout == "NTC" else (T, B, H))
    head_states = [rng.standard_normal((B, H)) for _ in range(n_states)]

    def loss():
        out, states = cell.unroll(T, x, layout=layout, merge_outputs=True)
        total = (out * mx.nd.array(head, dtype="float64")).sum()
        for s, g in zip(states, head_states, strict=True):
            total = total + (s * mx.nd.array(g, dtype="float64")).sum()
        return total

    x.attach_grad()
    with mx.autograd.record():
        value = loss()
    value.backward()
    targets = [("data", x, x.grad.asnumpy())]
    targets += [(name, p.data(), p.grad().asnumpy())
                for name, p in sorted(cell.collect_params().items())]
    eps = 1e-6
    for name, arr, grad in targets:
        flat = arr.asnumpy().reshape(-1)
        numeric = np.empty_like(flat)
        for i in range(flat.size):
            saved = flat[i]
            values = []
            for delta in (eps, -eps):
                flat[i] = saved + delta
                arr[:] = flat.reshape(arr.shape)
                values.append(float(loss().asscalar()))
            flat[i] = saved
            arr[:] = flat.reshape(arr.shape)
            numeric[i] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(grad.reshape(-1), numeric, rtol=1e-5, atol=1e-7,
                                   err_msg=f"{kind} gradient of {name}")


# ------------------------------------------------- the cells equal the fused layers
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("layer_cls,kw", [
    (rnn.LSTM, {}), (rnn.GRU, {}), (rnn.RNN, {"activation": "tanh"}),
    (rnn.RNN, {"activation": "relu"}),
], ids=["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_unfused_cells_compute_what_the_fused_layer_computes(layer_cls, kw, bidirectional):
    layer = layer_cls(H, num_layers=2, bidirectional=bidirectional, input_size=F, **kw)
    stack = layer._unfuse()
    layer.initialize(mx.init.Uniform(0.5))
    assert {p.name for p in stack.collect_params().values()} == \
        {p.name for p in layer.collect_params().values()}
    x = mx.nd.array(np.random.RandomState(3).uniform(-1, 1, (T, B, F)))
    x.attach_grad()
    with mx.autograd.record():
        want, want_states = layer(x, layer.begin_state(B))
    want.backward()
    want_dx = x.grad.asnumpy().copy()
    with mx.autograd.record():
        got, got_states = stack.unroll(T, x, layout="TNC", merge_outputs=True)
    got.backward()
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), want_dx, rtol=1e-5, atol=1e-6)
    # the layer's states are (layers * directions, N, H) for h (and c); the cells' a flat list
    per_cell = len(got_states) // (2 * (2 if bidirectional else 1))
    for k, state in enumerate(want_states):
        np.testing.assert_allclose(
            state.asnumpy(), np.stack([s.asnumpy() for s in got_states[k::per_cell or 1]]),
            rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------- the cell API
def test_one_step_defers_the_input_width_and_returns_new_states():
    cell = rnn.LSTMCell(H, prefix="l_")
    cell.initialize()
    assert cell.i2h_weight.shape == (4 * H, 0)
    states = cell.begin_state(batch_size=B)
    out, new = cell(mx.nd.ones((B, F)), states)
    assert cell.i2h_weight.shape == (4 * H, F)
    assert out.shape == (B, H) and [s.shape for s in new] == [(B, H), (B, H)]
    assert new[0] is out
    assert repr(cell) == f"LSTMCell({F} -> {4 * H})"


def test_begin_state_names_count_and_forward_kwargs():
    cell = rnn.GRUCell(H, prefix="g_")
    first = cell.begin_state(batch_size=B, func=mx.sym.var)
    second = cell.begin_state(batch_size=B, func=mx.sym.var)
    assert [s.name for s in first + second] == ["g_begin_state_0", "g_begin_state_1"]
    cell.reset()
    assert cell.begin_state(func=mx.sym.var)[0].name == "g_begin_state_0"
    ones = cell.begin_state(batch_size=4, func=mx.nd.ones, dtype="float64")
    assert ones[0].shape == (4, H) and ones[0].dtype == np.float64
    assert float(ones[0].sum().asscalar()) == 4 * H
    assert cell.state_info(5) == [{"shape": (5, H), "__layout__": "NC"}]


def test_unroll_restarts_the_step_names():
    cell = rnn.RNNCell(H, prefix="r_")
    for _ in range(2):
        outs, _ = cell.unroll(2, mx.sym.var("data"))
        assert [o.name for o in outs] == ["r_t0_out", "r_t1_out"]


@pytest.mark.parametrize("merge", [True, False, None], ids=["merged", "list", "natural"])
@pytest.mark.parametrize("layout", ["NTC", "TNC"])
def test_unroll_accepts_a_tensor_or_a_list_in_either_layout(layout, merge):
    cell = rnn.GRUCell(H, input_size=F)
    cell.initialize()
    rng = np.random.RandomState(4)
    steps = [mx.nd.array(rng.uniform(-1, 1, (B, F))) for _ in range(T)]
    tensor = mx.nd.stack(*steps, axis=layout.find("T"))
    ref = [o.asnumpy() for o in cell.unroll(T, steps, merge_outputs=False)[0]]
    for inputs in (tensor, steps):
        out, states = cell.unroll(T, inputs, layout=layout, merge_outputs=merge)
        if merge is True:
            assert isinstance(out, mx.nd.NDArray)
            out = [o.asnumpy() for o in mx.nd.split(out, axis=layout.find("T"),
                                                    num_outputs=T, squeeze_axis=True)]
        else:
            assert isinstance(out, list)  # a cell's natural output is the list of steps
            out = [o.asnumpy() for o in out]
        for got, want in zip(out, ref, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(states[0].asnumpy(), ref[-1], rtol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh"])
def test_hybridized_step_and_unroll_equal_the_imperative_ones(kind):
    cell = _cell(kind, input_size=F)
    cell.initialize()
    _seeded_params(cell, 5, dtype="float32")
    x = mx.nd.array(np.random.RandomState(6).uniform(-1, 1, (B, T, F)))
    want, want_states = cell.unroll(T, x, merge_outputs=True)
    step_want = cell(x[:, 0, :], cell.begin_state(B))[0].asnumpy()
    cell.hybridize()
    got, got_states = cell.unroll(T, x, merge_outputs=True)
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6)
    for g, w in zip(got_states, want_states, strict=True):
        np.testing.assert_allclose(g.asnumpy(), w.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(cell(x[:, 0, :], cell.begin_state(B))[0].asnumpy(), step_want,
                               rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: rnn.LSTMCell(H, input_size=F),
    lambda: rnn.BidirectionalCell(rnn.GRUCell(H, input_size=F), rnn.GRUCell(H, input_size=F)),
    lambda: _residual_stack(),
], ids=["lstm", "bidirectional", "residual_stack"])
def test_valid_length_equals_unrolling_each_sequence_alone(make):
    cell = make()
    cell.initialize()
    rng = np.random.RandomState(7)
    lengths = [1, 3, 2]
    x = mx.nd.array(rng.uniform(-1, 1, (3, 3, F)))
    outs, states = cell.unroll(3, x, valid_length=mx.nd.array(lengths), merge_outputs=True)
    for i, n in enumerate(lengths):
        alone, alone_states = cell.unroll(n, x[i:i + 1, :n, :], merge_outputs=True)
        np.testing.assert_allclose(outs[i:i + 1, :n].asnumpy(), alone.asnumpy(), rtol=1e-5,
                                   atol=1e-6)
        assert not outs[i, n:].asnumpy().any()
        for s, a in zip(states, alone_states, strict=True):
            np.testing.assert_allclose(s[i:i + 1].asnumpy(), a.asnumpy(), rtol=1e-5, atol=1e-6)


def _residual_stack():
    stack = rnn.SequentialRNNCell()
    stack.add(rnn.ResidualCell(rnn.RNNCell(F, input_size=F)))
    stack.add(rnn.DropoutCell(0.0))
    stack.add(rnn.GRUCell(H, input_size=F))
    return stack


def test_float64_cells_get_float64_begin_states():
    cell = rnn.LSTMCell(H, input_size=F)
    cell.initialize()
    cell.cast("float64")
    out, states = cell.unroll(T, mx.nd.ones((B, T, F), dtype="float64"), merge_outputs=True)
    assert out.dtype == np.float64 and all(s.dtype == np.float64 for s in states)


def test_zoneout_keeps_either_the_new_or_the_previous_output_in_training():
    mx.random.seed(11)
    base = rnn.RNNCell(50, input_size=F)
    cell = rnn.ZoneoutCell(base, zoneout_outputs=0.5)
    cell.initialize()
    x = mx.nd.array(np.random.RandomState(8).uniform(-1, 1, (B, T, F)))
    plain = rnn.RNNCell(50, input_size=F, params=base.params)
    new = [o.asnumpy() for o in plain.unroll(T, x)[0]]  # states pass unchanged: p_state = 0
    with mx.autograd.train_mode():
        zoned = [o.asnumpy() for o in cell.unroll(T, x)[0]]
    prev, kept = np.zeros_like(new[0]), 0
    for t in range(T):
        take_new = np.isclose(zoned[t], new[t])
        keep_old = np.isclose(zoned[t], prev)
        assert np.all(take_new | keep_old), t
        kept += int(np.sum(keep_old & ~take_new))
        prev = zoned[t]
    assert kept > 20
    with mx.autograd.predict_mode():
        inference = [o.asnumpy() for o in cell.unroll(T, x)[0]]
    for got, want in zip(inference, new, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_parameter_files_use_mxnet_names_and_round_trip(tmp_path):
    def build():
        stack = rnn.HybridSequentialRNNCell()
        stack.add(rnn.LSTMCell(H, input_size=F))
        stack.add(rnn.ResidualCell(rnn.GRUCell(H, input_size=H)))
        stack.add(rnn.BidirectionalCell(rnn.RNNCell(H, input_size=H),
                                        rnn.RNNCell(H, input_size=H)))
        return stack

    net = build()
    net.initialize(mx.init.Uniform(0.5))
    path = str(tmp_path / "cells.params")
    net.save_parameters(path)
    assert sorted(mx.nd.load(path)) == sorted(
        [f"0.{n}" for n in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")]
        + [f"1.base_cell.{n}" for n in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")]
        + [f"2.{d}_cell.{n}" for d in "lr"
           for n in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias")])
    other = build()
    other.load_parameters(path)
    x = mx.nd.ones((B, T, F))
    np.testing.assert_allclose(other.unroll(T, x, merge_outputs=True)[0].asnumpy(),
                               net.unroll(T, x, merge_outputs=True)[0].asnumpy(), rtol=1e-6)


class _Unrolled(mx.gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.cell = rnn.LSTMCell(H)

    def hybrid_forward(self, F, seq):
        return self.cell.unroll(T, seq, merge_outputs=True)[0]


def test_a_hybridized_unroll_exports_and_imports(tmp_path):
    net = _Unrolled()
    net.initialize()
    net.hybridize()
    x = mx.nd.array(np.random.RandomState(9).uniform(-1, 1, (B, T, F)))
    want = net(x).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "lstm"))
    back = mx.gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(back(x).asnumpy(), want, rtol=1e-6)


# ------------------------------------------------------------------------ bad input
def _modified_twice():
    base = rnn.RNNCell(H)
    rnn.ResidualCell(base)
    rnn.ZoneoutCell(base)


def _step_bidirectional_stack():
    stack = rnn.SequentialRNNCell()
    stack.add(rnn.BidirectionalCell(rnn.RNNCell(H), rnn.RNNCell(H)))
    stack(mx.nd.ones((B, F)), stack.begin_state(batch_size=B))


def _wrapped_begin_state():
    base = rnn.LSTMCell(H)
    rnn.ResidualCell(base)
    base.begin_state()


@pytest.mark.parametrize("call,error,match", [
    (lambda: rnn.LSTMCell(0), ValueError, "hidden_size must be a positive int, got 0"),
    (lambda: rnn.GRUCell(3.5), ValueError, "hidden_size must be a positive int, got 3.5"),
    (lambda: rnn.RNNCell(H, input_size=-1), ValueError, "input_size must be an int >= 0"),
    (lambda: rnn.DropoutCell("0.5"), TypeError, "rate must be a number, got '0.5'"),
    (lambda: rnn.DropoutCell(1.5), ValueError, r"rate must be in \[0, 1\), got 1.5"),
    (lambda: rnn.ZoneoutCell(rnn.RNNCell(H), zoneout_outputs=1.0), ValueError,
     r"zoneout_outputs must be a number in \[0, 1\), got 1.0"),
    (lambda: rnn.ZoneoutCell(rnn.BidirectionalCell(rnn.RNNCell(H), rnn.RNNCell(H))),
     ValueError, "BidirectionalCell doesn't support zoneout"),
    (_modified_twice, ValueError, "already modified"),
    (_wrapped_begin_state, ValueError, "is wrapped in a modifier cell"),
    (_step_bidirectional_stack, ValueError, "cannot be stepped"),
    (lambda: rnn.SequentialRNNCell().add(mx.gluon.nn.Dense(3)), TypeError,
     "takes a recurrent cell, got Dense"),
    (lambda: rnn.HybridSequentialRNNCell().add(rnn.SequentialRNNCell()), ValueError,
     "Children of HybridBlock must also be HybridBlock"),
    (lambda: rnn.RNNCell(H).unroll(3, mx.nd.ones((B, 4, F))), ValueError,
     r"unroll\(length=3\) got inputs of shape \(2, 4, 4\) with 4 steps"),
    (lambda: rnn.RNNCell(H).unroll(2, [mx.nd.ones((B, F))]), ValueError,
     r"unroll\(length=2\) got a list of 1 inputs"),
    (lambda: rnn.RNNCell(H).unroll(2, mx.nd.ones((B, 2, F)), layout="NCW"), ValueError,
     "layout must be 'NTC' or 'TNC'"),
    (lambda: rnn.RNNCell(H).unroll(2, None), ValueError, "unroll needs inputs"),
    (lambda: rnn.RNNCell(H).unroll(2, "x"), TypeError, "inputs must be an NDArray"),
    (lambda: rnn.BidirectionalCell(rnn.RNNCell(H), 3), TypeError,
     "r_cell must be a recurrent cell, got int"),
], ids=["hidden0", "hidden_float", "input_negative", "dropout_str", "dropout_range",
        "zoneout_range", "zoneout_bidirectional", "modified_twice", "wrapped_begin_state",
        "step_bidirectional", "add_dense", "hybrid_add_plain", "length_tensor", "length_list",
        "layout", "no_inputs", "inputs_type", "bidirectional_arg"])
def test_bad_input_is_refused_early_with_the_value(call, error, match):
    with pytest.raises(error, match=match):
        call()
