"""Worker scripts of the launcher tests: ``python _jobs.py MODE OUT_DIR`` under ``mxlite launch``.

``fit-sync`` / ``fit-async``: Module.fit of a small MLP on this worker's shard; rank 0 writes
the parameters (and every rank its training accuracy).  ``die``: rank 1 exits with status 3
while rank 0 waits in a synchronous push.  ``sleep``: report ready and wait to be stopped.
``kill-server``: rank 0 kills the server, then both ranks wait to be stopped.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

import mxlite as mx

N_PER_WORKER, BATCH, EPOCHS = 64, 8, 3


def dataset(num_workers=2):
    rng = np.random.default_rng(7)
    n = N_PER_WORKER * num_workers
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32) + (x[:, 2] > 1).astype(np.float32)
    return x, y


def shard(x, y, rank, num_workers):
    """Contiguous part ``rank`` of ``num_workers`` (what num_parts/part_index give)."""
    per = len(x) // num_workers
    return x[rank * per:(rank + 1) * per], y[rank * per:(rank + 1) * per]


def combined(x, y, num_workers):
    """The single-process order whose batch i is the union of every worker's batch i."""
    parts = [shard(x, y, r, num_workers) for r in range(num_workers)]
    steps = N_PER_WORKER // BATCH
    xs = [p[0][i * BATCH:(i + 1) * BATCH] for i in range(steps) for p in parts]
    ys = [p[1][i * BATCH:(i + 1) * BATCH] for i in range(steps) for p in parts]
    return np.concatenate(xs), np.concatenate(ys)


def fit(x, y, batch_size, kvstore, epochs=EPOCHS, lr=0.1):
    """Module.fit of the MLP; returns (arg_params as numpy, training accuracy)."""
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=16, name="fc1")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.FullyConnected(net, num_hidden=3, name="fc2")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    it = mx.io.NDArrayIter(x, y, batch_size=batch_size, shuffle=False)
    mod = mx.mod.Module(net, context=mx.cpu())
    mx.random.seed(42)
    mod.fit(it, num_epoch=epochs, kvstore=kvstore, optimizer="sgd",
            optimizer_params={"learning_rate": lr, "momentum": 0.9},
            initializer=mx.init.Xavier())
    arg, _ = mod.get_params()
    acc = dict(mod.score(mx.io.NDArrayIter(x, y, batch_size=batch_size), "acc"))["accuracy"]
    return {k: v.asnumpy() for k, v in arg.items()}, acc


def main(mode, out_dir):
    kind = "dist_async" if mode == "fit-async" else "dist_sync"
    kv = mx.kv.create(kind)
    if mode.startswith("fit"):
        x, y = shard(*dataset(kv.num_workers), kv.rank, kv.num_workers)
        epochs = EPOCHS if mode == "fit-sync" else 30  # async: stale updates need more steps
        # fit-sync passes the type by name, as an MXNet script does; Module creates the store
        params, acc = fit(x, y, BATCH, kind if mode == "fit-sync" else kv, epochs=epochs)
        if kv.rank == 0:
            np.savez(os.path.join(out_dir, "params.npz"), **params)
        with open(os.path.join(out_dir, f"acc-{kv.rank}.txt"), "w") as f:
            f.write(repr(acc))
        print(f"accuracy {acc:.3f}")
    elif mode == "die":
        kv.init(0, mx.nd.ones((4,)))
        if kv.rank == 1:
            os._exit(3)
        while True:
            kv.pushpull(0, mx.nd.ones((4,)))
    elif mode == "sleep":
        kv.init(0, mx.nd.ones((4,)))
        print("ready", flush=True)
        time.sleep(600)
    elif mode == "kill-server":
        import ray

        kv.init(0, mx.nd.ones((4,)))
        if kv.rank == 0:
            ray.kill(kv._servers[0])
        time.sleep(60)  # the launcher stops the job


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
