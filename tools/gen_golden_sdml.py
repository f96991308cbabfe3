"""Golden values of ``gluon.loss.SDMLLoss`` from MXNet 1.9.1 (forward and input gradients).

    /tmp/mxref/bin/python tools/gen_golden_sdml.py

writes tests/golden/gluon_sdml.json: for a few (batch, dim, smoothing) cases, the inputs, the
per-sample loss and the gradients of ``loss.sum()`` with respect to both inputs.
"""

from __future__ import annotations

import os

import numpy as np

from golden_json import write_json

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "tests", "golden", "gluon_sdml.json")
CASES = {"batch5_dim3": (5, 3, 0.3), "batch2_dim4_s0": (2, 4, 0.0), "batch4_dim2_s09": (4, 2, 0.9)}


def main() -> None:
    import mxnet as mx
    from mxnet import autograd, gluon

    assert mx.__version__ == "1.9.1", mx.__version__
    rng = np.random.RandomState(11)
    out = {"mxnet": mx.__version__, "cases": {}}
    for name, (n, dim, s) in CASES.items():
        x1 = rng.uniform(-1, 1, (n, dim)).astype(np.float32)
        x2 = rng.uniform(-1, 1, (n, dim)).astype(np.float32)
        a, b = mx.nd.array(x1), mx.nd.array(x2)
        a.attach_grad()
        b.attach_grad()
        with autograd.record():
            loss = gluon.loss.SDMLLoss(smoothing_parameter=s)(a, b)
        loss.backward()
        out["cases"][name] = {"smoothing": s, "x1": x1.tolist(), "x2": x2.tolist(),
                              "loss": loss.asnumpy().tolist(),
                              "grad_x1": a.grad.asnumpy().tolist(),
                              "grad_x2": b.grad.asnumpy().tolist()}
    write_json(OUT, out)


if __name__ == "__main__":
    main()
