"""Benchmark of the distributed kvstores (Ray servers) against the local store.

Run ``python bench/dist.py`` (``--quick`` for a few seconds' worth).  It measures:

* push/pull: for float32 keys of several sizes, the median time of ``push``+``pull``
  (``pushpull``) through one ``dist_sync`` server from this process (one worker), against the
  local store; throughput counts the bytes sent and received;
* ``Module.fit`` samples/s of an MLP: the local store in this process, and ``dist_sync`` jobs of
  1 and 2 workers started with ``mxlite launch`` (each worker its shard; the job's Ray instance
  and servers started inside the timing are excluded: workers time their own ``fit``).

Results: a Markdown table on stdout and ``bench/results/dist.json`` / ``dist.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")

SIZES = [100, 10_000, 1_000_000, 4_000_000]
FIT_SAMPLES, FIT_BATCH, FIT_FEATURES = 4096, 64, 64


def _median_time(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def bench_pushpull(sizes, reps):
    """Rows ``{size, local_s, dist_s, dist_MBps}`` with one in-process worker."""
    import ray

    import mxlite as mx
    from mxlite.kvstore import dist

    rows = []
    servers = dist.start_servers(uuid.uuid4().hex[:10], 1, 1)
    try:
        kv = dist.DistKVStore("dist_sync", servers=servers, rank=0, num_workers=1)
        local = mx.kv.create("local")
        for i, n in enumerate(sizes):
            value = mx.nd.ones((n,))
            out = mx.nd.zeros((n,))
            kv.init(i, value)
            local.init(i, value)
            kv.pushpull(i, value, out=out)  # warm-up
            dist_s = _median_time(lambda i=i, v=value, o=out: kv.pushpull(i, v, out=o), reps)
            local_s = _median_time(
                lambda i=i, v=value, o=out: local.pushpull(i, v, out=o), reps)
            rows.append({"size": n, "local_s": local_s, "dist_s": dist_s,
                         "dist_MBps": 2 * 4 * n / dist_s / 1e6})
    finally:
        for s in servers:
            ray.kill(s)
    return rows


def _data(num_parts=1, part=0):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((FIT_SAMPLES, FIT_FEATURES)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    per = FIT_SAMPLES // num_parts
    return x[part * per:(part + 1) * per], y[part * per:(part + 1) * per]


def fit_samples_per_s(kvstore, epochs):
    """samples/s of Module.fit on this process's shard (the last of ``epochs`` epochs)."""
    import mxlite as mx

    nparts = getattr(kvstore, "num_workers", 1)
    rank = getattr(kvstore, "rank", 0)
    x, y = _data(nparts, rank)
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=128, name="fc1")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.FullyConnected(net, num_hidden=2, name="fc2")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    it = mx.io.NDArrayIter(x, y, batch_size=FIT_BATCH)
    mod = mx.mod.Module(net, context=mx.cpu())
    times = []

    def epoch_end(*_):
        times.append(time.perf_counter())

    times.append(time.perf_counter())
    mod.fit(it, num_epoch=epochs, kvstore=kvstore, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
            epoch_end_callback=epoch_end)
    return len(x) / (times[-1] - times[-2])


def bench_fit_job(num_workers, epochs):
    """Combined samples/s of a ``dist_sync`` job of ``num_workers`` workers."""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "mxlite", "launch", "-n", str(num_workers), "--",
           sys.executable, os.path.abspath(__file__), "--fit-worker", str(epochs)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(f"fit job failed:\n{res.stdout}\n{res.stderr}")
    rates = [float(line.split("samples/s")[1]) for line in res.stdout.splitlines()
             if "samples/s" in line]
    if len(rates) != num_workers:
        raise RuntimeError(f"expected {num_workers} rates in:\n{res.stdout}")
    return float(sum(rates))


def table(push_rows, fit_rows):
    lines = ["| key size (float32) | local pushpull | dist_sync pushpull | dist MB/s |",
             "|---:|---:|---:|---:|"]
    for r in push_rows:
        lines.append(f"| {r['size']:,} | {r['local_s'] * 1e3:.3f} ms | "
                     f"{r['dist_s'] * 1e3:.3f} ms | {r['dist_MBps']:.1f} |")
    lines += ["", "| Module.fit (MLP, batch 64 per worker) | samples/s |", "|---|---:|"]
    for name, rate in fit_rows:
        lines.append(f"| {name} | {rate:,.0f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer sizes, reps and epochs")
    p.add_argument("--fit-worker", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    args = p.parse_args(argv)
    sys.path.insert(0, SRC)
    import mxlite as mx

    if args.fit_worker is not None:
        kv = mx.kv.create("dist_sync")
        print(f"rank {kv.rank} samples/s {fit_samples_per_s(kv, args.fit_worker):.1f}")
        return 0
    sizes = SIZES[:3] if args.quick else SIZES
    reps = 5 if args.quick else 20
    epochs = 2 if args.quick else 4

    import ray

    from mxlite.kvstore import dist

    dist.loopback_environment()
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, logging_level="WARNING",
             object_store_memory=256 * 1024 * 1024, log_to_driver=False)
    try:
        push_rows = bench_pushpull(sizes, reps)
    finally:
        ray.shutdown()
    fit_rows = [("local store, 1 process", fit_samples_per_s("local", epochs))]
    for n in (1, 2):
        fit_rows.append((f"dist_sync, {n} worker{'s' if n > 1 else ''}",
                         bench_fit_job(n, epochs)))
    md = table(push_rows, fit_rows)
    print(md)
    os.makedirs(args.out, exist_ok=True)
    doc = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores",
           "pushpull": push_rows, "fit": [{"name": n, "samples_per_s": r} for n, r in fit_rows]}
    for name, text in (("dist.json", json.dumps(doc, indent=1)), ("dist.md", md)):
        tmp = os.path.join(args.out, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, os.path.join(args.out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
