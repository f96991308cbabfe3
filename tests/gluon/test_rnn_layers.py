"""gluon.rnn.RNN / LSTM / GRU against MXNet 1.9.1 (tools/gen_golden_rnn.py): parameter names,
repr, outputs, new states and gradients under autograd (imperative and hybridized), and the
parameter files both ways."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxlite as mx
from mxlite import gluon

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
with open(os.path.join(GOLDEN, "rnn.json")) as f:
    META = json.load(f)
ARRAYS = np.load(os.path.join(GOLDEN, "rnn.npz"))
CASES = META["gluon"]
H = META["H"]


def _layer(case):
    return getattr(gluon.rnn, case["class"])(H, layout=case["layout"], prefix="rnn_",
                                             **case["kwargs"])


def _run(layer, case):
    cid = case["id"]
    x = mx.nd.array(ARRAYS[f"{cid}/x"])
    states = [mx.nd.array(ARRAYS[f"{cid}/state/{i}"]) for i in range(case["num_states"])]
    for a in [x, *states]:
        a.attach_grad()
    with mx.autograd.record():
        out, new = layer(x, states)
        heads = [ARRAYS[f"{cid}/head/{i}"] for i in range(len(new) + 1)]
        loss = sum((o * mx.nd.array(h)).sum() for o, h in zip([out, *new], heads, strict=True))
    loss.backward()
    return x, states, out, new


def _check(case, layer, x, states, out, new, grads=True):
    cid = case["id"]
    tol = {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(out.asnumpy(), ARRAYS[f"{cid}/out"], **tol)
    for i, st in enumerate(new):
        np.testing.assert_allclose(st.asnumpy(), ARRAYS[f"{cid}/new_state/{i}"], **tol)
    if not grads:
        return
    np.testing.assert_allclose(x.grad.asnumpy(), ARRAYS[f"{cid}/grad_x"], **tol)
    for i, st in enumerate(states):
        np.testing.assert_allclose(st.grad.asnumpy(), ARRAYS[f"{cid}/grad_state/{i}"], **tol)
    for name, p in layer.collect_params().items():
        np.testing.assert_allclose(p.grad().asnumpy(), ARRAYS[f"{cid}/grad_param/{name}"],
                                   err_msg=name, **tol)


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_layer_matches_mxnet(case, hybridize):
    layer = _layer(case)
    assert list(layer.collect_params().keys()) == case["params"]
    layer.initialize()
    if hybridize:
        layer.hybridize()
    x0 = mx.nd.array(ARRAYS[f"{case['id']}/x"])
    layer(x0)  # deferred initialization infers the input width from the data
    assert repr(layer) == case["repr"]
    for name, p in layer.collect_params().items():
        p.set_data(mx.nd.array(ARRAYS[f"{case['id']}/param/{name}"]))
    _check(case, layer, *_run(layer, case))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_parameter_files_both_ways(case, tmp_path):
    """MXNet 1.9.1's file loads (its `_unfused.*` names); ours has the same names and
    values."""
    layer = _layer(case)
    layer.load_parameters(os.path.join(GOLDEN, f"rnn_{case['id']}.params"))
    _check(case, layer, *_run(layer, case))
    path = str(tmp_path / "mine.params")
    layer.save_parameters(path)
    mine = mx.nd.load(path)
    theirs = mx.nd.load(os.path.join(GOLDEN, f"rnn_{case['id']}.params"))
    assert sorted(mine) == case["file_names"] == sorted(theirs)
    for k in theirs:
        np.testing.assert_array_equal(mine[k].asnumpy(), theirs[k].asnumpy())


def test_without_states_returns_output_only():
    layer = gluon.rnn.GRU(3, num_layers=2, bidirectional=True)
    layer.initialize()
    layer.hybridize()
    x = mx.nd.ones((4, 2, 5))
    with_states = layer(x, layer.begin_state(2))
    alone = layer(x)
    assert isinstance(alone, mx.nd.NDArray)
    np.testing.assert_array_equal(alone.asnumpy(), with_states[0].asnumpy())
    assert [s.shape for s in with_states[1]] == [(4, 2, 3)]


def test_layouts_agree_and_symbolic_graph():
    mx.random.seed(1)
    tnc = gluon.rnn.LSTM(3, input_size=2, prefix="a_")
    ntc = gluon.rnn.LSTM(3, input_size=2, layout="NTC", prefix="a_", params=tnc.params)
    tnc.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(np.random.default_rng(0).normal(size=(5, 2, 2)))
    np.testing.assert_allclose(ntc(x.swapaxes(0, 1)).swapaxes(0, 1).asnumpy(),
                               tnc(x).asnumpy(), rtol=1e-6)
    sym = tnc(mx.sym.var("data"), [mx.sym.var("h"), mx.sym.var("c")])[0]
    assert "RNN" in sym.tojson() and "_rnn_param_concat" in sym.tojson()
    _, outs, _ = sym.infer_shape(data=(5, 2, 2), h=(1, 2, 3), c=(1, 2, 3))
    assert outs == [(5, 2, 3)]


def test_projection_and_state_info():
    layer = gluon.rnn.LSTM(6, num_layers=2, projection_size=3, bidirectional=True)
    names = [k[len(layer.prefix):] for k in layer.collect_params()]
    assert names[:5] == ["l0_i2h_weight", "l0_h2h_weight", "l0_i2h_bias", "l0_h2h_bias",
                         "l0_h2r_weight"]
    assert [i["shape"] for i in layer.state_info(7)] == [(4, 7, 3), (4, 7, 6)]
    layer.initialize()
    out, (h, c) = layer(mx.nd.ones((5, 7, 2)), layer.begin_state(7))
    assert out.shape == (5, 7, 6) and h.shape == (4, 7, 3) and c.shape == (4, 7, 6)


@pytest.mark.parametrize("make, match", [
    (lambda: gluon.rnn.LSTM(4, layout="CTN"), "Invalid layout"),
    (lambda: gluon.rnn.RNN(4, activation="sigmoid"), "activation must be 'relu' or 'tanh'"),
    (lambda: gluon.rnn.GRU(0), "hidden_size must be a positive integer, got 0"),
    (lambda: gluon.rnn.GRU(4, dropout=1.0), r"dropout must be in \[0, 1\), got 1.0"),
], ids=["layout", "activation", "hidden_size", "dropout"])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_state_shape():
    layer = gluon.rnn.GRU(4)
    layer.initialize()
    with pytest.raises(ValueError, match=r"Invalid recurrent state shape. Expecting \(1, 2, 4\)"):
        layer(mx.nd.ones((3, 2, 5)), mx.nd.zeros((1, 3, 4)))


@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_deferred_layer_inside_hybridized_container(bi):
    """A hybridized container infers the layer's input width through the graph
    (_rnn_param_concat fills layer 0's i2h weights from the packed size) and makes zero states
    of the right batch size without knowing it."""
    net = gluon.nn.HybridSequential()
    net.add(gluon.rnn.LSTM(5, num_layers=2, bidirectional=bi))
    net.add(gluon.nn.Dense(3))
    net.initialize(mx.init.Uniform(0.3))
    x = mx.nd.array(np.random.default_rng(0).normal(size=(4, 2, 6)))
    imperative = net(x).asnumpy()
    net.hybridize()
    with mx.autograd.record():
        out = net(x)
    out.backward()
    np.testing.assert_allclose(out.asnumpy(), imperative, rtol=1e-6)
    assert net[0].l0_i2h_weight.shape == (20, 6)
    assert net[0].l0_i2h_weight.grad().abs().sum().asscalar() > 0


def test_rnn_param_concat_infers_backwards():
    shapes = [(8, 0), (8, 2), (8, 0), (8, 2)] + [(8,)] * 4  # 1-layer bidirectional LSTM, H=2
    ws = [mx.sym.var(f"w{i}", shape=s) for i, s in enumerate(shapes)]
    packed = mx.sym._internal._rnn_param_concat(*ws, dim=0)
    rnn = mx.sym.RNN(mx.sym.var("data"), packed, mx.sym.var("h"), state_size=2, num_layers=1,
                     bidirectional=True, mode="lstm")
    args, _, _ = rnn.infer_shape(data=(3, 1, 5))
    names = rnn.list_arguments()
    assert args[names.index("w0")] == (8, 5) and args[names.index("w2")] == (8, 5)
