"""Step time of every built-in optimizer through the Updater (mxlite only, a few seconds).

``python bench/optimizer_step.py [--json OUT]`` prints, per optimizer, the best time of one
step over a small model (the per-call cost: 8 tensors of 64..4096 elements, per-index and list
forms) and over one large tensor (2**20 float32 elements: memory bandwidth, threads).  Used to
check that engine changes cost no step time (compare two runs; differences under ~10% are noise
on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

import mxlite as mx

CASES = {
    "sgd": {"momentum": 0.9}, "nag": {"momentum": 0.9}, "adam": {}, "adamw": {},
    "rmsprop": {"centered": True}, "adagrad": {}, "adadelta": {}, "adamax": {}, "nadam": {},
    "dcasgd": {"momentum": 0.9}, "signum": {}, "ftml": {}, "ftrl": {}, "lamb": {},
    "lars": {"momentum": 0.9}, "lbsgd": {"momentum": 0.9}, "sgld": {},
}
SMALL = [(64,), (256,), (16, 32), (1024,), (32, 32), (4096,), (8, 8), (128,)]
LARGE = [(1 << 20,)]


def _time(fn, repeat):
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench(name, kwargs, shapes, form, repeat):
    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        upd = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    ws = [mx.nd.array(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    gs = [mx.nd.array(rng.standard_normal(s).astype(np.float32) * 1e-3) for s in shapes]
    idx = list(range(len(ws)))
    if form == "list":
        def step():
            upd(idx, gs, ws)
    else:
        def step():
            for i, g, w in zip(idx, gs, ws, strict=True):
                upd(i, g, w)
    return _time(step, repeat)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    rows = {}
    print(f"{'optimizer':10s} {'index us':>9s} {'list us':>9s} {'2^20 ms':>8s}")
    for name, kw in CASES.items():
        r = {"index_us": bench(name, kw, SMALL, "index", args.repeat) * 1e6,
             "list_us": bench(name, kw, SMALL, "list", args.repeat) * 1e6,
             "large_ms": bench(name, kw, LARGE, "list", max(5, args.repeat // 4)) * 1e3}
        rows[name] = r
        print(f"{name:10s} {r['index_us']:9.1f} {r['list_us']:9.1f} {r['large_ms']:8.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
