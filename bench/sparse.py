"""Lazy (row_sparse) Adam against dense Adam: a large embedding whose gradient touches 1% of
its rows, side by side with MXNet 1.9.1's sparse ``adam_update`` and PyTorch's ``SparseAdam``.

    python bench/sparse.py                      # 2,000,000 x 64 float32, 1% rows, markdown
    python bench/sparse.py --rows 20000 --repeat 3

Each peer runs in its own process (the weight and its two moments take 1.5 GB per peer at the
full size).  The mxlite times are one ``Updater`` call, i.e. everything a training loop pays:
the dense row is a dense ``Adam`` step with a dense gradient; the lazy row the same optimizer
given the row_sparse gradient.  MXNet runs ``mx.nd.adam_update(..., lazy_update=True)`` with a
``RowSparseNDArray`` gradient (``/tmp/mxref/bin/python`` or ``--mxnet-python``), PyTorch
``torch.optim.SparseAdam`` with a sparse COO gradient and ``torch.optim.Adam(fused=True)``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def _timeit(fn, repeat: int) -> float:
    fn()  # warm-up (compiles the kernels)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _problem(rows: int, cols: int, frac: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    touched = np.sort(rng.choice(rows, size=max(1, int(rows * frac)), replace=False))
    gvals = rng.standard_normal((touched.size, cols), dtype=np.float32)
    return touched.astype(np.int64), gvals


def run_mxlite(rows, cols, frac, repeat):
    sys.path.insert(0, SRC)
    import mxlite as mx

    touched, gvals = _problem(rows, cols, frac)
    w = mx.nd.zeros((rows, cols))
    out = {}
    opt = mx.optimizer.Adam(learning_rate=0.001, wd=1e-4)
    upd = mx.optimizer.get_updater(opt)
    g_sparse = mx.nd.sparse.row_sparse_array((gvals, touched), shape=(rows, cols))
    out["lazy"] = _timeit(lambda: upd(0, g_sparse, w), repeat)
    g_dense = g_sparse.tostype("default")
    dense_opt = mx.optimizer.Adam(learning_rate=0.001, wd=1e-4)
    dense_upd = mx.optimizer.get_updater(dense_opt)
    out["dense"] = _timeit(lambda: dense_upd(0, g_dense, w), repeat)
    return out


def run_torch(rows, cols, frac, repeat):
    import torch

    touched, gvals = _problem(rows, cols, frac)
    out = {}
    p = torch.nn.Parameter(torch.zeros(rows, cols))
    idx = torch.from_numpy(touched).unsqueeze(0)
    g = torch.sparse_coo_tensor(idx, torch.from_numpy(gvals), (rows, cols)).coalesce()
    sparse_opt = torch.optim.SparseAdam([p], lr=0.001)

    def sparse_step():
        p.grad = g
        sparse_opt.step()

    out["lazy"] = _timeit(sparse_step, repeat)
    dense_g = g.to_dense()
    q = torch.nn.Parameter(torch.zeros(rows, cols))
    dense_opt = torch.optim.Adam([q], lr=0.001, weight_decay=1e-4, fused=True)

    def dense_step():
        q.grad = dense_g
        dense_opt.step()

    out["dense"] = _timeit(dense_step, repeat)
    return out


def run_mxnet(rows, cols, frac, repeat):
    import mxnet as mx

    touched, gvals = _problem(rows, cols, frac)
    w = mx.nd.zeros((rows, cols))
    m, v = mx.nd.zeros((rows, cols)), mx.nd.zeros((rows, cols))
    g = mx.nd.sparse.row_sparse_array((gvals, touched), shape=(rows, cols))

    def lazy():
        mx.nd.adam_update(w, g, m, v, lr=0.001, wd=1e-4, lazy_update=True, out=w)
        w.wait_to_read()

    out = {"lazy": _timeit(lazy, repeat)}
    gd = g.tostype("default")

    def dense():
        mx.nd.adam_update(w, gd, m, v, lr=0.001, wd=1e-4, out=w)
        w.wait_to_read()

    out["dense"] = _timeit(dense, repeat)
    return out


PEERS = {"mxlite": run_mxlite, "torch": run_torch, "mxnet": run_mxnet}


def _child(args) -> int:
    result = PEERS[args.child](args.rows, args.cols, args.frac, args.repeat)
    print(json.dumps(result))
    return 0


def _spawn(python, peer, args):
    cmd = [python, os.path.abspath(__file__), "--child", peer, "--rows", str(args.rows),
           "--cols", str(args.cols), "--frac", str(args.frac), "--repeat", str(args.repeat)]
    env = dict(os.environ, MXNET_STORAGE_FALLBACK_LOG_VERBOSE="0")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    except (OSError, subprocess.TimeoutExpired) as err:
        return None, str(err)
    if proc.returncode != 0:
        return None, (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def table(results: dict, args) -> str:
    lines = [
        f"Adam on a {args.rows:,} x {args.cols} float32 embedding, gradient on "
        f"{args.frac:.0%} of the rows (best of {args.repeat}, seconds)",
        "",
        "| peer | dense step | lazy (row_sparse) step | lazy / dense |",
        "|---|---:|---:|---:|",
    ]
    names = {"mxlite": "mxlite", "mxnet": "MXNet 1.9.1 (`adam_update`, lazy_update)",
             "torch": "PyTorch (`Adam(fused=True)` / `SparseAdam`)"}
    for peer, res in results.items():
        if isinstance(res, str):
            lines.append(f"| {names[peer]} | n/a | n/a | ({res}) |")
            continue
        lines.append(f"| {names[peer]} | {res['dense']:.4f} | {res['lazy']:.4f} | "
                     f"{res['lazy'] / res['dense']:.1%} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--cols", type=int, default=64)
    ap.add_argument("--frac", type=float, default=0.01)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mxnet-python", default="/tmp/mxref/bin/python")
    ap.add_argument("--peers", default="mxlite,mxnet,torch")
    ap.add_argument("--child", choices=sorted(PEERS), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)
    results = {}
    for peer in args.peers.split(","):
        python = args.mxnet_python if peer == "mxnet" else sys.executable
        if peer == "mxnet" and not os.path.exists(python):
            results[peer] = "MXNet interpreter not found"
            continue
        res, err = _spawn(python, peer, args)
        results[peer] = res if res is not None else err
    print(table(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
