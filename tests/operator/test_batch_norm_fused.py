"""BatchNorm's fused kernels against a plain NumPy reference: layouts, dtypes, statistics modes."""

import numpy as np
import pytest

from mxlite.operator.registry import get

RNG = np.random.default_rng(13)


def reference(x, gamma, beta, moving, p, is_train, dy):
    """out, moving statistics after the step and (dx, dgamma, dbeta), in float64 NumPy."""
    ax = p["axis"] % x.ndim
    axes = tuple(i for i in range(x.ndim) if i != ax)
    shape = [1] * x.ndim
    shape[ax] = -1
    x = x.astype(np.float64)
    dy = dy.astype(np.float64)
    g = np.ones_like(gamma) if p["fix_gamma"] else gamma.astype(np.float64)
    batch = is_train and not p["use_global_stats"]
    if batch:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        mom = p["momentum"]
        moving = [moving[0] * mom + mean * (1 - mom), moving[1] * mom + var * (1 - mom)]
    else:
        mean, var = moving[0].astype(np.float64), moving[1].astype(np.float64)
    inv = 1 / np.sqrt(var + p["eps"])
    xhat = (x - mean.reshape(shape)) * inv.reshape(shape)
    out = xhat * g.reshape(shape) + beta.reshape(shape)
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * xhat).sum(axis=axes)
    m = x.size // x.shape[ax]
    if batch:
        dx = (g * inv).reshape(shape) / m * (m * dy - dbeta.reshape(shape)
                                             - xhat * dgamma.reshape(shape))
    else:
        dx = (g * inv).reshape(shape) * dy
    if p["fix_gamma"]:
        dgamma = np.zeros_like(dgamma)
    return out, moving, (dx, dgamma, dbeta)


# id, data shape, params, is_train, data offset
CASES = [
    ("nchw", (8, 3, 5, 6), {}, True, 0.0),
    ("nchw_parallel", (16, 4, 64, 65), {}, True, 0.0),  # above the parallel threshold
    ("nchw_far_from_zero", (4, 3, 7, 7), {}, True, 1e4),
    ("axis_last_2d", (33, 7), {"axis": -1}, True, 0.0),
    ("axis_last_4d", (3, 4, 5, 6), {"axis": 3}, True, 2.0),
    ("axis_2", (3, 4, 5, 6), {"axis": 2}, True, 0.0),
    ("axis_0", (5, 4, 3), {"axis": 0}, True, 0.0),
    ("fix_gamma", (6, 3, 4), {"fix_gamma": True}, True, 0.0),
    ("global_stats", (6, 3, 4), {"use_global_stats": True}, True, 0.0),
    ("global_stats_axis_last", (6, 4), {"use_global_stats": True, "axis": 1}, True, 0.0),
    ("inference", (6, 3, 4, 2), {}, False, 0.0),
]
DTYPES = [("float64", 1e-10), ("float32", 2e-5), ("float16", 2e-2)]


@pytest.mark.parametrize("dtype,tol", DTYPES, ids=[d[0] for d in DTYPES])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_batch_norm_matches_numpy(case, dtype, tol):
    _, shape, extra, is_train, offset = case
    p = {"eps": 1e-3, "momentum": 0.9, "fix_gamma": False, "use_global_stats": False,
         "axis": 1, **extra}
    op = get("BatchNorm")
    params = op.parse_params(p)
    c = shape[p["axis"] % len(shape)]
    x = (RNG.standard_normal(shape) * 1.5 + offset).astype(dtype)
    if dtype == "float16" and offset > 100:
        pytest.skip("float16 cannot hold small deviations from 1e4")
    gamma = RNG.uniform(0.5, 2, c).astype(dtype)
    beta = RNG.standard_normal(c).astype(dtype)
    moving = [(RNG.standard_normal(c) + offset).astype(dtype),
              RNG.uniform(0.5, 2, c).astype(dtype)]
    dy = RNG.standard_normal(shape).astype(dtype)
    want_out, want_moving, want_grads = reference(x, gamma, beta, moving, p, is_train, dy)
    aux = [a.copy() for a in moving]
    outs, saved = op.forward(params, [x, gamma.copy(), beta], aux, is_train)
    scale = np.abs(want_out).max()
    np.testing.assert_allclose(outs[0], want_out, rtol=tol, atol=tol * scale)
    assert outs[0].dtype == x.dtype
    for got, want in zip(aux, want_moving, strict=True):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * (1 + abs(offset)))
    grads = op.backward(params, [dy], [x, gamma, beta], outs, aux, saved)
    for got, want, name in zip(grads, want_grads, ("data", "gamma", "beta"), strict=True):
        assert got.dtype == x.dtype, name
        np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * 10 * np.abs(want).max()
                                   + 1e-12, err_msg=name)


def test_fused_batch_norm_writes_into_given_buffers():
    op = get("BatchNorm")
    params = op.parse_params({"fix_gamma": False})
    x = RNG.standard_normal((4, 3, 5)).astype(np.float32)
    gamma, beta = np.ones(3, np.float32), np.zeros(3, np.float32)
    aux = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    buf = np.empty_like(x)
    outs, saved = op.forward(params, [x, gamma, beta], aux, True, out=[buf])
    assert outs[0] is buf
    gbuf = np.empty_like(x)
    grads = op.backward(params, [np.ones_like(x)], [x, gamma, beta], outs, aux, saved,
                        gout=[gbuf, None, None])
    assert grads[0] is gbuf
    np.testing.assert_allclose(gbuf, 0, atol=1e-6)  # a constant head gradient has no effect


def test_batch_statistics_of_an_empty_batch_raise():
    op = get("BatchNorm")
    params = op.parse_params({"fix_gamma": False})
    x = np.zeros((0, 3, 4), np.float32)
    aux = [np.zeros(3, np.float32), np.ones(3, np.float32)]
    with pytest.raises(ValueError, match=r"BatchNorm: no elements per channel.*\(0, 3, 4\)"):
        op.forward(params, [x, np.ones(3, np.float32), np.zeros(3, np.float32)], aux, True)
