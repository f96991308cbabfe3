"""The Gluon-vs-Module benchmark (bench/gluon_vs_module.py) runs; both steps train the same
model (no timing asserted)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "bench")
sys.path.insert(0, BENCH)

import gluon_vs_module  # noqa: E402


def test_bench_runs_every_row():
    rows = gluon_vs_module.run("cnn", batch=4, steps=1)
    assert set(rows) == {"module", "gluon_hybridized", "gluon_imperative"}
    assert all(0 < best <= med for best, med in rows.values())


def test_one_variant_in_blocks():
    rows = gluon_vs_module.run("mlp", batch=4, steps=2, blocks=True, only="gluon_imperative")
    assert set(rows) == {"gluon_imperative"}


@pytest.mark.parametrize("hybridize", [True, False], ids=["hybridized", "imperative"])
def test_gluon_step_lowers_the_loss(hybridize):
    x, y = gluon_vs_module.data("mlp", 16)
    step, net = gluon_vs_module.gluon_step("mlp", x, y, hybridize=hybridize)
    import mxlite as mx

    def loss():
        out = net(mx.nd.array(x)).asnumpy()
        out = out - out.max(axis=1, keepdims=True)
        logp = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
        return -logp[np.arange(len(y)), y.astype(int)].mean()

    step()
    before = loss()
    for _ in range(5):
        step()
    assert loss() < before
