"""MXNet 1.9.1 peer, run as a script under MXNet's own interpreter (a side virtualenv).

``bench/run.py`` starts ``$MXLITE_BENCH_MXNET_PYTHON bench/peers_mxnet.py`` with the thread
environment set (``OMP_NUM_THREADS``, ``MXNET_CPU_WORKER_NTHREADS=1``), writes a JSON request
to its stdin and reads one JSON answer from its stdout::

    {"warmup": 3, "reps": 11, "seed": 0,
     "cases": [{"id": "...", "kind": "opt", "name": "adam", "kwargs": {...},
                "shapes": [[16777216]], "dtype": "float32", "form": "index"},
               {"id": "...", "kind": "init", "create": ["xavier", {}],
                "params": [["conv0_weight", [64, 3, 7, 7]], ...]}]}

    {"version": "1.9.1", "results": {"<id>": {"times": [...]} | {"error": "..."}}}

Each timed step ends with ``mx.nd.waitall()`` (MXNet runs operators asynchronously).  The
optimizers go through MXNet's public API exactly as mxlite's: ``get_updater(create(...))`` and
either one call per index or one call with lists.
"""

from __future__ import annotations

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scenarios import make_arrays


def _opt_step(mx, case, seed):
    kwargs = dict(case["kwargs"])
    if case["dtype"] == "float16":
        kwargs["multi_precision"] = True
    upd = mx.optimizer.get_updater(mx.optimizer.create(case["name"], **kwargs))
    shapes = [tuple(s) for s in case["shapes"]]
    weights, grads = make_arrays(shapes, case["dtype"], seed)
    ws = [mx.nd.array(w, dtype=w.dtype) for w in weights]
    gs = [mx.nd.array(g, dtype=g.dtype) for g in grads]
    indices = list(range(len(ws)))
    if case["form"] == "list":

        def step():
            upd(indices, gs, ws)
            mx.nd.waitall()

    else:
        triples = list(zip(indices, gs, ws, strict=True))

        def step():
            for i, g, w in triples:
                upd(i, g, w)
            mx.nd.waitall()

    return step


def _init_step(mx, case):
    name, kwargs = case["create"]
    init = mx.init.create(name, **kwargs)
    items = [(mx.init.InitDesc(n), mx.nd.empty(tuple(s))) for n, s in case["params"]]

    def step():
        for desc, arr in items:
            init(desc, arr)
        mx.nd.waitall()

    return step


def run(request):
    import mxnet as mx

    seed = int(request.get("seed", 0))
    warmup = int(request.get("warmup", 3))
    reps = int(request.get("reps", 11))
    results = {}
    for case in request["cases"]:
        try:
            if case["kind"] == "opt":
                step = _opt_step(mx, case, seed)
            else:
                step = _init_step(mx, case)
            t = time.perf_counter()
            step()  # first warm-up step, timed to size the run
            first = time.perf_counter() - t
            n_warm, n_reps = warmup - 1, reps
            if case["kind"] == "init" or first > 0.1:  # slow cases: fewer repetitions
                n_warm, n_reps = 0, min(reps, 5)
            for _ in range(n_warm):
                step()
            times = []
            for _ in range(n_reps):
                t = time.perf_counter()
                step()
                times.append(time.perf_counter() - t)
            results[case["id"]] = {"times": times}
        except Exception as err:  # report and go on: one missing op must not end the run
            results[case["id"]] = {"error": f"{type(err).__name__}: {err}"}
        step = None
    return {"version": mx.__version__, "results": results}


def main():
    request = json.loads(sys.stdin.read())
    json.dump(run(request), sys.stdout)


if __name__ == "__main__":
    main()
