"""mx.kv: MXNet's local KVStore semantics (init/push/pull/pushpull, updater, optimizer)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

SHAPE = (2, 3)


@pytest.mark.parametrize("kind", ["local", "device"], ids=["local", "device"])
def test_create_and_properties(kind):
    kv = mx.kv.create(kind)
    assert kv.type == kind and kv.rank == 0 and kv.num_workers == 1
    assert kv.is_capable("optimizer")


@pytest.mark.parametrize(
    "name, exc", [("dist_sync", ValueError), ("nccl", ValueError), (3, TypeError)],
    ids=["dist_sync", "nccl", "int"],
)
def test_create_rejects(name, exc):
    with pytest.raises(exc):
        mx.kv.create(name)


@pytest.mark.parametrize("key", [3, "w"], ids=["int-key", "str-key"])
def test_push_sums_and_pull_broadcasts(key):
    kv = mx.kv.create("local")
    kv.init(key, mx.nd.ones(SHAPE))
    kv.push(key, [mx.nd.ones(SHAPE), mx.nd.ones(SHAPE) * 2, mx.nd.ones(SHAPE) * 3])
    outs = [mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)]
    kv.pull(key, out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), 6.0)


def test_multiple_keys_and_pushpull():
    kv = mx.kv.create("local")
    kv.init([5, 7], [mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)])
    kv.push([5, 7], [mx.nd.ones(SHAPE), [mx.nd.ones(SHAPE), mx.nd.ones(SHAPE)]])
    out = [mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)]
    kv.pull([5, 7], out=out)
    assert out[0].asnumpy()[0, 0] == 1 and out[1].asnumpy()[0, 0] == 2
    grad = mx.nd.ones(SHAPE) * 4
    kv.pushpull(5, grad)  # out defaults to the value
    np.testing.assert_array_equal(grad.asnumpy(), 4.0)
    target = mx.nd.zeros(SHAPE)
    kv.pushpull(7, mx.nd.ones(SHAPE), out=target)
    np.testing.assert_array_equal(target.asnumpy(), 1.0)


def test_init_copies_the_value():
    kv = mx.kv.create("local")
    v = mx.nd.ones(SHAPE)
    kv.init("a", v)
    v[:] = 5
    out = mx.nd.zeros(SHAPE)
    kv.pull("a", out=out)
    np.testing.assert_array_equal(out.asnumpy(), 1.0)


def test_custom_updater_gets_summed_value():
    kv = mx.kv.create("local")
    kv.init(0, mx.nd.ones(SHAPE))
    calls = []

    def updater(key, recv, stored):
        calls.append((key, recv.asnumpy()[0, 0]))
        stored[:] += recv * 2

    kv._set_updater(updater)
    kv.push(0, [mx.nd.ones(SHAPE), mx.nd.ones(SHAPE)])
    out = mx.nd.zeros(SHAPE)
    kv.pull(0, out=out)
    assert calls == [(0, 2.0)]
    np.testing.assert_array_equal(out.asnumpy(), 5.0)


def test_set_optimizer_applies_update_and_states_roundtrip(tmp_path):
    kv = mx.kv.create("local")
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv.init("w", mx.nd.ones(SHAPE))
    for _ in range(2):
        kv.push("w", mx.nd.ones(SHAPE))
    out = mx.nd.zeros(SHAPE)
    kv.pull("w", out=out)
    # momentum SGD: w1 = 1 - 0.1; w2 = w1 - (0.9 * 0.1 + 0.1)
    np.testing.assert_allclose(out.asnumpy(), 1 - 0.1 - 0.19, rtol=1e-6)
    fname = str(tmp_path / "kv.states")
    kv.save_optimizer_states(fname)
    kv2 = mx.kv.create("local")
    kv2.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv2.init("w", out)
    kv2.load_optimizer_states(fname)
    kv.push("w", mx.nd.ones(SHAPE))
    kv2.push("w", mx.nd.ones(SHAPE))
    a, b = mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)
    kv.pull("w", out=a)
    kv2.pull("w", out=b)
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy())


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda kv: kv.init(1, mx.nd.ones(SHAPE)), MXNetError, "duplicate init"),
        (lambda kv: kv.push(9, mx.nd.ones(SHAPE)), MXNetError, "not been initialized"),
        (lambda kv: kv.pull(9, out=mx.nd.ones(SHAPE)), MXNetError, "not been initialized"),
        (lambda kv: kv.pull(1), ValueError, "out must be given"),
        (lambda kv: kv.push(1, mx.nd.ones((3, 3))), ValueError, "shape"),
        (lambda kv: kv.init("s", mx.nd.ones(SHAPE)), ValueError, "mixed"),
        (lambda kv: kv.push([1, 2], [mx.nd.ones(SHAPE)]), ValueError, "list of 2 keys"),
        (lambda kv: kv.push(1.5, mx.nd.ones(SHAPE)), TypeError, "int or a string"),
        (lambda kv: kv.push(1, [1, 2]), TypeError, "NDArray"),
        (lambda kv: kv.set_gradient_compression({"type": "2bit"}), MXNetError, "compression"),
        (lambda kv: kv.save_optimizer_states("x"), MXNetError, "no optimizer"),
        (lambda kv: kv.set_optimizer("sgd"), TypeError, "Optimizer"),
    ],
    ids=["duplicate-init", "push-uninit", "pull-uninit", "pull-no-out", "push-shape",
         "mixed-keys", "key-value-count", "float-key", "non-array-value", "compression",
         "save-no-optimizer", "optimizer-by-name"],
)
def test_errors(call, exc, match):
    kv = mx.kv.create("local")
    kv.init(1, mx.nd.ones(SHAPE))
    with pytest.raises(exc, match=match):
        call(kv)


def test_gradient_compression_on_device_store_is_clear():
    with pytest.raises(MXNetError, match="single CPU device"):
        mx.kv.create("device").set_gradient_compression({"type": "2bit", "threshold": 0.5})
