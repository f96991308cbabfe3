"""Optimizers with row_sparse gradients reproduce MXNet 1.9.1 step by step: lazy and standard
updates, multi-precision, and the optimizers that fall back to the dense gradient."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx

from ._golden import ARRAYS, META, close

SHAPE = tuple(META["shape"])
CASES = sorted(META["updates"])


def _flat(state):
    if state is None:
        return []
    if isinstance(state, mx.nd.NDArray):
        return [state.asnumpy()]
    return [a for s in state for a in _flat(s)]


def _grads(case, dtype):
    rng = np.random.RandomState(16)
    for rows in META["rows"]:
        vals = rng.uniform(-1, 1, size=(len(rows), SHAPE[1])).astype(dtype)
        yield mx.nd.sparse.row_sparse_array((vals, rows), shape=SHAPE, dtype=dtype)


def _run(case, fused):
    spec = META["updates"][case]
    dtype = spec["dtype"]
    opt = mx.optimizer.create(spec["optimizer"], **spec["kwargs"])
    upd = mx.optimizer.get_updater(opt)
    w = mx.nd.array(ARRAYS[f"upd/{case}/init"], dtype=dtype)
    opt.use_fused_step = fused  # False: the NumPy reference path of the same dispatch
    for step, g in enumerate(_grads(case, dtype)):
        upd(0, g, w)
        close(w.asnumpy(), ARRAYS[f"upd/{case}/w{step}"], dtype, f"{case} weight step {step}")
        states = _flat(upd.states[0])
        assert len(states) == spec["nstates"]
        for k, s in enumerate(states):
            sdtype = "float32" if dtype == "float16" else dtype
            close(s, ARRAYS[f"upd/{case}/s{step}_{k}"], sdtype, f"{case} state {k} step {step}")


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_matches_mxnet(case, fused):
    spec = META["updates"][case]
    if spec["status"] != "ok":
        pytest.skip(f"MXNet 1.9.1 fails this case: {spec['error']}")
    _run(case, fused)


@pytest.mark.parametrize("case", ["sgd_lazy", "sgd_mom_lazy", "adam_lazy"])
def test_lazy_leaves_untouched_rows_alone(case):
    """With weight decay, a lazy step changes exactly the rows the gradient stores."""
    spec = META["updates"][case]
    opt = mx.optimizer.create(spec["optimizer"], **spec["kwargs"])
    w = mx.nd.array(ARRAYS[f"upd/{case}/init"])
    before = w.asnumpy()
    g = next(_grads(case, "float32"))
    opt.update(0, w, g, opt.create_state(0, w))
    changed = np.flatnonzero(np.any(w.asnumpy() != before, axis=1))
    assert changed.tolist() == META["rows"][0]


@pytest.mark.parametrize("case", ["sgd_nonlazy", "adam_nonlazy", "ftrl", "sgd_mp_lazy"])
def test_standard_update_moves_every_row(case):
    """lazy_update=False, Ftrl on a dense weight and multi-precision SGD: MXNet's standard
    update, on the dense gradient, equal to a dense-gradient step of the same optimizer."""
    spec = META["updates"][case]
    dtype = spec["dtype"]
    w_sparse = mx.nd.array(ARRAYS[f"upd/{case}/init"], dtype=dtype)
    w_dense = w_sparse.copy()
    opt_s = mx.optimizer.create(spec["optimizer"], **spec["kwargs"])
    opt_d = mx.optimizer.create(spec["optimizer"], **spec["kwargs"])
    g = next(_grads(case, dtype))
    opt_s.update_multi_precision(0, w_sparse, g, opt_s.create_state_multi_precision(0, w_sparse))
    opt_d.update_multi_precision(0, w_dense, g.tostype("default"),
                                 opt_d.create_state_multi_precision(0, w_dense))
    np.testing.assert_array_equal(w_sparse.asnumpy(), w_dense.asnumpy())
    moved = np.any(w_sparse.asnumpy() != ARRAYS[f"upd/{case}/init"], axis=1)
    assert moved.all()


def test_sparse_adagrad_rejects_weight_decay():
    opt = mx.optimizer.AdaGrad(wd=0.1)
    w = mx.nd.ones(SHAPE)
    g = next(_grads("adagrad", "float32"))
    with pytest.raises(mx.MXNetError, match="does not support wd"):
        opt.update(0, w, g, opt.create_state(0, w))
