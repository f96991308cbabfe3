"""Every nn operator against MXNet 1.9.1 golden fixtures (tools/gen_golden_nn_ops.py).

Per case: inferred output shapes, forward outputs, input gradients for the recorded head
gradients (loss operators take none) and auxiliary states after a training step.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from mxlite.operator import get

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "golden")

with open(os.path.join(GOLDEN, "nn_ops.json")) as f:
    CASES = json.load(f)["cases"]
ARRAYS = np.load(os.path.join(GOLDEN, "nn_ops.npz"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_mxnet(case):
    cid = case["id"]
    op = get(case["op"])
    p = op.parse_params(case["params"])
    names = op.arguments(p)
    assert sorted(names) == sorted(case["inputs"])
    assert op.aux_states(p) == case["aux"]
    inputs = [ARRAYS[f"{cid}:in:{n}"] for n in names]
    aux = [ARRAYS[f"{cid}:aux_in:{n}"].copy() for n in case["aux"]]
    want_out = [ARRAYS[f"{cid}:out:{i}"] for i in range(case["num_outputs"])]
    tol = {"rtol": case["rtol"], "atol": case["atol"]}

    # shapes from the data alone (weights, labels, ... filled in), then from every input
    partial = [x.shape for x in inputs[:1]] + [None] * (len(inputs) - 1)
    in_shapes, _, _ = op.infer_shape(p, partial, [None] * len(aux))
    if case["infer_from_data"]:
        for n, s, x in zip(names, in_shapes, inputs, strict=True):
            assert s is None or tuple(s) == x.shape, f"inferred shape of {n}"
    _, out_shapes, aux_shapes = op.infer_shape(p, [x.shape for x in inputs], [None] * len(aux))
    for s, w in zip(out_shapes[: len(want_out)], want_out, strict=True):
        assert tuple(s) == w.shape
    for s, a in zip(aux_shapes, aux, strict=True):
        assert tuple(s) == a.shape

    outputs, saved = op.forward(p, inputs, aux, case["is_train"])
    for i, w in enumerate(want_out):
        assert outputs[i].dtype == w.dtype, f"output {i} dtype"
        np.testing.assert_allclose(outputs[i], w, err_msg=f"{cid} output {i}", **tol)
    for n, a in zip(case["aux"], aux, strict=True):
        np.testing.assert_allclose(a, ARRAYS[f"{cid}:aux_out:{n}"], err_msg=f"{cid} aux {n}",
                                   **tol)
    if not case["grads"]:
        return
    heads = None if op.loss else [ARRAYS[f"{cid}:head:{i}"] for i in range(len(outputs))]
    grads = op.backward(p, heads, inputs, outputs, aux, saved)
    for n, g in zip(names, grads, strict=True):
        if n not in case["grads"]:
            continue
        want = ARRAYS[f"{cid}:grad:{n}"]
        if g is None:
            assert not np.any(want), f"{cid}: MXNet has a nonzero gradient for {n}"
            continue
        assert g.shape == want.shape, f"{cid} gradient shape of {n}"
        np.testing.assert_allclose(g, want, err_msg=f"{cid} gradient of {n}", **tol)
