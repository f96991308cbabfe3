"""Numba kernels next to BLAS GEMMs: the threading setups compared, in fresh processes.

One iteration is the pattern of an MLP training step in miniature: a GEMM (128x784 @ 784x512,
OpenBLAS's threads), a Numba ``parallel=True`` elementwise kernel over its 65,536 outputs, a
second GEMM, and a parallel update over 401,408 floats.  Each setup runs in a worker process of
its own, started with its environment; the workers are driven round-robin (``--reps`` rounds of
``--iters`` iterations) so that load on a shared machine hits all alike.  Printed per setup: the
best and median round (microseconds per iteration) and CPU seconds per wall second (a spinning
runtime burns CPU without doing work: above the thread count means threads fought).

Setups:

* ``omp-active``: Numba's OpenMP layer as libgomp starts by default (threads spin after a region);
* ``omp-passive``: the same with ``OMP_WAIT_POLICY=PASSIVE`` before libgomp loads (what
  ``mxlite`` sets up; the ``mxlite`` setup imports mxlite first and uses its defaults);
* ``workqueue``: Numba's own pthread pool (not thread-safe: concurrent launches abort);
* ``tbb``: Numba's TBB layer, when the ``tbb`` package is installed;
* ``blas1``: OpenBLAS limited to one thread with ``threadpoolctl`` around each GEMM;
* ``numba1``: Numba kernels on one thread (``numba.set_num_threads(1)``).

Run: ``python bench/threads.py [--threads 2] [--reps 15]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SETUPS = {
    "omp-active": {"NUMBA_THREADING_LAYER": "omp"},
    "omp-passive": {"NUMBA_THREADING_LAYER": "omp", "OMP_WAIT_POLICY": "PASSIVE"},
    "workqueue": {"NUMBA_THREADING_LAYER": "workqueue"},
    "tbb": {"NUMBA_THREADING_LAYER": "tbb"},
    "blas1": {"NUMBA_THREADING_LAYER": "omp"},
    "numba1": {"NUMBA_THREADING_LAYER": "omp"},
    "mxlite": {},
}
CLEAN = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "NUMBA_THREADING_LAYER", "OMP_NUM_THREADS",
         "OPENBLAS_NUM_THREADS", "MXLITE_NUM_THREADS", "NUMBA_NUM_THREADS")


def worker(setup: str, threads: int) -> None:
    out = sys.stdout
    sys.stdout = sys.stderr
    if setup == "mxlite":
        sys.path.insert(0, os.path.join(ROOT, "src"))
        import mxlite.kernels  # noqa: F401  (sets the threading up)
    import numba
    import numpy as np
    from threadpoolctl import threadpool_limits

    @numba.njit(parallel=True, nogil=True)
    def relu(x, y):  # pragma: no cover - compiled
        for i in numba.prange(x.size):
            y[i] = max(x[i], 0.0)

    @numba.njit(parallel=True, nogil=True)
    def update(w, g, m, lr, mom):  # pragma: no cover - compiled
        for i in numba.prange(w.size):
            m[i] = mom * m[i] - lr * g[i]
            w[i] += m[i]

    numba.set_num_threads(1 if setup == "numba1" else threads)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    w1 = rng.standard_normal((784, 512)).astype(np.float32)
    w2 = rng.standard_normal((512, 256)).astype(np.float32)
    h, a = np.empty((128, 512), np.float32), np.empty((128, 512), np.float32)
    o = np.empty((128, 256), np.float32)
    g, m = np.ones_like(w1), np.zeros_like(w1)
    limit = threadpool_limits(1, user_api="blas") if setup == "blas1" else None

    def it():
        np.matmul(x, w1, out=h)
        relu(h.reshape(-1), a.reshape(-1))
        np.matmul(a, w2, out=o)
        update(w1.reshape(-1), g.reshape(-1), m.reshape(-1), np.float32(1e-6), np.float32(0.9))

    it()
    layer = numba.threading_layer()
    for line in sys.stdin:
        n = int(line)
        c, t = time.process_time(), time.perf_counter()
        for _ in range(n):
            it()
        wall = time.perf_counter() - t
        out.write(json.dumps({"s": wall / n, "cpu": (time.process_time() - c) / wall,
                              "layer": layer}) + "\n")
        out.flush()
    if limit is not None:
        limit.restore_original_limits()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.threads)
        return 0
    procs = {}
    for name in args.setups:
        env = {k: v for k, v in os.environ.items() if k not in CLEAN}
        env.update(SETUPS[name], MXLITE_NUM_THREADS=str(args.threads))
        procs[name] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", name, "--threads",
             str(args.threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
    rounds = {name: [] for name in procs}
    layers = {}
    try:
        for r in range(args.reps + 1):
            for name, p in procs.items():
                if p.poll() is not None:
                    continue
                p.stdin.write(f"{args.iters if r else 20}\n")
                p.stdin.flush()
                line = p.stdout.readline()
                if not line:
                    continue
                rep = json.loads(line)
                layers[name] = rep["layer"]
                if r:  # round 0 warms up
                    rounds[name].append(rep)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.stdin.close()
                p.wait(timeout=30)
    print(f"| setup | layer | best µs/iter | median µs/iter | CPU s per s | ({args.threads} "
          f"threads, load {os.getloadavg()[0]:.2f}) |")
    print("|---|---|---|---|---|---|")
    for name, rs in rounds.items():
        if not rs:
            print(f"| {name} | unavailable | — | — | — | |")
            continue
        s = [x["s"] * 1e6 for x in rs]
        cpu = statistics.median(x["cpu"] for x in rs)
        print(f"| {name} | {layers[name]} | {min(s):.0f} | {statistics.median(s):.0f} | "
              f"{cpu:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
