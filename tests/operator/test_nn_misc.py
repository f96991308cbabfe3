"""Dropout, Embedding and UpSampling: gradients, randomness, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradient, check_shape_error, run_op

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.operator import get

RNG = np.random.default_rng(5)


def randn(*shape):
    return RNG.standard_normal(shape)


GRAD_CASES = [
    ("dropout_train", "Dropout", {"p": 0.4}, lambda: [randn(4, 5)], True, None),
    ("dropout_axes", "Dropout", {"p": 0.5, "axes": (1,)}, lambda: [randn(3, 4, 2)], True, None),
    ("dropout_always_inference", "Dropout", {"p": 0.3, "mode": "always"},
     lambda: [randn(3, 4)], False, None),
    ("dropout_inference", "Dropout", {"p": 0.3}, lambda: [randn(3, 4)], False, None),
    ("embedding", "Embedding", {"input_dim": 4, "output_dim": 3},
     lambda: [np.array([[0, 3, 3], [1, 0, 3]]), randn(4, 3)], True, ["weight"]),
    ("upsampling_nearest", "UpSampling", {"scale": 2, "sample_type": "nearest"},
     lambda: [randn(2, 2, 2, 3)], True, None),
    ("upsampling_concat", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2},
     lambda: [randn(1, 2, 2, 2), randn(1, 1, 1, 1)], True, None),
    ("upsampling_sum", "UpSampling", {"scale": 3, "sample_type": "nearest", "num_args": 2,
                                      "multi_input_mode": "sum"},
     lambda: [randn(1, 2, 1, 2), randn(1, 2, 3, 6)], True, None),
    ("upsampling_bilinear", "UpSampling", {"scale": 2, "sample_type": "bilinear",
                                           "num_filter": 2},
     lambda: [randn(1, 2, 3, 3), randn(2, 1, 4, 4)], True, None),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradient(case):
    _, op, params, make, is_train, wrt = case
    check_gradient(op, params, make(), is_train=is_train, wrt=wrt)


def test_dropout_mask_statistics_and_scaling():
    x = np.ones((200, 100))
    _, _, outs, _, _ = run_op("Dropout", {"p": 0.3}, [x], is_train=True)
    values = np.unique(outs[0])
    np.testing.assert_allclose(values, [0.0, 1 / 0.7])
    assert abs((outs[0] == 0).mean() - 0.3) < 0.02


def test_dropout_axes_share_the_mask():
    x = np.ones((6, 50, 4))
    _, _, outs, _, _ = run_op("Dropout", {"p": 0.5, "axes": (1,)}, [x], is_train=True)
    assert np.all(outs[0] == outs[0][:, :1, :])
    assert 0 < (outs[0] == 0).mean() < 1


def test_dropout_is_reproducible_with_mx_random_seed():
    op = get("Dropout")
    p = op.parse_params({"p": 0.5})
    x = np.ones((10, 10), np.float32)
    mx.random.seed(42)
    a = op.forward(p, [x], [], True)[0][0]
    mx.random.seed(42)
    b = op.forward(p, [x], [], True)[0][0]
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32


@pytest.mark.parametrize("mode,is_train,identity", [
    ("training", False, True), ("training", True, False), ("always", False, False),
], ids=["training_inference", "training_train", "always_inference"])
def test_dropout_modes(mode, is_train, identity):
    x = np.ones((30, 30))
    _, _, outs, _, _ = run_op("Dropout", {"p": 0.5, "mode": mode}, [x], is_train=is_train)
    assert np.array_equal(outs[0], x) == identity


def test_dropout_rejects_bad_p():
    op = get("Dropout")
    with pytest.raises(MXNetError, match=r"Dropout: p must be in \[0, 1\], got 1.5"):
        op.forward(op.parse_params({"p": 1.5}), [np.ones(3)], [], True)


def test_embedding_clips_and_accumulates():
    w = np.arange(8.0).reshape(4, 2)
    data = np.array([-1.0, 0.0, 3.0, 7.0, 2.7])
    op, p, outs, saved, _ = run_op("Embedding", {"input_dim": 4, "output_dim": 2}, [data, w])
    np.testing.assert_array_equal(outs[0], w[[0, 0, 3, 3, 2]])
    dy = np.ones((5, 2))
    _, dw = op.backward(p, [dy], [data, w], outs, [], saved)
    np.testing.assert_array_equal(dw[:, 0], [2, 0, 1, 2])


SHAPE_CASES = [
    ("embedding", "Embedding", {"input_dim": 10, "output_dim": 4}, [(2, 3), None],
     [(2, 3), (10, 4)], [(2, 3, 4)]),
    ("upsampling_concat", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2},
     [(1, 2, 4, 4), (1, 3, 2, 2)], [(1, 2, 4, 4), (1, 3, 2, 2)], [(1, 5, 8, 8)]),
    ("upsampling_bilinear", "UpSampling", {"scale": 2, "sample_type": "bilinear",
                                           "num_filter": 3},
     [(2, 3, 5, 5), None], [(2, 3, 5, 5), (3, 1, 4, 4)], [(2, 3, 10, 10)]),
    ("dropout", "Dropout", {"p": 0.2}, [(4, 5)], [(4, 5)], [(4, 5)]),
]


@pytest.mark.parametrize("case", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_infer_shape(case):
    _, name, params, in_shapes, want_in, want_out = case
    op = get(name)
    got_in, got_out, _ = op.infer_shape(op.parse_params(params), in_shapes, [])
    assert [tuple(s) for s in got_in] == want_in
    assert [tuple(s) for s in got_out] == want_out


BAD_SHAPES = [
    ("embedding_weight", "Embedding", {"input_dim": 10, "output_dim": 4}, [(2, 3), (10, 5)],
     r"Embedding.*weight shape \(10, 5\)"),
    ("upsampling_uneven", "UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2},
     [(1, 2, 4, 4), (1, 3, 3, 3)], r"UpSampling.*\(1, 3, 3, 3\)"),
    ("upsampling_sum_channels", "UpSampling",
     {"scale": 2, "sample_type": "nearest", "num_args": 2, "multi_input_mode": "sum"},
     [(1, 2, 2, 2), (1, 3, 2, 2)], r"UpSampling.*equal channels"),
    ("dropout_axes", "Dropout", {"axes": (3,)}, [(2, 3)], r"Dropout.*axes"),
]


@pytest.mark.parametrize("case", BAD_SHAPES, ids=[c[0] for c in BAD_SHAPES])
def test_bad_shapes_raise(case):
    _, name, params, in_shapes, match = case
    check_shape_error(name, params, in_shapes, match)


F16_CASES = [
    ("conv", "Convolution", {"kernel": (3, 3), "num_filter": 2},
     [(1, 2, 5, 5), (2, 2, 3, 3), (2,)], []),
    ("deconv", "Deconvolution", {"kernel": (3, 3), "num_filter": 2}, [(1, 2, 4, 4), (2, 2, 3, 3)],
     []),
    ("pool_max", "Pooling", {"kernel": (2, 2)}, [(1, 2, 5, 5)], []),
    ("pool_avg", "Pooling", {"kernel": (2, 2), "pool_type": "avg"}, [(1, 2, 5, 5)], []),
    ("batch_norm", "BatchNorm", {"fix_gamma": False}, [(3, 2, 5), (2,), (2,)], [(2,), (2,)]),
    ("activation", "Activation", {"act_type": "tanh"}, [(3, 4)], []),
    ("gelu", "LeakyReLU", {"act_type": "gelu"}, [(3, 4)], []),
    ("fc", "FullyConnected", {"num_hidden": 3}, [(4, 5), (3, 5), (3,)], []),
]


@pytest.mark.parametrize("case", F16_CASES, ids=[c[0] for c in F16_CASES])
def test_float16_inputs_keep_their_dtype(case):
    """float16 (no Numba arrays) is computed in float32 and returned as float16."""
    _, name, params, shapes, aux_shapes = case
    op = get(name)
    p = op.parse_params(params)
    rng = np.random.default_rng(1)
    inputs = [rng.uniform(0.5, 1.5, s).astype(np.float16) for s in shapes]
    aux = [np.ones(s, np.float16) for s in aux_shapes]
    outs, saved = op.forward(p, inputs, aux, True)
    ref, _ = op.forward(p, [x.astype(np.float32) for x in inputs],
                        [a.astype(np.float32) for a in aux], True)
    assert outs[0].dtype == np.float16
    np.testing.assert_allclose(outs[0].astype(np.float32), ref[0], rtol=2e-2, atol=2e-2)
    grads = op.backward(p, [np.ones_like(o) for o in outs], inputs, outs, aux, saved)
    for x, g in zip(inputs, grads, strict=True):
        assert g.dtype == np.float16 and g.shape == x.shape


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dropout_one_pass_kernel_matches_its_mask(dtype):
    """The one-pass path (no axes): output = data * mask, mask values 0 or 1/keep, backward
    multiplies by the same mask, and the given output/gradient buffers are filled."""
    op = get("Dropout")
    p = op.parse_params({"p": 0.25})
    x = RNG.standard_normal((300, 70)).astype(dtype)
    buf = np.empty_like(x)
    (y,), mask = op.forward(p, [x], [], True, out=[buf])
    assert y is buf and mask.dtype == x.dtype
    np.testing.assert_array_equal(np.unique(mask), np.array([0, 1 / 0.75], dtype))
    assert abs((mask == 0).mean() - 0.25) < 0.02
    np.testing.assert_array_equal(y, x * mask)
    dy = RNG.standard_normal(x.shape).astype(dtype)
    gbuf = np.empty_like(x)
    (dx,) = op.backward(p, [dy], [x], [y], [], mask, gout=[gbuf])
    assert dx is gbuf
    np.testing.assert_array_equal(dx, dy * mask)
