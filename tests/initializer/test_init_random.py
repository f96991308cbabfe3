"""Random initializers follow MXNet 1.9.1's distributions (fixed seeds, 5-sigma tolerances).

For ``n`` i.i.d. draws, the sample mean has standard error ``sd / sqrt(n)`` and the sample
variance ``sqrt(m4 - var^2) / sqrt(n)`` (``m4`` the fourth central moment: ``s^4 / 5`` for
U(-s, s), ``3 sigma^4`` for N(0, sigma^2)).  Tests allow 5 standard errors, and a
Kolmogorov-Smirnov distance below the 0.1% critical value ``1.95 / sqrt(n)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx

_erf = np.frompyfunc(math.erf, 1, 1)


def _draw(init, shape, name="fc_weight", dtype="float32"):
    arr = mx.nd.zeros(shape, dtype=dtype)
    init(mx.init.InitDesc(name), arr)
    return arr.asnumpy()


def _ks_distance(x: np.ndarray, cdf) -> float:
    x = np.sort(x.ravel().astype(np.float64))
    n = x.size
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def _uniform_cdf(s):
    return lambda x: np.clip((x + s) / (2 * s), 0.0, 1.0)


def _normal_cdf(sigma):
    return lambda x: 0.5 * (1.0 + _erf(x / (sigma * math.sqrt(2.0))).astype(np.float64))


def assert_uniform(x: np.ndarray, s: float):
    n = x.size
    assert np.all(x >= -s) and np.all(x <= s), (x.min(), x.max(), s)
    assert x.max() > s * (1 - 20 / n) and x.min() < -s * (1 - 20 / n)
    var = s * s / 3
    assert abs(x.mean()) < 5 * math.sqrt(var / n)
    assert abs(x.var() - var) < 5 * math.sqrt(s**4 / 5 - var**2) / math.sqrt(n)
    assert _ks_distance(x, _uniform_cdf(s)) < 1.95 / math.sqrt(n)


def assert_normal(x: np.ndarray, sigma: float):
    n = x.size
    assert abs(x.mean()) < 5 * sigma / math.sqrt(n)
    assert abs(x.var() - sigma**2) < 5 * math.sqrt(2) * sigma**2 / math.sqrt(n)
    assert _ks_distance(x, _normal_cdf(sigma)) < 1.95 / math.sqrt(n)


# ------------------------------------------------------------------------- Uniform / Normal
@pytest.mark.parametrize("scale", [0.07, 0.5, 3.0], ids=lambda s: f"scale={s}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_bounds_mean_var(scale, dtype):
    x = _draw(mx.init.Uniform(scale), (200, 300), dtype=dtype)
    assert x.dtype == np.dtype(dtype)
    assert_uniform(x, scale)


@pytest.mark.parametrize("shape", [(200, 300), (301, 201)], ids=["even", "odd-size"])
@pytest.mark.parametrize("sigma", [0.01, 1.0, 4.0], ids=lambda s: f"sigma={s}")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_mean_std(sigma, dtype, shape):
    x = _draw(mx.init.Normal(sigma), shape, dtype=dtype)
    assert x.dtype == np.dtype(dtype)
    assert_normal(x, sigma)


@pytest.mark.parametrize("size", [1, 2, 3, 32767, 32769], ids=lambda n: f"n={n}")
def test_normal_fills_every_element_of_any_size(size):
    a = _draw(mx.init.Normal(1.0), (size,))
    b = _draw(mx.init.Normal(1.0), (size,))
    assert np.all(np.isfinite(a)) and np.all(a != b)


def test_normal_box_muller_pairs_are_independent():
    # the two halves of a block share their radius: their squares must still be uncorrelated
    m = 16384
    x = _draw(mx.init.Normal(1.0), (4 * m,)).astype(np.float64)
    for block in (x[: 2 * m], x[2 * m :]):
        z0, z1 = block[:m], block[m:]
        assert abs(np.corrcoef(z0, z1)[0, 1]) < 5 / math.sqrt(m)
        assert abs(np.corrcoef(z0**2, z1**2)[0, 1]) < 5 / math.sqrt(m)
    assert abs(np.corrcoef(x[: 2 * m], x[2 * m :])[0, 1]) < 5 / math.sqrt(2 * m)


def test_float16_target_is_drawn_then_cast():
    x = _draw(mx.init.Uniform(1.0), (100, 100), dtype="float16")
    assert x.dtype == np.float16
    assert_uniform(x.astype(np.float64), 1.0)


def test_strided_target_is_filled_in_place():
    base = np.zeros((300, 200), dtype=np.float32)
    view = mx.nd.NDArray(base[:, ::2])
    mx.init.Normal(2.0)(mx.init.InitDesc("fc_weight"), view)
    assert np.all(base[:, 1::2] == 0)
    assert_normal(base[:, ::2], 2.0)


def test_normal_sigma_zero_gives_zeros():
    assert np.all(_draw(mx.init.Normal(0.0), (5, 5)) == 0)


def test_seed_makes_draws_reproducible():
    mx.random.seed(42)
    a = _draw(mx.init.Xavier(), (30, 20))
    mx.random.seed(42)
    b = _draw(mx.init.Xavier(), (30, 20))
    mx.random.seed(43)
    c = _draw(mx.init.Xavier(), (30, 20))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# ---------------------------------------------------------------------- Xavier / MSRAPrelu
SHAPES = {
    "fc-300x200": (300, 200),
    "fc-100x600": (100, 600),
    "conv-64x32x3x3": (64, 32, 3, 3),
    "conv-16x48x5x5": (16, 48, 5, 5),
    "conv1d-128x40x7": (128, 40, 7),
}


def _fans(shape):
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _factor(shape, factor_type):
    fan_in, fan_out = _fans(shape)
    return {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor_type]


XAVIER = [(rnd, fac, mag, sid)
          for rnd in ("uniform", "gaussian")
          for fac in ("avg", "in", "out")
          for mag, sid in ((3, "fc-300x200"), (2.34, "conv-64x32x3x3"), (1, "conv-16x48x5x5"),
                           (6, "conv1d-128x40x7"), (3, "fc-100x600"))]


@pytest.mark.parametrize(
    "rnd_type,factor_type,magnitude,shape_id", XAVIER,
    ids=[f"{r}-{f}-mag{m}-{s}" for r, f, m, s in XAVIER],
)
def test_xavier_distribution(rnd_type, factor_type, magnitude, shape_id):
    shape = SHAPES[shape_id]
    x = _draw(mx.init.Xavier(rnd_type, factor_type, magnitude), shape)
    scale = math.sqrt(magnitude / _factor(shape, factor_type))
    if rnd_type == "uniform":
        assert_uniform(x, scale)
    else:
        assert_normal(x, scale)


MSRA = [(fac, slope, sid) for fac in ("avg", "in", "out") for slope, sid in
        ((0.25, "conv-64x32x3x3"), (0.0, "fc-300x200"), (1.0, "conv-16x48x5x5"))]


@pytest.mark.parametrize("factor_type,slope,shape_id", MSRA,
                         ids=[f"{f}-slope{s}-{i}" for f, s, i in MSRA])
def test_msraprelu_std(factor_type, slope, shape_id):
    shape = SHAPES[shape_id]
    x = _draw(mx.init.MSRAPrelu(factor_type, slope), shape)
    assert_normal(x, math.sqrt(2.0 / (1 + slope**2) / _factor(shape, factor_type)))


# ------------------------------------------------------------------------------ Orthogonal
ORTHO = [(rand, scale, shape) for rand in ("uniform", "normal") for scale in (1.414, 0.5)
         for shape in ((20, 50), (50, 20), (30, 30), (8, 4, 3, 3), (64, 2, 2))]


def _shape_id(shape):
    return "x".join(map(str, shape))


@pytest.mark.parametrize("rand_type,scale,shape", ORTHO,
                         ids=[f"{r}-scale{s}-{_shape_id(sh)}" for r, s, sh in ORTHO])
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-12)])
def test_orthogonal_gram_is_scaled_identity(rand_type, scale, shape, dtype, tol):
    w = _draw(mx.init.Orthogonal(scale, rand_type), shape, dtype=dtype)
    assert w.dtype == np.dtype(dtype)
    m = w.reshape(shape[0], -1).astype(np.float64)
    # wide (n_out <= n_in): orthonormal rows; tall: orthonormal columns
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, scale**2 * np.eye(gram.shape[0]), atol=tol * 10 * scale**2)


@pytest.mark.parametrize("rand_type", ["uniform", "normal"])
def test_orthogonal_entries_are_not_degenerate(rand_type):
    # a Haar-like orthogonal 64x64 has entries of variance 1/64 around mean 0
    w = _draw(mx.init.Orthogonal(1.0, rand_type), (64, 64)).astype(np.float64)
    assert abs(w.mean()) < 5 / 64
    assert abs(w.var() - 1 / 64) < 0.2 / 64


# ------------------------------------------------------------------------------ properties
@settings(max_examples=40, deadline=None)
@given(scale=st.floats(1e-3, 1e3), rows=st.integers(1, 30), cols=st.integers(1, 30))
def test_uniform_never_leaves_its_range(scale, rows, cols):
    x = _draw(mx.init.Uniform(scale), (rows, cols), dtype="float64")
    assert np.all(np.abs(x) <= scale)


@settings(max_examples=40, deadline=None)
@given(rnd=st.sampled_from(["uniform", "gaussian"]),
       fac=st.sampled_from(["avg", "in", "out"]),
       shape=st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple))
def test_xavier_uniform_bound_any_shape(rnd, fac, shape):
    x = _draw(mx.init.Xavier(rnd, fac, 3), shape, dtype="float64")
    assert x.shape == shape and np.all(np.isfinite(x))
    if rnd == "uniform":
        assert np.all(np.abs(x) <= math.sqrt(3 / _factor(shape, fac)))
