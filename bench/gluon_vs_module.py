"""A Gluon training step next to the same model's Module step (mxlite only, CPU).

Both train the same network on the same batch with SGD (momentum, wd): Module through
``forward_backward`` + ``update`` with a SoftmaxOutput head, Gluon through ``autograd.record``,
``SoftmaxCrossEntropyLoss``, ``backward`` and ``Trainer.step`` (network and loss hybridized, and
both imperative).
The steps are timed interleaved (one of each per round, so machine noise hits all alike);
prints the best and the median step time of each and the ratios Gluon / Module.  ``--clock
thread`` times CPU time of the calling thread (``time.thread_time``), robust to other
processes on a shared machine; run it with ``MXLITE_NUM_THREADS=1`` (and one BLAS thread) so
that all the work is on that thread.  ``--json PATH`` also writes the rows.

    python bench/gluon_vs_module.py [--steps 30] [--model mlp|cnn|both] [--clock wall|thread]
        [--order interleaved|blocks] [--only VARIANT] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.gluon import nn

OPT = {"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-4}


def gluon_net(model):
    net = nn.HybridSequential()
    with net.name_scope():
        if model == "mlp":
            net.add(nn.Dense(256, activation="relu"), nn.Dense(256, activation="relu"),
                    nn.Dense(10))
        else:
            net.add(nn.Conv2D(16, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                    nn.MaxPool2D(2), nn.Conv2D(32, 3, padding=1), nn.BatchNorm(),
                    nn.Activation("relu"), nn.MaxPool2D(2), nn.Flatten(), nn.Dense(10))
    return net


def data(model, batch):
    rng = np.random.default_rng(0)
    shape = (batch, 784) if model == "mlp" else (batch, 1, 16, 16)
    return (rng.standard_normal(shape).astype(np.float32),
            rng.integers(0, 10, size=batch).astype(np.float32))


CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}


def time_interleaved(steps_by_name, rounds, clock="wall", blocks=False):
    """``{name: (best, median)}`` seconds, one step of each per round after two warm-ups.

    ``blocks``: all rounds of one step, then all of the next (as a training loop runs alone:
    the memory an imperative step frees is not refilled by the other steps in between)."""
    now = CLOCKS[clock]
    for step in steps_by_name.values():  # warm-up: deferred init, binding, compilation
        step()
        step()
    times: dict = {name: [] for name in steps_by_name}
    order = ([[(n, s)] * rounds for n, s in steps_by_name.items()] if blocks
             else [list(steps_by_name.items())] * rounds)
    for group in order:
        for name, step in group:
            t0 = now()
            step()
            times[name].append(now() - t0)
    return {name: (min(ts), statistics.median(ts)) for name, ts in times.items()}


def gluon_step(model, x, y, hybridize):
    net = gluon_net(model)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", dict(OPT))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if hybridize:
        loss_fn.hybridize()
    xs, ys = mx.nd.array(x), mx.nd.array(y)

    def step():
        with autograd.record():
            loss = loss_fn(net(xs), ys)
        loss.backward()
        trainer.step(x.shape[0])

    return step, net


def module_step(model, x, y):
    net = gluon_net(model)
    net.initialize(mx.init.Xavier())
    out = net(mx.sym.var("data"))
    sym = mx.sym.SoftmaxOutput(out, mx.sym.var("softmax_label"), name="softmax")
    mod = mx.mod.Module(sym, data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", x.shape)], label_shapes=[("softmax_label", y.shape)])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd", optimizer_params=dict(OPT))
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])

    def step():
        mod.forward_backward(batch)
        mod.update()

    return step


VARIANTS = {"module": lambda m, x, y: module_step(m, x, y),
            "gluon_hybridized": lambda m, x, y: gluon_step(m, x, y, True)[0],
            "gluon_imperative": lambda m, x, y: gluon_step(m, x, y, False)[0]}


def run(model="mlp", batch=64, steps=30, clock="wall", blocks=False, only=None):
    """Time the variants (``only``: just that one, alone in this process)."""
    x, y = data(model, batch)
    steps_by_name = {name: make(model, x, y) for name, make in VARIANTS.items()
                     if only is None or name == only}
    return time_interleaved(steps_by_name, steps, clock, blocks)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    ap.add_argument("--clock", choices=tuple(CLOCKS), default="wall")
    ap.add_argument("--order", choices=("interleaved", "blocks"), default="interleaved",
                    help="blocks: all rounds of one step, then the next")
    ap.add_argument("--only", choices=tuple(VARIANTS),
                    help="time just this step, alone in the process (ratios then need the "
                         "module run of another process)")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    report = {"clock": args.clock, "batch": args.batch, "rounds": args.steps,
              "threads": os.environ.get("MXLITE_NUM_THREADS"), "python": platform.python_version(),
              "order": args.order, "malloc_tune": os.environ.get("MXLITE_MALLOC_TUNE", "1"),
              "models": {}}
    for model in (("mlp", "cnn") if args.model == "both" else (args.model,)):
        rows = run(model, args.batch, args.steps, args.clock, args.order == "blocks", args.only)
        best0, med0 = rows.get("module", (None, None))
        print(f"{model} (batch {args.batch}, {args.steps} {args.order} rounds, {args.clock} "
              f"clock): best / median")
        report["models"][model] = {}
        for name, (best, med) in rows.items():
            row = {"best_ms": round(best * 1e3, 4), "median_ms": round(med * 1e3, 4)}
            line = f"  {name:<18} {best * 1e3:8.3f} / {med * 1e3:8.3f} ms"
            if best0 is not None:
                row.update(best_ratio=round(best / best0, 3), median_ratio=round(med / med0, 3))
                line += f"   {best / best0:5.2f}x / {med / med0:5.2f}x Module"
            print(line)
            report["models"][model][name] = row
    if args.json:
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
