"""The Gluon Trainer on the dist stores: MXNet 1.9.1's ``update_on_kvstore`` rules, the
``step(batch_size)`` scale, states held by the servers, and training with 2 workers (real
``mxlite launch`` jobs, and in-process ranks in threads sharing the session's servers)."""

from __future__ import annotations

import importlib.util
import sys
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.base import MXNetError

from .test_launch import launch

pytest.importorskip("ray")

JOBS = Path(__file__).with_name("_gluon_jobs.py")


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


G = _load("_kv_gluon_jobs", JOBS)
J = _load("_kv_jobs_g", JOBS.with_name("_jobs.py"))


def on_ranks(fn, n):
    """``fn(rank)`` for every rank at once; the results in rank order (a rank's own error
    rather than the time-out it caused on the others)."""
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(fn, r) for r in range(n)]
        wait(futures, timeout=120)
    errors = [f.exception() for f in futures]
    for err in sorted((e for e in errors if e), key=lambda e: isinstance(e, MXNetError)):
        raise err
    return [f.result() for f in futures]


def reference(epochs=3, opt=G.OPT):
    """One process, no kvstore, the combined batch of both workers at every step."""
    x, y = J.combined(*J.dataset(2), 2)
    net = G.mlp()
    trainer = gluon.Trainer(net.collect_params(), *opt, kvstore=None)
    G.train(net, trainer, x, y, 2 * J.BATCH, 2 * J.BATCH, epochs)
    return net, trainer


def assert_params_close(got, want):
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        # atol: float32 rounding of two half-batch sums against one sum, ~1e-8
        np.testing.assert_allclose(got[name], w, rtol=1e-5, atol=1e-7, err_msg=name)


# ------------------------------------------------------------------------------ launcher jobs
def test_launched_dist_sync_trainer_equals_the_combined_batch(ray_address, tmp_path):
    res = launch(["-n", "2", "-s", "2", "--", sys.executable, str(JOBS), "gluon-sync",
                  str(tmp_path)], ray_address)
    assert res.returncode == 0, res.stdout + res.stderr
    net, trainer = reference()
    got = np.load(tmp_path / "params.npz")
    assert_params_close({k: got[k] for k in got.files}, G.params_of(net))
    # the momentum the servers held, gathered into one file, is the local run's
    saved = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    saved.set_states((tmp_path / "trainer.states").read_bytes())
    want = trainer._updaters[0].states
    assert sorted(saved.states) == sorted(want) == [0, 1, 2, 3]
    for i in want:
        np.testing.assert_allclose(saved.states[i].asnumpy(), want[i].asnumpy(), rtol=1e-4,
                                   atol=1e-6)


def test_launched_dist_async_trainer_converges(ray_address, tmp_path):
    res = launch(["-n", "2", "--", sys.executable, str(JOBS), "gluon-async", str(tmp_path)],
                 ray_address)
    assert res.returncode == 0, res.stdout + res.stderr
    accs = [float((tmp_path / f"acc-{rank}.txt").read_text()) for rank in range(2)]
    assert min(accs) > 0.85, accs


# ------------------------------------------------------------------------------ in-process ranks
MODES = [
    ("dist_sync", None, True, False),
    ("dist_sync", False, False, True),
    ("dist_device_sync", None, True, False),
    ("dist_device_sync", False, False, True),
]


@pytest.mark.parametrize("kind, update_on_kv, on_kv, split", MODES,
                         ids=["sync-on-servers", "sync-allreduce-update",
                              "device-sync", "device-sync-allreduce-update"])
def test_two_ranks_equal_the_combined_batch(make_store, kind, update_on_kv, on_kv, split):
    stores = make_store(kind, num_servers=2, num_workers=2, bound=40)  # fc1 weight is split
    data = J.dataset(2)
    nets = [G.mlp() for _ in range(2)]

    def work(rank):
        kv = stores[rank]
        x, y = J.shard(*data, rank, 2)
        trainer = gluon.Trainer(nets[rank].collect_params(), *G.OPT, kvstore=kv,
                                update_on_kvstore=update_on_kv)
        G.train(nets[rank], trainer, x, y, J.BATCH, 2 * J.BATCH, epochs=2, split=split)
        assert (trainer._kvstore, trainer._update_on_kvstore) == (kv, on_kv)
        return G.params_of(nets[rank])

    got = on_ranks(work, 2)
    want = G.params_of(reference(epochs=2)[0])
    for params in got:
        assert_params_close(params, want)


