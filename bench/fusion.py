"""Fused against unfused executors (``MXLITE_FUSION``, issue 13), interleaved in one process.

    python bench/fusion.py [resnet20|vgg|lenet|mlp ...] [--rounds N]

For each network of :mod:`fit_models` (its bench batch size): the median wall time of an
inference step (``forward(is_train=False)``) and of a training step (``forward(is_train=True)``
+ ``backward``), with fusion on and off, measured round after round in the same process so
that machine load hits both alike (a fresh pair of executors each round, bound in alternating
order).  ``MXLITE_NUM_THREADS=1`` gives the one-thread numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))


def _bind(mx, sym, shape, fused: bool):
    os.environ["MXLITE_FUSION"] = "1" if fused else "0"
    exe = sym.simple_bind(mx.cpu(), data=shape)
    rng = np.random.default_rng(0)
    for name, arr in exe.arg_dict.items():
        if name == "softmax_label":
            arr[:] = rng.integers(0, 10, shape[0])
        else:
            arr[:] = rng.standard_normal(arr.shape).astype(np.float32) * 0.1
    return exe


def main(argv=None) -> None:
    import fit_models
    import mxlite as mx

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["resnet20"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--cpu", action="store_true",
                    help="process CPU time instead of wall time (robust to machine load; "
                    "with MXLITE_NUM_THREADS=1)")
    args = ap.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    before = os.environ.get("MXLITE_FUSION")
    for model in args.models:
        per_sample, batch, _ = fit_models.MODELS[model]
        sym = fit_models.symbol(mx, model)
        times = {(f, m): [] for f in (True, False) for m in ("infer", "train")}
        for r in range(args.rounds):
            # a fresh pair of executors each round, bound in alternating order: a long-lived
            # executor's arrays keep whatever memory placement they got (measured: two
            # unfused executors bound one after the other differed by 1.4x on the VGG stack)
            order = (True, False) if r % 2 == 0 else (False, True)
            exes = {f: _bind(mx, sym, (batch, *per_sample), f) for f in order}
            for fused in order:
                exe = exes[fused]
                exe.forward(is_train=True)  # the first batch allocates the memory plan
                exe.backward()
                t = clock()
                exe.forward(is_train=False)
                t1 = clock()
                exe.forward(is_train=True)
                exe.backward()
                t2 = clock()
                times[(fused, "infer")].append(t1 - t)
                times[(fused, "train")].append(t2 - t1)
            del exes
        for mode in ("infer", "train"):
            on, off = (np.median(times[(f, mode)]) * 1e3 for f in (True, False))
            print(f"{model:9s} {mode:5s} fused {on:8.2f} ms  unfused {off:8.2f} ms  "
                  f"speed-up {off / on:5.2f}x  ({'CPU' if args.cpu else 'wall'}, median of "
                  f"{args.rounds}, "
                  f"{os.environ.get('MXLITE_NUM_THREADS', 'default')} threads)")
    if before is None:
        os.environ.pop("MXLITE_FUSION", None)
    else:
        os.environ["MXLITE_FUSION"] = before


if __name__ == "__main__":
    main()
