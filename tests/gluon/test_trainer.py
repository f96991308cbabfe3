"""gluon.Trainer: kvstore rules, stale gradients, states, learning rate, multi-tensor calls."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.gluon import nn


def _net():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(4, in_units=3, activation="relu"), nn.Dense(2, in_units=4))
    net.initialize(mx.init.Xavier())
    return net


def _backward(net, x=None):
    x = mx.nd.ones((5, 3)) if x is None else x
    with autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()


@pytest.mark.parametrize(("kvstore", "update_on_kv", "has_kv", "on_kv"), [
    ("device", None, False, None),
    ("local", None, False, None),
    (None, None, False, None),
    ("kv", None, True, True),
    ("kv", False, True, False),
], ids=["device", "local", "none", "instance", "instance_no_update_on_kv"])
def test_kvstore_rules(kvstore, update_on_kv, has_kv, on_kv):
    net = _net()
    kv = mx.kv.create("local") if kvstore == "kv" else kvstore
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1}, kvstore=kv,
                            update_on_kvstore=update_on_kv)
    ref = _net()
    for p, q in zip(ref.collect_params().values(), net.collect_params().values(), strict=True):
        p.set_data(q.data())
    ref_trainer = gluon.Trainer(ref.collect_params(), "sgd", {"learning_rate": 0.1},
                                kvstore=None)
    for t, n in ((trainer, net), (ref_trainer, ref)):
        _backward(n)
        t.step(5)
    assert (trainer._kvstore is not None) == has_kv
    assert trainer._update_on_kvstore == on_kv
    for p, q in zip(ref.collect_params().values(), net.collect_params().values(), strict=True):
        np.testing.assert_allclose(q.data().asnumpy(), p.data().asnumpy(), rtol=1e-6)
    if on_kv:
        with pytest.raises(AssertionError, match="update_on_kvstore"):
            trainer.allreduce_grads()


def test_allreduce_and_update_equal_step():
    a, b = _net(), _net()
    for p, q in zip(a.collect_params().values(), b.collect_params().values(), strict=True):
        q.set_data(p.data())
    ta = gluon.Trainer(a.collect_params(), "adam", {"learning_rate": 0.01})
    tb = gluon.Trainer(b.collect_params(), "adam", {"learning_rate": 0.01})
    for _ in range(3):
        _backward(a)
        ta.step(5)
        _backward(b)
        tb.allreduce_grads()
        tb.update(5)
    for p, q in zip(a.collect_params().values(), b.collect_params().values(), strict=True):
        np.testing.assert_array_equal(p.data().asnumpy(), q.data().asnumpy())


def test_stale_gradient_raises_and_can_be_ignored():
    net = _net()
    extra = gluon.Parameter("unused", shape=(2,))
    extra.initialize()
    params = [*net.collect_params().values(), extra]
    trainer = gluon.Trainer(params, "sgd", {"learning_rate": 0.1})
    _backward(net)
    with pytest.raises(UserWarning, match="unused"):
        trainer.step(5)
    before = extra.data().asnumpy().copy()
    _backward(net)
    trainer.step(5, ignore_stale_grad=True)
    np.testing.assert_array_equal(extra.data().asnumpy(), before)


def test_learning_rate_and_lr_mult():
    net = nn.Dense(1, in_units=1, use_bias=False)
    net.initialize(mx.init.One())
    net.weight.lr_mult = 0.5
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
    assert trainer.learning_rate == 1.0
    trainer.set_learning_rate(0.2)
    assert trainer.learning_rate == 0.2
    with autograd.record():
        y = net(mx.nd.ones((1, 1))).sum()
    y.backward()
    trainer.step(1)
    np.testing.assert_allclose(net.weight.data().asnumpy(), [[1 - 0.2 * 0.5]], rtol=1e-6)


def test_optimizer_instance_and_errors():
    net = _net()
    opt = mx.optimizer.SGD(learning_rate=0.3)
    trainer = gluon.Trainer(net.collect_params(), opt)
    assert trainer.optimizer is opt and trainer.learning_rate == 0.3
    with pytest.raises(ValueError, match="optimizer_params must be None"):
        gluon.Trainer(net.collect_params(), opt, {"learning_rate": 0.1})
    with pytest.raises(ValueError, match="list or dict of Parameters"):
        gluon.Trainer([1, 2], "sgd")
    p = next(iter(net.collect_params().values()))
    with pytest.raises(ValueError, match="duplicated"):
        gluon.Trainer([p, p], "sgd")


def test_save_load_states_resume(tmp_path):
    a = _net()
    ta = gluon.Trainer(a.collect_params(), "adam", {"learning_rate": 0.01})
    for _ in range(2):
        _backward(a)
        ta.step(5)
    path = str(tmp_path / "t.states")
    ta.save_states(path)
    b = _net()
    for p, q in zip(a.collect_params().values(), b.collect_params().values(), strict=True):
        q.set_data(p.data())
    tb = gluon.Trainer(b.collect_params(), "adam", {"learning_rate": 0.01})
    tb.load_states(path)
    for net, t in ((a, ta), (b, tb)):
        _backward(net)
        t.step(5)
    for p, q in zip(a.collect_params().values(), b.collect_params().values(), strict=True):
        np.testing.assert_array_equal(p.data().asnumpy(), q.data().asnumpy())


def test_step_hands_all_parameters_to_one_updater_call(monkeypatch):
    net = _net()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    calls = []
    updater = trainer._updaters[0]
    orig = type(updater).__call__

    def spy(self, index, grad, weight):
        calls.append(index)
        return orig(self, index, grad, weight)

    monkeypatch.setattr(type(updater), "__call__", spy)
    _backward(net)
    trainer.step(5)
    assert calls == [[0, 1, 2, 3]]


def test_two_contexts_reduce_gradients_like_one():
    """Data parallel over two CPU contexts (split_and_load, kvstore 'device') ends where one
    context with the whole batch ends."""
    x = mx.nd.random.uniform(shape=(8, 3))
    one, two = _net(), _net()
    ctxs = [mx.cpu(0), mx.cpu(1)]
    two.collect_params().reset_ctx(ctxs)
    for p, q in zip(one.collect_params().values(), two.collect_params().values(), strict=True):
        q.set_data(p.data())
    t1 = gluon.Trainer(one.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    t2 = gluon.Trainer(two.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    for _ in range(3):
        _backward(one, x)
        t1.step(8)
        parts = gluon.utils.split_and_load(x, ctxs)
        with autograd.record():
            losses = [(two(part) ** 2).sum() for part in parts]
        autograd.backward(losses)
        t2.step(8)
    assert t2._kvstore is not None and t2._update_on_kvstore
    for p, q in zip(one.collect_params().values(), two.collect_params().values(), strict=True):
        for arr in q.list_data():
            np.testing.assert_allclose(arr.asnumpy(), p.data().asnumpy(), rtol=1e-5, atol=1e-7)


def test_load_states_of_other_parameters_is_rejected(tmp_path):
    a = _net()
    ta = gluon.Trainer(a.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    _backward(a)
    ta.step(5)
    path = str(tmp_path / "t.states")
    ta.save_states(path)
    other = nn.HybridSequential()
    with other.name_scope():
        other.add(nn.Dense(5, in_units=3), nn.Dense(2, in_units=5))
    other.initialize()
    tb = gluon.Trainer(other.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    with pytest.raises(ValueError, match="saved for other parameters"):
        tb.load_states(path)
