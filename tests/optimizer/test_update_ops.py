"""``mx.nd`` update operators reproduce MXNet 1.9.1 (tests/golden/optimizer_ops.json)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

with open(os.path.join(os.path.dirname(__file__), "..", "golden", "optimizer_ops.json")) as f:
    GOLD = json.load(f)

W0 = np.array(GOLD["w0"], np.float32)
G0 = np.array(GOLD["g0"], np.float32)
S = [np.array(x, np.float32) for x in GOLD["s"]]
A = mx.nd.array
F16 = "float16"


def _sgd():
    w = A(W0)
    o = mx.nd.sgd_update(w, A(G0), lr=0.1, wd=0.01, rescale_grad=0.5, clip_gradient=0.7)
    return [o, w]


def _sgd_mom():
    w, m = A(W0), A(S[0])
    mx.nd.sgd_mom_update(w, A(G0), m, lr=0.1, momentum=0.9, wd=0.01, out=w)
    return [w, m]


def _nag_out():
    w, m = A(W0), A(S[0])
    o = mx.nd.nag_mom_update(w, A(G0), m, lr=0.1, momentum=0.9, wd=0.1)
    return [o, m, w]


def _nag_inplace():
    w, m = A(W0), A(S[0])
    mx.nd.nag_mom_update(w, A(G0), m, lr=0.1, momentum=0.9, wd=0.1, out=w)
    return [w, m]


def _adam():
    w, m, v = A(W0), A(S[0]), A(S[1])
    mx.nd.adam_update(w, A(G0), m, v, lr=0.01, wd=0.01, clip_gradient=1.0, out=w)
    return [w, m, v]


def _adamw():
    w, m, v = A(W0), A(S[0]), A(S[1])
    mx.nd.adamw_update(w, A(G0), m, v, A([0.5]), lr=0.01, eta=0.7, wd=0.01, out=w)
    return [w, m, v]


def _rmsprop():
    w, n = A(W0), A(S[0])
    mx.nd.rmsprop_update(w, A(G0), n, lr=0.01, clip_weights=0.5, out=w)
    return [w, n]


def _rmspropalex():
    w, n, g, d = A(W0), A(S[0] + 1), A(S[1] * np.float32(0.1)), A(S[2])
    mx.nd.rmspropalex_update(w, A(G0), n, g, d, lr=0.01, out=w)
    return [w, n, g, d]


def _ftrl():
    w, z, n = A(W0), A(S[0]), A(S[1])
    mx.nd.ftrl_update(w, A(G0), z, n, lr=0.1, wd=0.01, out=w)
    return [w, z, n]


def _ftml():
    w, d, v, z = A(W0), A(S[0]), A(S[1]), A(S[2])
    mx.nd.ftml_update(w, A(G0), d, v, z, lr=0.1, t=3, out=w)
    return [w, d, v, z]


def _signsgd():
    w = A(W0)
    mx.nd.signsgd_update(w, A(G0), lr=0.1, wd=0.1, out=w)
    return [w]


def _signum():
    w, m = A(W0), A(S[0])
    mx.nd.signum_update(w, A(G0), m, lr=0.1, momentum=0.9, wd_lh=0.1, out=w)
    return [w, m]


def _lamb():
    w, m, v = A(W0), A(S[0]), A(S[1])
    g = mx.nd.lamb_update_phase1(w, A(G0), m, v, t=2, wd=0.01)
    o = mx.nd.lamb_update_phase2(w, g, A([2.0]), A([3.0]), lr=0.1, upper_bound=1.5)
    return [g, o, m, v]


def _mp_sgd_mom():
    w, w32, m = A(W0, dtype=F16), A(W0), A(S[0])
    mx.nd.mp_sgd_mom_update(w, A(G0, dtype=F16), m, w32, lr=0.1, momentum=0.9, out=w)
    return [w, w32, m]


def _multi_sgd_mom():
    w1, w2, m1, m2 = A(W0), A(W0 * 2), A(S[0]), A(S[1])
    mx.nd.multi_sgd_mom_update(w1, A(G0), m1, w2, A(G0 * np.float32(0.5)), m2, lrs=[0.1, 0.2],
                               wds=[0.0, 0.01], momentum=0.9, num_weights=2, out=[w1, w2])
    return [w1, w2, m1, m2]


def _multi_lars():
    return [mx.nd.multi_lars(A([0.1, 0.2, 0.3]), A([4.0, 0.0, 9.0]), A([1.0, 1.0, 16.0]),
                             A([0.01, 0.0, 0.02]), eta=0.5, eps=0.1, rescale_grad=0.5)]


def _multi_sum_sq():
    return [mx.nd.multi_sum_sq(A(W0), A(G0), num_arrays=2)]


def _group_adagrad():
    """Not an operator: MXNet's contrib GroupAdaGrad optimizer, three steps on a 3x4 weight."""
    opt = mx.optimizer.create("groupadagrad", learning_rate=0.1, rescale_grad=0.5,
                              clip_gradient=0.9)
    upd = mx.optimizer.get_updater(opt)
    w = A(np.concatenate([W0, W0[:5]]).reshape(3, 4))
    for k in range(3):
        upd(0, A((np.concatenate([G0, G0[:5]]) * np.float32(k + 1)).reshape(3, 4)), w)
    return [w, upd.states[0]]


