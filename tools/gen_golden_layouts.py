"""Regenerate tests/golden/layouts.npz + layouts.json: MXNet 1.9.1's channels-last Pooling.

Run with the MXNet reference interpreter:  /tmp/mxref/bin/python tools/gen_golden_layouts.py

MXNet 1.9.1 computes Pooling in ``NWC`` / ``NHWC`` / ``NDHWC`` on CPU (its Convolution and
Deconvolution fail on every channels-last input there, so they have no fixtures: their tests
compare against the channels-first operator on transposed arrays).  Each case records the
input, the output of ``forward(is_train=True)``, a random head gradient and the input gradient.
"""

from __future__ import annotations

import json
import os

import mxnet as mx
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
rng = np.random.default_rng(1313)
SPATIAL = {"NWC": (7,), "NHWC": (6, 7), "NDHWC": (4, 5, 6)}


def distinct(*shape):
    """Distinct values (a shuffled grid): no ties for max pooling."""
    n = int(np.prod(shape))
    return rng.permutation(np.linspace(-2.0, 2.0, n, dtype=np.float32)).reshape(shape)


CONFIGS = [
    ("max", {"pool_type": "max", "kernel": 2, "stride": 2}),
    ("max_pad_full", {"pool_type": "max", "kernel": 3, "stride": 2, "pad": 1,
                      "pooling_convention": "full"}),
    ("avg_pad", {"pool_type": "avg", "kernel": 3, "stride": 1, "pad": 1}),
    ("avg_nopad_count", {"pool_type": "avg", "kernel": 3, "stride": 2, "pad": 1,
                         "count_include_pad": False}),
    ("sum", {"pool_type": "sum", "kernel": 2, "stride": 1}),
    ("lp2", {"pool_type": "lp", "p_value": 2, "kernel": 2, "stride": 2}),
    ("global_avg", {"pool_type": "avg", "global_pool": True, "kernel": 1}),
    ("global_max", {"pool_type": "max", "global_pool": True, "kernel": 1}),
]


def main():
    cases, arrays = [], {}
    for layout, spatial in SPATIAL.items():
        nsp = len(spatial)
        for name, cfg in CONFIGS:
            params = {k: (v,) * nsp if k in ("kernel", "stride", "pad") else v
                      for k, v in cfg.items()}
            params["layout"] = layout
            cid = f"{layout}_{name}"
            x = distinct(2, *spatial, 3)
            if cfg["pool_type"] == "lp":
                x = np.abs(x) + 0.1
            xa = mx.nd.array(x)
            xa.attach_grad()
            with mx.autograd.record():
                y = mx.nd.Pooling(xa, **params)
            head = rng.uniform(-1, 1, y.shape).astype(np.float32)
            y.backward(mx.nd.array(head))
            arrays[f"{cid}:x"], arrays[f"{cid}:out"] = x, y.asnumpy()
            arrays[f"{cid}:head"], arrays[f"{cid}:grad"] = head, xa.grad.asnumpy()
            cases.append({"id": cid, "params": {k: list(v) if isinstance(v, tuple) else v
                                                for k, v in params.items()}})
    np.savez_compressed(os.path.join(ROOT, "layouts.npz"), **arrays)
    with open(os.path.join(ROOT, "layouts.json"), "w") as f:
        json.dump({"mxnet": mx.__version__, "cases": cases}, f, indent=1)
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()
