"""Where a Module training step of a ``bench/fit.py`` network spends its time.

``python bench/op_profile.py resnet20`` (or ``mlp``, ``lenet``, ``vgg``) runs the network's step
(``forward(is_train=True)``, ``backward``, ``update``, ``update_metric``) a few times and prints:

* per operator type: calls per step, milliseconds per step in ``forward`` and in ``backward``
  (thread CPU time and wall time of the operator's own ``forward``/``backward`` calls);
* per Module phase: wall milliseconds of ``forward``, ``backward``, ``update`` and
  ``update_metric``, and the *executor overhead*: the phase's time minus the time inside the
  operators, i.e. the Python cost of walking the plan (per operator call: ``us/op``).

The operators are timed by wrapping each registered operator's ``forward``/``backward`` for the
run (restored afterwards); the wrapper's own cost (two clock reads) is measured and subtracted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

import fit_models  # noqa: E402


def _wrap(op, kind, acc):
    orig = getattr(op, kind)

    def timed(*args, **kw):
        w0, c0 = time.perf_counter(), time.thread_time()
        try:
            return orig(*args, **kw)
        finally:
            rec = acc[(op.name, kind)]
            rec[0] += 1
            rec[1] += time.perf_counter() - w0
            rec[2] += time.thread_time() - c0

    return orig, timed


def profile(model: str, steps: int) -> None:
    import mxlite as mx
    from fit import _data

    sym = fit_models.symbol(mx, model)
    shape, batch, _ = fit_models.MODELS[model]
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, *shape))],
             label_shapes=[("softmax_label", (batch,))])
    mod.init_params(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    x, y = _data(model)
    db = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    mod.init_optimizer(optimizer="sgd", optimizer_params={
        "learning_rate": 0.01, "momentum": 0.9, "wd": 1e-4})
    metric = mx.metric.Accuracy()
    phases = {"forward": lambda: mod.forward(db, is_train=True),
              "backward": mod.backward,
              "update": mod.update,
              "update_metric": lambda: mod.update_metric(metric, db.label)}
    for _ in range(3):
        for f in phases.values():
            f()
    exe = mod._exec_group.execs[0]
    ops = {step.op for step in exe._steps}
    acc = defaultdict(lambda: [0, 0.0, 0.0])
    saved = []
    for op in ops:
        for kind in ("forward", "backward"):
            orig, timed = _wrap(op, kind, acc)
            saved.append((op, kind, kind in vars(op), orig))
            setattr(op, kind, timed)
    # cost of the wrapper itself
    probe = defaultdict(lambda: [0, 0.0, 0.0])

    class _Nop:
        name = "nop"

        def forward(self):
            return None

    nop = _Nop()
    _, tnop = _wrap(nop, "forward", probe)
    t0 = time.perf_counter()
    for _ in range(10000):
        tnop()
    wrap_cost = (time.perf_counter() - t0) / 10000
    phase_t = dict.fromkeys(phases, 0.0)
    op_in_phase = dict.fromkeys(phases, 0.0)
    try:
        for _ in range(steps):
            for name, f in phases.items():
                before = sum(v[1] for v in acc.values())
                t0 = time.perf_counter()
                f()
                phase_t[name] += time.perf_counter() - t0
                op_in_phase[name] += sum(v[1] for v in acc.values()) - before
    finally:
        for op, kind, own, orig in saved:
            if own:
                setattr(op, kind, orig)
            else:  # back to the class's method
                delattr(op, kind)
    ms = 1000.0 / steps
    print(f"{model} (batch {batch}), {steps} steps, MXLITE_NUM_THREADS="
          f"{os.environ.get('MXLITE_NUM_THREADS', 'default')}")
    print()
    print("| operator | calls/step | fwd ms (wall) | fwd ms (cpu) | bwd ms (wall) | bwd ms (cpu) |")
    print("|---|---|---|---|---|---|")
    names = sorted({n for n, _ in acc}, key=lambda n: -(acc[(n, "forward")][1]
                                                        + acc[(n, "backward")][1]))
    for n in names:
        f, b = acc[(n, "forward")], acc[(n, "backward")]
        print(f"| {n} | {f[0] // steps} | {f[1] * ms:.2f} | {f[2] * ms:.2f} | {b[1] * ms:.2f} | "
              f"{b[2] * ms:.2f} |")
    print()
    print("| phase | wall ms | in operators ms | overhead ms | operator calls | overhead us/op |")
    print("|---|---|---|---|---|---|")
    ncalls = {"forward": sum(v[0] for (n, k), v in acc.items() if k == "forward") // steps,
              "backward": sum(v[0] for (n, k), v in acc.items() if k == "backward") // steps}
    for name in phases:
        calls = ncalls.get(name, 0)
        over = phase_t[name] - op_in_phase[name] - calls * steps * wrap_cost
        per = f"{over * 1e6 / steps / calls:.1f}" if calls else "-"
        print(f"| {name} | {phase_t[name] * ms:.2f} | {op_in_phase[name] * ms:.2f} | "
              f"{over * ms:.2f} | {calls} | {per} |")
    total = sum(phase_t.values()) * ms
    print(f"\nstep: {total:.2f} ms, {batch * 1000 / total:.0f} samples/s "
          f"(wrapper cost {wrap_cost * 1e6:.2f} us/call subtracted)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", choices=list(fit_models.MODELS))
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args(argv)
    profile(args.model, args.steps)


if __name__ == "__main__":
    main()
