"""``DataLoader``: batches from a Dataset, optionally made by worker processes.

With ``num_workers > 0`` a pool of processes (forked where the platform allows) builds the
batches; up to ``prefetch`` batches are in flight, and they arrive in sampler order.
"""

from __future__ import annotations

import multiprocessing
from collections import deque

import numpy as np

from ...context import cpu_pinned
from ...ndarray import NDArray, array, stack
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "default_batchify_fn", "default_mp_batchify_fn"]


def default_batchify_fn(data):
    """Stack samples into a batch: NDArrays stacked, tuples batched element-wise, anything else
    through ``numpy.asarray`` (keeping its dtype)."""
    if isinstance(data[0], NDArray):
        return stack(*data)
    if isinstance(data[0], tuple):
        return [default_batchify_fn(list(i)) for i in zip(*data, strict=True)]
    data = np.asarray(data)
    return array(data, dtype=data.dtype)


def default_mp_batchify_fn(data):
    """What workers run: like :func:`default_batchify_fn` (the batch travels back pickled)."""
    return default_batchify_fn(data)


_worker_dataset = None


def _worker_init(dataset):
    global _worker_dataset
    _worker_dataset = dataset


def _worker_fn(samples, batchify_fn):
    return batchify_fn([_worker_dataset[i] for i in samples])


def _as_in_context(data, ctx):
    """``data`` (an NDArray, or lists/tuples of them) on ``ctx``."""
    if isinstance(data, NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return type(data)(_as_in_context(d, ctx) for d in data)
    return data


def _mp_context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else methods[0])


class DataLoader:
    """Iterate over ``dataset`` in batches.

    ``batch_size`` with ``shuffle`` or a ``sampler`` and ``last_batch`` ('keep', 'discard',
    'rollover'), or a ``batch_sampler`` giving index lists; ``batchify_fn`` turns a list of
    samples into a batch; ``num_workers`` worker processes build batches ahead (``prefetch``,
    default ``2 * num_workers``); ``timeout`` seconds to wait for a worker's batch.
    ``pin_memory=True`` hands the batches out on ``cpu_pinned(pin_device_id)``, as MXNet (on
    the CPU that is the context's name only).  ``auto_reload`` (MXNet 1.9.1: start prefetching
    the next epoch as soon as one ends) is accepted; mxlite's workers start prefetching when an
    iteration starts, which changes when batches are built, not what they are.
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None, last_batch=None,
                 batch_sampler=None, batchify_fn=None, num_workers=0, pin_memory=False,
                 pin_device_id=0, prefetch=None, thread_pool=False, timeout=120,
                 try_nopython=None, auto_reload=False):
        self._dataset = dataset
        self._pin_ctx = cpu_pinned(int(pin_device_id)) if pin_memory else None
        self.auto_reload = bool(auto_reload)
        self._timeout = timeout
        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("batch_size must be specified unless batch_sampler is "
                                 "specified")
            if sampler is None:
                sampler = RandomSampler(len(dataset)) if shuffle else \
                    SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = BatchSampler(sampler, batch_size,
                                         last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or \
                last_batch is not None:
            raise ValueError("batch_size, shuffle, sampler and last_batch must not be specified "
                             "if batch_sampler is specified.")
        self._batch_sampler = batch_sampler
        self._num_workers = max(0, int(num_workers))
        self._prefetch = max(0, int(prefetch) if prefetch is not None
                             else 2 * self._num_workers)
        self._thread_pool = thread_pool
        if batchify_fn is None:
            batchify_fn = default_mp_batchify_fn if self._num_workers > 0 \
                else default_batchify_fn
        self._batchify_fn = batchify_fn
        self._pool = None

    def _get_pool(self):
        if self._pool is None:
            if self._thread_pool:
                from multiprocessing.pool import ThreadPool

                self._pool = ThreadPool(self._num_workers, initializer=_worker_init,
                                        initargs=(self._dataset,))
            else:
                self._pool = _mp_context().Pool(self._num_workers, initializer=_worker_init,
                                                initargs=(self._dataset,))
        return self._pool

    def __iter__(self):
        if self._pin_ctx is None:
            yield from self._batches()
            return
        batches = self._batches()
        try:
            for batch in batches:
                yield _as_in_context(batch, self._pin_ctx)
        finally:
            batches.close()  # (its own cleanup: prefetched batches)

    def _batches(self):
        if self._num_workers == 0:
            for batch in self._batch_sampler:
                yield self._batchify_fn([self._dataset[i] for i in batch])
            return
        pool = self._get_pool()
        pending: deque = deque()
        batches = iter(self._batch_sampler)
        depth = max(1, self._prefetch)
        for batch in batches:
            pending.append(pool.apply_async(_worker_fn, (batch, self._batchify_fn)))
            if len(pending) >= depth:
                break
        try:
            while pending:
                result = pending.popleft().get(self._timeout)
                nxt = next(batches, None)
                if nxt is not None:
                    pending.append(pool.apply_async(_worker_fn, (nxt, self._batchify_fn)))
                yield result
        finally:
            # an iteration left early: let the prefetched batches arrive.  A worker blocked
            # writing a large batch into the result pipe holds the pool's write lock, and
            # Pool.terminate() (close(), __del__) would wait for that lock forever.
            for job in pending:
                job.wait(self._timeout)

    def __len__(self):
        return len(self._batch_sampler)

    def close(self):
        """Stop the worker processes (a later iteration starts new ones)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.terminate()
