"""Process-wide threading preparations, made before NumPy's BLAS and Numba's OpenMP start.

Kept apart from :mod:`mxlite.kernels.threads` (which documents the whole threading story) so that
``import mxlite`` can run :func:`prepare_blas` before it imports NumPy, without importing Numba.

OpenBLAS's worker threads busy-wait (``sched_yield`` in a loop) for 2**28 clock cycles, about a
tenth of a second, after every multi-threaded GEMM, so between two GEMMs of a training step they
hold the cores that Numba's kernels need.  :func:`prepare_blas` sets ``OPENBLAS_THREAD_TIMEOUT=20``
(2**20 cycles, under half a millisecond: the threads still catch the next GEMM of a run of them,
as in a FullyConnected network's steps, then sleep, long before a tenth of a second) before
NumPy loads OpenBLAS; when NumPy is loaded already it makes the loaded OpenBLAS re-read the
variable and restart its threads (``openblas_read_env`` + ``blas_thread_shutdown_``; the threads
start again at the next GEMM; so ``import mxlite`` should not race another thread's running
GEMM).  A user's own
``OPENBLAS_THREAD_TIMEOUT`` / ``GOTO_THREAD_TIMEOUT`` is kept.
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings

#: OpenBLAS's thread timeout (log2 of the busy-wait in cycles).  Measured (``bench/fit.py``,
#: 2 threads, interleaved variants, samples/s against 4, OpenBLAS's minimum, where the threads
#: sleep at once and every GEMM wakes them): 20: MLP +10%, LeNet +1%, ResNet-20 training +2%,
#: inference +2%, VGG +1%; 22: MLP +12%, LeNet -4%, ResNet-20 +3% / +5%, VGG -1%
BLAS_THREAD_TIMEOUT = "20"
_USER_BLAS_VARS = ("OPENBLAS_THREAD_TIMEOUT", "GOTO_THREAD_TIMEOUT")

#: environment variables by which a user has already chosen how OpenMP threads wait
_USER_WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")

_state = {"prepared": False, "wait_policy": None, "blas_threads": None,
          "blas_timeout": None}


def libgomp_loaded() -> bool | None:
    """Whether GNU libgomp (the ``libgomp.so.1`` Numba's OpenMP layer links) is loaded in this
    process already; None where that cannot be told (no ``/proc/self/maps``)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return None
    return any(os.path.basename(line.split()[-1]).startswith("libgomp.so")
               for line in maps.splitlines() if "/" in line)


def prepare() -> None:
    """Set the passive OpenMP wait policy before Numba's OpenMP runtime loads (idempotent).

    Called by :mod:`mxlite.kernels` on import, before any kernel runs.  Leaves the environment
    alone when the user chose a wait policy; warns when libgomp is loaded already (another
    library started it first, so the setting comes too late: set ``OMP_WAIT_POLICY=PASSIVE`` in
    the environment then).
    """
    if _state["prepared"]:
        return
    _state["prepared"] = True
    user = next((v for v in _USER_WAIT_VARS if os.environ.get(v, "").strip()), None)
    if user is not None:
        _state["wait_policy"] = f"{user}={os.environ[user].strip()} (user)"
        return
    if sys.platform.startswith("linux") and libgomp_loaded():
        _state["wait_policy"] = "libgomp default (loaded before mxlite)"
        warnings.warn(
            "libgomp was loaded before mxlite's kernels, so its threads keep the default spinning "
            "wait policy, which slows BLAS down between kernels; set OMP_WAIT_POLICY=PASSIVE in "
            "the environment before starting Python", RuntimeWarning, stacklevel=3)
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    _state["wait_policy"] = "PASSIVE (mxlite)"


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return []
    return sorted(p for p in paths if "openblas" in os.path.basename(p).lower())


def prepare_blas() -> None:
    """Make OpenBLAS's idle threads sleep instead of spinning (idempotent; see the module doc)."""
    if _state["blas_timeout"] is not None:
        return
    user = next((v for v in _USER_BLAS_VARS if os.environ.get(v, "").strip()), None)
    if user is not None:
        _state["blas_timeout"] = f"{user}={os.environ[user].strip()} (user)"
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = BLAS_THREAD_TIMEOUT
    if "numpy" not in sys.modules:
        _state["blas_timeout"] = f"{BLAS_THREAD_TIMEOUT} (mxlite, before NumPy)"
        return
    restarted = 0
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
            read_env, shutdown = lib.openblas_read_env, lib.blas_thread_shutdown_
        except (OSError, AttributeError):
            continue
        read_env()
        shutdown()
        restarted += 1
    _state["blas_timeout"] = (f"{BLAS_THREAD_TIMEOUT} (mxlite, {restarted} loaded OpenBLAS "
                              "restarted)")