@pytest.mark.parametrize("kind", ["dist_sync", "dist_device_sync"])
def test_the_first_step_broadcasts_rank_0s_weights(make_store, kind):
    stores = make_store(kind, num_workers=2)
    nets = [G.mlp(seed=42 + 1000 * r) for r in range(2)]
    want = G.params_of(nets[0])

    def work(rank):
        # updates on the workers: only the broadcast can bring rank 0's weights
        trainer = gluon.Trainer(nets[rank].collect_params(), "sgd", {"learning_rate": 0.0},
                                kvstore=stores[rank], update_on_kvstore=False)
        x, y = J.shard(*J.dataset(2), rank, 2)
        G.train(nets[rank], trainer, x, y, J.BATCH, J.BATCH, epochs=1)
        return G.params_of(nets[rank])

    for got in on_ranks(work, 2):
        assert_params_close(got, want)


@pytest.mark.parametrize("kind, update_on_kv",
                         [("dist_sync", None), ("dist_sync", False), ("dist_device_sync", None)],
                         ids=["sync-on-servers", "sync-allreduce", "device-sync"])
def test_step_scales_the_summed_gradients_by_the_batch_size_given(make_store, kind,
                                                                   update_on_kv):
    """Against a hand-made SGD step: w - lr * (g_0 + g_1) / batch_size, g_r the gradient
    (summed over its samples) of rank r's batch; step does not also divide by the workers."""
    stores = make_store(kind, num_workers=2)
    nets = [G.mlp() for _ in range(2)]
    w0 = G.params_of(nets[0])
    lr, step_size = 0.1, 3 * J.BATCH  # not the combined batch: any batch_size is honoured

    def work(rank):
        net = nets[rank]
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": lr},
                                kvstore=stores[rank], update_on_kvstore=update_on_kv)
        x, y = J.shard(*J.dataset(2), rank, 2)
        with autograd.record():
            loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(mx.nd.array(x[:J.BATCH])),
                                                        mx.nd.array(y[:J.BATCH]))
        loss.backward()
        grads = [p.grad().asnumpy().copy() for _, p in sorted(net.collect_params().items())]
        trainer.step(step_size)
        return G.params_of(net), grads

    (got0, g0), (got1, g1) = on_ranks(work, 2)
    want = {name: w - lr * (a + b) / step_size
            for (name, w), a, b in zip(w0.items(), g0, g1, strict=True)}
    assert_params_close(got0, want)
    assert_params_close(got1, want)


def test_a_later_step_with_another_batch_size_is_refused_on_servers(make_store):
    """The scale reached the servers with the first step; as MXNet, a new one is refused."""
    x, y = J.dataset(1)
    net = G.mlp()
    trainer = gluon.Trainer(net.collect_params(), *G.OPT, kvstore=make_store("dist_sync"))
    G.train(net, trainer, x[:J.BATCH], y[:J.BATCH], J.BATCH, J.BATCH, epochs=1)
    with pytest.raises(UserWarning, match="batch_size"):
        G.train(net, trainer, x[:J.BATCH], y[:J.BATCH], J.BATCH, 2 * J.BATCH, epochs=1)


def test_async_refuses_update_on_workers(make_store):
    net = G.mlp()
    trainer = gluon.Trainer(net.collect_params(), *G.OPT, kvstore=make_store("dist_async"),
                            update_on_kvstore=False)
    with pytest.raises(MXNetError, match="update_on_kvstore=True when training in async"):
        G.train(net, trainer, *J.dataset(1), J.BATCH, J.BATCH, epochs=1)
    with pytest.raises(ValueError, match="async"):  # what MXNet raises
        trainer.step(J.BATCH)


def test_allreduce_and_update_are_refused_when_the_servers_update(make_store):
    net = G.mlp()
    trainer = gluon.Trainer(net.collect_params(), *G.OPT, kvstore=make_store("dist_sync"))
    G.train(net, trainer, *J.dataset(1), J.BATCH, J.BATCH, epochs=1)
    for call in (trainer.allreduce_grads, lambda: trainer.update(J.BATCH)):
        with pytest.raises(AssertionError, match="update_on_kvstore"):
            call()


