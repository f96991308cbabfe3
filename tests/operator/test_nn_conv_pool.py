"""Convolution, Deconvolution, Pooling and BatchNorm: gradients, shapes, errors, kernels."""

from __future__ import annotations

import time

import numpy as np
import pytest
from gradcheck import check_gradient

from mxlite.operator import ShapeError, get
from mxlite.operator.nn import _im2col

RNG = np.random.default_rng(11)


def randn(*shape):
    return RNG.standard_normal(shape)


def distinct(*shape):
    """A shuffled grid of distinct values: max pooling has no ties."""
    return RNG.permutation(np.linspace(-2.0, 2.0, int(np.prod(shape)))).reshape(shape)


def conv_inputs(params, dshape, deconv=False):
    c, f, g = dshape[1], params["num_filter"], params.get("num_group", 1)
    wshape = (c, f // g, *params["kernel"]) if deconv else (f, c // g, *params["kernel"])
    no_bias = params.get("no_bias", deconv)
    return [randn(*dshape), randn(*wshape)] + ([] if no_bias else [randn(f)])


CONV_CASES = [
    ("2d", {"kernel": (3, 3), "num_filter": 2}, (2, 3, 5, 5)),
    ("2d_stride_pad", {"kernel": (3, 3), "num_filter": 2, "stride": (2, 2), "pad": (1, 1)},
     (2, 2, 5, 6)),
    ("2d_dilate_group_rect", {"kernel": (3, 2), "num_filter": 4, "stride": (2, 1),
                              "pad": (1, 1), "dilate": (1, 2), "num_group": 2}, (1, 4, 6, 5)),
    ("2d_no_bias", {"kernel": (1, 1), "num_filter": 3, "no_bias": True}, (2, 2, 3, 3)),
    ("1d", {"kernel": (3,), "num_filter": 2, "stride": (2,), "pad": (1,)}, (2, 3, 7)),
    ("1d_dilate_group", {"kernel": (2,), "num_filter": 2, "dilate": (2,), "num_group": 2},
     (2, 4, 6)),
    ("3d_stride_pad_dilate", {"kernel": (2, 2, 3), "num_filter": 2, "stride": (1, 2, 1),
                              "pad": (1, 0, 1), "dilate": (1, 1, 2)}, (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_convolution_gradient(case):
    _, params, dshape = case
    check_gradient("Convolution", params, conv_inputs(params, dshape))


DECONV_CASES = [
    ("2d", {"kernel": (3, 3), "num_filter": 2}, (2, 3, 3, 3)),
    ("2d_bias_stride_pad_adj", {"kernel": (3, 2), "num_filter": 4, "stride": (2, 2),
                                "pad": (1, 0), "adj": (1, 1), "num_group": 2,
                                "no_bias": False}, (1, 4, 3, 3)),
    ("2d_dilate", {"kernel": (2, 2), "num_filter": 2, "dilate": (2, 2)}, (1, 2, 3, 3)),
    ("1d_target_shape", {"kernel": (4,), "num_filter": 2, "stride": (2,),
                         "target_shape": (9,)}, (2, 3, 4)),
    ("3d_stride_group", {"kernel": (2, 2, 2), "num_filter": 4, "stride": (2, 1, 2),
                         "num_group": 2, "no_bias": False}, (1, 2, 2, 3, 2)),
]


@pytest.mark.parametrize("case", DECONV_CASES, ids=[c[0] for c in DECONV_CASES])
def test_deconvolution_gradient(case):
    _, params, dshape = case
    check_gradient("Deconvolution", params, conv_inputs(params, dshape, deconv=True))


POOL_CASES = [
    ("max", {"kernel": (2, 2), "stride": (2, 2)}, (2, 2, 4, 4)),
    ("max_pad_full", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                      "pooling_convention": "full"}, (1, 2, 6, 6)),
    ("avg_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "avg"},
     (2, 2, 5, 5)),
    ("avg_full_exclude_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1),
                              "pool_type": "avg", "count_include_pad": False,
                              "pooling_convention": "full"}, (1, 2, 6, 6)),
    ("sum_rect", {"kernel": (3, 2), "stride": (2, 1), "pad": (1, 0), "pool_type": "sum"},
     (2, 2, 5, 4)),
    ("global_avg", {"global_pool": True, "pool_type": "avg"}, (2, 3, 3, 2)),
    ("global_max", {"global_pool": True}, (2, 3, 3, 2)),
    ("1d_max_pad", {"kernel": (3,), "stride": (2,), "pad": (1,)}, (2, 2, 7)),
    ("1d_avg_full", {"kernel": (2,), "stride": (2,), "pool_type": "avg",
                     "pooling_convention": "full"}, (2, 2, 7)),
    ("lp1", {"kernel": (2, 2), "stride": (2, 2), "pool_type": "lp", "p_value": 1}, (1, 2, 4, 4)),
    ("lp2_pad", {"kernel": (3, 3), "stride": (2, 2), "pad": (1, 1), "pool_type": "lp",
                 "p_value": 2}, (1, 2, 5, 5)),
    ("lp3", {"kernel": (2, 2), "pool_type": "lp", "p_value": 3}, (1, 2, 3, 3)),
    ("3d_max_pad", {"kernel": (2, 2, 2), "stride": (2, 1, 2), "pad": (1, 0, 1)}, (1, 2, 3, 3, 4)),
    ("3d_avg_full", {"kernel": (2, 3, 2), "stride": (2, 2, 2), "pool_type": "avg",
                     "pooling_convention": "full"}, (1, 2, 3, 4, 5)),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pooling_gradient(case):
    _, params, dshape = case
    check_gradient("Pooling", params, [distinct(*dshape)])


BN_CASES = [
    ("train", {"fix_gamma": False}, (4, 3, 2, 2), True),
    ("train_fix_gamma", {}, (4, 3, 2), True),
    ("train_axis_last", {"fix_gamma": False, "axis": -1}, (3, 2, 4), True),
    ("train_2d_output_mean_var", {"fix_gamma": False, "output_mean_var": True}, (5, 3), True),
    ("global_stats", {"fix_gamma": False, "use_global_stats": True}, (4, 3, 2), True),
    ("inference", {"fix_gamma": False}, (4, 3, 2), False),
]


@pytest.mark.parametrize("case", BN_CASES, ids=[c[0] for c in BN_CASES])
def test_batch_norm_gradient(case):
    _, params, dshape, is_train = case
    c = dshape[params.get("axis", 1)]
    grads = check_gradient(
        "BatchNorm", params, [randn(*dshape), RNG.uniform(0.5, 2, c), randn(c)],
        [randn(c), RNG.uniform(0.5, 2, c)], is_train=is_train, through=[0])
    if params.get("fix_gamma", True):
        assert np.all(grads[1] == 0)


def test_batch_norm_moving_statistics():
    op = get("BatchNorm")
    p = op.parse_params({"momentum": 0.8, "fix_gamma": False})
    x = randn(6, 2, 3)
    aux = [np.full(2, 0.5), np.full(2, 2.0)]
    op.forward(p, [x, np.ones(2), np.zeros(2)], aux, is_train=True)
    mean = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))  # biased, as MXNet
    np.testing.assert_allclose(aux[0], 0.5 * 0.8 + mean * 0.2)
    np.testing.assert_allclose(aux[1], 2.0 * 0.8 + var * 0.2)
    before = [a.copy() for a in aux]
    op.forward(p, [x, np.ones(2), np.zeros(2)], aux, is_train=False)
    np.testing.assert_array_equal(aux[0], before[0])
    np.testing.assert_array_equal(aux[1], before[1])


SHAPE_CASES = [
    ("conv2d", "Convolution", {"kernel": (3, 3), "num_filter": 8, "pad": (1, 1)},
     [(4, 3, 10, 12), None, None], [(4, 3, 10, 12), (8, 3, 3, 3), (8,)], [(4, 8, 10, 12)]),
    ("conv2d_group_stride", "Convolution",
     {"kernel": (3, 3), "num_filter": 6, "num_group": 3, "stride": (2, 2)},
     [(1, 6, 9, 8), None, None], [(1, 6, 9, 8), (6, 2, 3, 3), (6,)], [(1, 6, 4, 3)]),
    ("conv1d_dilate", "Convolution", {"kernel": (3,), "num_filter": 2, "dilate": (2,),
                                      "no_bias": True},
     [(2, 5, 11), None], [(2, 5, 11), (2, 5, 3)], [(2, 2, 7)]),
    ("deconv2d_adj", "Deconvolution", {"kernel": (3, 3), "num_filter": 4, "stride": (2, 2),
                                       "pad": (1, 1), "adj": (1, 1)},
     [(2, 3, 5, 5), None], [(2, 3, 5, 5), (3, 4, 3, 3)], [(2, 4, 10, 10)]),
    ("deconv2d_target", "Deconvolution", {"kernel": (4, 4), "num_filter": 2, "stride": (2, 2),
                                          "target_shape": (8, 7), "no_bias": False},
     [(1, 3, 4, 4), None, None], [(1, 3, 4, 4), (3, 2, 4, 4), (2,)], [(1, 2, 8, 7)]),
    ("pool_valid", "Pooling", {"kernel": (3, 3), "stride": (2, 2)}, [(1, 2, 7, 6)],
     [(1, 2, 7, 6)], [(1, 2, 3, 2)]),
    ("pool_full", "Pooling", {"kernel": (3, 3), "stride": (2, 2), "pooling_convention": "full"},
     [(1, 2, 7, 6)], [(1, 2, 7, 6)], [(1, 2, 3, 3)]),
    ("pool_global", "Pooling", {"global_pool": True, "pool_type": "avg"}, [(2, 5, 7, 6)],
     [(2, 5, 7, 6)], [(2, 5, 1, 1)]),
    ("pool1d", "Pooling", {"kernel": (2,), "stride": (2,)}, [(2, 5, 7)], [(2, 5, 7)],
     [(2, 5, 3)]),
    ("pool3d", "Pooling", {"kernel": (2, 2, 2), "stride": (2, 2, 2)}, [(2, 5, 4, 7, 6)],
     [(2, 5, 4, 7, 6)], [(2, 5, 2, 3, 3)]),
    ("conv3d", "Convolution", {"kernel": (3, 3, 3), "num_filter": 4, "pad": (1, 1, 1)},
     [(2, 3, 4, 5, 6), None, None], [(2, 3, 4, 5, 6), (4, 3, 3, 3, 3), (4,)], [(2, 4, 4, 5, 6)]),
    ("bn_axis_last", "BatchNorm", {"axis": -1, "output_mean_var": True},
     [(2, 3, 4), None, None], [(2, 3, 4), (4,), (4,)], [(2, 3, 4), (4,), (4,)]),
]


@pytest.mark.parametrize("case", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_infer_shape(case):
    _, name, params, in_shapes, want_in, want_out = case
    op = get(name)
    p = op.parse_params(params)
    aux = [None] * len(op.aux_states(p))
    got_in, got_out, got_aux = op.infer_shape(p, in_shapes, aux)
    assert [tuple(s) for s in got_in] == want_in
    assert [tuple(s) for s in got_out] == want_out
    if name == "BatchNorm":
        assert [tuple(s) for s in got_aux] == [want_in[1], want_in[1]]


BAD_SHAPES = [
    ("conv_weight", "Convolution", {"kernel": (3, 3), "num_filter": 4},
     [(1, 3, 8, 8), (4, 2, 3, 3), None], r"Convolution.*weight.*\(4, 2, 3, 3\).*\(1, 3, 8, 8\)"),
    ("conv_rank", "Convolution", {"kernel": (3, 3), "num_filter": 4}, [(1, 3, 8), None, None],
     r"Convolution.*\(1, 3, 8\).*4 axes"),
    ("conv_kernel_too_big", "Convolution", {"kernel": (5, 5), "num_filter": 4},
     [(1, 3, 3, 3), None, None], r"Convolution.*does not fit.*\(1, 3, 3, 3\)"),
    ("conv_group", "Convolution", {"kernel": (1, 1), "num_filter": 4, "num_group": 2},
     [(1, 3, 3, 3), None, None], r"Convolution.*divisible.*num_group"),
    ("conv_layout", "Convolution", {"kernel": (1,), "num_filter": 4, "layout": "NHWC"},
     [(1, 3, 3), None, None], r"Convolution.*layout 'NHWC'.*NCW or NWC"),
    ("conv_layout_first", "Convolution", {"kernel": (1, 1), "num_filter": 4, "layout": "NCW"},
     [(1, 3, 3, 3), None, None], r"Convolution.*layout 'NCW'.*NCHW or NHWC"),
    ("pool_layout", "Pooling", {"kernel": (2, 2), "layout": "NDHWC"}, [(1, 4, 4, 3)],
     r"Pooling.*layout 'NDHWC'.*NCHW or NHWC"),
    ("conv_4d_kernel", "Convolution", {"kernel": (1, 1, 1, 1), "num_filter": 4},
     [(1, 3, 3, 3, 3, 3), None, None], r"Convolution.*1, 2 or 3 dimensions"),
    ("deconv_adj", "Deconvolution", {"kernel": (3, 3), "num_filter": 4, "adj": (2, 2),
                                     "stride": (2, 2)},
     [(1, 3, 3, 3), None], r"Deconvolution.*adj"),
    ("pool_kernel_rank", "Pooling", {"kernel": (2,)}, [(1, 3, 4, 4)], r"Pooling.*kernel"),
    ("pool_too_big", "Pooling", {"kernel": (5, 5)}, [(1, 3, 4, 4)], r"Pooling.*larger"),
    ("bn_gamma", "BatchNorm", {}, [(2, 3, 4), (4,), None], r"BatchNorm.*gamma.*\(4,\)"),
    ("bn_axis", "BatchNorm", {"axis": 3}, [(2, 3, 4), None, None], r"BatchNorm.*axis 3"),
]


@pytest.mark.parametrize("case", BAD_SHAPES, ids=[c[0] for c in BAD_SHAPES])
def test_bad_shapes_raise(case):
    _, name, params, in_shapes, match = case
    op = get(name)
    p = op.parse_params(params)
    with pytest.raises(ShapeError, match=match):
        op.infer_shape(p, in_shapes, [None] * len(op.aux_states(p)))


@pytest.mark.parametrize("geom", [
    ((1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1)),
    ((1, 3, 2), (1, 2, 1), (0, 0, 1), (1, 2, 1)),
    ((1, 1, 4), (1, 1, 3), (0, 0, 2), (1, 1, 2)),
    ((2, 2, 3), (2, 1, 2), (1, 0, 1), (2, 1, 1)),
    # 2-D, stride 1, output as large as the image: the one-shift fast path of the kernels
    ((1, 3, 3), (1, 1, 1), (0, 1, 1), (1, 1, 1), (1, 7, 8)),
    ((1, 5, 3), (1, 1, 1), (0, 2, 1), (1, 1, 1), (1, 4, 6)),
    ((1, 3, 3), (1, 1, 1), (0, 2, 2), (1, 2, 2), (1, 6, 5)),
    ((1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), (1, 3, 4)),
], ids=["3x3_pad", "3x2_stride_dilate", "1x4_stride3", "3d", "same_3x3", "same_5x3",
        "same_3x3_dilate2", "same_1x1"])
def test_im2col_matches_reference_and_col2im_is_adjoint(geom):
    k, s, p, dl = geom[:4]
    spatial = geom[4] if len(geom) > 4 else (5, 7, 8)
    x = randn(2, 3, *spatial)
    o = tuple((i + 2 * pi - di * (ki - 1) - 1) // si + 1
              for i, pi, di, ki, si in zip(spatial, p, dl, k, s, strict=True))
    cols = np.empty((3 * int(np.prod(k)), 2 * int(np.prod(o))))
    _im2col.im2col(x, k, s, p, dl, o, cols)
    np.testing.assert_array_equal(cols, _im2col.im2col_ref(x, k, s, p, dl, o))
    # <im2col(x), c> == <x, col2im(c)>
    c = randn(*cols.shape)
    back = np.empty_like(x)
    _im2col.col2im(c.copy(), k, s, p, dl, o, back)
    np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back))


