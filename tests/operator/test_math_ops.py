"""The math operators of operator/tensor/math.py: forward against NumPy/SciPy-free references,
float64 gradient checks, and the ``mx.sym`` helpers maximum/minimum/pow/hypot."""

import math

import numpy as np
import pytest
from gradcheck import check_gradient

import mxlite as mx
from mxlite.operator.tensor.math import digamma

_gamma = np.vectorize(math.gamma)
_lgamma = np.vectorize(math.lgamma)
_erf = np.vectorize(math.erf)

# name -> (reference forward, domain low, domain high)
UNARY = {
    "tan": (np.tan, -1.0, 1.0),
    "arcsin": (np.arcsin, -0.9, 0.9),
    "arccos": (np.arccos, -0.9, 0.9),
    "arctan": (np.arctan, -3.0, 3.0),
    "sinh": (np.sinh, -2.0, 2.0),
    "cosh": (np.cosh, -2.0, 2.0),
    "arcsinh": (np.arcsinh, -3.0, 3.0),
    "arccosh": (np.arccosh, 1.2, 4.0),
    "arctanh": (np.arctanh, -0.9, 0.9),
    "degrees": (np.degrees, -3.0, 3.0),
    "radians": (np.radians, -180.0, 180.0),
    "gamma": (_gamma, 0.3, 4.0),
    "gammaln": (_lgamma, 0.3, 4.0),
    "rcbrt": (lambda x: 1.0 / np.cbrt(x), 0.5, 3.0),
    "erf": (_erf, -2.0, 2.0),
}


def _sample(low, high, shape=(3, 4), seed=0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward_matches_reference(name):
    ref, low, high = UNARY[name]
    x = _sample(low, high).astype(np.float32)
    got = getattr(mx.nd, name)(mx.nd.array(x)).asnumpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradient_float64(name):
    _, low, high = UNARY[name]
    check_gradient(name, {}, [_sample(low, high, seed=1)])


@pytest.mark.parametrize("params", [{}, {"alpha": 0.5, "beta": 0.1}], ids=["default", "custom"])
def test_hard_sigmoid(params):
    x = np.linspace(-4, 4, 17)
    alpha, beta = params.get("alpha", 0.2), params.get("beta", 0.5)
    got = mx.nd.hard_sigmoid(mx.nd.array(x, dtype="float64"), **params).asnumpy()
    np.testing.assert_allclose(got, np.clip(alpha * x + beta, 0, 1))
    # avoid the kinks for the finite differences
    check_gradient("hard_sigmoid", params, [np.array([-3.3, -0.7, 0.4, 1.1, 3.9])])


def test_hypot_forward_and_gradient():
    a, b = _sample(-2, 2, seed=2), _sample(0.5, 2, seed=3)
    got = mx.nd.hypot(mx.nd.array(a, dtype="float64"), mx.nd.array(b, dtype="float64"))
    np.testing.assert_allclose(got.asnumpy(), np.hypot(a, b))
    check_gradient("_hypot", {}, [a, b])


def test_digamma_against_recurrence_and_known_values():
    # psi(1) = -Euler-Mascheroni, psi(x + 1) = psi(x) + 1/x, reflection below 0.5
    assert digamma(np.array([1.0]))[0] == pytest.approx(-0.5772156649015329, abs=1e-12)
    x = np.array([-2.5, -0.3, 0.1, 0.7, 3.3, 12.0])
    np.testing.assert_allclose(digamma(x + 1), digamma(x) + 1 / x, rtol=1e-11)


@pytest.mark.parametrize(
    "fn, args, expected",
    [(mx.sym.maximum, ("a", 1.0), [1.0, 2.0]),
     (mx.sym.maximum, (1.0, "a"), [1.0, 2.0]),
     (mx.sym.minimum, ("a", "b"), [0.5, 1.5]),
     (mx.sym.power, ("a", 2.0), [0.25, 4.0]),
     (mx.sym.pow, (2.0, "a"), [2 ** 0.5, 4.0]),
     (mx.sym.hypot, ("a", "b"), [np.hypot(0.5, 1.0), np.hypot(2.0, 1.5)])],
    ids=["max-scalar", "max-rscalar", "min-sym", "pow-scalar", "rpow", "hypot"],
)
def test_symbol_binary_helpers(fn, args, expected):
    a, b = mx.sym.var("a"), mx.sym.var("b")
    sym = fn(*[{"a": a, "b": b}.get(x, x) if isinstance(x, str) else x for x in args])
    feed = {"a": mx.nd.array([0.5, 2.0]), "b": mx.nd.array([1.0, 1.5])}
    feed = {k: v for k, v in feed.items() if k in sym.list_arguments()}
    np.testing.assert_allclose(sym.eval(**feed)[0].asnumpy(), expected, rtol=1e-6)


def test_symbol_binary_helpers_reject_bad_types():
    with pytest.raises(TypeError, match="maximum"):
        mx.sym.maximum("x", 1)
    assert mx.sym.maximum(2, 3) == 3


@pytest.mark.parametrize("name", ["degrees", "rcbrt", "tan", "rint", "trunc"])
def test_fluent_methods_match_functions(name):
    x = mx.nd.array(_sample(0.5, 1.5))
    np.testing.assert_allclose(getattr(x, name)().asnumpy(),
                               getattr(mx.nd, name)(x).asnumpy())
    s = getattr(mx.sym.var("x"), name)(name="f")
    assert s.name == "f"


# operator names with a float64 gradient check here (read by test_tensor_ops)
GRAD_CHECKED = set(UNARY) | {"hard_sigmoid", "_hypot"}
