"""Networks and data shared by the module tests (the same as tools/gen_golden_module.py)."""

from __future__ import annotations

import pathlib

import numpy as np

import mxlite as mx

GOLDEN = np.load(pathlib.Path(__file__).parent.parent / "golden" / "module_fit.npz")
BATCH = {"seed": 128, "adam": 32, "mult": 32}


def seed_symbol():
    data = mx.symbol.Variable('data')
    label = mx.symbol.Variable('softmax_label')
    fc = mx.symbol.FullyConnected(data, name='fc', num_hidden=10)
    return mx.symbol.SoftmaxOutput(fc, label, name='softmax')


def mlp(with_mult=False):
    """fc1(32) relu fc2(16) relu fc3(4) softmax; with_mult puts lr/wd multipliers on fc1."""
    data = mx.sym.Variable("data")
    if with_mult:
        w1 = mx.sym.Variable("fc1_weight", lr_mult=0.5, wd_mult=2.0)
        h = mx.sym.FullyConnected(data, weight=w1, name="fc1", num_hidden=32)
    else:
        h = mx.sym.FullyConnected(data, name="fc1", num_hidden=32)
    h = mx.sym.Activation(h, act_type="relu", name="relu1")
    h = mx.sym.FullyConnected(h, name="fc2", num_hidden=16)
    h = mx.sym.Activation(h, act_type="relu", name="relu2")
    h = mx.sym.FullyConnected(h, name="fc3", num_hidden=4)
    return mx.sym.SoftmaxOutput(h, name="softmax")


def data(case):
    """``(train_iter, val_iter)`` of a golden case (no shuffling)."""
    key = "seed" if case == "seed" else "mlp"
    x, y, n = GOLDEN[f"{key}_x"], GOLDEN[f"{key}_y"], int(GOLDEN[f"{key}_n_train"])
    bs = BATCH[case]
    return (mx.io.NDArrayIter(x[:n], y[:n], batch_size=bs),
            mx.io.NDArrayIter(x[n:], y[n:], batch_size=bs))


def init_params(case):
    key = "seed" if case == "seed" else "mlp"
    prefix = f"{key}_init_"
    return {k[len(prefix):]: mx.nd.array(GOLDEN[k]) for k in GOLDEN.files if k.startswith(prefix)}


def final_params(case):
    prefix = f"{case}_final_"
    return {k[len(prefix):]: GOLDEN[k] for k in GOLDEN.files
            if k.startswith(prefix) and k.endswith(("_weight", "_bias"))}
