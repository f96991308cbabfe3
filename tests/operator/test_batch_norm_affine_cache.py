"""BatchNorm's inference affine, kept between fused inference forwards
(:class:`mxlite.operator.nn.batch_norm.AffineCache`): the same value while gamma, beta, the
moving statistics and the parameters are unchanged, recomputed on any change of their bits."""

from __future__ import annotations

import numpy as np
import pytest

from mxlite.operator import get
from mxlite.operator.nn.batch_norm import AffineCache

C = 8


def _state(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    gamma, beta, mean = (rng.standard_normal(C).astype(dtype) for _ in range(3))
    var = (rng.random(C) + 0.5).astype(dtype)
    return [None, gamma, beta], [mean, var]


def _params(**kw):
    return get("BatchNorm").parse_params({"fix_gamma": False, "eps": 1e-3, **kw})


def _fresh(p, inputs, aux):
    return get("BatchNorm").inference_affine(p, [None, inputs[1].copy(), inputs[2].copy()],
                                             [a.copy() for a in aux], stats=True)


def _equal(got, want):
    assert len(got) == 4
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_unchanged_parameters_give_the_kept_value():
    op, p, cache = get("BatchNorm"), _params(), AffineCache()
    inputs, aux = _state()
    first = cache.get(op, p, inputs, aux)
    assert cache.get(op, p, inputs, aux) is first
    _equal(first, _fresh(p, inputs, aux))


# id, a change between two calls: (inputs, aux) -> None, or the parameters to use
CHANGES = [
    ("gamma", lambda ins, aux: ins[1].__setitem__(0, ins[1][0] + 1)),
    ("beta", lambda ins, aux: ins[2].__setitem__(-1, 2.0)),
    ("moving_mean", lambda ins, aux: aux[0].__setitem__(slice(None), aux[0] + 0.5)),
    ("moving_var", lambda ins, aux: aux[1].__setitem__(slice(None), aux[1] * 2.0)),
    ("sign_of_zero", lambda ins, aux: ins[2].__setitem__(3, -0.0)),
    ("eps", lambda ins, aux: _params(eps=1e-2)),
    ("fix_gamma", lambda ins, aux: _params(fix_gamma=True)),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
def test_a_change_is_recomputed(change):
    op, p, cache = get("BatchNorm"), _params(), AffineCache()
    inputs, aux = _state()
    inputs[2][3] = 0.0
    first = cache.get(op, p, inputs, aux)
    p = change[1](inputs, aux) or p
    second = cache.get(op, p, inputs, aux)
    assert second is not first
    _equal(second, _fresh(p, inputs, aux))
    assert cache.get(op, p, inputs, aux) is second


def test_fix_gamma_writes_one_into_gamma():
    op, p, cache = get("BatchNorm"), _params(fix_gamma=True), AffineCache()
    inputs, aux = _state()
    cache.get(op, p, inputs, aux)
    inputs[1][...] = 5  # an inference forward writes 1 again (MXNet's executor does)
    got = cache.get(op, p, inputs, aux)
    np.testing.assert_array_equal(inputs[1], np.ones(C))
    _equal(got, _fresh(p, inputs, aux))


def test_mixed_dtypes_are_computed_each_time():
    op, p, cache = get("BatchNorm"), _params(), AffineCache()
    inputs, aux = _state()
    aux[1] = aux[1].astype(np.float64)
    first = cache.get(op, p, inputs, aux)
    assert cache.get(op, p, inputs, aux) is not first and cache.value is None
    _equal(first, _fresh(p, inputs, aux))