CASES = {
    "group_adagrad": _group_adagrad,
    "sgd": _sgd, "sgd_mom": _sgd_mom, "nag_out": _nag_out, "nag_inplace": _nag_inplace,
    "adam": _adam, "adamw": _adamw, "rmsprop": _rmsprop, "rmspropalex": _rmspropalex,
    "ftrl": _ftrl, "ftml": _ftml, "signsgd": _signsgd, "signum": _signum, "lamb": _lamb,
    "mp_sgd_mom": _mp_sgd_mom, "multi_sgd_mom": _multi_sgd_mom, "multi_lars": _multi_lars,
    "multi_sum_sq": _multi_sum_sq,
}


def test_every_golden_case_has_a_test():
    assert set(CASES) == set(GOLD["results"])


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_op_matches_mxnet(name):
    got = CASES[name]()
    want = GOLD["results"][name]
    assert len(got) == len(want)
    for k, (g, e) in enumerate(zip(got, want, strict=True)):
        g = g.asnumpy().astype(np.float64)
        e = np.array(e)
        rtol = 2e-3 if name == "mp_sgd_mom" and k == 0 else 2e-5
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-6, err_msg=f"{name} output {k}")


def test_out_none_leaves_weight_alone():
    w, g = A(W0), A(G0)
    new = mx.nd.sgd_update(w, g, lr=0.5)
    np.testing.assert_array_equal(w.asnumpy(), W0)
    assert not np.array_equal(new.asnumpy(), W0)


def test_out_other_array_gets_result():
    w, g, o = A(W0), A(G0), mx.nd.zeros(W0.shape)
    r = mx.nd.adam_update(w, g, mx.nd.zeros(7), mx.nd.zeros(7), lr=0.1, out=o)
    assert r is o
    np.testing.assert_array_equal(w.asnumpy(), W0)


def test_adamw_skips_on_nonfinite_rescale():
    w, m, v = A(W0), A(S[0]), A(S[1])
    mx.nd.adamw_update(w, A(G0), m, v, A([np.inf]), lr=0.1, eta=1.0, out=w)
    np.testing.assert_array_equal(w.asnumpy(), W0)
    np.testing.assert_array_equal(m.asnumpy(), S[0])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mx.nd.sgd_update(A(W0), mx.nd.ones((3,)), lr=0.1), "grad shape"),
        (lambda: mx.nd.sgd_mom_update(A(W0), A(G0), mx.nd.ones((7,), dtype="float64"), lr=0.1),
         "mom dtype"),
        (lambda: mx.nd.sgd_update(A(W0), A(G0, dtype="float64"), lr=0.1), "grad dtype"),
        (lambda: mx.nd.multi_sgd_update(A(W0), A(G0), lrs=[0.1, 0.2], wds=[0.0], num_weights=1),
         "lrs has 2 values"),
        (lambda: mx.nd.ftml_update(A(W0), A(G0), A(S[0]), A(S[1]), A(S[2]), lr=0.1, t=0),
         "t must be an int >= 1"),
    ],
    ids=["shape", "state-dtype", "grad-dtype", "multi-lrs", "ftml-t"],
)
def test_op_errors(call, message):
    with pytest.raises((MXNetError, ValueError), match=message):
        call()


def test_ops_are_on_mx_nd():
    for name in ["sgd_update", "sgd_mom_update", "mp_sgd_update", "mp_sgd_mom_update",
                 "nag_mom_update", "mp_nag_mom_update", "adam_update", "adamw_update",
                 "rmsprop_update", "rmspropalex_update", "ftrl_update", "ftml_update",
                 "signsgd_update", "signum_update", "lamb_update_phase1", "lamb_update_phase2",
                 "multi_sgd_update", "multi_sgd_mom_update", "multi_mp_sgd_update",
                 "multi_mp_sgd_mom_update", "multi_lars"]:
        assert callable(getattr(mx.nd, name)), name
