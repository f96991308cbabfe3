"""Per-step time of a ResNet-20 Module step, and the part of it outside the convolution kernels.

The work around the Numba kernels (dispatch, weight packing, the executor's plan walk, NumPy's
small operations) runs in the calling thread only: it does not scale with threads.  This
bench times whole steps (process CPU seconds, one thread unless ``--threads``) of

* ``infer128`` / ``infer1``: ``Module.forward(is_train=False)`` + reading the output, batch 128
  and 1;
* ``train128``: forward, backward, SGD update (momentum 0.9, wd 1e-4), batch 128;

and the time inside the three convolution kernels (``conv_direct.forward``,
``conv_winograd_thin.forward``, ``conv_pointwise.forward``, wrapped with a timer): the
difference is the time outside them (the calling thread's Python and NumPy work, and the
other operators' kernels: BatchNorm of the data, pooling, FullyConnected), at one thread;
with ``--threads`` above one the kernels' CPU time sums every thread's (no outside time is
printed).  The wall time is printed too.

Several source trees (``--src LABEL=PATH``, default this checkout's ``src``) run in worker
processes of their own, round-robin: one round of each in turn, ``--reps`` times; the figures
are the medians of the rounds::

    git archive HEAD~3 src | tar -x -C /tmp/before
    python bench/step_overhead.py --src before=/tmp/before/src --src after=src
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
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import fit_models  # noqa: E402

#: case -> (batch, mode)
CASES = {"infer128": (128, "infer"), "infer1": (1, "infer"), "train128": (128, "train")}
_KERNELS = (("conv_direct", "forward"), ("conv_winograd_thin", "forward"),
            ("conv_pointwise", "forward"))


def _setup(mx, batch, mode):
    import numpy as np

    sym = fit_models.symbol(mx, "resnet20")
    shape, _, classes = fit_models.MODELS["resnet20"]
    train = mode == "train"
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, *shape))],
             label_shapes=[("softmax_label", (batch,))], for_training=train)
    mod.init_params(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, classes, batch).astype(np.float32)
    db = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    if train:
        mod.init_optimizer(optimizer="sgd", optimizer_params={
            "learning_rate": 0.01, "momentum": 0.9, "wd": 1e-4})

        def step():
            mod.forward(db, is_train=True)
            mod.backward()
            mod.update()
            mx.nd.waitall()
    else:
        def step():
            mod.forward(db, is_train=False)
            mod.get_outputs()[0].asnumpy()
    return step


def _timed_kernels():
    """Wrap the convolution kernels with a process-time counter; the counter (a list)."""
    import importlib

    spent = [0.0]
    for module, name in _KERNELS:
        mod = importlib.import_module(f"mxlite.kernels.{module}")
        real = getattr(mod, name)

        def timed(*args, _real=real):
            t = time.process_time()
            try:
                return _real(*args)
            finally:
                spent[0] += time.process_time() - t

        setattr(mod, name, timed)
    return spent


def worker() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr
    sys.path.insert(0, os.environ["MXLITE_BENCH_SRC"])
    import mxlite as mx

    spent = _timed_kernels()
    steps = {}
    for line in sys.stdin:
        req = json.loads(line)
        case = req["case"]
        if case not in steps:
            steps[case] = _setup(mx, *CASES[case])
            for _ in range(3):
                steps[case]()
        step = steps[case]
        spent[0] = 0.0
        c, t = time.process_time(), time.perf_counter()
        for _ in range(int(req["steps"])):
            step()
        total, wall = time.process_time() - c, time.perf_counter() - t
        out.write(json.dumps({"cpu_s": total, "kernel_s": spent[0], "wall_s": wall}) + "\n")
        out.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--src", action="append", default=[], help="LABEL=PATH of a source tree")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--reps", type=int, default=7, help="rounds per tree and case")
    ap.add_argument("--steps", type=int, default=0,
                    help="steps per round (default: 5 at batch 128, 100 at batch 1)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    if args.worker:
        worker()
        return 0
    trees = [s.split("=", 1) for s in args.src] or [["this", os.path.join(ROOT, "src")]]
    env = dict(os.environ, MXLITE_NUM_THREADS=str(args.threads))
    procs = {}
    for label, path in trees:
        procs[label] = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1,
            env=dict(env, MXLITE_BENCH_SRC=os.path.abspath(path)))
    rows = {}
    try:
        for case in args.cases:
            steps = args.steps or (5 if CASES[case][0] > 1 else 100)
            got = {label: [] for label, _ in trees}
            for _ in range(args.reps):
                for label, _ in trees:
                    p = procs[label]
                    p.stdin.write(json.dumps({"case": case, "steps": steps}) + "\n")
                    r = json.loads(p.stdout.readline())
                    got[label].append((r["cpu_s"] / steps * 1e3, r["kernel_s"] / steps * 1e3,
                                       r["wall_s"] / steps * 1e3))
            rows[case] = got
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    print(f"| case | tree | step ms (process CPU, {args.threads} thread(s)) | conv kernels ms "
          "| outside ms | wall ms |")
    print("|---|---|---|---|---|---|")
    for case, got in rows.items():
        for label, vals in got.items():
            total = statistics.median(v[0] for v in vals)
            kern = statistics.median(v[1] for v in vals)
            outside = statistics.median(v[0] - v[1] for v in vals)
            wall = statistics.median(v[2] for v in vals)
            if args.threads > 1:  # the kernels of both threads: no outside time
                kern_s, outside_s = f"{kern:.2f} (all threads)", "-"
            else:
                kern_s, outside_s = f"{kern:.2f}", f"{outside:.2f}"
            print(f"| {case} | {label} | {total:.2f} | {kern_s} | {outside_s} | {wall:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
