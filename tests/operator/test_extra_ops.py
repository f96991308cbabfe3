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
    wants = want["parts"] if "parts" in want else [want]
    gots = got if isinstance(got, list) else [got]
    assert len(gots) == len(wants)
    for g, w in zip(gots, wants, strict=True):
        assert list(g.shape) == w["shape"]
        assert np.dtype(g.dtype).name == w["dtype"]
        expected = np.array([np.nan if v is None else v for v in w["values"]]).reshape(
            w["shape"])
        np.testing.assert_allclose(g.asnumpy().astype(np.float64), expected, rtol=2e-6,
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
    ("SequenceReverse", {}, [_R.normal(size=(3, 2, 2))]),
    ("L2Normalization", {}, [_R.normal(size=(2, 3, 2))]),
    ("L2Normalization", {"mode": "channel"}, [_R.normal(size=(2, 3, 2))]),
    ("L2Normalization", {"mode": "spatial"}, [_R.normal(size=(2, 3, 2))]),
    ("LayerNorm", {}, [_R.normal(size=(2, 3, 4)), _R.normal(size=(4,)), _R.normal(size=(4,))]),
    ("LayerNorm", {"axis": 1}, [_R.normal(size=(2, 3, 2)), _R.normal(size=(3,)),
                                _R.normal(size=(3,))]),
    ("InstanceNorm", {}, [_R.normal(size=(2, 3, 4)), _R.normal(size=(3,)),
                          _R.normal(size=(3,))]),
    ("Pad", {"mode": "constant", "pad_width": (0, 0, 0, 0, 1, 2, 0, 1)},
     [_R.normal(size=(1, 2, 3, 3))]),
    ("Pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 1, 2, 0, 1)},
     [_R.normal(size=(1, 2, 3, 3))]),
    ("Pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 2, 1, 1, 1)},
     [_R.normal(size=(1, 1, 3, 3))]),
    ("LRN", {"nsize": 3, "alpha": 0.5, "beta": 0.75}, [_R.normal(size=(2, 5, 2))]),
    ("LRN", {"nsize": 5, "alpha": 0.2, "beta": 0.5, "knorm": 1.0}, [_R.normal(size=(1, 4, 3))]),
    ("Crop", {"num_args": 1, "h_w": (2, 2), "offset": (1, 0)}, [_R.normal(size=(1, 2, 3, 3))]),
    ("topk", {"k": 2, "axis": 1, "ret_typ": "value"}, [_R.normal(size=(2, 4))]),
    ("sort", {"axis": 0}, [_R.normal(size=(3, 2))]),
    ("split_v2", {"indices_or_sections": (1, 3), "axis": 1}, [_R.normal(size=(2, 4))]),
    ("split_v2", {"indices_or_sections": 2, "axis": 0, "squeeze_axis": True},
     [_R.normal(size=(2, 3))]),
    ("_slice_assign", {"begin": (0, 1), "end": (2, 3)},
     [_R.normal(size=(3, 4)), _R.normal(size=(2, 2))]),
    ("_slice_assign_scalar", {"scalar": 2.0, "begin": (1,), "end": (3,)},
     [_R.normal(size=(3, 4))]),
]

WITH_INDEX = [
    ("SequenceMask", {"use_sequence_length": True, "value": 2.0},
     [_R.normal(size=(4, 3, 2)), np.array([1.0, 4.0, 2.0])]),
    ("SequenceReverse", {"use_sequence_length": True},
     [_R.normal(size=(4, 3, 2)), np.array([1.0, 4.0, 2.0])]),
    ("SequenceLast", {"use_sequence_length": True, "axis": 1},
     [_R.normal(size=(3, 4, 2)), np.array([1.0, 4.0, 2.0])]),
    ("slice_like", {"axes": (0, 2)}, [_R.normal(size=(3, 4, 2)), np.zeros((2, 9, 1))]),
    ("gather_nd", {}, [_R.normal(size=(3, 4)), np.array([[0, 2, 0], [1, 3, 1]])]),
]


@pytest.mark.parametrize("op, params, inputs", WITH_INDEX, ids=[w[0] for w in WITH_INDEX])
def test_gradients_wrt_data_float64(op, params, inputs):
    check_gradient(op, params, inputs, wrt=[0])


@pytest.mark.parametrize("op, params, inputs", GRADS,
                         ids=[f"{g[0]}-{i}" for i, g in enumerate(GRADS)])
def test_gradients_float64(op, params, inputs):
    check_gradient(op, params, inputs)


def test_batch_take_is_non_differentiable_as_mxnet():
    x, idx = mx.sym.var("x"), mx.sym.var("idx")
    y = mx.sym.batch_take(x, idx)
    types = {"x": np.float32, "idx": np.int32}
    with pytest.raises(mx.MXNetError, match="non-differentiable"):
        y.simple_bind(mx.cpu(), x=(4, 3), idx=(4,), type_dict=types)
    # no gradient through it: binds, runs forward and backward (MXNet's test_zero_prop2)
    for sym, req in ((mx.sym.stop_gradient(y), "write"), (y, "null")):
        exe = sym.simple_bind(mx.cpu(), x=(4, 3), idx=(4,), type_dict=types, grad_req=req)
        exe.forward(is_train=True, x=mx.nd.ones((4, 3)), idx=mx.nd.array([0, 2, 1, 0]))
        exe.backward(mx.nd.ones(4) if req == "null" else None)
        assert exe.outputs[0].shape == (4,)


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
GRAD_CHECKED = {g[0] for g in GRADS} | {w[0] for w in WITH_INDEX} | {
    # batch_take: non-differentiable as in MXNet (binding for a gradient raises, tested)
    "batch_take", "argmax_channel", "shape_array", "size_array",
    # SVMOutput is a loss: its gradient is checked against MXNet's in
    # test_backward_matches_mxnet; argsort gives indices only (zero gradient, checked below)
    "SVMOutput", "argsort"}


def test_argsort_has_zero_gradient():
    check_gradient("argsort", {}, [_R.normal(size=(2, 3))])


from gen_golden_extra_ops import GRAD_IDS  # noqa: E402


@pytest.mark.parametrize("cid", GRAD_IDS)
def test_backward_matches_mxnet(cid):
    _, op_name, inputs, params = next(c for c in CASES if c[0] == cid)
    from mxlite.operator import registry

    op = registry.get(op_name)
    p = op.parse_params({**params, **({"num_args": len(inputs)} if op.variadic else {})})
    outs, saved = op.forward(p, [np.asarray(x) for x in inputs], [], True)
    grads = op.backward(p, [np.ones_like(o) for o in outs], [np.asarray(x) for x in inputs],
                        outs, [], saved)
    np.testing.assert_allclose(grads[0].ravel(), GOLDEN[cid]["grad"], rtol=2e-5, atol=1e-6)
