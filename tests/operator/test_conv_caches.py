"""The per-call caches of Convolution (packed weights, geometries, kernel plans) and its BLAS hold.

An inference forward packs the same weights for its kernels at every batch; the packed-weight
cache (:func:`mxlite.operator.nn.convolution._packed`) keeps them, checked against a copy of the
weight's bits at every call.  These tests count the packings, change weights in place between
forwards (the output must follow, against a float64 reference), bound the cache's memory, and
check that the BLAS is at one thread inside threaded kernels and restored after.
"""

from __future__ import annotations

import threading

import numba
import numpy as np
import pytest
from conv_reference import reference, run_in_threads

import mxlite as mx
from mxlite.kernels import conv_direct, conv_pointwise, conv_winograd_thin
from mxlite.operator import get
from mxlite.operator.nn import convolution as conv
from mxlite.operator.registry import ShapeError

# id, N, C, H, W, F, kernel, stride, pad, the kernel module whose pack_weight runs
PATHS = [
    ("direct_16ch", 2, 16, 8, 8, 16, 3, 1, 1, conv_direct),
    ("direct_stride2", 2, 16, 8, 8, 32, 3, 2, 1, conv_direct),
    ("thin_winograd_32ch", 2, 32, 16, 16, 32, 3, 1, 1, conv_winograd_thin),
    ("pointwise", 2, 16, 8, 8, 32, 1, 2, 0, conv_pointwise),
]


@pytest.fixture
def packs(monkeypatch):
    """The kernel modules whose ``pack_weight`` ran, one entry per packing; an empty cache."""
    calls = []
    for module in (conv_direct, conv_pointwise, conv_winograd_thin):
        real = module.pack_weight
        monkeypatch.setattr(module, "pack_weight",
                            lambda *a, _real=real, _m=module: calls.append(_m) or _real(*a))
    conv.clear_caches()
    yield calls
    conv.clear_caches()


def _setup(case, seed=0):
    _, n, c, h, w, f, k, s, pad, _ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((f, c, k, k)).astype(np.float32)
    op = get("Convolution")
    p = op.parse_params({"kernel": (k, k), "stride": (s, s), "pad": (pad, pad),
                         "num_filter": f, "no_bias": True})
    return op, p, x, wt


def _forward(op, p, x, wt):
    (y,), _ = op.forward(p, [x, wt], [], False)
    return y.copy()


def _check(y, x, wt, case):
    want = reference(x.astype(np.float64), wt.astype(np.float64), case[7], case[8])
    assert np.abs(y - want).max() <= 1e-4 * max(1.0, np.abs(want).max())


@pytest.mark.parametrize("case", PATHS, ids=[c[0] for c in PATHS])
def test_unchanged_weight_is_packed_once(case, packs):
    op, p, x, wt = _setup(case)
    first = _forward(op, p, x, wt)
    second = _forward(op, p, x, wt)
    assert packs == [case[-1]]
    np.testing.assert_array_equal(first, second)
    _check(second, x, wt, case)


# id, how the weight changes in place between two forwards
CHANGES = [
    ("one_value", lambda w: w.reshape(-1).__setitem__(5, w.reshape(-1)[5] + 1.0)),
    ("last_value", lambda w: w.reshape(-1).__setitem__(-1, 3.0)),
    ("all_scaled", lambda w: w.__imul__(0.5)),
    ("optimizer_step", lambda w: w.__isub__(0.01 * np.sign(w))),
]


@pytest.mark.parametrize("change", CHANGES, ids=[c[0] for c in CHANGES])
@pytest.mark.parametrize("case", PATHS, ids=[c[0] for c in PATHS])
def test_weight_changed_in_place_is_repacked(case, change, packs):
    op, p, x, wt = _setup(case)
    before = _forward(op, p, x, wt)
    change[1](wt)
    after = _forward(op, p, x, wt)
    assert packs == [case[-1]] * 2
    assert not np.array_equal(before, after)
    _check(after, x, wt, case)
    # and kept again: a third forward packs nothing
    np.testing.assert_array_equal(_forward(op, p, x, wt), after)
    assert len(packs) == 2


