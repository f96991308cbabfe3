"""Begin states ``zeros((0, H))`` get their batch size from the graph: FullyConnected and
Convolution infer an unknown (0) data dim backwards from their output, and the executor
allocates creation operators with the shape inference settles on (MXNet 1.x does both)."""

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_one_step_lstm_infers_every_weight_and_runs_from_zero_states():
    """With one step the h2h weights are only reachable through the zero begin state."""
    cell = mx.rnn.LSTMCell(3, prefix="s_")
    out, states = cell.unroll(1, mx.sym.Variable("data"), merge_outputs=True)
    group = mx.sym.Group([out, states[1]])
    arg_shapes, out_shapes, _ = group.infer_shape(data=(2, 1, 4))
    assert dict(zip(group.list_arguments(), arg_shapes, strict=True)) == {
        "data": (2, 1, 4), "s_i2h_weight": (12, 4), "s_i2h_bias": (12,),
        "s_h2h_weight": (12, 3), "s_h2h_bias": (12,)}
    assert out_shapes == [(2, 1, 3), (2, 3)]
    rng = np.random.RandomState(1)
    vals = {n: rng.normal(0, 0.5, s) for n, s in zip(group.list_arguments(), arg_shapes,
                                                       strict=True)}
    exe = group.simple_bind(mx.cpu(), data=(2, 1, 4))
    for name, value in vals.items():
        exe.arg_dict[name][:] = value
    h, c = (o.asnumpy() for o in exe.forward())
    gates = vals["data"][:, 0] @ vals["s_i2h_weight"].T + vals["s_i2h_bias"] + vals["s_h2h_bias"]
    i, f, g, o = np.split(gates, 4, axis=1)
    c_want = _sigmoid(i) * np.tanh(g)  # the forget gate multiplies the zero begin cell state
    np.testing.assert_allclose(c, c_want, rtol=1e-5)
    np.testing.assert_allclose(h[:, 0], _sigmoid(o) * np.tanh(c_want), rtol=1e-5)
    del f


def test_fully_connected_fills_an_unknown_batch_from_its_output():
    state = mx.sym.zeros((0, 3), name="st")
    fc = mx.sym.FullyConnected(state, num_hidden=5, name="fc")
    total = fc + mx.sym.Variable("x")
    args, _, _ = total.infer_shape(x=(7, 5))
    assert dict(zip(total.list_arguments(), args, strict=True)) == {
        "fc_weight": (5, 3), "fc_bias": (5,), "x": (7, 5)}
    internals = total.get_internals()
    _, shapes, _ = internals.infer_shape(x=(7, 5))
    assert dict(zip(internals.list_outputs(), shapes, strict=True))["st_output"] == (7, 3)
    # flatten=False: every leading dim comes from the output
    fc3 = mx.sym.FullyConnected(mx.sym.zeros((0, 0, 3)), num_hidden=2, flatten=False, name="f3")
    _, shapes, _ = (fc3 + mx.sym.Variable("y")).get_internals().infer_shape(y=(4, 6, 2))
    assert (4, 6, 3) in shapes


def test_convolution_fills_an_unknown_batch_and_conv_lstm_runs():
    cell = mx.rnn.ConvLSTMCell(input_shape=(2, 3, 5, 5), num_hidden=4, prefix="cl_")
    out, states = cell.unroll(2, mx.sym.Variable("data"), layout="NTC", merge_outputs=True)
    exe = mx.sym.Group([out, states[1]]).simple_bind(mx.cpu(), data=(2, 2, 3, 5, 5))
    assert exe.arg_dict["cl_h2h_weight"].shape == (16, 4, 3, 3)
    for arr in exe.arg_arrays:
        arr[:] = np.random.RandomState(0).normal(0, 0.3, arr.shape)
    h, c = exe.forward()
    assert h.shape == (2, 2, 4, 5, 5) and c.shape == (2, 4, 5, 5)
    assert np.all(np.isfinite(h.asnumpy())) and np.abs(c.asnumpy()).sum() > 0


def test_a_creation_operator_whose_shape_stays_unknown_is_an_error_at_bind():
    lone = mx.sym.zeros((0, 3), name="lonely")
    with pytest.raises(MXNetError, match=r"lonely \(_zeros\): cannot infer the unknown \(0\)"):
        lone.bind(mx.cpu(), {})


def test_zero_begin_states_take_the_batch_of_each_bound_shape():
    cell = mx.rnn.GRUCell(2, prefix="b_")
    out, _ = cell.unroll(3, mx.sym.Variable("data"), merge_outputs=True)
    for batch in (1, 5):
        exe = out.simple_bind(mx.cpu(), data=(batch, 3, 4))
        assert exe.forward()[0].shape == (batch, 3, 2)
