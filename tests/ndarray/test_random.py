"""mx.nd.random and mx.random.seed: reproducibility, dtypes, shapes, ctx, out, distributions."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

DRAWS = {
    "uniform": lambda **kw: mx.nd.random.uniform(-1, 1, **kw),
    "normal": lambda **kw: mx.nd.random.normal(0, 1, **kw),
    "randint": lambda **kw: mx.nd.random.randint(0, 100, **kw),
    "exponential": lambda **kw: mx.nd.random.exponential(2.0, **kw),
    "gamma": lambda **kw: mx.nd.random.gamma(2.0, 1.5, **kw),
    "poisson": lambda **kw: mx.nd.random.poisson(3.0, **kw),
    "shuffle": lambda shape: mx.nd.random.shuffle(mx.nd.arange(int(np.prod(shape))).reshape(shape)),
}
DEFAULT_DTYPE = {"randint": np.int32}


@pytest.mark.parametrize("name", DRAWS)
def test_seed_makes_draws_reproducible(name):
    mx.random.seed(42)
    first = DRAWS[name](shape=(3, 4)).asnumpy()
    second = DRAWS[name](shape=(3, 4)).asnumpy()
    mx.random.seed(42)
    again = DRAWS[name](shape=(3, 4)).asnumpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second)
    mx.random.seed(43)
    assert not np.array_equal(first, DRAWS[name](shape=(3, 4)).asnumpy())


@pytest.mark.parametrize("name", [n for n in DRAWS if n != "shuffle"])
def test_default_dtype_and_shape(name):
    x = DRAWS[name](shape=(2, 5))
    assert x.shape == (2, 5)
    assert x.dtype is DEFAULT_DTYPE.get(name, np.float32)
    assert x.context == mx.cpu()


def test_seed_governs_the_shared_generator():
    mx.random.seed(7)
    a = mx.random.generator().random(3)
    mx.random.seed(7)
    assert np.array_equal(a, mx.random.generator().random(3))


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True], ids=["negative", "float", "str", "bool"])
def test_seed_validation(bad):
    with pytest.raises(ValueError, match="seed_state"):
        mx.random.seed(bad)


def test_mx_random_aliases():
    mx.random.seed(3)
    a = mx.random.uniform(0, 1, shape=(4,))
    mx.random.seed(3)
    np.testing.assert_array_equal(a.asnumpy(), mx.nd.random.uniform(0, 1, shape=(4,)).asnumpy())
    assert mx.random.normal(shape=(2,)).shape == (2,)
    assert mx.random.randint(0, 3, shape=(2,)).dtype is np.int32
    assert mx.nd.random_uniform(shape=(2,)).shape == (2,)


@pytest.mark.parametrize("shape, expected", [(None, (1,)), (5, (5,)), ((2, 3), (2, 3))],
                         ids=["default", "int", "tuple"])
def test_shapes(shape, expected):
    assert mx.nd.random.uniform(shape=shape).shape == expected
    assert mx.nd.random.randint(0, 5, shape=shape).shape == expected


def test_uniform_range_and_moments():
    x = mx.nd.random.uniform(2, 5, shape=(20000,)).asnumpy()
    assert x.min() >= 2 and x.max() < 5
    assert abs(x.mean() - 3.5) < 0.05


def test_normal_moments():
    x = mx.nd.random.normal(1.5, 2.0, shape=(20000,)).asnumpy()
    assert abs(x.mean() - 1.5) < 0.06 and abs(x.std() - 2.0) < 0.06


def test_randint_range():
    x = mx.nd.random.randint(-3, 4, shape=(5000,)).asnumpy()
    assert x.min() == -3 and x.max() == 3
    assert (mx.nd.random.randint(0, 1, shape=(5,)).asnumpy() == 0).all()


@pytest.mark.parametrize(
    "fn, dtype",
    [(mx.nd.random.uniform, "float64"), (mx.nd.random.uniform, "float16"),
     (mx.nd.random.normal, "float64"), (mx.nd.random.randint, "int64")],
    ids=["uniform-f64", "uniform-f16", "normal-f64", "randint-i64"],
)
def test_dtype_argument(fn, dtype):
    args = (0, 5) if fn is mx.nd.random.randint else (0, 1)
    assert fn(*args, shape=(3,), dtype=dtype).dtype is np.dtype(dtype).type


@pytest.mark.parametrize(
    "call, match",
    [(lambda: mx.nd.random.uniform(0, 1, shape=5, dtype="int32"), "dtype"),
     (lambda: mx.nd.random.randint(0, 5, shape=5, dtype="float32"), "dtype"),
     (lambda: mx.nd.random.uniform(2, 1, shape=5), "low"),
     (lambda: mx.nd.random.normal(0, -1, shape=5), "scale"),
     (lambda: mx.nd.random.randint(5, 5, shape=5), "low"),
     (lambda: mx.nd.random.exponential(-1.0), "scale"),
     (lambda: mx.nd.random.gamma(0, 1), "alpha"),
     (lambda: mx.nd.random.poisson(-1), "lam")],
    ids=["uniform-int-dtype", "randint-float-dtype", "uniform-low-high", "normal-scale",
         "randint-empty", "exponential-scale", "gamma-alpha", "poisson-lam"],
)
def test_errors(call, match):
    with pytest.raises(MXNetError, match=match):
        call()


def test_ctx_and_gpu():
    assert mx.nd.random.uniform(shape=(2,), ctx=mx.cpu(2)).context == mx.cpu(2)
    with pytest.raises(MXNetError, match="gpu"):
        mx.nd.random.uniform(shape=(2,), ctx=mx.gpu())


@pytest.mark.parametrize("name", ["uniform", "normal", "randint", "exponential", "gamma",
                                  "poisson"])
def test_out(name):
    dtype = "int64" if name == "randint" else "float64"
    out = mx.nd.zeros((2, 3), dtype=dtype)
    res = DRAWS[name](out=out)
    assert res is out and out.dtype is np.dtype(dtype).type
    assert out.shape == (2, 3)
    assert np.unique(out.asnumpy()).size > 1


def test_out_with_shape():
    out = mx.nd.zeros((2, 2))
    assert mx.nd.random.uniform(shape=(2, 2), out=out) is out
    with pytest.raises(MXNetError, match="shape"):
        mx.nd.random.uniform(shape=(3,), out=out)


def test_ndarray_parameters():
    low, high = mx.nd.array([0, 10]), mx.nd.array([1, 11])
    x = mx.nd.random.uniform(low, high, shape=3)
    assert x.shape == (2, 3) and x.dtype is np.float32
    v = x.asnumpy()
    assert (v[0] >= 0).all() and (v[0] < 1).all() and (v[1] >= 10).all() and (v[1] < 11).all()
    assert mx.nd.random.uniform(low, high).shape == (2,)
    y = mx.nd.random.normal(mx.nd.array([0, 100]), mx.nd.array([1, 1]), shape=(500,))
    assert y.shape == (2, 500)
    assert abs(y.asnumpy()[1].mean() - 100) < 0.3
    with pytest.raises(MXNetError, match="low"):
        mx.nd.random.uniform(high, low)


def test_randn():
    assert mx.nd.random.randn(2, 3).shape == (2, 3)
    assert mx.nd.random.randn(4, loc=10, scale=0.001).asnumpy().round().tolist() == [10] * 4


def test_shuffle_permutes_rows():
    rows = mx.nd.array([[1, 2], [3, 4], [5, 6], [7, 8]])
    out = mx.nd.random.shuffle(rows)
    assert out is not rows
    got = sorted(map(tuple, out.asnumpy().tolist()))
    assert got == sorted(map(tuple, rows.asnumpy().tolist()))
    assert rows.asnumpy().tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert mx.nd.random.shuffle(mx.nd.array([5])).asnumpy().tolist() == [5]
    target = mx.nd.zeros((4, 2))
    assert mx.nd.random.shuffle(rows, out=target) is target


def test_shuffle_visits_all_permutations():
    seen = {tuple(mx.nd.random.shuffle(mx.nd.arange(3)).asnumpy().tolist()) for _ in range(200)}
    assert len(seen) == 6