def test_sign_of_zero_is_a_change(packs):
    """The bits are compared, not the values: -0.0 == 0.0, but its packing differs."""
    op, p, x, wt = _setup(PATHS[0])
    wt.reshape(-1)[0] = 0.0
    _forward(op, p, x, wt)
    wt.reshape(-1)[0] = -0.0
    _forward(op, p, x, wt)
    assert len(packs) == 2


def test_a_converted_weight_is_not_kept(packs):
    """A float64 weight of float32 data is converted at each call: nothing to keep."""
    op, p, x, wt = _setup(PATHS[0])
    for _ in range(2):
        op.forward(p, [x, wt.astype(np.float64)], [], False)
    assert len(packs) == 2 and not conv._packs


def test_training_forwards_keep_nothing(packs):
    """A training forward's weights change at every batch (the update): nothing is kept."""
    op, p, x, wt = _setup(PATHS[2])
    for _ in range(2):
        op.forward(p, [x, wt], [], True)
    assert len(packs) == 2 and not conv._packs


def test_cache_memory_is_bounded(packs, monkeypatch):
    op, p, x, _ = _setup(PATHS[2])
    rng = np.random.default_rng(1)
    weights = [rng.standard_normal((32, 32, 3, 3)).astype(np.float32) for _ in range(4)]
    _forward(op, p, x, weights[0])
    entry = conv._pack_state["bytes"]  # one weight's copy and its packing
    assert entry > weights[0].nbytes
    monkeypatch.setattr(conv, "PACK_CACHE_BYTES", 2 * entry)
    for w in weights:
        _forward(op, p, x, w)
    assert len(conv._packs) == 2 and conv._pack_state["bytes"] == 2 * entry
    assert sum(e[2] for e in conv._packs.values()) == conv._pack_state["bytes"]
    # the two most recent are kept, the older ones repacked
    packs.clear()
    for w in weights[2:]:
        _forward(op, p, x, w)
    assert packs == []
    _forward(op, p, x, weights[0])
    assert len(packs) == 1
    # larger than the whole budget: packed, never kept
    monkeypatch.setattr(conv, "PACK_CACHE_BYTES", entry - 1)
    conv.clear_caches()
    _forward(op, p, x, weights[1])
    assert not conv._packs and conv._pack_state["bytes"] == 0


def test_packed_checks_the_bits_under_the_same_key():
    """A different array whose key matches (same shape and dtype, the same ``id`` after the
    first was freed) is told apart by its bits."""
    calls = []

    def pack(w, scale):
        calls.append(1)
        return w * scale

    conv.clear_caches()
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(conv._packed(pack, a, 2.0), a * 2)
    np.testing.assert_array_equal(conv._packed(pack, a, 2.0), a * 2)
    assert len(calls) == 1
    np.testing.assert_array_equal(conv._packed(pack, a, 3.0), a * 3)  # other arguments
    assert len(calls) == 2
    key = next(iter(conv._packs))
    b = a + 1
    conv._packs[(key[0], id(b), *key[2:])] = conv._packs[key]  # b at a's entry
    np.testing.assert_array_equal(conv._packed(pack, b, 2.0), b * 2)
    assert len(calls) == 3
    # not contiguous: packed every time, never kept
    conv.clear_caches()
    conv._packed(pack, a.T, 2.0)
    conv._packed(pack, a.T, 2.0)
    assert len(calls) == 5 and not conv._packs


def _resnet_unit():
    data = mx.sym.Variable("data")
    h = mx.sym.Convolution(data, num_filter=16, kernel=(3, 3), pad=(1, 1), no_bias=True,
                           name="conv0")
    h = mx.sym.Activation(mx.sym.BatchNorm(h, fix_gamma=False, name="bn0"), act_type="relu")
    h = mx.sym.Convolution(h, num_filter=32, kernel=(3, 3), pad=(1, 1), no_bias=True,
                           name="conv1")
    h = mx.sym.BatchNorm(h, fix_gamma=False, name="bn1")
    sc = mx.sym.Convolution(data, num_filter=32, kernel=(1, 1), no_bias=True, name="sc")
    return mx.sym.Pooling(h + sc, kernel=(1, 1), global_pool=True, pool_type="avg")


