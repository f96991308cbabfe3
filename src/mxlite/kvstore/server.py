"""The parameter server of the distributed kvstores: :class:`KVServer`, run as a Ray actor.

A server holds the keys of its shard as ``(key, part)`` pairs (``part`` numbers the pieces of an
array split across servers, 0 otherwise), the rounds of synchronous pushes not yet complete, and
the updater of the optimizer the workers sent.  Its methods are coroutines: a synchronous push
waits for the round of its key, a barrier for all workers, without holding up other calls.
:mod:`mxlite.kvstore.dist` creates the servers and talks to them.
"""

from __future__ import annotations

import asyncio

import numpy as np

from ..base import MXNetError
from ..ndarray import NDArray
from . import compression as _compression

__all__ = ["KVServer", "optimizer_from_spec", "optimizer_spec"]


def optimizer_spec(optimizer) -> bytes:
    """The form in which ``optimizer`` travels to the servers: the safe state bytes of an
    empty updater saved with its optimizer (hyperparameters, ``lr_mult``/``wd_mult`` read from
    the symbol or from Gluon's Parameters in ``param_dict``, the schedule, the update counts)
    -- the format of ``save_optimizer_states``, which is never unpickled."""
    from .. import optimizer as opt

    params = getattr(optimizer, "param_dict", None) or {}
    if not params:
        return opt.get_updater(optimizer).get_states(dump_optimizer=True)
    # Gluon's Parameters (their lr_mult/wd_mult) cannot travel: their multipliers go as the
    # optimizer's by-index tables for the time of the save (the Parameters win locally anyway)
    saved = dict(optimizer.lr_mult), dict(optimizer.wd_mult)
    try:
        for index, param in params.items():
            optimizer.lr_mult[index] = float(param.lr_mult)
            optimizer.wd_mult[index] = float(param.wd_mult)
        return opt.get_updater(optimizer).get_states(dump_optimizer=True)
    finally:
        optimizer.lr_mult, optimizer.wd_mult = saved


def optimizer_from_spec(spec):
    """The optimizer of ``spec``: an ``Optimizer.dumps()`` JSON string, or bytes from
    :func:`optimizer_spec`.  A pickle (what MXNet sends) is refused with MXNetError."""
    from .. import optimizer as opt

    if isinstance(spec, str):
        if not spec.lstrip().startswith("["):
            raise MXNetError(
                "the optimizer must come as Optimizer.dumps() JSON or safe state bytes; "
                f"got the string {spec[:40]!r} (pickled optimizers are not accepted)"
            )
        try:
            return opt.create(spec)
        except (TypeError, ValueError) as err:
            raise MXNetError(f"bad optimizer description: {err}") from None
    if isinstance(spec, (bytes, bytearray, memoryview)):
        data = bytes(spec)
        if data[:2] != b"PK":
            raise MXNetError(
                "the optimizer must come as Optimizer.dumps() JSON or safe state bytes "
                "(pickled optimizers are not accepted)"
            )
        placeholder = opt.create("test")
        updater = opt.get_updater(placeholder)
        updater.set_states(data)
        if updater.optimizer is placeholder:
            raise MXNetError("the optimizer state bytes were saved without their optimizer")
        return updater.optimizer
    raise MXNetError(
        f"the optimizer must come as Optimizer.dumps() JSON or safe state bytes, got {spec!r}"
    )


class _Round:
    """The pushes of one key (or a barrier) that complete together."""

    __slots__ = ("done", "error", "ranks", "total")

    def __init__(self):
        self.ranks: set = set()
        self.total = None
        self.error = None
        self.done = asyncio.Event()


