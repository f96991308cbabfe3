"""The fused ``RNN`` operator: MXNet 1.9.1 parity (golden fixtures from tools/gen_golden_rnn.py),
float64 numerical gradients for every mode x layers x direction, the packed layout shared with
``mx.init.FusedRNN``, sequence lengths, projection, state clipping, dropout, grad_req and errors.
"""

from __future__ import annotations

import json
import os
import zlib

import numpy as np
import pytest
from gradcheck import check_gradient, run_op
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.initializer import fused_rnn_layout
from mxlite.operator import registry
from mxlite.operator.nn.rnn import GATES, param_layout, param_size

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden")
with open(os.path.join(GOLDEN, "rnn.json")) as f:
    META = json.load(f)
ARRAYS = np.load(os.path.join(GOLDEN, "rnn.npz"))
MODES = tuple(GATES)
OP = registry.get("RNN")


def _id(c):
    return c["id"]


def _inputs(mode, layers, bi, T=3, N=2, I=3, H=3, proj=None, seed=0, scale=0.5):
    """Random float64 inputs in the operator's argument order."""
    rng = np.random.default_rng(seed)
    d = 2 if bi else 1
    r = proj or H
    size = param_size(mode, layers, bi, H, I, proj)
    xs = [rng.uniform(-1, 1, (T, N, I)), rng.uniform(-scale, scale, size),
          rng.uniform(-0.5, 0.5, (layers * d, N, r))]
    if mode == "lstm":
        xs.append(rng.uniform(-0.5, 0.5, (layers * d, N, H)))
    return xs


# ---------------------------------------------------------------------------- MXNet parity
@pytest.mark.parametrize("case", META["cases"], ids=_id)
def test_executor_matches_mxnet(case):
    """simple_bind from the data shape alone, forward(is_train) and backward: outputs, states
    and the gradients of data, parameters and initial states as MXNet 1.9.1 computes them."""
    cid, params = case["id"], case["params"]
    names = case["inputs"]
    sym = mx.sym.RNN(**{k: mx.sym.var(k) for k in names}, name="rnn", **params)
    exe = sym.simple_bind(mx.cpu(), data=ARRAYS[f"{cid}/in/data"].shape)
    assert sym.list_outputs()[:1] == ["rnn_output"]
    for k in names:
        assert exe.arg_dict[k].shape == ARRAYS[f"{cid}/in/{k}"].shape, k
        exe.arg_dict[k][:] = ARRAYS[f"{cid}/in/{k}"]
    outs = exe.forward(is_train=True)
    assert len(outs) == case["num_outputs"]
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), ARRAYS[f"{cid}/out/{i}"], rtol=1e-5, atol=1e-6)
    exe.backward([mx.nd.array(ARRAYS[f"{cid}/head/{i}"]) for i in range(len(outs))])
    for k in names:
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), ARRAYS[f"{cid}/grad/{k}"],
                                   rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.parametrize("case", [c for c in META["cases"] if "_l2_bi_" in c["id"]], ids=_id)
def test_autograd_matches_mxnet(case):
    """The same numbers through mx.nd.RNN under autograd."""
    cid, params = case["id"], case["params"]
    arrs = {k: mx.nd.array(ARRAYS[f"{cid}/in/{k}"]) for k in case["inputs"]}
    for a in arrs.values():
        a.attach_grad()
    with mx.autograd.record():
        outs = mx.nd.RNN(**arrs, **params)
        outs = outs if isinstance(outs, list) else [outs]
        loss = sum((o * mx.nd.array(ARRAYS[f"{cid}/head/{i}"])).sum()
                   for i, o in enumerate(outs))
    loss.backward()
    np.testing.assert_allclose(outs[0].asnumpy(), ARRAYS[f"{cid}/out/0"], rtol=1e-5, atol=1e-6)
    for k, a in arrs.items():
        np.testing.assert_allclose(a.grad.asnumpy(), ARRAYS[f"{cid}/grad/{k}"], rtol=1e-5,
                                   atol=1e-6, err_msg=k)


