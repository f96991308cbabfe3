"""The server's rounds, barrier and commands, driven directly with asyncio (no Ray)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.kvstore import compression
from mxlite.kvstore.server import KVServer, optimizer_from_spec, optimizer_spec

KEY = (0, 0)


def raw(value):
    return ("raw", np.full(3, value, np.float32))


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=30))


async def _server(mode, num_workers=2, init=1.0):
    s = KVServer(0, num_workers)
    for rank in range(num_workers):
        await s.hello(rank, mode)
    await s.init([(KEY, np.full(3, init, np.float32))])
    return s


def test_sync_round_completes_with_the_last_worker():
    async def main():
        s = await _server("sync")
        await s.set_optimizer(mx.optimizer.SGD(learning_rate=0.5).dumps())
        first = asyncio.ensure_future(s.push(0, [(KEY, raw(1))], "value"))
        await asyncio.sleep(0.05)
        assert not first.done()  # waits for rank 1
        with pytest.raises(MXNetError, match="twice in one synchronous round"):
            await s.push(0, [(KEY, raw(5))])
        second = await s.push(1, [(KEY, raw(2))], "value")
        return await first, second

    first, second = run(main())
    np.testing.assert_allclose(first[0], 1 - 0.5 * 3)
    np.testing.assert_allclose(second[0], 1 - 0.5 * 3)


def test_async_applies_each_push_and_reduce_returns_sums():
    async def main():
        a = await _server("async")
        await a.push(0, [(KEY, raw(2))])
        after_one = (await a.pull([KEY]))[0]
        r = await _server("reduce")
        sums = await asyncio.gather(r.push(0, [(KEY, raw(1))], "sum"),
                                    r.push(1, [(KEY, raw(4))], "sum"))
        stored = (await r.pull([KEY]))[0]
        return after_one, sums, stored

    after_one, sums, stored = run(main())
    np.testing.assert_array_equal(after_one, 2.0)  # no optimizer: the value replaces
    for s in sums:
        np.testing.assert_array_equal(s[0], 5.0)
    np.testing.assert_array_equal(stored, 1.0)  # a reduce round stores nothing


def test_compressed_payload_is_decoded():
    comp = compression.TwoBitCompression(0.5)
    res = np.zeros(3, np.float32)
    packed = comp.quantize(np.array([0.7, -0.6, 0.1], np.float32), res)

    async def main():
        s = await _server("sync", num_workers=1)
        await s.push(0, [(KEY, ("2bit", packed, 3, 0.5, "<f4"))])
        return (await s.pull([KEY]))[0]

    np.testing.assert_array_equal(run(main()), [0.5, -0.5, 0.0])


def test_barrier_reset_and_stop():
    async def main():
        s = await _server("sync")
        waiting = asyncio.ensure_future(s.barrier(0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await s.reset(2)  # a new job: the old job's waiters fail
        with pytest.raises(MXNetError, match="reset"):
            await waiting
        await s.hello(0, "sync")
        with pytest.raises(MXNetError, match="'async'"):
            await s.hello(1, "async")
        await asyncio.gather(s.barrier(0), s.barrier(1))
        await s.stop()
        assert await s.wait_stopped() == 0
        with pytest.raises(MXNetError, match="stopped"):
            await s.pull([KEY])

    run(main())


def test_optimizer_specs():
    opt = mx.optimizer.create("adam", learning_rate=0.02, beta1=0.8)
    back = optimizer_from_spec(optimizer_spec(opt))
    assert type(back).__name__ == "Adam" and back.beta1 == 0.8 and back.lr == 0.02
    assert optimizer_from_spec(opt.dumps()).beta1 == 0.8
    for bad, match in [(b"\x80\x04pickle", "pickled"), ("cos\nsystem\n", "pickled"),
                       (3, "got 3"), ('["nosuch", {}]', "bad optimizer")]:
        with pytest.raises(MXNetError, match=match):
            optimizer_from_spec(bad)
    empty = mx.optimizer.get_updater(mx.optimizer.create("sgd")).get_states(False)
    with pytest.raises(MXNetError, match="without their optimizer"):
        optimizer_from_spec(empty)
