"""Channels-last layouts (NWC, NHWC, NDHWC) of Convolution, Deconvolution and Pooling.

* every operator in a channels-last layout equals the channels-first operator on transposed
  data and weights (forward and every gradient), for 1-, 2- and 3-D kernels with stride,
  padding, dilation and groups;
* float64 numerical gradient checks in the channels-last layouts;
* Pooling against MXNet 1.9.1 fixtures (tools/gen_golden_layouts.py; MXNet's CPU Convolution
  and Deconvolution fail on channels-last inputs, so they have none);
* shape inference gives MXNet's channels-last weight shapes; Gluon layers take the layouts.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from gradcheck import check_gradient, run_op

import mxlite as mx
from mxlite.operator import get
from mxlite.operator.registry import ShapeError

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")
LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
SPATIAL = {1: (9,), 2: (7, 8), 3: (4, 5, 6)}


def first(a):
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


def last(a):
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


# (id, op, params without layout, channels in, weight shape channels-first given C) -----------
CONV_CASES = [
    ("conv", "Convolution", {"kernel": 3, "num_filter": 4}),
    ("conv_stride_pad", "Convolution", {"kernel": 3, "num_filter": 4, "stride": 2, "pad": 1}),
    ("conv_dilate_group", "Convolution", {"kernel": 2, "num_filter": 4, "dilate": 2,
                                          "num_group": 2, "no_bias": True}),
    ("conv_1x1", "Convolution", {"kernel": 1, "num_filter": 5}),
    ("deconv", "Deconvolution", {"kernel": 3, "num_filter": 4, "stride": 2}),
    ("deconv_pad_adj_group", "Deconvolution", {"kernel": 3, "num_filter": 4, "stride": 2,
                                               "pad": 1, "adj": 1, "num_group": 2,
                                               "no_bias": False}),
]


def _params(params, nsp, layout=None):
    out = {k: (v,) * nsp if k in ("kernel", "stride", "pad", "dilate", "adj") else v
           for k, v in params.items()}
    if layout is not None:
        out["layout"] = layout
    return out


def _conv_inputs(op, p_first, nsp, dtype, rng):
    """Channels-first inputs of a conv case: data (2, 4, *spatial), weight, bias."""
    c = 4
    x = rng.standard_normal((2, c, *SPATIAL[nsp])).astype(dtype)
    in_shapes, _, _ = op.infer_shape(p_first, [x.shape] + [None] * (len(op.arguments(p_first)) - 1),
                                     [])
    return [x] + [rng.standard_normal(s).astype(dtype) for s in in_shapes[1:]]


@pytest.mark.parametrize("nsp", [1, 2, 3], ids=lambda n: LAST[n])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_channels_last_equals_channels_first_on_transposed(case, nsp):
    _, name, params = case
    op = get(name)
    rng = np.random.default_rng(7)
    pf = op.parse_params(_params(params, nsp))
    pl = op.parse_params(_params(params, nsp, LAST[nsp]))
    ins_f = _conv_inputs(op, pf, nsp, np.float32, rng)
    ins_l = [last(ins_f[0]), last(ins_f[1]), *ins_f[2:]]
    # shape inference: MXNet's channels-last weight (O, *kernel, I) and output
    shapes_l, outs_l, _ = op.infer_shape(pl, [ins_l[0].shape] + [None] * (len(ins_l) - 1), [])
    assert [tuple(s) for s in shapes_l] == [a.shape for a in ins_l]
    (yf,), saved_f = op.forward(pf, ins_f, [], True)
    (yl,), saved_l = op.forward(pl, ins_l, [], True)
    assert tuple(outs_l[0]) == yl.shape == last(yf).shape
    np.testing.assert_allclose(yl, last(yf), rtol=1e-5, atol=1e-5)
    head = rng.standard_normal(yf.shape).astype(np.float32)
    gf = op.backward(pf, [head], ins_f, [yf], [], saved_f)
    gl = op.backward(pl, [last(head)], ins_l, [yl], [], saved_l)
    np.testing.assert_allclose(gl[0], last(gf[0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gl[1], last(gf[1]), rtol=1e-5, atol=1e-5)
    for a, b in zip(gl[2:], gf[2:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[2], CONV_CASES[5]],
                         ids=["conv_stride_pad", "conv_dilate_group", "deconv_pad_adj_group"])
def test_conv_channels_last_gradients_float64(case):
    _, name, params = case
    op = get(name)
    rng = np.random.default_rng(3)
    nsp = 2
    pf = op.parse_params(_params(params, nsp))
    ins = _conv_inputs(op, pf, nsp, np.float64, rng)
    ins = [ins[0][:1, :, :4, :5], *ins[1:]]  # small: finite differences over every element
    ins = [last(ins[0]), last(ins[1]), *ins[2:]]
    check_gradient(name, _params(params, nsp, "NHWC"), ins, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------- Pooling
POOL_CASES = [
    ("max", {"pool_type": "max", "kernel": 2, "stride": 2}),
    ("avg_pad", {"pool_type": "avg", "kernel": 3, "stride": 2, "pad": 1}),
    ("sum_full", {"pool_type": "sum", "kernel": 3, "stride": 2, "pooling_convention": "full"}),
    ("lp2", {"pool_type": "lp", "p_value": 2, "kernel": 2, "stride": 1}),
    ("global_avg", {"pool_type": "avg", "global_pool": True, "kernel": 1}),
]


@pytest.mark.parametrize("nsp", [1, 2, 3], ids=lambda n: LAST[n])
@pytest.mark.parametrize("case", POOL_CASES, ids=[c[0] for c in POOL_CASES])
def test_pool_channels_last_equals_channels_first_on_transposed(case, nsp):
    _, params = case
    op = get("Pooling")
    rng = np.random.default_rng(5)
    x = np.abs(rng.standard_normal((2, 3, *SPATIAL[nsp]))).astype(np.float32) + 0.1
    pf = op.parse_params(_params(params, nsp))
    pl = op.parse_params(_params(params, nsp, LAST[nsp]))
    (yf, *_), saved_f = op.forward(pf, [x], [], True)
    (yl,), saved_l = op.forward(pl, [last(x)], [], True)
    assert tuple(op.infer_shape(pl, [last(x).shape], [])[1][0]) == yl.shape
    np.testing.assert_allclose(yl, last(yf), rtol=1e-6)
    head = rng.standard_normal(yf.shape).astype(np.float32)
    (gf,) = op.backward(pf, [head], [x], [yf], [], saved_f)
    (gl,) = op.backward(pl, [last(head)], [last(x)], [yl], [], saved_l)
    np.testing.assert_allclose(gl, last(gf), rtol=1e-6)


@pytest.mark.parametrize("case", POOL_CASES[1:4], ids=[c[0] for c in POOL_CASES[1:4]])
def test_pool_channels_last_gradients_float64(case):
    _, params = case
    rng = np.random.default_rng(11)
    x = np.abs(rng.standard_normal((1, 5, 6, 2))) + 0.5
    check_gradient("Pooling", _params(params, 2, "NHWC"), [x], rtol=1e-5, atol=1e-7)


with open(os.path.join(GOLDEN, "layouts.json")) as f:
    GOLDEN_CASES = json.load(f)["cases"]
GOLDEN_ARRAYS = np.load(os.path.join(GOLDEN, "layouts.npz"))


@pytest.mark.parametrize("case", GOLDEN_CASES, ids=[c["id"] for c in GOLDEN_CASES])
def test_pool_channels_last_matches_mxnet(case):
    cid = case["id"]
    op = get("Pooling")
    p = op.parse_params(case["params"])
    x = GOLDEN_ARRAYS[f"{cid}:x"]
    want = GOLDEN_ARRAYS[f"{cid}:out"]
    assert tuple(op.infer_shape(p, [x.shape], [])[1][0]) == want.shape
    _, _, (y, *_), saved, _ = run_op(op, case["params"], [x])
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    (g,) = op.backward(p, [GOLDEN_ARRAYS[f"{cid}:head"]], [x], [y], [], saved)
    np.testing.assert_allclose(g, GOLDEN_ARRAYS[f"{cid}:grad"], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- shapes, errors
@pytest.mark.parametrize("name, params, data, weight, out", [
    # MXNet 1.9.1's infer_shape: Convolution (F, *k, C/g), Deconvolution (C, *k, F/g)
    ("Convolution", {"kernel": (3, 3), "num_filter": 4, "stride": (2, 2), "pad": (1, 1)},
     (2, 5, 6, 7), (4, 3, 3, 7), (2, 3, 3, 4)),
    ("Convolution", {"kernel": (3, 3, 3), "num_filter": 4, "num_group": 2, "no_bias": True},
     (2, 4, 5, 6, 8), (4, 3, 3, 3, 4), (2, 2, 3, 4, 4)),
    ("Deconvolution", {"kernel": (3, 3), "num_filter": 4, "num_group": 2},
     (2, 5, 6, 8), (8, 3, 3, 2), (2, 7, 8, 4)),
    ("Deconvolution", {"kernel": (3, 3, 3), "num_filter": 4, "stride": (2, 2, 2),
                       "pad": (1, 1, 1)}, (2, 4, 5, 6, 7), (7, 3, 3, 3, 4), (2, 7, 9, 11, 4)),
], ids=["conv2d", "conv3d_group", "deconv2d_group", "deconv3d_stride"])
def test_channels_last_infer_shape_matches_mxnet(name, params, data, weight, out):
    layout = LAST[len(params["kernel"])]
    sym = getattr(mx.sym, name)(mx.sym.Variable("data"), layout=layout, name="c", **params)
    arg_shapes, out_shapes, _ = sym.infer_shape(data=data)
    assert tuple(arg_shapes[1]) == weight
    assert tuple(out_shapes[0]) == out


@pytest.mark.parametrize("name, params, shape, match", [
    ("Convolution", {"kernel": (3,), "num_filter": 2, "layout": "NHWC"}, (1, 5, 3),
     r"layout 'NHWC'.*NCW or NWC"),
    ("Deconvolution", {"kernel": (3, 3), "num_filter": 2, "layout": "NDHWC"}, (1, 5, 5, 3),
     r"layout 'NDHWC'.*NCHW or NHWC"),
    ("Pooling", {"kernel": (2,), "layout": "NHWC"}, (1, 5, 3), r"layout 'NHWC'.*NCW or NWC"),
], ids=["conv", "deconv", "pool"])
def test_channels_last_layout_must_match_kernel(name, params, shape, match):
    op = get(name)
    with pytest.raises(ShapeError, match=match):
        op.infer_shape(op.parse_params(params), [shape] + [None] * 2, [])


@pytest.mark.parametrize("layer, layout, shape", [
    (lambda lay: mx.gluon.nn.Conv1D(6, 3, padding=1, layout=lay), "NWC", (2, 9, 4)),
    (lambda lay: mx.gluon.nn.Conv2D(6, 3, strides=2, groups=2, layout=lay), "NHWC",
     (2, 7, 8, 4)),
    (lambda lay: mx.gluon.nn.Conv3D(6, 2, layout=lay), "NDHWC", (2, 4, 5, 6, 4)),
    (lambda lay: mx.gluon.nn.Conv2DTranspose(6, 3, strides=2, output_padding=1, layout=lay),
     "NHWC", (2, 5, 6, 4)),
    (lambda lay: mx.gluon.nn.MaxPool2D(layout=lay), "NHWC", (2, 6, 8, 4)),
    (lambda lay: mx.gluon.nn.AvgPool3D(pool_size=2, strides=1, layout=lay), "NDHWC",
     (2, 4, 5, 6, 4)),
    (lambda lay: mx.gluon.nn.GlobalMaxPool1D(layout=lay), "NWC", (2, 9, 4)),
], ids=["Conv1D", "Conv2D_group", "Conv3D", "Conv2DTranspose", "MaxPool2D", "AvgPool3D",
        "GlobalMaxPool1D"])
def test_gluon_layers_channels_last(layer, layout, shape):
    first_layout = {"NWC": "NCW", "NHWC": "NCHW", "NDHWC": "NCDHW"}[layout]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    net_l, net_f = layer(layout), layer(first_layout)
    net_l.initialize()
    net_f.initialize()
    y_l = net_l(mx.nd.array(x))  # deferred init from channels-last data
    net_f(mx.nd.array(first(x)))
    for (_, p_l), (_, p_f) in zip(sorted(net_l.collect_params().items()),
                                  sorted(net_f.collect_params().items()), strict=True):
        v = p_l.data().asnumpy()
        if v.ndim > 2:  # weights: (O, *kernel, I) channels-last, (O, I, *kernel) first
            assert p_f.shape == first(v).shape
            v = first(v)
        p_f.set_data(mx.nd.array(v))
    y_f = net_f(mx.nd.array(first(x)))
    np.testing.assert_allclose(y_l.asnumpy(), last(y_f.asnumpy()), rtol=1e-5, atol=1e-5)
    net_l.hybridize()
    np.testing.assert_allclose(net_l(mx.nd.array(x)).asnumpy(), y_l.asnumpy(), rtol=1e-6)


def test_gluon_rejects_unknown_layout():
    with pytest.raises(ValueError, match=r"Conv2D: layout 'NWC' is not supported; use NCHW or"):
        mx.gluon.nn.Conv2D(4, 3, layout="NWC")
    with pytest.raises(ValueError, match=r"MaxPool1D: layout 'NCHW'"):
        mx.gluon.nn.MaxPool1D(layout="NCHW")
