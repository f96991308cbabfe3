"""operator/tensor/{math,extra}.py against MXNet 1.9.1 (tests/golden/extra_ops.json, written by
tools/gen_golden_extra_ops.py) and float64 gradient checks."""

import json
import os
import sys

import numpy as np
import pytest
from gradcheck import check_gradient

import mxlite as mx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from gen_golden_extra_ops import CASES

with open(os.path.join(os.path.dirname(__file__), "..", "golden", "extra_ops.json")) as _f:
    GOLDEN = json.load(_f)


@pytest.mark.parametrize("cid, op, inputs, params", CASES, ids=[c[0] for c in CASES])
def test_matches_mxnet(cid, op, inputs, params):
    want = GOLDEN[cid]
    got = getattr(mx.nd, op)(*[mx.nd.array(x, dtype=x.dtype) for x in inputs], **params)
    assert list(got.shape) == want["shape"]
    assert str(got.dtype.__name__ if isinstance(got.dtype, type) else got.dtype) == \
        want["dtype"]
    expected = np.array([np.nan if v is None else v for v in want["values"]]).reshape(
        want["shape"])
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), expected, rtol=2e-6,
                               atol=1e-6, equal_nan=True)


_R = np.random.default_rng(0)

GRADS = [
    ("prod", {"axis": 1}, [_R.uniform(0.5, 1.5, (2, 3, 2))]),
    ("nanprod", {}, [_R.uniform(0.5, 1.5, (3, 2))]),
    ("nansum", {"axis": 0}, [_R.normal(size=(3, 2))]),
    ("softmin", {"axis": 1}, [_R.normal(size=(2, 4))]),
    ("softmin", {"temperature": 2.0}, [_R.normal(size=(2, 4))]),
    ("diag", {"k": 1}, [_R.normal(size=(3, 4))]),
    ("diag", {}, [_R.normal(size=(3,))]),
    ("depth_to_space", {"block_size": 2}, [_R.normal(size=(1, 8, 2, 3))]),
    ("space_to_depth", {"block_size": 2}, [_R.normal(size=(1, 2, 4, 2))]),
]


@pytest.mark.parametrize("op, params, inputs", GRADS,
                         ids=[f"{g[0]}-{i}" for i, g in enumerate(GRADS)])
def test_gradients_float64(op, params, inputs):
    check_gradient(op, params, inputs)


def test_batch_take_gradient_scatters():
    a = _R.normal(size=(3, 4))
    idx = np.array([3, 0, 2])
    check_gradient("batch_take", {}, [a, idx], wrt=[0])


def test_depth_space_round_trip_and_errors():
    x = mx.nd.array(np.arange(32).reshape(1, 8, 2, 2))
    y = mx.nd.space_to_depth(mx.nd.depth_to_space(x, block_size=2), block_size=2)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    with pytest.raises(mx.MXNetError, match="divisible"):
        mx.nd.depth_to_space(mx.nd.ones((1, 3, 2, 2)), block_size=2)


@pytest.mark.parametrize("op", ["argmax_channel", "shape_array", "size_array"])
def test_index_like_outputs_have_zero_gradient(op):
    check_gradient(op, {}, [_R.normal(size=(2, 3, 4))])


# operator names with a float64 gradient check in this file or test_math_ops.py (read by
# test_tensor_ops.test_every_tensor_operator_has_golden_and_gradient_cases)
GRAD_CHECKED = {g[0] for g in GRADS} | {"batch_take", "argmax_channel", "shape_array",
                                         "size_array"}
