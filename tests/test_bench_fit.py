"""bench/fit.py's pieces: the twin networks agree, the FLOP count is right, one step runs."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

import fit  # noqa: E402
import fit_models  # noqa: E402
import mxlite as mx  # noqa: E402


def _mx_params(model):
    shape, batch, _ = fit_models.MODELS[model]
    sym = fit_models.symbol(mx, model)
    arg_shapes, _, _ = sym.infer_shape(data=(batch, *shape))
    return sum(int(np.prod(s)) for n, s in zip(sym.list_arguments(), arg_shapes, strict=True)
               if n not in ("data", "softmax_label"))


@pytest.mark.parametrize("model", list(fit_models.MODELS))
def test_torch_twin_has_the_same_parameter_count(model):
    pytest.importorskip("torch")
    net = fit_models.torch_model(model)
    assert sum(p.numel() for p in net.parameters()) == _mx_params(model)


def test_mlp_flops_and_bytes():
    flops, nbytes = fit.model_flops("mlp", "train")
    assert flops == 3 * 2 * 128 * (784 * 512 + 512 * 256 + 256 * 10)
    # forward outputs: 3 FullyConnected, 2 relu, the softmax; 4 passes when training
    assert nbytes == 4 * 4 * 128 * (512 * 2 + 256 * 2 + 10 * 2)
    assert fit.model_flops("mlp", "infer")[0] == flops // 3


@pytest.mark.parametrize("case", ["lenet", "resnet20-infer"])
def test_one_mxlite_step_runs(case):
    model, mode = fit.CASES[case]
    step, nparams = fit.mx_setup(mx, model, mode)
    step()
    assert nparams == _mx_params(model)


def test_op_profile_accounts_for_every_operator(capsys):
    """bench/op_profile.py times every operator type of the MLP and restores the operators."""
    import op_profile
    from mxlite.operator.registry import get

    fc = get("FullyConnected")
    before = fc.forward
    op_profile.profile("mlp", 2)
    out = capsys.readouterr().out
    # (the relus run inside FullyConnected: the fused FullyConnected -> relu step)
    for name in ("FullyConnected", "SoftmaxOutput"):
        assert f"| {name} | " in out
    assert "| FullyConnected | 3 |" in out  # three calls per step
    assert "| update_metric |" in out and "samples/s" in out
    assert fc.forward == before and "forward" not in vars(fc)  # the timing wrappers are gone
