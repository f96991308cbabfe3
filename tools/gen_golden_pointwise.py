"""Regenerate tests/golden/conv_pointwise.npz from MXNet 1.9.1: 1x1 convolutions (the shapes
mxlite's direct 1x1 kernels take, ``mxlite.kernels.conv_pointwise``), float32, output and
the data, weight and bias gradients for a random head gradient.

Run with the MXNet reference interpreter:  /tmp/mxref/bin/python tools/gen_golden_pointwise.py

Each case binds one ``Convolution`` with ``simple_bind`` (MXNet's default CPU path, oneDNN),
runs ``forward(is_train=True)`` and ``backward``; the arrays go to ``<case>/<name>`` keys.
"""

from __future__ import annotations

import os

import mxnet as mx
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
                   "conv_pointwise.npz")

# id, data shape, num_filter, stride, bias
CASES = [
    ("s1_16to16_8x8", (1, 16, 8, 8), 16, 1, False),
    ("s2_16to32_9x9_bias", (2, 16, 9, 9), 32, 2, True),
    ("s1_6to12_5x7_bias", (3, 6, 5, 7), 12, 1, True),
    ("s2_32to64_10x10", (1, 32, 10, 10), 64, 2, False),
    ("s1_20to6_7x7", (2, 20, 7, 7), 6, 1, False),
    ("s1_96to80_4x4_wide", (1, 96, 4, 4), 80, 1, False),
]


def main():
    rng = np.random.default_rng(13)
    arrays = {}
    for cid, shape, nf, stride, bias in CASES:
        data = mx.sym.Variable("data")
        sym = mx.sym.Convolution(data, kernel=(1, 1), stride=(stride, stride), num_filter=nf,
                                 no_bias=not bias, name="conv")
        exe = sym.simple_bind(mx.cpu(), data=shape, grad_req="write")
        feed = {}
        for name, arr in exe.arg_dict.items():
            feed[name] = rng.uniform(-1, 1, arr.shape).astype(np.float32)
            arr[:] = feed[name]
        exe.forward(is_train=True)
        y = exe.outputs[0].asnumpy()
        dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
        exe.backward([mx.nd.array(dy)])
        arrays[f"{cid}/x"] = feed["data"]
        arrays[f"{cid}/w"] = feed["conv_weight"]
        if bias:
            arrays[f"{cid}/b"] = feed["conv_bias"]
            arrays[f"{cid}/db"] = exe.grad_dict["conv_bias"].asnumpy()
        arrays[f"{cid}/dy"] = dy
        arrays[f"{cid}/y"] = y
        arrays[f"{cid}/dx"] = exe.grad_dict["data"].asnumpy()
        arrays[f"{cid}/dw"] = exe.grad_dict["conv_weight"].asnumpy()
    tmp = OUT + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, OUT)
    print(f"wrote {len(CASES)} cases to {OUT}")


if __name__ == "__main__":
    main()
