"""Numba kernels: the numeric core of mxlite, kept together so it is easy to find and to port.

Every kernel works on flat, C-contiguous NumPy arrays and scalars and does one pass over memory.
Kernels come as a pair: a serial ``njit`` variant for small tensors and a ``parallel=True``
variant (``numba.prange`` over contiguous chunks) for large ones; :data:`PARALLEL_THRESHOLD`
elements decides which one runs.

Threads: :mod:`mxlite.kernels.threads` sets Numba's OpenMP threads to wait passively (so they
never fight OpenBLAS's GEMM threads) before any kernel runs; ``MXLITE_NUM_THREADS`` caps the threads
of the parallel kernels and of the BLAS (``OMP_NUM_THREADS`` caps Numba's when it is unset); by
default both use all cores.
"""

from __future__ import annotations

import types

from . import threads as _threads

_threads.prepare()  # before anything starts Numba's OpenMP runtime

import numba  # noqa: E402

__all__ = ["PARALLEL_THRESHOLD", "configure_threads", "serial_parallel"]

#: tensors with at least this many elements use the multi-threaded kernel variant.  Below it one
#: core streams the tensor about as fast as two (the kernels are memory-bound) and waking the
#: second thread costs more than it saves: microseconds on an idle machine, a scheduler time
#: slice on a busy one
PARALLEL_THRESHOLD = 2**18


def serial_parallel(loop, serial_opts: dict, parallel_opts: dict):
    """``(serial, parallel)`` dispatchers of one driver written with ``numba.prange``.

    Numba compiles ``prange`` as ``range`` without ``parallel=True``.  Each variant compiles a
    copy of ``loop`` with its own qualname (``<name>_ser`` / ``<name>_par``): the on-disk cache
    keys its files by qualname and line, not by the jit options, so one function object
    jitted twice would have both variants load each other's machine code.
    """
    def copy(suffix):
        fn = types.FunctionType(loop.__code__, loop.__globals__, loop.__name__ + suffix,
                                loop.__defaults__, loop.__closure__)
        fn.__qualname__ = loop.__qualname__ + suffix
        fn.__module__, fn.__doc__ = loop.__module__, loop.__doc__
        return fn

    return numba.njit(**serial_opts)(copy("_ser")), numba.njit(**parallel_opts)(copy("_par"))


def configure_threads(num_threads: int | None = None) -> int:
    """Set the thread count of the parallel kernels and the BLAS; ``None`` reads the environment
    (see :func:`mxlite.kernels.threads.configure`).

    Returns the thread count in effect.  Raises ValueError for a non-positive count.
    """
    return _threads.configure(num_threads)


configure_threads()
