"""FullyConnected, activations, softmax family and loss outputs: gradients, shapes, errors."""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradient, check_shape_error, run_op

from mxlite.base import MXNetError
from mxlite.operator import get

RNG = np.random.default_rng(7)


def rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape)


def away_from_zero(*shape):
    """Values with |x| in [0.2, 2]: keeps finite differences off the kinks at 0."""
    return RNG.uniform(0.2, 2.0, size=shape) * RNG.choice([-1.0, 1.0], size=shape)


# (id, op, params, inputs)
GRAD_CASES = [
    ("fc", "FullyConnected", {"num_hidden": 3}, lambda: [rand(2, 4), rand(3, 4), rand(3)]),
    ("fc_4d_flatten", "FullyConnected", {"num_hidden": 2},
     lambda: [rand(2, 2, 2, 2), rand(2, 8), rand(2)]),
    ("fc_no_flatten", "FullyConnected", {"num_hidden": 3, "flatten": False},
     lambda: [rand(2, 2, 4), rand(3, 4), rand(3)]),
    ("fc_no_bias", "FullyConnected", {"num_hidden": 3, "no_bias": True},
     lambda: [rand(2, 5), rand(3, 5)]),
    *[(f"act_{t}", "Activation", {"act_type": t}, lambda: [away_from_zero(2, 3, 2)])
      for t in ("relu", "sigmoid", "tanh", "softrelu", "softsign")],
    *[(f"leaky_{t}", "LeakyReLU", {"act_type": t, "slope": 0.3}, lambda: [away_from_zero(2, 3, 2)])
      for t in ("leaky", "elu", "selu", "gelu")],
    ("leaky_rrelu_train", "LeakyReLU", {"act_type": "rrelu"}, lambda: [away_from_zero(2, 3)]),
    ("prelu", "LeakyReLU", {"act_type": "prelu"},
     lambda: [away_from_zero(2, 3, 2), rand(3, low=0.1, high=0.5)]),
    ("prelu_shared", "LeakyReLU", {"act_type": "prelu"},
     lambda: [away_from_zero(2, 3), rand(1, low=0.1, high=0.5)]),
    ("softmax", "softmax", {}, lambda: [rand(2, 4)]),
    ("softmax_axis0_temp", "softmax", {"axis": 0, "temperature": 2.0}, lambda: [rand(3, 2, 2)]),
    ("softmax_length", "softmax", {"use_length": True, "axis": 1},
     lambda: [rand(2, 4, 3), np.array([[1.0, 4, 2], [3, 2, 4]])]),
    ("log_softmax", "log_softmax", {}, lambda: [rand(2, 4)]),
    ("log_softmax_axis1_temp", "log_softmax", {"axis": 1, "temperature": 0.5},
     lambda: [rand(2, 3, 2)]),
    ("softmax_act_instance", "SoftmaxActivation", {}, lambda: [rand(2, 2, 3)]),
    ("softmax_act_channel", "SoftmaxActivation", {"mode": "channel"}, lambda: [rand(2, 3, 2)]),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradient(case):
    _, op, params, make = case
    inputs = make()
    wrt = ["data"] if params.get("use_length") else None
    check_gradient(op, params, inputs, wrt=wrt)


def _softmax_ce(axis_rows, labels, scale, ignore=None, norm=1.0, smooth=0.0):
    """Objective whose data-gradient SoftmaxOutput implements."""

    def objective(outs, xs):
        prob = axis_rows(outs[0])
        lab = labels.reshape(-1).astype(int)
        k = prob.shape[1]
        logp = np.log(prob)
        total = 0.0
        for r, lb in enumerate(lab):
            if ignore is not None and lb == ignore:
                continue
            if smooth:
                target = np.full(k, smooth / (k - 1))
                target[lb] = 1 - smooth
            else:
                target = np.eye(k)[lb]
            total -= np.dot(target, logp[r])
        return total * scale / norm

    return objective


def _rows_last(x):
    return x.reshape(-1, x.shape[-1])


def _rows_2d(x):
    return x.reshape(x.shape[0], -1)


def _rows_channel(x):
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


LAB4 = np.array([0.0, 2, 1, 2])
LAB_MULTI = np.array([[0.0, 1, 2], [2, 2, 1]])
LOSS_CASES = [
    ("softmax_output", {}, rand(4, 3), LAB4, _softmax_ce(_rows_2d, LAB4, 1.0)),
    ("softmax_output_batch_scale", {"normalization": "batch", "grad_scale": 2.0}, rand(4, 3), LAB4,
     _softmax_ce(_rows_2d, LAB4, 2.0, norm=4)),
    ("softmax_output_ignore_valid",
     {"use_ignore": True, "ignore_label": 2, "normalization": "valid"}, rand(4, 3), LAB4,
     _softmax_ce(_rows_2d, LAB4, 1.0, ignore=2, norm=2)),
    ("softmax_output_smooth", {"smooth_alpha": 0.2}, rand(4, 3), LAB4,
     _softmax_ce(_rows_2d, LAB4, 1.0, smooth=0.2)),
    ("softmax_output_multi", {"multi_output": True}, rand(2, 3, 3), LAB_MULTI,
     _softmax_ce(_rows_channel, LAB_MULTI, 1.0, norm=3)),
    ("softmax_output_multi_batch", {"multi_output": True, "normalization": "batch"},
     rand(2, 3, 3), LAB_MULTI, _softmax_ce(_rows_channel, LAB_MULTI, 1.0, norm=6)),
    ("softmax_output_multi_smooth_ignore", {"multi_output": True, "smooth_alpha": 0.2,
                                            "use_ignore": True, "ignore_label": 2},
     rand(2, 3, 3), LAB_MULTI, _softmax_ce(_rows_channel, LAB_MULTI, 1.0, ignore=2, norm=3,
                                           smooth=0.2)),
    ("softmax_output_preserve", {"preserve_shape": True}, rand(2, 3, 3), LAB_MULTI,
     _softmax_ce(_rows_last, LAB_MULTI, 1.0)),
]


@pytest.mark.parametrize("case", LOSS_CASES, ids=[c[0] for c in LOSS_CASES])
def test_softmax_output_gradient(case):
    _, params, data, label, objective = case
    grads = check_gradient("SoftmaxOutput", params, [data, label], wrt=["data"],
                           objective=objective)
    assert np.all(grads[1] == 0)


REG_LABEL = RNG.uniform(0.1, 0.9, size=(3, 2))  # in (0, 1): also a valid logistic target
REG_CASES = [
    ("linear", "LinearRegressionOutput", lambda o, x: 0.5 * np.sum((o[0] - REG_LABEL) ** 2) / 2),
    ("logistic", "LogisticRegressionOutput",
     lambda o, x: -np.sum(REG_LABEL * np.log(o[0]) + (1 - REG_LABEL) * np.log(1 - o[0])) / 2),
    ("mae", "MAERegressionOutput", lambda o, x: np.sum(np.abs(o[0] - REG_LABEL)) / 2),
]


@pytest.mark.parametrize("case", REG_CASES, ids=[c[0] for c in REG_CASES])
def test_regression_output_gradient(case):
    """The objectives are divided by label.size / n = 2, as MXNet normalizes the gradient."""
    _, op, objective = case
    data = REG_LABEL + away_from_zero(3, 2) * 0.3
    grads = check_gradient(op, {"grad_scale": 1.0}, [data, REG_LABEL.copy()], wrt=["data"],
                           objective=objective)
    assert np.all(grads[1] == 0)


@pytest.mark.parametrize("scale", [1.0, 3.0], ids=["scale1", "scale3"])
def test_regression_grad_scale_and_column_label(scale):
    data = rand(4, 1)
    label = rand(4)
    op, p, outs, saved, _ = run_op("LinearRegressionOutput", {"grad_scale": scale}, [data, label])
    g = op.backward(p, None, [data, label], outs, [], saved)
    np.testing.assert_allclose(g[0], scale * (data - label[:, None]))


def test_rrelu_inference_uses_mean_slope():
    x = np.array([[-2.0, 1.0, -1.0]])
    _, _, outs, _, _ = run_op("LeakyReLU", {"act_type": "rrelu", "lower_bound": 0.1,
                                             "upper_bound": 0.3}, [x], is_train=False)
    np.testing.assert_allclose(outs[0], [[-0.4, 1.0, -0.2]])


def test_rrelu_training_slopes_in_bounds():
    x = -np.ones((50, 40))
    _, _, outs, _, _ = run_op("LeakyReLU", {"act_type": "rrelu"}, [x], is_train=True)
    slopes = -outs[0]
    assert slopes.min() >= 0.125 and slopes.max() < 0.334
    assert slopes.std() > 0.02


# infer_shape: (id, op, params, in_shapes, expected in_shapes, expected out_shapes)
SHAPE_CASES = [
    ("fc_flatten", "FullyConnected", {"num_hidden": 10}, [(5, 3, 4), None, None],
     [(5, 3, 4), (10, 12), (10,)], [(5, 10)]),
    ("fc_no_flatten", "FullyConnected", {"num_hidden": 10, "flatten": False},
     [(5, 3, 4), None, None], [(5, 3, 4), (10, 4), (10,)], [(5, 3, 10)]),
    ("fc_no_bias", "FullyConnected", {"num_hidden": 2, "no_bias": True}, [(5, 3), None],
     [(5, 3), (2, 3)], [(5, 2)]),
    ("prelu", "LeakyReLU", {"act_type": "prelu"}, [(2, 3, 4), None], [(2, 3, 4), (3,)],
     [(2, 3, 4)]),
    ("rrelu_two_outputs", "LeakyReLU", {"act_type": "rrelu"}, [(2, 3)], [(2, 3)],
     [(2, 3), (2, 3)]),
    ("softmax_output", "SoftmaxOutput", {}, [(4, 3), None], [(4, 3), (4,)], [(4, 3)]),
    ("softmax_output_multi", "SoftmaxOutput", {"multi_output": True}, [(4, 3, 5, 6), None],
     [(4, 3, 5, 6), (4, 5, 6)], [(4, 3, 5, 6)]),
    ("softmax_output_preserve", "SoftmaxOutput", {"preserve_shape": True}, [(4, 3, 5), None],
     [(4, 3, 5), (4, 3)], [(4, 3, 5)]),
    ("linear_regression_column", "LinearRegressionOutput", {}, [(4, 1), None],
     [(4, 1), (4,)], [(4, 1)]),
    ("linear_regression", "LinearRegressionOutput", {}, [(4, 3), None],
     [(4, 3), (4, 3)], [(4, 3)]),
    ("softmax_length", "softmax", {"use_length": True, "axis": 1}, [(2, 3, 4), None],
     [(2, 3, 4), (2, 4)], [(2, 3, 4)]),
]


@pytest.mark.parametrize("case", SHAPE_CASES, ids=[c[0] for c in SHAPE_CASES])
def test_infer_shape(case):
    _, name, params, in_shapes, want_in, want_out = case
    op = get(name)
    p = op.parse_params(params)
    got_in, got_out, _ = op.infer_shape(p, in_shapes, [])
    assert [tuple(s) for s in got_in] == want_in
    assert [tuple(s) for s in got_out] == want_out


BAD_SHAPES = [
    ("fc_weight", "FullyConnected", {"num_hidden": 4}, [(5, 3), (4, 2), None],
     r"FullyConnected.*\(4, 2\)"),
    ("fc_bias", "FullyConnected", {"num_hidden": 4}, [(5, 3), None, (3,)],
     r"FullyConnected.*bias.*\(3,\)"),
    ("softmax_label", "SoftmaxOutput", {}, [(5, 3), (4,)], r"SoftmaxOutput.*label.*\(4,\)"),
    ("prelu_gamma", "LeakyReLU", {"act_type": "prelu"}, [(2, 3), (4,)], r"LeakyReLU.*gamma"),
    ("softmax_axis", "softmax", {"axis": 3}, [(2, 3)], r"softmax.*axis 3.*\(2, 3\)"),
]


@pytest.mark.parametrize("case", BAD_SHAPES, ids=[c[0] for c in BAD_SHAPES])
def test_bad_shapes_raise(case):
    _, name, params, in_shapes, match = case
    check_shape_error(name, params, in_shapes, match)


def test_log_softmax_rejects_use_length():
    op = get("log_softmax")
    with pytest.raises(MXNetError, match="log_softmax: use_length"):
        op.infer_shape(op.parse_params({"use_length": True}), [(2, 3)], [])


@pytest.mark.parametrize("name,params", [
    ("FullyConnected", {}), ("Activation", {}), ("Activation", {"act_type": "swish"}),
    ("Convolution", {"kernel": (3, 3)}), ("Pooling", {"pool_type": "median"}),
    ("Embedding", {"input_dim": 3}), ("UpSampling", {"scale": 2}),
], ids=["fc_missing_num_hidden", "act_missing_type", "act_bad_type", "conv_missing_num_filter",
        "pool_bad_type", "embedding_missing_output_dim", "upsampling_missing_sample_type"])
def test_bad_params_raise(name, params):
    with pytest.raises(MXNetError, match=name):
        get(name).parse_params(params)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh", "softrelu", "softsign", "leaky", "elu",
                                 "selu", "gelu"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation_kernel_variants_agree(act, dtype):
    """The serial and parallel drivers (one loop per kind) agree exactly, and with the NumPy
    float32 path, on the values of the per-element body evaluated in float64."""
    from mxlite.operator.nn import _activation_kernels as K

    kind = K.KINDS[act]
    x = RNG.uniform(-4, 4, 1000).astype(dtype)
    y_ser, y_par, y_api = (np.empty_like(x) for _ in range(3))
    K._forward_ser(kind, x, 0.3, y_ser)
    K._forward_par(kind, x, 0.3, y_par)
    K.forward(kind, x, 0.3, y_api)
    want = np.array([K._fwd(kind, float(v), 0.3) for v in x]).astype(dtype)
    tight = {"rtol": 3e-7 if dtype == "float32" else 1e-14, "atol": 0}
    np.testing.assert_allclose(y_ser, want, **tight)
    np.testing.assert_array_equal(y_par, y_ser)
    np.testing.assert_allclose(y_api, want, rtol=1e-6, atol=1e-7)
    dy = RNG.standard_normal(1000).astype(dtype)
    g_ser, g_par = np.empty_like(x), np.empty_like(x)
    K._backward_ser(kind, x, want, dy, 0.3, g_ser)
    K._backward_par(kind, x, want, dy, 0.3, g_par)
    gwant = np.array([K._bwd(kind, float(a), float(b), float(c), 0.3)
                      for a, b, c in zip(x, want, dy, strict=True)]).astype(dtype)
    # float32 kernels compute in float32 (1 - y*y cancels: a few 1e-5 relative near |y| = 1)
    np.testing.assert_allclose(g_ser, gwant, rtol=1e-4 if dtype == "float32" else 1e-12,
                               atol=1e-7 if dtype == "float32" else 0)
    np.testing.assert_array_equal(g_par, g_ser)
