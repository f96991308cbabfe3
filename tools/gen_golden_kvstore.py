"""Record MXNet 1.9.1's 2-bit gradient compression into tests/golden/kvstore_compression.json.

Run with the MXNet reference interpreter (numpy<1.24, mxnet==1.9.1):

    /tmp/mxref/bin/python tools/gen_golden_kvstore.py

MXNet compresses what each device pushes to its ``'device'`` store (one residual per device and
key) and sums the decoded values, exactly what a ``dist`` server does with the pushes of its
workers.  Each case pushes a seeded sequence of gradients from two devices (``grads[t][d]``) and
records the value pulled after every push, without an optimizer (the store keeps the decoded
sum) or with SGD applied to it.  Device 1 pushing zeros gives the single-worker stream.
tests/kvstore_dist/ replays the cases against mxlite's compression and its dist stores.
"""

from __future__ import annotations

import json
import os

import mxnet as mx
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "kvstore_compression.json")

# (id, shape, threshold, steps, second device pushes zeros, optimizer kwargs or None)
CASES = [
    ("t0.5-two-devices", (5, 7), 0.5, 6, False, None),
    ("t0.5-one-device", (5, 7), 0.5, 6, True, None),
    ("t0.25-one-device", (3, 16), 0.25, 5, True, None),
    ("t1-two-devices-odd", (37,), 1.0, 5, False, None),
    ("t0.5-one-device-sgd", (4, 5), 0.5, 5, True, {"learning_rate": 0.1}),
]


def run_case(name, shape, threshold, steps, zeros, opt_kwargs, seed):
    rng = np.random.RandomState(seed)
    kv = mx.kv.create("device")
    kv.set_gradient_compression({"type": "2bit", "threshold": threshold})
    init = rng.uniform(-1, 1, size=shape).astype(np.float32)
    kv.init(0, mx.nd.array(init))
    if opt_kwargs is not None:
        kv.set_optimizer(mx.optimizer.create("sgd", **opt_kwargs))
    grads, pulled = [], []
    for _ in range(steps):
        g0 = rng.uniform(-1.2 * threshold, 1.2 * threshold, size=shape).astype(np.float32)
        g1 = (np.zeros(shape, np.float32) if zeros else
              rng.uniform(-1.2 * threshold, 1.2 * threshold, size=shape).astype(np.float32))
        kv.push(0, [mx.nd.array(g0, ctx=mx.cpu(0)), mx.nd.array(g1, ctx=mx.cpu(1))])
        out = mx.nd.zeros(shape)
        kv.pull(0, out=out)
        grads.append([g0.tolist(), g1.tolist()])
        pulled.append(out.asnumpy().tolist())
    return {
        "id": name, "shape": list(shape), "threshold": threshold, "init": init.tolist(),
        "optimizer": opt_kwargs, "grads": grads, "pulled": pulled,
    }


def main():
    cases = [run_case(*case, seed=i) for i, case in enumerate(CASES)]
    doc = {"mxnet": mx.__version__, "cases": cases}
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
