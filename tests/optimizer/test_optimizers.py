"""Table-driven checks of every built-in optimizer: fused kernel path vs NumPy reference,
state save/load mid-trajectory, convergence on a quadratic, float16 paths, list vs per-index
updater calls, non-contiguous arrays and NaN propagation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.kernels import optimizer as kops

from .optim_db import VARIANT_IDS, VARIANTS, data, make

OPT_IDS = VARIANT_IDS  # every built-in's variants, from the one table (optim_db.py)


def shapes_of(opt_id):
    return VARIANTS[opt_id][0].shapes


def shaped(opt_id, n):
    """A weight shape of ``n`` elements the optimizer takes (GroupAdaGrad: 2-D only)."""
    return (1, n) if all(len(shape) == 2 for shape in shapes_of(opt_id)) else (n,)


class Halving:
    """A tiny scheduler with the duck-typed interface (``base_lr``, called with num_update)."""

    def __init__(self, base_lr=0.1):
        self.base_lr = base_lr

    def __call__(self, num_update):
        return self.base_lr * 0.5 ** (num_update // 2)


def trajectory(opt, dtype, steps=4, seed=0, list_form=True, shapes=None):
    w0, grads = data(dtype, steps, seed, **({"shapes": shapes} if shapes else {}))
    ws = [mx.nd.array(w, dtype=dtype) for w in w0]
    upd = mx.optimizer.get_updater(opt)
    mx.random.seed(7)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for gs in grads:
            g_nd = [mx.nd.array(g, dtype=dtype) for g in gs]
            if list_form:
                upd(list(range(len(ws))), g_nd, ws)
            else:
                for i, (w, g) in enumerate(zip(ws, g_nd, strict=True)):
                    upd(i, g, w)
            out.append(np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws]))
    return np.stack(out), upd


# --------------------------------------------------------------------------- fused == reference
# every optimizer x configuration x call form: test_optim_db.test_reference_matches_fused


@settings(max_examples=25, deadline=None)
@given(
    opt_id=st.sampled_from(["sgd_momentum", "adam", "rmsprop_centered", "ftml", "signum",
                            "lamb", "nadam", "ftrl"]),
    n=st.integers(1, 40),
    scale=st.floats(1e-3, 1e3),
    seed=st.integers(0, 2**16),
)
def test_fused_matches_reference_property(opt_id, n, scale, seed):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(n) * scale
    g = rng.standard_normal(n) * scale
    outs = []
    for reference in (False, True):
        opt, _ = make(opt_id, "wd_rescale_clip")
        w = mx.nd.array(w0, dtype="float64")
        state = opt.create_state_multi_precision(0, w)
        for _ in range(3):
            (opt.step if reference else opt.update)(0, w, mx.nd.array(g, dtype="float64"), state)
        outs.append(w.asnumpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-11, atol=1e-12 * scale)


# --------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("config", ["plain", "scheduler", "float16_mp"],
                         ids=["plain", "scheduler", "float16_mp"])
@pytest.mark.parametrize("opt_id", OPT_IDS, ids=OPT_IDS)
def test_state_round_trip_mid_trajectory(opt_id, config):
    opt, dtype = make(opt_id, config)
    shapes = shapes_of(opt_id)
    full, _ = trajectory(opt, dtype, steps=4, shapes=shapes)

    w0, grads = data(dtype, 4, shapes=shapes)
    first, _ = make(opt_id, config)
    ws = [mx.nd.array(w, dtype=dtype) for w in w0]
    upd = mx.optimizer.get_updater(first)
    mx.random.seed(7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for gs in grads[:2]:
            upd(list(range(len(ws))), [mx.nd.array(g, dtype=dtype) for g in gs], ws)
        blob = upd.get_states(dump_optimizer=True)
        assert blob[:2] == b"PK"  # an .npz archive, not a pickle
        fresh, _ = make(opt_id, "plain")  # hyperparameters come from the saved optimizer
        resumed = mx.optimizer.get_updater(fresh)
        resumed.set_states(blob)
        assert type(resumed.optimizer) is type(opt)
        out = []
        for gs in grads[2:]:
            resumed(list(range(len(ws))), [mx.nd.array(g, dtype=dtype) for g in gs], ws)
            out.append(np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws]))
    np.testing.assert_array_equal(np.stack(out), full[2:])


def test_get_states_without_optimizer_keeps_optimizer():
    opt, dtype = make("adam")
    _, upd = trajectory(opt, dtype, steps=2)
    other, _ = make("adam")
    target = mx.optimizer.get_updater(other)
    target.set_states(upd.get_states())
    assert target.optimizer is other
    for i in upd.states:
        for a, b in zip(upd.states[i], target.states[i], strict=True):
            np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    assert isinstance(target.states[0], mx.optimizer.AdamState)


def test_user_scheduler_cannot_be_saved_safely():
    opt, dtype = make("sgd", lr_scheduler=Halving(0.1))
    _, upd = trajectory(opt, dtype, steps=1)
    upd.get_states()  # states alone are fine
    with pytest.raises(TypeError, match=r"cannot save .*Halving object"):
        upd.get_states(dump_optimizer=True)


def test_states_format_refuses_foreign_objects():
    opt, _ = make("sgd")
    upd = mx.optimizer.get_updater(opt)
    upd.states[0] = object()
    with pytest.raises(TypeError, match=r"cannot save builtins\.object"):
        upd.get_states()


@pytest.mark.parametrize(
    ("blob", "message"),
    [(b"garbage", "unrecognized data"), (b"PK\x03\x04broken", "cannot read states archive")],
    ids=["garbage", "broken-zip"],
)
def test_set_states_rejects_bad_bytes(blob, message):
    upd = mx.optimizer.get_updater(make("sgd")[0])
    with pytest.raises(mx.MXNetError, match=message):
        upd.set_states(blob)


def test_set_states_pickle_goes_to_safe_loader(monkeypatch):
    import sys
    import types

    calls = []
    fake = types.ModuleType("mxlite._safe_pickle")
    fake.safe_loads = lambda data, source="": calls.append(data) or {3: None}
    monkeypatch.setitem(sys.modules, "mxlite._safe_pickle", fake)
    upd = mx.optimizer.get_updater(make("sgd")[0])
    upd.set_states(b"\x80\x04stuff")
    assert calls == [b"\x80\x04stuff"]
    assert upd.states == {3: None}


def test_set_states_pickle_without_safe_loader(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mxlite._safe_pickle", None)
    upd = mx.optimizer.get_updater(make("sgd")[0])
    with pytest.raises(mx.MXNetError, match="_safe_pickle"):
        upd.set_states(b"\x80\x04stuff")


# --------------------------------------------------------------------------- convergence
@pytest.mark.parametrize("opt_id", OPT_IDS, ids=OPT_IDS)
def test_converges_on_quadratic(opt_id):
    """Minimize 0.5 * sum(a * (w - target)^2): the loss falls to a small fraction.

    SGLD samples exp(-loss) instead of minimizing, so its loss settles near 0.5 per coordinate;
    its problem is made steep enough for that to be a small fraction of the start."""
    rng = np.random.default_rng(1)
    shape = shaped(opt_id, 50)
    target = rng.standard_normal(shape).astype(np.float32)
    a = rng.uniform(0.5, 2.0, shape).astype(np.float32) * (50 if opt_id == "sgld" else 1)
    w = mx.nd.zeros(shape)
    opt, _ = make(opt_id)
    upd = mx.optimizer.get_updater(opt)

    def loss():
        d = w.asnumpy() - target
        return float(0.5 * np.sum(a * d * d))

    start = loss()
    for _ in range(300):
        upd(0, mx.nd.array(a * (w.asnumpy() - target)), w)
    assert loss() < 0.05 * start, f"{opt_id}: loss {loss():.4g} from {start:.4g}"


# --------------------------------------------------------------------------- paths and forms
@pytest.mark.parametrize("opt_id", OPT_IDS, ids=OPT_IDS)
def test_list_form_equals_per_index_form(opt_id):
    if not VARIANTS[opt_id][0].list_equals_index:
        pytest.skip("LARS's momentum correction depends on the call grouping, as in MXNet")
    shapes = shapes_of(opt_id)
    a, _ = trajectory(make(opt_id)[0], "float32", list_form=True, shapes=shapes)
    b, _ = trajectory(make(opt_id)[0], "float32", list_form=False, shapes=shapes)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("opt_id", OPT_IDS, ids=OPT_IDS)
def test_float16_without_multi_precision(opt_id):
    """float16 weights without a master copy: a warning, then float16 arithmetic results close
    to the float32 run."""
    opt16, _ = make(opt_id)
    shape = shaped(opt_id, 3)
    w0, g0 = np.reshape([0.5, -1.0, 2.0], shape), np.reshape([0.1, 0.2, -0.3], shape)
    w = mx.nd.array(w0, dtype="float16")
    with pytest.warns(UserWarning, match="multi_precision"):
        state = opt16.create_state_multi_precision(0, w)
    mx.random.seed(3)
    opt16.update_multi_precision(0, w, mx.nd.array(g0, dtype="float16"), state)
    opt32, _ = make(opt_id)
    w32 = mx.nd.array(w0)
    mx.random.seed(3)
    opt32.update(0, w32, mx.nd.array(g0), opt32.create_state(0, w32))
    assert w.dtype == np.float16
    np.testing.assert_allclose(w.asnumpy().astype(np.float32), w32.asnumpy(), rtol=2e-3,
                               atol=2e-3)


@pytest.mark.parametrize("opt_id", ["sgd_momentum", "adam", "lamb", "rmsprop_centered", "ftml"])
def test_parallel_kernels_match_serial(opt_id, monkeypatch):
    import mxlite.kernels.optimizer as kmod

    n = 1 << 16
    rng = np.random.default_rng(0)
    w0, g = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    outs = []
    for threshold in (1 << 62, 1):
        monkeypatch.setattr(kmod, "PARALLEL_THRESHOLD", threshold)
        opt, _ = make(opt_id)
        w = mx.nd.array(w0)
        s = opt.create_state(0, w)
        for _ in range(2):
            opt.update(0, w, mx.nd.array(g), s)
        outs.append(w.asnumpy())
    if opt_id == "lamb":  # norms are reduced in a different order
        np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)
    else:
        np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("opt_id", ["sgd_momentum", "adam", "ftrl"])
def test_non_contiguous_arrays_are_updated(opt_id):
    base = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    gbase = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    fused, _ = make(opt_id)
    w = mx.nd.zeros((4, 3))
    w._data = base.copy().T  # a transposed, non-contiguous buffer (e.g. a view of another)
    g = mx.nd.zeros((4, 3))
    g._data = gbase.T
    assert not w._data.flags.c_contiguous
    state = fused.create_state(0, w)
    fused.update(0, w, g, state)
    ref, _ = make(opt_id)
    w2 = mx.nd.array(base.T.copy())
    ref.step(0, w2, mx.nd.array(gbase.T.copy()), ref.create_state(0, w2))
    np.testing.assert_allclose(w.asnumpy(), w2.asnumpy(), rtol=1e-6)


@pytest.mark.parametrize("opt_id", ["sgd_momentum", "adam", "rmsprop", "adagrad", "lamb"])
def test_nan_gradients_propagate(opt_id):
    opt, _ = make(opt_id)
    w = mx.nd.array([1.0, 2.0])
    opt.update(0, w, mx.nd.array([np.nan, 1.0]), opt.create_state(0, w))
    assert np.isnan(w.asnumpy()[0])


def test_sgld_noise_follows_mx_random_seed():
    runs = []
    for _ in range(2):
        mx.random.seed(11)
        opt, _ = make("sgld", learning_rate=0.04)
        w = mx.nd.zeros((20000,))
        opt.update(0, w, mx.nd.zeros((20000,)), None)
        runs.append(w.asnumpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert abs(runs[0].std() - 0.2) < 0.01  # noise sqrt(lr) = 0.2
    assert abs(runs[0].mean()) < 0.01


def test_dcasgd_momentum_works():
    opt, _ = make("dcasgd_momentum")
    w = mx.nd.array([1.0, 2.0])
    state = opt.create_state(0, w)
    opt.update(0, w, mx.nd.array([1.0, 1.0]), state)
    opt.update(0, w, mx.nd.array([1.0, 1.0]), state)
    mom, prev = state
    # second step: d = -lr*(g + lamda*g*g*(w - prev)) with w - prev = -0.1
    d2 = -0.1 * (1.0 + 0.04 * -0.1)
    np.testing.assert_allclose(mom.asnumpy(), [0.9 * -0.1 + d2] * 2, rtol=1e-6)
    np.testing.assert_allclose(w.asnumpy(), [0.9 - 0.09 + d2, 1.9 - 0.09 + d2], rtol=1e-6)
    np.testing.assert_allclose(prev.asnumpy(), [0.9, 1.9], rtol=1e-6)


@pytest.mark.parametrize("opt_id", ["sgd", "sgd_momentum", "adam", "adamw"])
@pytest.mark.parametrize("n", [7, 20000], ids=["tiny", "group-over-threshold"])
def test_multi_tensor_kernel_matches_per_tensor_calls(opt_id, n):
    """The list form runs one multi-tensor kernel (serial, or spread over threads when the
    group is large) and gives bit-identical results to tensor-by-tensor updates."""
    rng = np.random.default_rng(5)
    shapes = [(n,), (n // 2 + 1,), (3, n // 3 + 1)]
    w0 = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    gs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    results = []
    for list_form in (True, False):
        opt, _ = make(opt_id, wd=0.01)
        upd = mx.optimizer.get_updater(opt)
        ws = [mx.nd.array(w) for w in w0]
        for _ in range(3):
            g_nd = [mx.nd.array(g) for g in gs]
            if list_form:
                upd([0, 1, 2], g_nd, ws)
            else:
                for i in range(3):
                    upd(i, g_nd[i], ws[i])
        results.append([w.asnumpy() for w in ws])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
    name = {"sgd": "sgd", "sgd_momentum": "sgd_mom"}.get(opt_id, opt_id)
    multi = kops.MULTI_KERNELS[name]
    used = multi.parallel if 3 * n > kops.PARALLEL_THRESHOLD else multi.serial
    assert used.signatures, "the multi-tensor kernel was not used"
    for dispatcher in multi.dispatchers:
        assert len(dispatcher.signatures) <= 2  # float32 and float64 only


def test_division_by_zero_gives_ieee_results_not_exceptions():
    """Adamax with an all-zero first gradient divides 0 by 0: NaN, as MXNet (no exception)."""
    opt, _ = make("adamax")
    w = mx.nd.ones(3)
    opt.update(0, w, mx.nd.zeros(3), opt.create_state(0, w))
    assert np.isnan(w.asnumpy()).all()
