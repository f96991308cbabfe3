"""Regenerate ``tests/golden/selu_float32.json`` from MXNet 1.9.1: ``LeakyReLU(act_type="selu")``
of float32 inputs, forward and backward (MXNet computes both in float32).

Run with the reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_selu.py

Values are stored as the float32 bit patterns (``uint32``), so the test compares bits.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "selu_float32.json")


def inputs(np):
    """A few hand-picked points (0.1 is MXNet's ``test_gluon.py::test_activations`` one) and
    a seeded sample of [-6, 4); ``(x, head gradient)`` as float32."""
    rng = np.random.RandomState(7)
    x = np.concatenate([[0.1, -0.1, 1.0, -1.0, 0.0, 2.5, -3.0, 1e-3, -1e-3],
                        rng.uniform(-6, 4, 247)]).astype(np.float32)
    return x, rng.uniform(-2, 2, x.size).astype(np.float32)


def bits(np, a):
    return np.asarray(a, np.float32).view(np.uint32).tolist()


def main():
    sys.path.insert(0, HERE)
    import mxnet as mx
    import numpy as np

    from golden_json import write_json

    x, g = inputs(np)
    xa = mx.nd.array(x)
    xa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.LeakyReLU(xa, act_type="selu")
    y.backward(mx.nd.array(g))
    write_json(OUT, {"x": bits(np, x), "g": bits(np, g), "y": bits(np, y.asnumpy()),
                     "dx": bits(np, xa.grad.asnumpy())})


if __name__ == "__main__":
    main()