def _module(batch=4):
    mod = mx.mod.Module(_resnet_unit(), label_names=None, context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, 16, 16, 16))], for_training=False)
    mod.init_params(mx.init.Xavier(magnitude=2))
    return mod


def _outputs(mod, x):
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    return mod.get_outputs()[0].asnumpy()


def _set_params(mod, args, aux):
    mod.set_params(args, aux)
    return args, aux


def _write_weight(mod, args, aux):
    """Into the bound array itself (no ``set_params``)."""
    args = dict(args, conv1_weight=args["conv1_weight"] * -1)
    mod._exec_group.execs[0].arg_dict["conv1_weight"][:] = args["conv1_weight"]
    return args, aux


# id, how the parameters of a bound module change between two inference forwards: returns
# the parameters it then holds
MODULE_CHANGES = [
    ("set_params", lambda mod, args, aux: _set_params(
        mod, {k: v * 1.5 for k, v in args.items()}, aux)),
    ("write_into_the_bound_weight", _write_weight),
    ("moving_statistics", lambda mod, args, aux: _set_params(
        mod, args, {k: v + 0.5 for k, v in aux.items()})),
]


@pytest.mark.parametrize("change", MODULE_CHANGES, ids=[c[0] for c in MODULE_CHANGES])
def test_module_inference_sees_changed_parameters(change):
    """A bound module's inference output after a change equals a fresh module's with the
    changed parameters (nothing stale: packed weights, BatchNorm's affine)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 16, 16, 16)).astype(np.float32)
    mod = _module()
    before = _outputs(mod, x)
    _outputs(mod, x)  # the caches are warm
    args, aux = change[1](mod, *mod.get_params())
    after = _outputs(mod, x)
    fresh = _module()
    fresh.set_params(args, aux)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, _outputs(fresh, x))


def test_training_updates_reach_the_next_inference():
    """Forward + backward + update, then an inference forward: the updated weights are used."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 16, 16, 16)).astype(np.float32)
    sym = mx.sym.LinearRegressionOutput(mx.sym.Flatten(_resnet_unit()), name="out")
    mod = mx.mod.Module(sym, label_names=["out_label"], context=mx.cpu())
    mod.bind(data_shapes=[("data", (4, 16, 16, 16))], label_shapes=[("out_label", (4, 32))])
    mod.init_params(mx.init.Xavier(magnitude=2))
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.5})
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.ones((4, 32))])
    mod.forward(batch, is_train=False)
    before = mod.get_outputs()[0].asnumpy()
    mod.forward(batch, is_train=True)
    mod.backward()
    mod.update()
    mod.forward(batch, is_train=False)
    after = mod.get_outputs()[0].asnumpy()
    fresh = mx.mod.Module(sym, label_names=["out_label"], context=mx.cpu())
    fresh.bind(data_shapes=[("data", (4, 16, 16, 16))], label_shapes=[("out_label", (4, 32))],
               for_training=False)
    fresh.set_params(*mod.get_params())
    fresh.forward(batch, is_train=False)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, fresh.get_outputs()[0].asnumpy())


# ---------------------------------------------------------------------- geometry and plans
def test_geometry_is_built_once_per_parameters_and_shape():
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": 4})
    q = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": 4, "stride": (2, 2)})
    a = conv._geometry("Convolution", p, (2, 3, 8, 8))
    assert conv._geometry("Convolution", p, (2, 3, 8, 8)) is a
    assert conv._geometry("Convolution", dict(p), (2, 3, 8, 8)) is a  # equal parameters
    b = conv._geometry("Convolution", q, (2, 3, 8, 8))
    assert b is not a and b.out_spatial == (4, 4) and a.out_spatial == (8, 8)
    assert conv._geometry("Convolution", p, (2, 3, 9, 8)).out_spatial == (9, 8)


def test_a_bad_geometry_raises_every_time():
    op = get("Convolution")
    p = op.parse_params({"kernel": (5, 5), "num_filter": 4})
    for _ in range(2):
        with pytest.raises(ShapeError, match="does not fit"):
            conv._geometry("Convolution", p, (1, 3, 3, 3))