def test_convolution_is_fast():
    """A (32, 3, 32, 32) batch with 3x3 kernels: tens of milliseconds, not seconds."""
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "num_filter": 32, "pad": (1, 1)})
    x = RNG.standard_normal((32, 3, 32, 32)).astype(np.float32)
    w = RNG.standard_normal((32, 3, 3, 3)).astype(np.float32)
    b = np.zeros(32, np.float32)
    (y,), saved = op.forward(p, [x, w, b], [], True)  # compile / warm up
    op.backward(p, [y], [x, w, b], [y], [], saved)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        (y,), saved = op.forward(p, [x, w, b], [], True)
        op.backward(p, [y], [x, w, b], [y], [], saved)
        best = min(best, time.perf_counter() - t0)
    assert y.shape == (32, 32, 32, 32) and y.dtype == np.float32
    assert best < 0.5, f"forward+backward took {best:.3f} s"


ADJOINT_CASES = [
    ("1d", {"kernel": (3,), "stride": (2,), "pad": (1,)}, (2, 4, 9)),
    ("2d", {"kernel": (3, 2), "stride": (2, 1), "pad": (1, 0), "dilate": (1, 2)}, (1, 4, 7, 6)),
    ("3d", {"kernel": (2, 3, 2), "stride": (2, 1, 2), "pad": (1, 1, 0), "num_group": 2},
     (1, 4, 5, 4, 6)),
]


@pytest.mark.parametrize("case", ADJOINT_CASES, ids=[c[0] for c in ADJOINT_CASES])
def test_deconvolution_is_adjoint_of_convolution(case):
    """<conv(x; w), r> == <x, deconv(r; w)>: Deconvolution is the transposed Convolution."""
    _, geom, dshape = case
    c, f, g = dshape[1], 4, geom.get("num_group", 1)
    x = randn(*dshape)
    w = randn(f, c // g, *geom["kernel"])
    conv = get("Convolution")
    (y,), _ = conv.forward(conv.parse_params({**geom, "num_filter": f, "no_bias": True}),
                           [x, w], [], True)
    r = randn(*y.shape)
    deconv = get("Deconvolution")
    dp = deconv.parse_params({**geom, "num_filter": c, "target_shape": dshape[2:]})
    (back,), _ = deconv.forward(dp, [r, w], [], True)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(y * r), np.sum(x * back), rtol=1e-10)
