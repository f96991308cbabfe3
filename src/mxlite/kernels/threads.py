"""One threading story for Numba's kernels and the BLAS under NumPy's GEMMs.

mxlite runs two thread pools: Numba's (the ``parallel=True`` kernels: activations, im2col,
pooling, batch norm, optimizer updates, random fills) and OpenBLAS's (``np.matmul`` in
FullyConnected and Convolution).  A training step alternates between them dozens of times.
Numba's default threading layer here is OpenMP (GNU libgomp), and libgomp's threads *spin* for a
while after each parallel region, waiting for the next one; OpenBLAS meanwhile starts its GEMM on
its own threads, which find the cores taken.  On a 2-core machine that made an MLP's training
step 5-6 times slower than it needs to be (``bench/threads.py`` measures the pattern).

The setup mxlite chooses, measured against the alternatives (``bench/threads.py``, README
"Threads"):

* **Numba's OpenMP layer with a passive wait policy.**  Before anything loads libgomp,
  :func:`prepare` sets ``OMP_WAIT_POLICY=PASSIVE`` in the process environment (libgomp reads it
  once, when it loads): idle OpenMP threads then sleep instead of spinning, and the cores are
  free for OpenBLAS the moment a kernel ends.  The OpenMP layer stays thread-safe (kernels may
  run from several Python threads, e.g. a prefetching data iterator).
* Not Numba's ``workqueue`` layer: as fast, but it terminates the process when two Python threads
  launch parallel kernels at once.  Not ``tbb``: no faster here and an extra binary dependency.
  Not ``threadpoolctl`` limits around each GEMM: one BLAS thread halves the GEMMs' speed.
* A user's own ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is respected, and so is a threading layer
  chosen with ``NUMBA_THREADING_LAYER``.
* **OpenBLAS's threads sleep too.**  They busy-wait about a tenth of a second after every GEMM,
  holding the cores Numba's kernels need; ``import mxlite`` sets ``OPENBLAS_THREAD_TIMEOUT=20``
  (a wait under half a millisecond, enough to catch the next GEMM of a run of them)
  before NumPy loads OpenBLAS, or restarts the loaded OpenBLAS's threads with it
  (:mod:`mxlite._threading`).  On a ResNet-20 training step this alone is worth 2-3x.

``MXLITE_NUM_THREADS`` is the one knob: it caps the threads of both pools (Numba's through
``numba.set_num_threads``, the BLAS libraries' through ``threadpoolctl``).  Without it
``OMP_NUM_THREADS`` caps Numba's threads (OpenBLAS reads that variable itself), and by default
both use every core.  :func:`configure` changes the count at run time.
"""

from __future__ import annotations

import os

__all__ = ["configure", "info", "libgomp_loaded", "prepare"]

from .._threading import _state, libgomp_loaded, prepare


def _env_threads() -> int | None:
    for var in ("MXLITE_NUM_THREADS", "OMP_NUM_THREADS"):
        text = os.environ.get(var, "").strip()
        if text:
            try:
                n = int(text)
            except ValueError:
                raise ValueError(f"{var} must be an integer, got {text!r}") from None
            if n < 1:
                raise ValueError(f"{var} must be >= 1, got {n}")
            return n
    return None


def _limit_blas(num_threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        return
    threadpool_limits(num_threads, user_api="blas")
    _state["blas_threads"] = num_threads


def configure(num_threads: int | None = None) -> int:
    """Set the thread count of Numba's kernels and the BLAS; ``None`` reads the environment.

    ``MXLITE_NUM_THREADS`` caps both pools; ``OMP_NUM_THREADS`` (read when it is unset) caps
    Numba's (OpenBLAS reads it itself).  Returns Numba's thread count in effect.  Raises
    ValueError for a count below 1 or a variable that is not an integer.
    """
    import numba

    blas = False
    if num_threads is None:
        num_threads = _env_threads()
        blas = bool(os.environ.get("MXLITE_NUM_THREADS", "").strip())
    elif isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError(f"num_threads must be an int or None, got {num_threads!r}")
    elif num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    else:
        blas = True
    if num_threads is not None:
        numba.set_num_threads(min(int(num_threads), numba.config.NUMBA_NUM_THREADS))
        if blas:
            _limit_blas(int(num_threads))
    return numba.get_num_threads()


def info() -> dict:
    """The threading setup in effect: Numba's layer (once a parallel kernel ran) and thread
    count, the OpenMP wait policy and who chose it, the BLAS thread cap mxlite set and
    OpenBLAS's thread timeout (:mod:`mxlite._threading`)."""
    import numba

    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet
        layer = None
    return {"numba_layer": layer, "numba_threads": numba.get_num_threads(),
            "wait_policy": _state["wait_policy"], "blas_threads": _state["blas_threads"],
            "blas_timeout": _state["blas_timeout"]}