def test_save_and_load_states_through_split_servers(make_store, tmp_path):
    """Adam states saved from 2 servers (a split key) resume training where one run goes."""
    x, y = J.dataset(1)
    opt = ("adam", {"learning_rate": 0.01})
    fname = str(tmp_path / "t.states")

    def trainer_on(net, kind="dist_sync"):
        return gluon.Trainer(net.collect_params(), *opt,
                             kvstore=make_store(kind, num_servers=2, bound=40))

    whole = G.mlp()
    G.train(whole, trainer_on(whole), x, y, J.BATCH, J.BATCH, epochs=2)
    first = G.mlp()
    t1 = trainer_on(first)
    G.train(first, t1, x, y, J.BATCH, J.BATCH, epochs=1)
    t1.save_states(fname)
    resumed = G.mlp()
    for p, q in zip(resumed.collect_params().values(), first.collect_params().values(),
                    strict=True):
        p.set_data(q.data())
    t2 = trainer_on(resumed)
    t2.load_states(fname)  # creates the store (resumed's weights) and loads the servers
    assert t2.optimizer.num_update == len(x) // J.BATCH  # the saved optimizer came along
    G.train(resumed, t2, x, y, J.BATCH, J.BATCH, epochs=1)
    assert_params_close(G.params_of(resumed), G.params_of(whole))


# ------------------------------------------------------------------------------ round trips
def _count_sends(kv):
    """Record the servers each push of ``kv`` reaches: one entry per call of ``_send``."""
    calls, send = [], kv._send

    def counting(pairs, reply, what):
        refs, by_server = send(pairs, reply, what)
        calls.append((len(pairs), sorted(refs)))
        return refs, by_server

    kv._send = counting
    return calls


@pytest.mark.parametrize("api", ["trainer", "module"])
def test_a_step_is_one_round_trip_per_server(make_store, api):
    kv = make_store("dist_sync", num_servers=2, bound=40)  # the first layer's weight is split
    calls = _count_sends(kv)
    x, y = J.dataset(1)
    steps = 2
    x, y = x[:steps * J.BATCH], y[:steps * J.BATCH]
    if api == "trainer":
        net = G.mlp()
        G.train(net, gluon.Trainer(net.collect_params(), *G.OPT, kvstore=kv), x, y, J.BATCH,
                J.BATCH, epochs=1)
    else:
        J.fit(x, y, J.BATCH, kv, epochs=1)
    assert calls == [(4, [0, 1])] * steps  # all 4 keys of a step in one call, 1 push a server


def test_parameter_multipliers_reach_the_servers(make_store):
    """Gluon's per-Parameter lr_mult/wd_mult apply on the servers as they do locally."""
    x, y = J.dataset(1)
    nets = [G.mlp(), G.mlp()]
    for net in nets:
        params = [p for _, p in sorted(net.collect_params().items())]
        params[0].lr_mult, params[1].wd_mult, params[3].lr_mult = 0.0, 0.0, 3.0
    opt = ("sgd", {"learning_rate": 0.05, "wd": 0.01})
    dist = gluon.Trainer(nets[0].collect_params(), *opt, kvstore=make_store("dist_sync"))
    local = gluon.Trainer(nets[1].collect_params(), *opt, kvstore=None)
    for net, trainer in zip(nets, (dist, local), strict=True):
        G.train(net, trainer, x[:4 * J.BATCH], y[:4 * J.BATCH], J.BATCH, J.BATCH, epochs=1)
    got, want = G.params_of(nets[0]), G.params_of(nets[1])
    assert_params_close(got, want)
    fresh = G.params_of(G.mlp())
    np.testing.assert_array_equal(got["p0_bias"], fresh["p0_bias"])  # lr_mult 0: unchanged
    assert not np.array_equal(got["p1_weight"], fresh["p1_weight"])


def test_compression_params_reach_the_store(make_store):
    """As MXNet: the Trainer hands compression_params to its kvstore, whose pushes then carry
    2-bit values (every weight moves by 0 or +-lr*threshold, with step(1))."""
    x, y = J.dataset(1)
    net = G.mlp()
    w0 = G.params_of(net)
    kv = make_store("dist_sync")
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0}, kvstore=kv,
                            compression_params={"type": "2bit", "threshold": 1e-3})
    G.train(net, trainer, x[:J.BATCH], y[:J.BATCH], J.BATCH, 1, epochs=1)
    assert kv._compression is not None and kv._compression.threshold == 1e-3
    for name, w in G.params_of(net).items():
        step = np.abs(w - w0[name])
        assert step.max() > 0 and np.allclose(step[step > 0], 1e-3, rtol=1e-3), name


def test_set_learning_rate_warns_that_the_servers_keep_theirs(make_store):
    net = G.mlp()
    trainer = gluon.Trainer(net.collect_params(), *G.OPT, kvstore=make_store("dist_sync"))
    G.train(net, trainer, *J.dataset(1), J.BATCH, J.BATCH, epochs=1)
    with pytest.warns(UserWarning, match="lr_scheduler"):
        trainer.set_learning_rate(0.01)
    assert trainer.learning_rate == 0.01
