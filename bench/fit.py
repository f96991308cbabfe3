"""End-to-end training throughput: mxlite, PyTorch and MXNet 1.9.1 side by side.

Run ``make bench-fit`` (or ``python bench/fit.py``).  Every library runs in a worker process of
its own (mxlite and PyTorch under this interpreter, MXNet under ``MXLITE_BENCH_MXNET_PYTHON``,
default ``/tmp/mxref/bin/python``), all with the same thread count, and this process drives them
round-robin: one timed round of each in turn, ``--reps`` times, so that a burst of load on the
shared machine hits all of them alike.  A training step is what ``fit`` does per batch:

* mxlite / MXNet: ``Module.forward(is_train=True)``, ``backward``, ``update`` (SGD, momentum 0.9,
  wd 1e-4) and ``update_metric`` (accuracy), then ``mx.nd.waitall()``;
* PyTorch: ``zero_grad``, forward, cross-entropy, ``backward``, ``SGD.step`` (same settings) and
  the accuracy count (``.item()``).

``resnet20-infer`` times ``forward(is_train=False)`` (``model.eval()`` under ``torch.no_grad()``)
plus reading the output.  Each figure is the median samples/s of the rounds; ratios are mxlite's
throughput over the peer's (> 1: mxlite is faster).  The networks are in ``bench/fit_models.py``;
their parameter counts are printed and must agree.

Extra mxlite columns with another environment measure alternatives, e.g. the threading layer::

    python bench/fit.py --variant workqueue:NUMBA_THREADING_LAYER=workqueue \\
                        --variant passive:OMP_WAIT_POLICY=PASSIVE

or another source tree (``MXLITE_BENCH_SRC``)::

    python bench/fit.py --variant before:MXLITE_BENCH_SRC=../main/src

``--roofline`` adds the measured GEMM GFLOP/s (float32 ``np.matmul``) and the model's FLOPs per
training step: the time a step would take if every FLOP ran at GEMM speed.  ``--profile MODEL``
runs mxlite's steps in this process under cProfile instead and prints the hot spots.

Results: a Markdown table on stdout; ``--save`` writes ``bench/results/fit-latest.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import fit_models  # noqa: E402

DEFAULT_MXNET_PYTHON = "/tmp/mxref/bin/python"
#: benchmark name -> (network, mode)
CASES = {
    "mlp": ("mlp", "train"),
    "lenet": ("lenet", "train"),
    "resnet20": ("resnet20", "train"),
    "vgg": ("vgg", "train"),
    "resnet20-infer": ("resnet20", "infer"),
}
#: environment variables that change how the OpenMP / BLAS runtimes wait or thread; the
#: workers start without them so that the defaults are what is measured
THREAD_ENV = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "NUMBA_THREADING_LAYER",
              "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "MXLITE_NUM_THREADS", "NUMBA_NUM_THREADS")


# --------------------------------------------------------------------------- workers
def _data(model):
    import numpy as np

    shape, batch, classes = fit_models.MODELS[model]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, *shape)).astype(np.float32)
    y = rng.integers(0, classes, batch).astype(np.float32)
    return x, y


def mx_setup(mx, model, mode):
    """A step function of ``mx`` (mxlite or mxnet) Module training; and its parameter count."""
    import numpy as np

    sym = fit_models.symbol(mx, model)
    shape, batch, _ = fit_models.MODELS[model]
    train = mode == "train"
    mod = mx.mod.Module(sym, context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, *shape))],
             label_shapes=[("softmax_label", (batch,))], for_training=train)
    mod.init_params(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    x, y = _data(model)
    db = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    arg_params, _ = mod.get_params()
    nparams = int(sum(np.prod(a.shape) for a in arg_params.values()))
    if train:
        mod.init_optimizer(optimizer="sgd", optimizer_params={
            "learning_rate": 0.01, "momentum": 0.9, "wd": 1e-4})
        metric = mx.metric.Accuracy()

        def step():
            mod.forward(db, is_train=True)
            mod.backward()
            mod.update()
            mod.update_metric(metric, db.label)
            mx.nd.waitall()
    else:
        def step():
            mod.forward(db, is_train=False)
            mod.get_outputs()[0].asnumpy()

    return step, nparams


def torch_setup(model, mode, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = fit_models.torch_model(model)
    x, y = _data(model)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    nparams = sum(p.numel() for p in net.parameters())
    if mode == "train":
        net.train()
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
        lossf = torch.nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            out = net(xt)
            loss = lossf(out, yt)
            loss.backward()
            opt.step()
            (out.argmax(1) == yt).sum().item()
    else:
        net.eval()

        def step():
            with torch.no_grad():
                net(xt).numpy()

    return step, nparams


def worker(lib: str, threads: int) -> None:
    """Answer JSON requests, one per line on stdin, with one JSON line each on stdout."""
    out = sys.stdout
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the protocol
    if lib == "mxlite":  # MXLITE_BENCH_SRC: another tree's sources (a "before" variant)
        sys.path.insert(0, os.environ.get("MXLITE_BENCH_SRC") or os.path.join(ROOT, "src"))
        import mxlite as mx
        version = "mxlite " + mx.__version__
    elif lib == "mxnet":
        import mxnet as mx
        version = "MXNet " + mx.__version__
    else:
        import torch
        version = "PyTorch " + torch.__version__
    step = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "setup":
                model, mode = req["model"], req["mode"]
                if lib == "torch":
                    step, nparams = torch_setup(model, mode, threads)
                else:
                    step, nparams = mx_setup(mx, model, mode)
                t = time.perf_counter()
                step()
                first = time.perf_counter() - t
                reply = {"params": nparams, "first_step_s": first, "version": version}
            elif req["op"] == "run":
                c, t = time.process_time(), time.perf_counter()
                for _ in range(int(req["steps"])):
                    step()
                reply = {"seconds": time.perf_counter() - t, "cpu_s": time.process_time() - c}
            else:
                break
        except Exception as err:  # reported to the driver, which prints it
            reply = {"error": f"{type(err).__name__}: {err}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Worker:
    def __init__(self, label, lib, python, threads, extra_env=None):
        env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
        env.update({"MXLITE_NUM_THREADS": str(threads), "MXNET_CPU_WORKER_NTHREADS": "1"})
        if lib != "mxlite":  # PyTorch and MXNet read the OpenMP variable
            env["OMP_NUM_THREADS"] = str(threads)
        env.update(extra_env or {})
        self.label, self.lib = label, lib
        self.proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", lib, "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1)

    def ask(self, **req):
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return {"error": f"{self.label} worker exited (rc {self.proc.poll()})"}
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


# --------------------------------------------------------------------------- roofline
def model_flops(model, mode):
    """``(flops, bytes)`` of one step.  FLOPs: 2 per multiply-add of Convolution /
    FullyConnected, forward; a training step adds twice that for the two backward products (data
    and weight gradients).  Bytes: every operator output written once forward (float32); a
    training step also reads it back and writes and reads its gradient (4 passes in all)."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    import numpy as np

    import mxlite as mx

    shape, batch, _ = fit_models.MODELS[model]
    sym = fit_models.symbol(mx, model)
    internals = sym.get_internals()
    _, out_shapes, _ = internals.infer_shape(data=(batch, *shape))
    shapes = dict(zip(internals.list_outputs(), out_shapes, strict=True))
    conf = json.loads(sym.tojson())
    nodes = conf["nodes"]
    flops = 0
    act_bytes = 4 * sum(int(np.prod(s)) for n, s in shapes.items() if n.endswith("_output"))
    for node in nodes:
        op = node["op"]
        if op not in ("Convolution", "FullyConnected"):
            continue
        out = shapes[node["name"] + "_output"]
        src = nodes[node["inputs"][0][0]]
        src_name = src["name"] if src["op"] == "null" else src["name"] + "_output"
        in_shape = (batch, *shape) if src["name"] == "data" else shapes[src_name]
        if op == "FullyConnected":
            flops += 2 * batch * int(np.prod(in_shape[1:])) * out[1]
        else:
            kernel = json.loads(node["attrs"]["kernel"].replace("(", "[").replace(")", "]"))
            group = int(node["attrs"].get("num_group", 1))
            flops += 2 * int(np.prod(out)) * in_shape[1] // group * int(np.prod(kernel))
    return flops * (3 if mode == "train" else 1), act_bytes * (4 if mode == "train" else 1)


