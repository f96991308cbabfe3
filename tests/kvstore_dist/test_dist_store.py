"""The dist stores in this process: the servers are Ray actors of the session's Ray instance,
the workers are :class:`DistKVStore` objects (several ranks run in threads)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

pytest.importorskip("ray")

SHAPE = (2, 3)
GOLDEN = json.loads(
    (Path(__file__).parent.parent / "golden" / "kvstore_compression.json").read_text())


def on_ranks(fn, stores):
    """``fn(store)`` on every rank at once; the results in rank order."""
    with ThreadPoolExecutor(len(stores)) as pool:
        return [f.result(timeout=120) for f in [pool.submit(fn, s) for s in stores]]


def value(kv, key, shape=SHAPE):
    out = mx.nd.zeros(shape)
    kv.pull(key, out=out)
    return out.asnumpy()


# ------------------------------------------------------------------------------ basics
@pytest.mark.parametrize("kind", ["dist_sync", "dist_async", "dist", "dist_device_sync"])
def test_properties_and_round_trip(make_store, kind):
    kv = make_store(kind)
    assert (kv.type, kv.rank, kv.num_workers) == (kind, 0, 1)
    assert kv.is_capable("optimizer")
    kv.init([3, 5], [mx.nd.ones(SHAPE), mx.nd.zeros(SHAPE)])
    kv.push([3, 5], [[mx.nd.ones(SHAPE), mx.nd.ones(SHAPE) * 2], mx.nd.ones(SHAPE) * 4])
    np.testing.assert_array_equal(value(kv, 3), 3.0)
    np.testing.assert_array_equal(value(kv, 5), 4.0)
    grad = mx.nd.ones(SHAPE) * 7
    kv.pushpull(5, grad)
    np.testing.assert_array_equal(grad.asnumpy(), 7.0)


def test_string_keys_and_broadcast(make_store):
    kv = make_store("dist_sync")
    outs = [mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)]
    kv.broadcast("w", mx.nd.ones(SHAPE) * 2, out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), 2.0)
    with pytest.raises(ValueError, match="cannot be mixed"):
        kv.init(1, mx.nd.ones(SHAPE))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda kv: kv.init(1, mx.nd.ones(SHAPE)), MXNetError, "duplicate init"),
        (lambda kv: kv.push(2, mx.nd.ones(SHAPE)), MXNetError, "not been initialized"),
        (lambda kv: kv.pull(2, out=mx.nd.ones(SHAPE)), MXNetError, "not been initialized"),
        (lambda kv: kv.push(1, mx.nd.ones((3, 2))), ValueError, "shape"),
        (lambda kv: kv.pull(1, out=mx.nd.ones((3,))), ValueError, "shape"),
        (lambda kv: kv.pull(1), ValueError, "out must be given"),
        (lambda kv: kv.set_optimizer("sgd"), TypeError, "Optimizer"),
        (lambda kv: kv._set_updater(lambda k, g, w: None), MXNetError, "set_optimizer"),
        (lambda kv: kv.save_optimizer_states("x"), MXNetError, "no optimizer"),
        (lambda kv: kv.send_command_to_servers(0, "(dp0\n"), MXNetError, "pickled"),
        (lambda kv: kv.send_command_to_servers(9, ""), ValueError, "unknown command"),
    ],
    ids=["duplicate-init", "push-uninit", "pull-uninit", "push-shape", "pull-shape",
         "pull-no-out", "optimizer-by-name", "updater-function", "save-no-optimizer",
         "pickled-optimizer", "unknown-command"],
)
def test_errors(make_store, call, exc, match):
    kv = make_store("dist_sync")
    kv.init(1, mx.nd.ones(SHAPE))
    with pytest.raises(exc, match=match):
        call(kv)


def test_create_outside_a_job_names_the_launcher(no_launch_env):
    with pytest.raises(ValueError, match="mxlite launch"):
        mx.kv.create("dist_sync")


# ------------------------------------------------------------------------------ two workers
def test_sync_applies_the_optimizer_once_to_the_sum(make_store):
    stores = make_store("dist_sync", num_workers=2)

    def work(kv):
        kv.init(0, mx.nd.ones(SHAPE) * (10 if kv.rank == 0 else -99))  # rank 0's value wins
        kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.5))
        out = mx.nd.zeros(SHAPE)
        kv.pushpull(0, mx.nd.ones(SHAPE) * (kv.rank + 1), out=out)
        kv.barrier()
        return out.asnumpy()

    for got in on_ranks(work, stores):
        np.testing.assert_allclose(got, 10 - 0.5 * 3)


def test_sync_without_optimizer_stores_the_sum_and_push_waits_for_the_round(make_store):
    stores = make_store("dist_sync", num_workers=2)

    def work(kv):
        kv.init("k", mx.nd.zeros(SHAPE))
        if kv.rank == 1:
            time.sleep(0.5)  # rank 0's pull must wait for rank 1's push
        kv.push("k", mx.nd.ones(SHAPE) * (kv.rank + 1))
        return value(kv, "k")

    for got in on_ranks(work, stores):
        np.testing.assert_array_equal(got, 3.0)


def test_async_applies_each_push(make_store):
    stores = make_store("dist_async", num_workers=2)

    def work(kv):
        kv.init(0, mx.nd.zeros(SHAPE))
        kv.set_optimizer(mx.optimizer.SGD(learning_rate=1.0, rescale_grad=1.0))
        for _ in range(3):
            kv.push(0, mx.nd.ones(SHAPE) * (kv.rank + 1))
        kv.barrier()
        return value(kv, 0)

    for got in on_ranks(work, stores):
        np.testing.assert_allclose(got, -(3 * 1 + 3 * 2))


def test_device_sync_reduces_and_updates_on_each_worker(make_store):
    stores = make_store("dist_device_sync", num_workers=2)

    def work(kv):
        kv.init(0, mx.nd.ones(SHAPE))
        kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
        out = mx.nd.zeros(SHAPE)
        for step in range(3):
            kv.pushpull(0, mx.nd.ones(SHAPE) * (kv.rank + step), out=out)
        return out.asnumpy(), kv._updater is not None

    ref = mx.kv.create("local")
    ref.init(0, mx.nd.ones(SHAPE))
    ref.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    want = mx.nd.zeros(SHAPE)
    for step in range(3):
        ref.pushpull(0, [mx.nd.ones(SHAPE) * step, mx.nd.ones(SHAPE) * (1 + step)], out=want)
    for got, local_updater in on_ranks(work, stores):
        assert local_updater
        np.testing.assert_allclose(got, want.asnumpy(), rtol=1e-6)


# ------------------------------------------------------------------------------ big arrays
def test_big_arrays_are_split_across_servers(make_store):
    import ray

    kv = make_store("dist_sync", num_servers=3, bound=10)
    big = np.arange(24, dtype=np.float32).reshape(4, 6)
    kv.init([0, 1], [mx.nd.array(big), mx.nd.ones((3,))])
    pieces = [ray.get(s.pull.remote([(0, i)])) for i, s in enumerate(kv._servers)]
    assert [p[0].size for p in pieces] == [8, 8, 8]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in pieces]), big.reshape(-1))
    kv.push(0, mx.nd.array(big * 2))
    np.testing.assert_array_equal(value(kv, 0, (4, 6)), big * 2)
    np.testing.assert_array_equal(value(kv, 1, (3,)), 1.0)
    assert kv._parts(1)[0][0] == (1 * 9973) % 3


# ------------------------------------------------------------------------------ optimizers
OPTIMIZERS = [
    ("adam", {"learning_rate": 0.01, "wd": 0.01}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.001}),
    ("dcasgd", {"learning_rate": 0.1, "momentum": 0.5, "lamda": 0.1}),
]


def _flat(state):
    if state is None:
        return []
    if isinstance(state, mx.nd.NDArray):
        return [state.asnumpy()]
    return [a for s in state for a in _flat(s)]


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
@pytest.mark.parametrize("num_servers, bound", [(1, None), (2, 10)], ids=["1-server", "split"])
def test_server_states_match_local_updates(make_store, tmp_path, name, kwargs, num_servers,
                                           bound):
    rng = np.random.default_rng(0)
    shapes = {0: (4, 6), 1: (3,)}
    init = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    grads = [{k: [rng.standard_normal(s).astype(np.float32) for _ in range(2)]
              for k, s in shapes.items()} for _ in range(4)]
    stores = make_store("dist_sync", num_servers=num_servers, num_workers=2, bound=bound)

    def work(kv):
        keys = list(shapes)
        kv.init(keys, [mx.nd.array(init[k]) for k in keys])
        kv.set_optimizer(mx.optimizer.create(name, **kwargs))
        for step in grads:
            kv.push(keys, [mx.nd.array(step[k][kv.rank]) for k in keys])
        kv.barrier()
        if kv.rank == 0:
            kv.save_optimizer_states(str(tmp_path / "dist.states"))
        return {k: value(kv, k, s) for k, s in shapes.items()}

    got = on_ranks(work, stores)[0]
    updater = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    weights = {k: mx.nd.array(v) for k, v in init.items()}
    for step in grads:
        for k in shapes:
            updater(k, mx.nd.array(step[k][0] + step[k][1]), weights[k])
    for k in shapes:
        np.testing.assert_allclose(got[k], weights[k].asnumpy(), rtol=1e-5, atol=1e-7)
    saved = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    saved.set_states((tmp_path / "dist.states").read_bytes())
    assert sorted(saved.states) == sorted(updater.states)
    for k in shapes:
        for a, b in zip(_flat(saved.states[k]), _flat(updater.states[k]), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_load_optimizer_states_resumes_across_servers(make_store, tmp_path):
    shapes = {0: (4, 6), 1: (3,)}
    fname = str(tmp_path / "a.states")
    grads = [1.0, -2.0, 0.5]

    def run(kv, steps, init=None, load=None, save=None):
        keys = list(shapes)
        kv.init(keys, [mx.nd.ones(s) if init is None else mx.nd.array(init[k])
                       for k, s in shapes.items()])
        kv.set_optimizer(mx.optimizer.create("adam", learning_rate=0.01))
        if load:
            kv.load_optimizer_states(load)
        for g in steps:
            kv.push(keys, [mx.nd.ones(s) * g for s in shapes.values()])
        if save:
            kv.save_optimizer_states(save, dump_optimizer=True)
        return {k: value(kv, k, s) for k, s in shapes.items()}

    first = run(make_store("dist_sync", num_servers=2, bound=10), grads[:2], save=fname)
    resumed = run(make_store("dist_sync", num_servers=2, bound=10), grads[2:], init=first,
                  load=fname)
    whole = run(make_store("dist_sync", num_servers=2, bound=10), grads)
    for k in shapes:
        np.testing.assert_allclose(resumed[k], whole[k], rtol=1e-6)
    local = mx.optimizer.get_updater(mx.optimizer.create("adam"))
    local.set_states(open(fname, "rb").read())  # the local store's format
    assert local.optimizer.num_update == 2  # the dumped optimizer travelled with its counts
    assert sorted(local.states) == [0, 1] and local.states[0][0].shape == shapes[0]


# ------------------------------------------------------------------------------ compression
ONE_DEVICE = [c for c in GOLDEN["cases"] if "one-device" in c["id"]]


@pytest.mark.parametrize("case", ONE_DEVICE, ids=[c["id"] for c in ONE_DEVICE])
def test_compressed_pushes_match_mxnet(make_store, case):
    shape = tuple(case["shape"])
    kv = make_store("dist_sync", num_servers=2, bound=8)
    kv.set_gradient_compression({"type": "2bit", "threshold": case["threshold"]})
    kv.init(0, mx.nd.array(np.array(case["init"], np.float32)))
    if case["optimizer"]:
        kv.set_optimizer(mx.optimizer.create("sgd", **case["optimizer"]))
    for step, (grads, want) in enumerate(zip(case["grads"], case["pulled"], strict=True)):
        kv.push(0, mx.nd.array(np.array(grads[0], np.float32)))
        np.testing.assert_allclose(value(kv, 0, shape), np.array(want, np.float32),
                                   rtol=1e-6, atol=1e-7, err_msg=f"step {step}")


TWO_DEVICES = [c for c in GOLDEN["cases"] if "two-devices" in c["id"]]


@pytest.mark.parametrize("case", TWO_DEVICES, ids=[c["id"] for c in TWO_DEVICES])
def test_two_compressed_workers_match_mxnets_two_devices(make_store, case):
    shape = tuple(case["shape"])
    stores = make_store("dist_sync", num_workers=2)

    def work(kv):
        kv.set_gradient_compression({"type": "2bit", "threshold": case["threshold"]})
        kv.init(0, mx.nd.array(np.array(case["init"], np.float32)))
        got = []
        for grads in case["grads"]:
            kv.push(0, mx.nd.array(np.array(grads[kv.rank], np.float32)))
            got.append(value(kv, 0, shape))
            kv.barrier()  # nobody pushes the next step before everybody pulled this one
        return got

    for got in on_ranks(work, stores):
        np.testing.assert_allclose(np.array(got), np.array(case["pulled"], np.float32),
                                   rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------------------ commands, faults
def test_send_command_sets_optimizer_from_dumps_and_stop(make_store):
    kv = make_store("dist_sync")
    kv.init(0, mx.nd.ones(SHAPE))
    kv.send_command_to_servers(0, mx.optimizer.SGD(learning_rate=0.5).dumps())
    kv.push(0, mx.nd.ones(SHAPE))
    np.testing.assert_allclose(value(kv, 0), 0.5)
    kv.send_command_to_servers(2, "")
    with pytest.raises(MXNetError, match="stopped"):
        value(kv, 0)


def test_dead_server_makes_the_next_call_raise(make_store):
    import ray

    kv = make_store("dist_sync", num_servers=2, timeout=30, fresh=True)
    kv.init([0, 1], [mx.nd.ones(SHAPE), mx.nd.ones(SHAPE)])
    other = 1 - kv._parts(0)[0][0]  # a server that key 0 does not live on
    ray.kill(kv._servers[other])
    start = time.monotonic()
    with pytest.raises(MXNetError, match=f"server {other} died"):
        for _ in range(100):  # the kill lands within moments
            kv.push(0, mx.nd.ones(SHAPE))
            value(kv, 0)
            time.sleep(0.1)
    assert time.monotonic() - start < 30


def test_a_missing_worker_times_out_instead_of_hanging(make_store):
    kv0, _ = make_store("dist_sync", num_workers=2, timeout=1.5)
    start = time.monotonic()
    with pytest.raises(MXNetError, match="time-out"):
        kv0.init(0, mx.nd.ones(SHAPE))  # the barrier waits for rank 1, which never comes
    assert time.monotonic() - start < 10


# ------------------------------------------------------------------------------ Module
def test_module_fit_checkpoints_states_through_the_servers(make_store, tmp_path):
    """Module.fit on a one-worker dist store equals the local run; the optimizer states saved
    from the servers load into a new module and into the local store's updater."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)

    def fit(kv):
        net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"),
                                                         num_hidden=2, name="fc"),
                                   name="softmax")
        mod = mx.mod.Module(net, context=mx.cpu())
        mx.random.seed(3)
        mod.fit(mx.io.NDArrayIter(x, y, batch_size=8), num_epoch=2, kvstore=kv,
                optimizer="adam", optimizer_params={"learning_rate": 0.01})
        return mod

    kv = make_store("dist_sync", num_servers=2, bound=6)
    mod = fit(kv)
    want = fit("local").get_params()[0]
    for name, w in mod.get_params()[0].items():
        np.testing.assert_allclose(w.asnumpy(), want[name].asnumpy(), rtol=1e-5, err_msg=name)
    fname = str(tmp_path / "m.states")
    mod.save_optimizer_states(fname)
    updater = mx.optimizer.get_updater(mx.optimizer.create("adam"))
    updater.set_states(open(fname, "rb").read())
    assert sorted(updater.states) == ["fc_bias", "fc_weight"]
    assert updater.states["fc_weight"][0].shape == (2, 5)
    mod.load_optimizer_states(fname)  # back to the servers
