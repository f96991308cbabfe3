"""Generic tests driven by the optimizer table (``optim_db.py``): completeness, error inputs,
accepted inputs, integer weights, and the reference path against the fused path for every
optimizer x configuration x call form."""

from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import pytest

import mxlite as mx

from .optim_db import (
    COMMON_ACCEPTS,
    COMMON_ERRORS,
    CONFIG_IDS,
    INFOS,
    OPTIM_DB,
    VARIANT_IDS,
    VARIANTS,
    data,
    make,
)

GOLDEN = [os.path.join(os.path.dirname(__file__), "..", "golden", name)
          for name in ("optimizer.json", "optimizer_rowwise.json")]


# --------------------------------------------------------------------------- completeness
def _builtin_names():
    """Registered classes defined in mxlite's optimizer modules (not by tests or doctests)."""
    return {name for name, cls in mx.optimizer.Optimizer.opt_registry.items()
            if cls.__module__.startswith("mxlite.optimizer.")
            and getattr(sys.modules[cls.__module__], cls.__name__, None) is cls}


def test_every_registered_optimizer_has_an_entry():
    assert _builtin_names() == set(INFOS)


def test_every_golden_case_belongs_to_an_entry():
    in_fixtures = set()
    for path in GOLDEN:
        with open(path) as f:
            in_fixtures |= {case["optimizer"] for case in json.load(f)["cases"].values()}
    claimed = [g for info in OPTIM_DB for g in info.golden]
    assert len(claimed) == len(set(claimed)), "a golden case is claimed twice"
    assert set(claimed) == in_fixtures
    for info in OPTIM_DB:
        assert info.golden or info.golden_reason, f"{info.name}: no golden cases, no reason"


# --------------------------------------------------------------------------- constructor inputs
ERRORS = [(info.name, err) for info in OPTIM_DB for err in (*COMMON_ERRORS, *info.errors)]


def _kwargs_id(name, kwargs):
    return f"{name}-" + "-".join(f"{k}={v!r}" for k, v in kwargs.items())


@pytest.mark.parametrize("item", ERRORS, ids=[_kwargs_id(n, e.kwargs) for n, e in ERRORS])
def test_error_inputs(item):
    name, err = item
    with pytest.raises(err.exc, match=err.match):
        mx.optimizer.create(name, **err.kwargs)


ACCEPTS = [(info.name, kw) for info in OPTIM_DB for kw in (*COMMON_ACCEPTS, *info.accepts)]


@pytest.mark.parametrize("item", ACCEPTS, ids=[_kwargs_id(n, k) for n, k in ACCEPTS])
def test_accepted_inputs_construct_and_update(item):
    name, kwargs = item
    info = INFOS[name]
    variant = next(iter(info.variants))
    opt, _ = make(variant, **kwargs)
    upd = mx.optimizer.get_updater(opt)
    w = mx.nd.array(np.linspace(-1, 1, 6).reshape(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        upd(0, mx.nd.array(np.full((2, 3), 0.25)), w)
        upd(0, mx.nd.array(np.full((2, 3), -0.5)), w)
    assert np.isfinite(w.asnumpy()).all()


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
@pytest.mark.parametrize("how", ["update", "step", "fused_step", "updater"])
@pytest.mark.parametrize("name", sorted(INFOS))
def test_integer_weights_are_refused(name, how, dtype):
    opt, _ = make(next(iter(INFOS[name].variants)))
    w = mx.nd.array(np.ones((2, 3)), dtype=dtype)
    g = mx.nd.array(np.ones((2, 3)), dtype=dtype)
    before = w.asnumpy().copy()
    message = f"weight dtype must be floating point .*, got {dtype}"
    with pytest.raises(TypeError, match=message):
        if how == "updater":
            mx.optimizer.get_updater(opt)(0, g, w)
        elif how == "update":
            opt.update(0, w, g, None)
        else:
            getattr(opt, how)([0], [w], [g], [None])
    np.testing.assert_array_equal(w.asnumpy(), before)


# --------------------------------------------------------------------------- reference == fused
FORMS = ["list", "index", "direct"]


def trajectory(variant, config, fused, form, steps=4):
    """Weights after each step, and how often the NumPy reference ran."""
    info = VARIANTS[variant][0]
    opt, dtype = make(variant, config, use_fused_step=fused)
    assert opt.use_fused_step is fused
    calls = [0]
    reference = opt.reference_update

    def counting_reference(*args):
        calls[0] += 1
        return reference(*args)

    opt.reference_update = counting_reference
    w0, grads = data(dtype, steps, shapes=info.shapes)
    ws = [mx.nd.array(w, dtype=dtype) for w in w0]
    idx = list(range(len(ws)))
    upd = mx.optimizer.get_updater(opt)
    mx.random.seed(7)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        states = [opt.create_state_multi_precision(i, w) for i, w in zip(idx, ws, strict=True)]
        for gs in grads:
            g_nd = [mx.nd.array(g, dtype=dtype) for g in gs]
            if form == "list":
                upd(idx, g_nd, ws)
            elif form == "index":
                for i in idx:
                    upd(i, g_nd[i], ws[i])
            else:  # the public methods themselves, by name
                (opt.fused_step if fused else opt.step)(idx, ws, g_nd, states)
            out.append(np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws]))
    return np.stack(out), calls[0]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("config", CONFIG_IDS)
@pytest.mark.parametrize("variant", VARIANT_IDS)
def test_reference_matches_fused(variant, config, form):
    fused, fused_calls = trajectory(variant, config, True, form)
    ref, ref_calls = trajectory(variant, config, False, form)
    n_updates = ref.shape[0] * len(VARIANTS[variant][0].shapes)
    assert fused_calls == 0, "use_fused_step=True ran the reference"
    assert ref_calls == n_updates, "use_fused_step=False did not run the reference every time"
    if config == "float16_mp":  # float16 weights from float32 masters
        np.testing.assert_allclose(fused, ref, rtol=2e-3, atol=1e-4)
    else:
        np.testing.assert_allclose(fused, ref, rtol=1e-12, atol=1e-12)
    assert not np.array_equal(ref[0], ref[-1]), "the weights did not move"


def test_update_and_update_multi_precision_follow_the_switch():
    for fused in (True, False):
        opt, _ = make("adam", use_fused_step=fused)
        seen = []

        def counting(*a, _r=opt.reference_update, _seen=seen):
            _seen.append(1)
            return _r(*a)

        opt.reference_update = counting
        w = mx.nd.ones((3,))
        s = opt.create_state(0, w)
        opt.update(0, w, mx.nd.ones((3,)), s)
        opt.update_multi_precision(0, w, mx.nd.ones((3,)), s)
        assert len(seen) == (0 if fused else 2)
        opt.use_fused_step = not fused  # a public attribute: flipping it switches the path
        opt.update(0, w, mx.nd.ones((3,)), s)
        assert len(seen) == (1 if fused else 2)
