"""SELU (``LeakyReLU(act_type="selu")``) of float32 computes in float32 with float32 constants,
as MXNet 1.9.1 does: the forward gives MXNet's bits (tests/golden/selu_float32.json, written
by tools/gen_golden_selu.py); float64 keeps computing in float64."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest

import mxlite as mx

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tools"))
import gen_golden_selu as spec  # noqa: E402

RAW = json.loads((HERE.parent / "golden" / "selu_float32.json").read_text())
GOLDEN = {k: np.array(v, np.uint32).view(np.float32) for k, v in RAW.items()}
LAM, ALPHA = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717


def _selu(x, g, dtype):
    xa = mx.nd.array(x, dtype=dtype)
    xa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.LeakyReLU(xa, act_type="selu")
    y.backward(mx.nd.array(g, dtype=dtype))
    return y.asnumpy(), xa.grad.asnumpy()


def test_golden_inputs_are_the_spec_inputs():
    x, g = spec.inputs(np)
    np.testing.assert_array_equal(GOLDEN["x"], x)
    np.testing.assert_array_equal(GOLDEN["g"], g)


def test_float32_forward_has_mxnet_bits():
    y, _ = _selu(GOLDEN["x"], GOLDEN["g"], "float32")
    assert y.dtype == np.float32
    assert y[0] == np.float32(0.10507011)  # test_gluon.py::test_activations' value at 0.1
    np.testing.assert_array_equal(y.view(np.uint32), GOLDEN["y"].view(np.uint32))


def test_gluon_selu_block_gives_the_same_float32_values():
    y = mx.gluon.nn.SELU()(mx.nd.array(GOLDEN["x"])).asnumpy()
    np.testing.assert_array_equal(y.view(np.uint32), GOLDEN["y"].view(np.uint32))


def test_float32_backward_is_float32_arithmetic_and_mxnet_where_mxnet_is_right():
    x, g = GOLDEN["x"], GOLDEN["g"]
    y, dx = _selu(x, g, "float32")
    pos = x > 0
    # x > 0: lambda * g, MXNet's bits
    np.testing.assert_array_equal(dx[pos].view(np.uint32), GOLDEN["dx"][pos].view(np.uint32))
    # x <= 0: the true derivative y + lambda * alpha in float32 (MXNet 1.9.1 returns
    # lambda * (y + alpha) there, which is not the derivative of its forward)
    lam_alpha = np.float32(LAM * ALPHA)
    np.testing.assert_array_equal(dx[~pos], g[~pos] * (y[~pos] + lam_alpha))
    x64 = x.astype(np.float64)
    exact = g * np.where(x64 > 0, LAM, LAM * ALPHA * np.exp(x64))
    np.testing.assert_allclose(dx, exact, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("part", ["forward", "backward"])
def test_float64_computes_in_float64(part):
    x = GOLDEN["x"].astype(np.float64) * 1.37
    g = GOLDEN["g"].astype(np.float64)
    y, dx = _selu(x, g, "float64")
    if part == "forward":
        assert y.dtype == np.float64
        np.testing.assert_allclose(y, LAM * np.where(x > 0, x, ALPHA * np.expm1(x)),
                                   rtol=1e-15, atol=1e-15)
        # not the float32 result: rounding y to float32 loses bits
        assert np.any(y != y.astype(np.float32))
    else:
        np.testing.assert_allclose(dx, g * np.where(x > 0, LAM, y + LAM * ALPHA),
                                   rtol=1e-15, atol=1e-15)
