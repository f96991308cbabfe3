"""mx.autograd against MXNet 1.9.1: the expressions of tools/gen_golden_gluon.py (autograd
section) are evaluated with mxlite; values and every input gradient must match."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import mxlite as mx

GOLDEN = pathlib.Path(__file__).parent.parent / "golden"
META = json.loads((GOLDEN / "gluon_autograd.json").read_text())
ARR = np.load(GOLDEN / "gluon_autograd.npz")


@pytest.mark.parametrize("case", META["cases"], ids=[c["id"] for c in META["cases"]])
def test_expression_gradients_match_mxnet(case):
    cid = case["id"]
    nds = {n: mx.nd.array(ARR[f"{cid}/in_{n}"]) for n in case["inputs"]}
    for n in case["with_grad"]:
        nds[n].attach_grad()
    with mx.autograd.record():
        y = eval(case["src"], {"mx": mx, **nds})
    np.testing.assert_allclose(y.asnumpy(), ARR[f"{cid}/out"], rtol=1e-5, atol=1e-5)
    y.backward(mx.nd.array(ARR[f"{cid}/head"]))
    for n in case["with_grad"]:
        np.testing.assert_allclose(nds[n].grad.asnumpy(), ARR[f"{cid}/grad_{n}"],
                                   rtol=1e-4, atol=1e-5, err_msg=f"gradient of {n}")


def test_grad_req_add_accumulates_like_mxnet():
    x = mx.nd.array([1.0, -2.0, 3.0])
    x.attach_grad(grad_req="add")
    for _ in range(2):
        with mx.autograd.record():
            y = (x * x * x).sum()
        y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), ARR["req_add/grad"], rtol=1e-6)


def test_batchnorm_train_mode_matches_mxnet():
    d, g, b = (mx.nd.array(ARR[f"batchnorm/{k}"]) for k in ("data", "gamma", "beta"))
    mm, mv = mx.nd.zeros(3), mx.nd.ones(3)
    for arr in (d, g, b):
        arr.attach_grad()
    with mx.autograd.record():
        out = mx.nd.BatchNorm(d, g, b, mm, mv, fix_gamma=False, momentum=0.8)
    np.testing.assert_allclose(out.asnumpy(), ARR["batchnorm/out"], rtol=1e-4, atol=1e-5)
    out.backward(mx.nd.array(ARR["batchnorm/head"]))
    for name, arr in (("data", d), ("gamma", g), ("beta", b)):
        np.testing.assert_allclose(arr.grad.asnumpy(), ARR[f"batchnorm/grad_{name}"],
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(mm.asnumpy(), ARR["batchnorm/moving_mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), ARR["batchnorm/moving_var"], rtol=1e-5, atol=1e-6)