@pytest.mark.parametrize("case", META["forward_only"], ids=_id)
def test_projection_forward_matches_mxnet(case):
    """LSTM with projection_size (MXNet 1.9.1's CPU operator only has its forward)."""
    cid = case["id"]
    outs = mx.nd.RNN(**{k: mx.nd.array(ARRAYS[f"{cid}/in/{k}"]) for k in case["inputs"]},
                     **case["params"])
    assert len(outs) == case["num_outputs"]
    for i, o in enumerate(outs):
        np.testing.assert_allclose(o.asnumpy(), ARRAYS[f"{cid}/out/{i}"], rtol=1e-5, atol=1e-6)


class _NameConstant(mx.init.Initializer):
    """The initializer of tools/gen_golden_rnn.py: a constant per unpacked name."""

    def _value(self, name):
        return (zlib.crc32(str(name).encode()) % 1000) / 1000.0

    def _init_weight(self, name, arr):
        arr[:] = self._value(name)

    _init_bias = _init_weight
    _init_default = _init_weight


@pytest.mark.parametrize("lay", META["layouts"], ids=_id)
def test_fused_rnn_initializer_writes_mxnet_layout(lay):
    """mx.init.FusedRNN fills the packed vector name by name exactly as MXNet 1.9.1 does."""
    init = mx.init.FusedRNN(_NameConstant(), num_hidden=META["H"],
                            num_layers=lay["num_layers"], mode=lay["mode"],
                            bidirectional=lay["bidirectional"], forget_bias=0.25)
    arr = mx.nd.zeros(lay["size"])
    init._init_weight(mx.init.InitDesc("rnn_parameters"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), ARRAYS[lay["id"]])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_operator_layout_agrees_with_initializer(mode, layers, bi):
    """Every weight / bias slice the operator reads is the one FusedRNN names for it."""
    H, I = 5, 7
    slots, size = param_layout(mode, layers, bi, H, I)
    num_input, named = fused_rnn_layout(size, H, layers, mode, bi)
    assert num_input == I
    spans = {name: (start, stop) for name, start, stop, _ in named}
    g = GATES[mode]
    sfx = {"lstm": "_i", "gru": "_r", "rnn_relu": "", "rnn_tanh": ""}[mode]
    last = {"lstm": "_o", "gru": "_o", "rnn_relu": "", "rnn_tanh": ""}[mode]
    for s in slots:
        pre = f"{'lr'[s.direction]}{s.layer}"
        for kind, spec in (("i2h", s.wx), ("h2h", s.wh)):
            start, shape = spec
            assert spans[f"{pre}_{kind}{sfx}_weight"][0] == start
            assert spans[f"{pre}_{kind}{last}_weight"][1] == start + int(np.prod(shape))
            assert shape[0] == g * H
        for kind, spec in (("i2h", s.bx), ("h2h", s.bh)):
            assert spans[f"{pre}_{kind}{sfx}_bias"][0] == spec[0]