def test_memo_calls_once_per_arguments():
    calls = []

    def plan(a, b):
        calls.append((a, b))
        return a + b

    assert conv._memo(plan, 1, 2) == 3 and conv._memo(plan, 1, 2) == 3
    assert conv._memo(plan, 2, 2) == 4
    assert calls == [(1, 2), (2, 2)]


# ---------------------------------------------------------------------- the BLAS hold
def _blas_threads():
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.fixture
def two_blas_threads():
    """The BLAS at two threads during the test (so that a hold at one is visible)."""
    from threadpoolctl import threadpool_limits

    if not _blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    with threadpool_limits(2, user_api="blas"):
        assert set(_blas_threads()) == {2}
        yield
    assert conv._blas["depth"] == 0


def test_blas_hold_nests_and_restores(two_blas_threads):
    conv._blas_single(True)
    assert set(_blas_threads()) == {1}
    conv._blas_single(True)
    conv._blas_single(False)
    assert set(_blas_threads()) == {1}  # the outer holder still holds
    conv._blas_single(False)
    assert set(_blas_threads()) == {2}


def test_blas_hold_of_concurrent_holders(two_blas_threads):
    """Holders in several Python threads share one hold: the BLAS stays at one thread until
    the last leaves.  (The first holder is this thread: threadpoolctl lets only the thread
    that controls OpenBLAS, the fixture's, change its thread count.)"""
    inside, barrier = [], threading.Barrier(3)

    def hold():
        conv._blas_single(True)
        try:
            barrier.wait()  # all three hold at once
            inside.append(set(_blas_threads()))
            barrier.wait()
        finally:
            conv._blas_single(False)

    conv._blas_single(True)
    try:
        run_in_threads(hold)
        assert set(_blas_threads()) == {1}  # still held here
    finally:
        conv._blas_single(False)
    assert inside == [{1}] * 3
    assert set(_blas_threads()) == {2}


@pytest.mark.parametrize("blas", [True, False], ids=["gemm_work", "numba_work"])
def test_threaded_split_holds_the_blas_at_one_thread(blas, two_blas_threads, monkeypatch):
    """Inside the threads of :func:`_split` the BLAS runs one thread (work that calls a GEMM);
    work that calls none (``blas=False``: the direct, thin Winograd and 1x1 kernels) leaves
    the BLAS alone."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    monkeypatch.setattr(conv, "PARALLEL_COLUMNS", 0)
    seen = []
    threads = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        conv._split(lambda a, b: seen.append(set(_blas_threads())), 4, 1, blas=blas)
    finally:
        numba.set_num_threads(threads)
    assert seen == [{1 if blas else 2}] * 2
    assert set(_blas_threads()) == {2}


def test_thin_winograd_packs_at_one_blas_thread(two_blas_threads, monkeypatch, packs):
    """The thin Winograd kernel's weight transform (a GEMM) runs at one BLAS thread."""
    seen = []
    real = conv_winograd_thin.pack_weight
    monkeypatch.setattr(conv_winograd_thin, "pack_weight",
                        lambda *a: seen.append(set(_blas_threads())) or real(*a))
    op, p, x, wt = _setup(PATHS[2])
    _forward(op, p, x, wt)
    _forward(op, p, x, wt.copy())  # another array: packed too
    assert seen == [{1}, {1}]
    assert set(_blas_threads()) == {2}


def test_workspace_views_are_kept_while_their_buffer_stands():
    first = conv._workspace((3, 4), np.float32, slot=99)
    assert conv._workspace((3, 4), np.float32, slot=99) is first
    assert [v.size for v in first] == [3, 4] and np.shares_memory(first[0], first[1]) is False
    grown = conv._workspace((1000,), np.float32, slot=99)  # a larger buffer for the slot
    again = conv._workspace((3, 4), np.float32, slot=99)
    assert again is not first and np.shares_memory(again[0], grown[0])
    listed = conv._workspace([3, 4], np.float32, slot=99)  # a list: carved, not kept
    assert [v.size for v in listed] == [3, 4] and np.shares_memory(listed[0], again[0])