def gemm_gflops(threads, n=1024, reps=7):
    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    c = np.empty_like(a)
    with threadpool_limits(threads, user_api="blas"):
        np.matmul(a, b, out=c)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            np.matmul(a, b, out=c)
            times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def triad_gbps(threads):
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from mxlite.kernels import configure_threads
    from triad import Triad

    configure_threads(threads)
    tri = Triad()
    return tri.gbps(tri.measure(reps=11))


# --------------------------------------------------------------------------- driver
def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(args):
    threads = args.threads
    workers = [Worker("mxlite", "mxlite", sys.executable, threads)]
    for spec in args.variant:
        label, _, assigns = spec.partition(":")
        env = dict(a.split("=", 1) for a in assigns.split(",") if a)
        workers.append(Worker(f"mxlite[{label}]", "mxlite", sys.executable, threads, env))
    if not args.no_torch:
        workers.append(Worker("PyTorch", "torch", sys.executable, threads))
    mxpy = os.environ.get("MXLITE_BENCH_MXNET_PYTHON", DEFAULT_MXNET_PYTHON)
    if not args.no_mxnet and os.path.exists(mxpy):
        workers.append(Worker("MXNet", "mxnet", mxpy, threads))
    results = {}
    try:
        for case in args.cases:
            model, mode = CASES[case]
            batch = fit_models.MODELS[model][1]
            row = {"batch": batch, "libs": {}}
            live = []
            for w in workers:
                rep = w.ask(op="setup", model=model, mode=mode)
                if "error" in rep:
                    log(f"{case}: {w.label}: {rep['error']}")
                    row["libs"][w.label] = {"error": rep["error"]}
                    continue
                # calibrate: steps per round so that a round takes about --round seconds
                probe = w.ask(op="run", steps=2)
                per_step = probe["seconds"] / 2
                steps = max(1, round(args.round / max(per_step, 1e-6)))
                row["libs"][w.label] = {"params": rep["params"], "version": rep["version"],
                                        "first_step_s": rep["first_step_s"], "steps": steps,
                                        "samples_per_s": []}
                live.append(w)
            for r in range(args.reps):
                for w in live[r % len(live):] + live[:r % len(live)]:
                    entry = row["libs"][w.label]
                    rep = w.ask(op="run", steps=entry["steps"])
                    if "error" in rep:
                        entry["error"] = rep["error"]
                        continue
                    entry["samples_per_s"].append(entry["steps"] * batch / rep["seconds"])
                    entry.setdefault("samples_per_cpu_s", []).append(
                        entry["steps"] * batch / rep["cpu_s"])
            for entry in row["libs"].values():
                if entry.get("samples_per_s"):
                    entry["median"] = statistics.median(entry["samples_per_s"])
                    entry["median_per_cpu_s"] = statistics.median(entry["samples_per_cpu_s"])
            if args.roofline:
                flops, nbytes = model_flops(model, mode)
                row["gflop_per_step"], row["mb_per_step"] = flops / 1e9, nbytes / 1e6
            results[case] = row
            log(format_row(case, row))
    finally:
        for w in workers:
            w.close()
    return [w.label for w in workers], results


