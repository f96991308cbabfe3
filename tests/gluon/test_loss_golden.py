"""Every gluon loss against MXNet 1.9.1: value and gradient w.r.t. the prediction (with a
random head gradient), imperative and hybridized."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon

from ._golden import load

META, ARR = load("loss")


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
@pytest.mark.parametrize("case", META["cases"], ids=[c["id"] for c in META["cases"]])
def test_loss_matches_mxnet(case, hybridize):
    cid = case["id"]
    loss_fn = eval(case["src"], {"gluon": gluon})
    if hybridize:
        loss_fn.hybridize()
    vals = [None if n is None else mx.nd.array(ARR[f"{cid}/{n}"]) for n in case["args"]]
    vals[0].attach_grad()
    with autograd.record():
        out = loss_fn(*vals)
    np.testing.assert_allclose(out.asnumpy(), ARR[f"{cid}/out"], rtol=1e-5, atol=1e-6)
    if case["with_grad"]:
        out.backward(mx.nd.array(ARR[f"{cid}/head"]))
        np.testing.assert_allclose(vals[0].grad.asnumpy(), ARR[f"{cid}/grad"], rtol=1e-4,
                                   atol=1e-6)