# ------------------------------------------------------------------- numerical gradients
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_numerical_gradient(mode, layers, bi):
    params = dict(state_size=3, num_layers=layers, bidirectional=bi, mode=mode,
                  state_outputs=True)
    check_gradient("RNN", params, _inputs(mode, layers, bi), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_numerical_gradient_without_state_outputs(mode):
    params = dict(state_size=3, num_layers=2, bidirectional=True, mode=mode)
    check_gradient("RNN", params, _inputs(mode, 2, True, seed=3), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_numerical_gradient_projection(bi):
    params = dict(state_size=4, num_layers=2, bidirectional=bi, mode="lstm",
                  projection_size=2, state_outputs=True)
    check_gradient("RNN", params, _inputs("lstm", 2, bi, H=4, proj=2), rtol=1e-5, atol=1e-8)


def test_numerical_gradient_state_clipping():
    params = dict(state_size=3, num_layers=2, bidirectional=True, mode="lstm",
                  state_outputs=True, lstm_state_clip_min=-0.3, lstm_state_clip_max=0.3)
    xs = _inputs("lstm", 2, True, scale=1.0, seed=5)
    _, _, outs, saved, _ = run_op("RNN", params, xs)
    cmask = np.concatenate([d.cmask.ravel() for d in saved[2]])
    assert 0 < cmask.sum() < cmask.size  # some cell states clipped, some not
    assert np.abs(outs[2]).max() <= 0.3 + 1e-12
    check_gradient("RNN", params, xs, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("clip_nan", [False, True])
def test_state_clip_nan(clip_nan):
    """A NaN cell state passes on, or with lstm_state_clip_nan becomes lstm_state_clip_min."""
    xs = _inputs("lstm", 1, False, T=1)  # one step: the NaN reaches no other unit
    xs[3][0, 0, 1] = np.nan
    params = dict(state_size=3, num_layers=1, mode="lstm", state_outputs=True,
                  lstm_state_clip_min=-0.25, lstm_state_clip_max=0.5,
                  lstm_state_clip_nan=clip_nan)
    _, _, outs, _, _ = run_op("RNN", params, xs, is_train=False)
    cy = outs[2][0, 0, 1]
    assert (cy == -0.25) if clip_nan else np.isnan(cy)
    assert np.isfinite(outs[2][0, 1]).all() and np.isfinite(np.delete(outs[2][0, 0], 1)).all()


def test_numerical_gradient_projection_with_sequence_length():
    params = dict(state_size=4, num_layers=2, bidirectional=True, mode="lstm",
                  projection_size=2, state_outputs=True, use_sequence_length=True)
    xs = [*_inputs("lstm", 2, True, T=3, N=3, H=4, proj=2, seed=11), np.array([3.0, 1.0, 2.0])]
    check_gradient("RNN", params, xs, wrt=[0, 1, 2, 3], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_numerical_gradient_sequence_length(mode, bi):
    params = dict(state_size=3, num_layers=2, bidirectional=bi, mode=mode,
                  state_outputs=True, use_sequence_length=True)
    xs = [*_inputs(mode, 2, bi, T=4, N=3), np.array([4.0, 1.0, 2.0])]
    check_gradient("RNN", params, xs, wrt=list(range(len(xs) - 1)), rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------ semantics
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bi", [False, True], ids=["uni", "bi"])
def test_sequence_length_equals_truncated_runs(mode, bi):
    """Each sample with its own length gives what running it alone on its valid steps gives;
    steps beyond are zero."""
    T, lens = 5, [5, 2, 3]
    xs = _inputs(mode, 2, bi, T=T, N=3, seed=7)
    base = dict(state_size=3, num_layers=2, bidirectional=bi, mode=mode, state_outputs=True)
    _, _, outs, _, _ = run_op("RNN", {**base, "use_sequence_length": True},
                              [*xs, np.array(lens, dtype=np.float64)], is_train=False)
    for n, ln in enumerate(lens):
        one = [xs[0][:ln, n:n + 1], xs[1]] + [s[:, n:n + 1] for s in xs[2:]]
        _, _, ref, _, _ = run_op("RNN", base, one, is_train=False)
        np.testing.assert_allclose(outs[0][:ln, n:n + 1], ref[0], rtol=1e-12, atol=1e-12)
        assert np.all(outs[0][ln:, n] == 0)
        for k in range(1, len(ref)):
            np.testing.assert_allclose(outs[k][:, n:n + 1], ref[k], rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(mode=st.sampled_from(MODES), T=st.integers(1, 4), N=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_backward_direction_is_forward_on_reversed_time(mode, T, N, seed):
    """The second half of a bidirectional layer's output is the forward half of a
    unidirectional layer run on the time-reversed sequence with the backward weights."""
    H, I = 3, 2
    xs = _inputs(mode, 1, True, T=T, N=N, I=I, H=H, seed=seed)
    slots, _ = param_layout(mode, 1, True, H, I)
    uni_slots, uni_size = param_layout(mode, 1, False, H, I)
    w = xs[1]
    s, u = slots[1], uni_slots[0]
    wu = np.empty(uni_size)
    for a, b in ((s.wx, u.wx), (s.wh, u.wh), (s.bx, u.bx), (s.bh, u.bh)):
        n = int(np.prod(a[1]))
        wu[b[0]:b[0] + n] = w[a[0]:a[0] + n]
    p = dict(state_size=H, num_layers=1, mode=mode, state_outputs=True)
    _, _, bi_out, _, _ = run_op("RNN", {**p, "bidirectional": True}, xs, is_train=False)
    uni_in = [xs[0][::-1].copy(), wu] + [s_[1:2] for s_ in xs[2:]]
    _, _, uni_out, _, _ = run_op("RNN", p, uni_in, is_train=False)
    np.testing.assert_allclose(bi_out[0][:, :, H:], uni_out[0][::-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bi_out[1][1:2], uni_out[1], rtol=1e-12, atol=1e-12)


def test_lstm_cell_by_hand():
    """One LSTM step written out: gate order i, f, g, o; both biases added."""
    rng = np.random.default_rng(1)
    I, H = 2, 3
    x, h0, c0 = rng.standard_normal((1, 1, I)), rng.standard_normal((1, 1, H)), \
        rng.standard_normal((1, 1, H))
    w = rng.standard_normal(param_size("lstm", 1, False, H, I))
    (s,), _ = param_layout("lstm", 1, False, H, I)
    view = {k: w[a[0]:a[0] + int(np.prod(a[1]))].reshape(a[1])
            for k, a in zip(("wx", "wh", "bx", "bh"), (s.wx, s.wh, s.bx, s.bh), strict=True)}
    pre = view["wx"] @ x[0, 0] + view["bx"] + view["wh"] @ h0[0, 0] + view["bh"]
    sig = 1 / (1 + np.exp(-pre))
    i, f, g, o = sig[:H], sig[H:2 * H], np.tanh(pre[2 * H:3 * H]), sig[3 * H:]
    c = f * c0[0, 0] + i * g
    h = o * np.tanh(c)
    _, _, outs, _, _ = run_op("RNN", dict(state_size=H, num_layers=1, mode="lstm",
                                          state_outputs=True), [x, w, h0, c0], is_train=False)
    np.testing.assert_allclose(outs[0][0, 0], h, rtol=1e-12)
    np.testing.assert_allclose(outs[2][0, 0], c, rtol=1e-12)


def test_gru_cell_by_hand():
    """One GRU step: r and z from both biases, n = tanh(x_n + r * (W_hn h + b_hn)),
    h' = (1 - z) n + z h."""
    rng = np.random.default_rng(2)
    I, H = 2, 3
    x, h0 = rng.standard_normal((1, 1, I)), rng.standard_normal((1, 1, H))
    w = rng.standard_normal(param_size("gru", 1, False, H, I))
    (s,), _ = param_layout("gru", 1, False, H, I)
    view = {k: w[a[0]:a[0] + int(np.prod(a[1]))].reshape(a[1])
            for k, a in zip(("wx", "wh", "bx", "bh"), (s.wx, s.wh, s.bx, s.bh), strict=True)}
    gx = view["wx"] @ x[0, 0] + view["bx"]
    gh = view["wh"] @ h0[0, 0] + view["bh"]
    r = 1 / (1 + np.exp(-(gx[:H] + gh[:H])))
    z = 1 / (1 + np.exp(-(gx[H:2 * H] + gh[H:2 * H])))
    n = np.tanh(gx[2 * H:] + r * gh[2 * H:])
    _, _, outs, _, _ = run_op("RNN", dict(state_size=H, num_layers=1, mode="gru"),
                              [x, w, h0], is_train=False)
    np.testing.assert_allclose(outs[0][0, 0], (1 - z) * n + z * h0[0, 0], rtol=1e-12)


def test_projection_shapes():
    sym = mx.sym.RNN(mx.sym.var("data"), state_size=6, num_layers=2, bidirectional=True,
                     mode="lstm", projection_size=3, state_outputs=True, name="rnn")
    args, outs, _ = sym.infer_shape(data=(5, 2, 4))
    # as MXNet 1.9.1 infers: (4+3+2)*48 + (6+3+2)*48 + 3*6 per layer and direction
    assert args == [(5, 2, 4), (1032,), (4, 2, 3), (4, 2, 6)]
    assert outs == [(5, 2, 6), (4, 2, 3), (4, 2, 6)]


# ------------------------------------------------------------------------------- dropout
def test_dropout_between_layers_only_in_training():
    mode, p = "gru", 0.5
    xs = [x.astype(np.float32) for x in _inputs(mode, 3, False, T=6, N=4, H=8, seed=4)]
    base = dict(state_size=8, num_layers=3, mode=mode)
    _, _, ref, _, _ = run_op("RNN", base, xs, is_train=False)
    _, _, inf, _, _ = run_op("RNN", {**base, "p": p}, xs, is_train=False)
    np.testing.assert_array_equal(inf[0], ref[0])  # no dropout at inference
    _, _, tr1, saved, _ = run_op("RNN", {**base, "p": p}, xs, is_train=True, seed=3)
    _, _, tr2, _, _ = run_op("RNN", {**base, "p": p}, xs, is_train=True, seed=3)
    np.testing.assert_array_equal(tr1[0], tr2[0])  # mx.random.seed makes it reproducible
    assert not np.allclose(tr1[0], ref[0])
    masks = saved[1]
    assert masks[-1] is None and all(m is not None for m in masks[:-1])
    kept = np.concatenate([m.ravel() for m in masks[:-1]])
    assert set(np.unique(kept)) == {0.0, 2.0}
    assert 0.35 < np.mean(kept > 0) < 0.65
    # one layer: nothing to drop
    one = [xs[0], xs[1][:param_size(mode, 1, False, 8, 3)], xs[2][:1]]
    _, _, a, _, _ = run_op("RNN", dict(state_size=8, num_layers=1, mode=mode, p=p), one)
    _, _, b, _, _ = run_op("RNN", dict(state_size=8, num_layers=1, mode=mode), one)
    np.testing.assert_array_equal(a[0], b[0])


def test_dropout_gradient_uses_the_mask():
    params = dict(state_size=3, num_layers=2, mode="lstm", p=0.4, state_outputs=True)
    check_gradient("RNN", params, _inputs("lstm", 2, False, seed=9), rtol=1e-5, atol=1e-8)


# ------------------------------------------------------------------------------ grad_req
@pytest.mark.parametrize("req", ["write", "add", "null"])
def test_grad_req(req):
    case = next(c for c in META["cases"] if c["id"] == "lstm_l2_bi_random")
    cid, names = case["id"], case["inputs"]
    sym = mx.sym.RNN(**{k: mx.sym.var(k) for k in names}, **case["params"])
    reqs = {k: req for k in names}
    reqs["data"] = "null"
    exe = sym.simple_bind(mx.cpu(), data=ARRAYS[f"{cid}/in/data"].shape, grad_req=reqs)
    for k in names:
        exe.arg_dict[k][:] = ARRAYS[f"{cid}/in/{k}"]
        if exe.grad_dict.get(k) is not None:
            exe.grad_dict[k][:] = 1.0
    heads = [mx.nd.array(ARRAYS[f"{cid}/head/{i}"]) for i in range(case["num_outputs"])]
    for _ in range(2):
        exe.forward(is_train=True)
        exe.backward(heads)
    for k in names[1:]:
        want = ARRAYS[f"{cid}/grad/{k}"]
        got = exe.grad_dict.get(k)
        if req == "null":
            assert got is None or np.all(got.asnumpy() == 1.0)
        elif req == "write":
            np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_allclose(got.asnumpy(), 1.0 + 2 * want, rtol=1e-5, atol=1e-5)


# -------------------------------------------------------------------------------- types
def test_infer_type_and_float64():
    sym = mx.sym.RNN(mx.sym.var("data"), state_size=3, num_layers=1, mode="gru",
                     use_sequence_length=True, name="rnn")
    args, outs, _ = sym.infer_type(data="float64", rnn_sequence_length="int32")
    assert args == [np.float64, np.float64, np.float64, np.int32]
    assert outs == [np.float64]
    xs = _inputs("gru", 1, False)
    out = mx.nd.RNN(*[mx.nd.array(x, dtype="float64") for x in xs], state_size=3,
                    num_layers=1, mode="gru")
    assert out.dtype == np.float64


def test_float16_computes_in_float32():
    xs = _inputs("lstm", 1, False)
    ref = mx.nd.RNN(*[mx.nd.array(x, dtype="float32") for x in xs], state_size=3,
                    num_layers=1, mode="lstm")
    half = mx.nd.RNN(*[mx.nd.array(x, dtype="float16") for x in xs], state_size=3,
                     num_layers=1, mode="lstm")
    assert half.dtype == np.float16
    np.testing.assert_allclose(half.asnumpy(), ref.asnumpy(), atol=3e-3)


def test_backward_after_inference_forward():
    """A backward after a forward that kept nothing (autograd with train_mode=False)."""
    xs = [mx.nd.array(x, dtype="float64") for x in _inputs("rnn_tanh", 2, True)]
    for x in xs:
        x.attach_grad()
    params = dict(state_size=3, num_layers=2, bidirectional=True, mode="rnn_tanh")
    with mx.autograd.record(train_mode=False):
        y = mx.nd.RNN(*xs, **params)
    y.backward()
    g_inf = [x.grad.asnumpy().copy() for x in xs]
    with mx.autograd.record():
        y = mx.nd.RNN(*xs, **params)
    y.backward()
    for a, x in zip(g_inf, xs, strict=True):
        np.testing.assert_allclose(a, x.grad.asnumpy(), rtol=1e-12)


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("params, match", [
    (dict(mode="lsmt"), "choose one of"),
    (dict(p=1.0), r"p must be in \[0, 1\), got 1.0"),
    (dict(p=-0.1), r"p must be in \[0, 1\)"),
    (dict(state_size=0), "state_size must be positive, got 0"),
    (dict(num_layers=0), "num_layers must be positive, got 0"),
    (dict(mode="gru", projection_size=2), "projection_size=2 is only supported for mode='lstm'"),
    (dict(projection_size=5), r"projection_size must be in \[1, state_size=4\], got 5"),
    (dict(lstm_state_clip_min=-1.0), "must be given together"),
    (dict(lstm_state_clip_min=1.0, lstm_state_clip_max=-1.0), "must be >= lstm_state_clip_min"),
    (dict(mode="gru", lstm_state_clip_min=-1.0, lstm_state_clip_max=1.0), "only supported for"),
], ids=["mode", "p_one", "p_negative", "state_size", "num_layers", "proj_gru", "proj_big",
        "clip_one_side", "clip_order", "clip_gru"])
def test_bad_params(params, match):
    full = {"state_size": 4, "num_layers": 1, "mode": "lstm", **params}
    with pytest.raises(MXNetError, match=match):
        sym = mx.sym.RNN(mx.sym.var("data"), **full)
        sym.infer_shape(data=(3, 2, 5))


@pytest.mark.parametrize("shapes, match", [
    ({"data": (3, 5)}, r"data must be 3-D .* got shape \(3, 5\)"),
    ({"data": (3, 2, 5), "rnn_parameters": (10,)}, r"shape of parameters is \(10,\)"),
    ({"data": (3, 2, 5), "rnn_state": (1, 3, 4)}, r"shape of state is \(1, 3, 4\)"),
    ({"data": (3, 2, 5), "rnn_state_cell": (2, 2, 4)}, r"shape of state_cell is \(2, 2, 4\)"),
], ids=["data_2d", "params_size", "state", "state_cell"])
def test_bad_shapes(shapes, match):
    sym = mx.sym.RNN(mx.sym.var("data"), state_size=4, num_layers=1, mode="lstm", name="rnn")
    with pytest.raises(MXNetError, match=match):
        sym.infer_shape(**shapes)


def test_bad_sequence_length():
    xs = _inputs("gru", 1, False, T=3, N=2)
    params = dict(state_size=3, num_layers=1, mode="gru", use_sequence_length=True)
    for bad in ([0, 2], [4, 1], [1.5, 2]):
        with pytest.raises(MXNetError, match=r"sequence_length must hold integers in \[1, 3\]"):
            run_op("RNN", params, [*xs, np.array(bad, dtype=np.float64)])


def test_lstm_needs_state_cell():
    xs = _inputs("gru", 1, False)
    with pytest.raises(MXNetError, match="state_cell"):
        mx.nd.RNN(*[mx.nd.array(x) for x in xs[:3]], state_size=3, num_layers=1, mode="lstm")


# --------------------------------------------------------------------------- the kernels
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_vectorized_exp(dtype):
    """The gates' exp: float32 through the vectorized polynomial, float64 through math.exp."""
    from mxlite.operator.nn._rnn_kernels import exp_into

    x = np.concatenate([np.linspace(-87, 88, 20001), [0.0, -0.0, 1e-30, -1e-30]]).astype(dtype)
    out = np.empty_like(x)
    exp_into(x, out, np.empty(x.size, np.int32))
    ref = np.exp(x.astype(np.float64))
    assert np.max(np.abs(out - ref) / ref) < (1.2e-7 if dtype == "float32" else 1e-15)
    odd = np.array([np.nan, np.inf, -np.inf, 1e4, -1e4], dtype)
    got = np.empty_like(odd)
    exp_into(odd, got, np.empty(odd.size, np.int32))
    assert np.isnan(got[0])
    assert got[1] > 1e38 and got[3] > 1e38  # sigmoid / tanh of these come out as 0 / +-1
    assert 0 <= got[2] < 1e-37 and 0 <= got[4] < 1e-37