def format_row(case, row):
    parts = [case]
    for label, e in row["libs"].items():
        parts.append(f"{label}={e['median']:.0f}/s {e['median_per_cpu_s']:.0f}/cpu-s "
                     f"({e['params']} params)" if "median" in e else f"{label}=error")
    return "  ".join(parts)


def markdown(labels, results, meta):
    lines = [f"# mxlite fit benchmark ({meta['date']})", "",
             f"{meta['cpu']}, {meta['threads']} threads for every library; "
             f"load average at start {meta['load']}; medians of {meta['reps']} interleaved "
             f"rounds of about {meta['round']} s.  Samples per second (higher is better); "
             "ratios are mxlite's throughput over the peer's.", ""]
    peers = [x for x in labels if x != "mxlite"]
    head = ["benchmark", "params", *labels, *[f"mxlite / {p}" for p in peers]]
    if meta.get("gemm_gflops"):
        head += ["GFLOP/step", "MB/step", "roofline share"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case, row in results.items():
        libs = row["libs"]
        counts = sorted({e["params"] for e in libs.values() if "params" in e})
        cells = [f"{case} (batch {row['batch']})", " / ".join(f"{c:,}" for c in counts)]
        med = {k: e.get("median") for k, e in libs.items()}
        cells += [f"{med[x]:,.0f}" if med.get(x) else "—" for x in labels]
        for p in peers:
            ok = med.get("mxlite") and med.get(p)
            cells.append(f"{med['mxlite'] / med[p]:.2f}x" if ok else "—")
        if meta.get("gemm_gflops"):
            g = row.get("gflop_per_step")
            mine = med.get("mxlite")
            if g and mine:
                mb = row.get("mb_per_step", 0.0)
                bound_s = g / meta["gemm_gflops"] + mb / 1e3 / meta["triad_gbps"]
                step_s = row["batch"] / mine
                cells += [f"{g:.2f}", f"{mb:,.0f}", f"{bound_s / step_s:.0%}"]
            else:
                cells += ["—", "—", "—"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("First step (includes JIT compilation or cache loading, seconds): " + "; ".join(
        f"{case}: " + ", ".join(f"{k} {e['first_step_s']:.2f}" for k, e in row["libs"].items()
                                if "first_step_s" in e)
        for case, row in results.items()))
    if meta.get("gemm_gflops"):
        lines += ["", f"Roofline: GEMM {meta['gemm_gflops']:.0f} GFLOP/s (float32 1024² "
                  f"np.matmul, {meta['threads']} threads), memory {meta['triad_gbps']:.1f} GB/s "
                  "(STREAM triad, bench/triad.py), both measured at the start of the run.  "
                  "Roofline share: the step time if every Convolution / FullyConnected FLOP "
                  "(forward and both backward products) ran at GEMM speed plus the time to stream "
                  "the activations (MB/step: forward outputs, 4 passes when training) at triad "
                  "speed, over mxlite's step time."]
    return "\n".join(lines) + "\n"


def profile(args):
    import cProfile
    import pstats

    sys.path.insert(0, os.path.join(ROOT, "src"))
    os.environ.setdefault("MXLITE_NUM_THREADS", str(args.threads))
    import mxlite as mx

    model, mode = CASES[args.profile]
    step, _ = mx_setup(mx, model, mode)
    for _ in range(3):
        step()
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for _ in range(args.steps):
        step()
    prof.disable()
    dt = time.perf_counter() - t
    batch = fit_models.MODELS[model][1]
    print(f"{args.profile}: {args.steps * batch / dt:.0f} samples/s under cProfile")
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", choices=("mxlite", "torch", "mxnet"), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for every library (default MXLITE_NUM_THREADS, else all cores)")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--reps", type=int, default=5, help="timed rounds per library")
    ap.add_argument("--round", type=float, default=1.0, help="seconds per timed round")
    ap.add_argument("--variant", action="append", default=[],
                    help="extra mxlite column LABEL:VAR=VALUE[,VAR=VALUE...]")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-mxnet", action="store_true")
    ap.add_argument("--roofline", action="store_true", help="add GEMM-bound columns")
    ap.add_argument("--save", action="store_true", help="write bench/results/fit-latest.*")
    ap.add_argument("--profile", choices=list(CASES), help="cProfile mxlite on one case")
    ap.add_argument("--steps", type=int, default=20, help="steps under --profile")
    ap.add_argument("--top", type=int, default=30, help="rows printed under --profile")
    args = ap.parse_args(argv)
    if args.threads is None:
        env = os.environ.get("MXLITE_NUM_THREADS", "").strip()
        args.threads = int(env) if env else os.cpu_count() or 1
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    if args.worker:
        worker(args.worker, args.threads)
        return 0
    if args.profile:
        profile(args)
        return 0
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": platform.processor() or platform.machine(), "threads": args.threads,
            "reps": args.reps, "round": args.round,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    try:
        with open("/proc/cpuinfo") as f:
            meta["cpu"] = next(ln.split(":", 1)[1].strip() for ln in f
                               if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if args.roofline:
        meta["gemm_gflops"] = gemm_gflops(args.threads)
        meta["triad_gbps"] = triad_gbps(args.threads)
    labels, results = run(args)
    text = markdown(labels, results, meta)
    print(text)
    if args.save:
        out = os.path.join(HERE, "results")
        os.makedirs(out, exist_ok=True)
        for name, payload in (("fit-latest.json", json.dumps(
                {"meta": meta, "labels": labels, "results": results}, indent=1)),
                              ("fit-latest.md", text)):
            tmp = os.path.join(out, name + ".tmp")
            with open(tmp, "w") as f:
                f.write(payload)
            os.replace(tmp, os.path.join(out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