class KVServer:
    """One parameter server: the keys of its shard, their merge buffers and the updater.

    Created as a Ray actor by :func:`start_servers`; workers call it through
    :class:`DistKVStore`.  Stored keys are ``(key, part)`` pairs (``part`` is the piece index
    of a split array, 0 otherwise); the optimizer sees the worker's key.
    """

    def __init__(self, index: int, num_workers: int):
        self.index = index
        self._clear(num_workers)

    def _clear(self, num_workers):
        if num_workers < 1:
            raise ValueError(f"num_workers must be at least 1, got {num_workers}")
        self.num_workers = num_workers
        self.mode = None
        self.store: dict = {}
        self.rounds: dict = {}
        self.updater = None
        self.optimizer_spec = None
        self.stopped = False
        self._barrier = None
        self._stop_event = None

    async def reset(self, num_workers: int) -> int:
        """Forget every key, round, optimizer and worker: a fresh server for a new job of
        ``num_workers`` workers (waiting calls of the old job are failed)."""
        for rnd in [*self.rounds.values(), self._barrier]:
            if rnd is not None:
                rnd.error = MXNetError(f"kvstore server {self.index} was reset")
                rnd.done.set()
        self._clear(num_workers)
        return self.index

    # -------------------------------------------------------------- control
    def _alive(self):
        if self.stopped:
            raise MXNetError(f"kvstore server {self.index} was stopped")

    async def hello(self, rank: int, mode: str) -> int:
        """Register a worker's store mode; all workers of a job must use the same one."""
        self._alive()
        if not 0 <= rank < self.num_workers:
            raise MXNetError(f"worker rank {rank} outside 0..{self.num_workers - 1}")
        if self.mode is None:
            self.mode = mode
        elif self.mode != mode:
            raise MXNetError(
                f"worker {rank} opened a {mode!r} store but the job's servers run {self.mode!r}"
            )
        return self.index

    async def barrier(self, rank: int) -> None:
        """Return when all workers have called barrier."""
        self._alive()
        if self._barrier is None:
            self._barrier = _Round()
        rnd = self._barrier
        if rank in rnd.ranks:
            raise MXNetError(f"worker {rank} entered the barrier twice")
        rnd.ranks.add(rank)
        if len(rnd.ranks) == self.num_workers:
            self._barrier = None
            rnd.done.set()
        await rnd.done.wait()
        if rnd.error is not None:
            raise rnd.error

    async def set_optimizer(self, spec) -> None:
        """Use the optimizer of ``spec`` on pushes: an ``Optimizer.dumps()`` string or the safe
        state bytes of an updater saved with its optimizer (see :func:`optimizer_from_spec`);
        the same spec sent again keeps the states."""
        from .. import optimizer as opt

        self._alive()
        if spec == self.optimizer_spec:
            return
        self.updater = opt.get_updater(optimizer_from_spec(spec))
        self.optimizer_spec = spec

    async def get_states(self, dump_optimizer: bool) -> bytes:
        self._alive()
        if self.updater is None:
            raise MXNetError("save_optimizer_states: no optimizer was set on the kvstore servers")
        return self.updater.get_states(dump_optimizer)

    async def set_states(self, data: bytes) -> None:
        self._alive()
        if self.updater is None:
            raise MXNetError("load_optimizer_states: no optimizer was set on the kvstore servers")
        self.updater.set_states(data)
        self.optimizer_spec = None  # the loaded optimizer may differ from the one sent

    async def stop(self) -> None:
        """Stop serving (MXNet's ``kStopServer``); every later call raises MXNetError."""
        self.stopped = True
        if self._stop_event is not None:
            self._stop_event.set()

    async def wait_stopped(self) -> int:
        """Return once the server is stopped (the launcher watches servers with it)."""
        if self._stop_event is None:
            self._stop_event = asyncio.Event()
        if not self.stopped:
            await self._stop_event.wait()
        return self.index

    async def ping(self) -> int:
        self._alive()
        return self.index

    # -------------------------------------------------------------- data
    async def init(self, items) -> None:
        """Store ``[(skey, array), ...]`` (each key once)."""
        self._alive()
        for skey, value in items:
            if skey in self.store:
                raise MXNetError(f"duplicate init of key {skey[0]!r}")
            self.store[skey] = NDArray(np.array(value, copy=True))

    def _stored(self, skey):
        try:
            return self.store[skey]
        except KeyError:
            raise MXNetError(f"key {skey[0]!r} has not been initialized in the kvstore") from None

    @staticmethod
    def _decode(payload):
        if payload[0] == "raw":
            return payload[1]
        _, packed, n, threshold, dtype = payload
        comp = _compression.TwoBitCompression(threshold)
        return comp.dequantize(packed, n, np.dtype(dtype))

    def _apply(self, skey, grad):
        stored = self._stored(skey)
        grad = np.asarray(grad).reshape(stored.shape)
        if self.updater is not None:
            self.updater(skey[0], NDArray(np.array(grad, dtype=stored._data.dtype)), stored)
        else:
            stored._data[...] = grad

    async def pull(self, skeys):
        """The stored arrays of ``skeys``."""
        self._alive()
        return [self._stored(skey)._data.copy() for skey in skeys]

    async def push(self, rank: int, items, reply: str = "none"):
        """Take one worker's ``[(skey, payload), ...]``.

        sync: add to the key's round; when all workers have pushed, apply the optimizer to the
        sum (or store the sum); return when the round is complete.  async: apply at once.
        reduce: return the round's sum, store nothing.  ``reply`` ``'value'`` returns the
        stored arrays afterwards, ``'sum'`` the sums of a reduce round.
        """
        self._alive()
        if self.mode is None:
            raise MXNetError("kvstore server: push before any worker registered")
        waits = []
        for skey, payload in items:
            grad = self._decode(payload)
            if self.mode == "async":
                self._apply(skey, grad)
                waits.append(None)
                continue
            if self.mode == "sync":
                self._stored(skey)  # an unknown key fails now, not when the round completes
            rnd = self.rounds.get(skey)
            if rnd is None:
                rnd = self.rounds[skey] = _Round()
            if rank in rnd.ranks:
                raise MXNetError(
                    f"worker {rank} pushed key {skey[0]!r} twice in one synchronous round"
                )
            rnd.ranks.add(rank)
            if rnd.total is None:
                rnd.total = np.array(grad, copy=True)
            else:
                rnd.total += grad
            if len(rnd.ranks) == self.num_workers:
                del self.rounds[skey]
                try:
                    if self.mode == "sync":
                        self._apply(skey, rnd.total)
                except Exception as err:
                    rnd.error = MXNetError(f"update of key {skey[0]!r} failed: {err}")
                finally:
                    rnd.done.set()
            waits.append(rnd)
        for rnd in waits:
            if rnd is not None:
                await rnd.done.wait()
                if rnd.error is not None:
                    raise rnd.error
        self._alive()
        if reply == "sum":
            return [rnd.total for rnd in waits]
        if reply == "value":
            return [self._stored(skey)._data.copy() for skey, _ in items]
        return None
