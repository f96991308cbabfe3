"""Numba kernels: the numeric core of mxlite, kept together so it is easy to find and to port.

Every kernel works on flat, C-contiguous NumPy arrays and scalars and does one pass over memory.
Kernels come as a pair: a serial ``njit`` variant for small tensors and a ``parallel=True``
variant (``numba.prange`` over contiguous chunks) for large ones; :data:`PARALLEL_THRESHOLD`
elements decides which one runs.

Thread count: ``MXLITE_NUM_THREADS`` (or else ``OMP_NUM_THREADS``) caps the number of threads the
parallel kernels use; by default Numba uses all cores.

On-disk cache: kernels are jitted with ``cache=True``; :mod:`mxlite.kernels._cache` decides where
the compiled code goes (beside the sources, or a user cache directory for a read-only install).
A module with ``cache=True`` kernels imports :mod:`mxlite.kernels` before jitting them.
"""

from __future__ import annotations

import os
import types

import numba

from . import _cache

_cache.install()  # before any kernel is jitted: read-only installs cache in a user directory

__all__ = ["PARALLEL_THRESHOLD", "configure_threads", "serial_parallel"]

#: tensors with at least this many elements use the multi-threaded kernel variant
PARALLEL_THRESHOLD = 2**15


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
    """Set the thread count of the parallel kernels; ``None`` reads the environment.

    Returns the thread count in effect.  Raises ValueError for a non-positive count.
    """
    if num_threads is None:
        for var in ("MXLITE_NUM_THREADS", "OMP_NUM_THREADS"):
            text = os.environ.get(var, "").strip()
            if text:
                try:
                    num_threads = int(text)
                except ValueError:
                    raise ValueError(f"{var} must be an integer, got {text!r}") from None
                if num_threads < 1:
                    raise ValueError(f"{var} must be >= 1, got {num_threads}")
                break
    if num_threads is not None:
        if num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        numba.set_num_threads(min(int(num_threads), numba.config.NUMBA_NUM_THREADS))
    return numba.get_num_threads()


configure_threads()
