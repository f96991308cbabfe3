"""mxlite's optimizers reproduce MXNet 1.9.1 step by step (fixtures from MXNet itself)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx

from .golden_cases import build, flatten_state, load, split

META, ARRAYS = load()
CASES = sorted(META["cases"])

# relative tolerance by dtype; float16 weights are compared at float16 resolution
RTOL = {"float32": 2e-5, "float64": 1e-6, "float16": 2e-3}


def _close(actual, expected, dtype, what):
    rtol = RTOL[dtype]
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    err = np.abs(actual - expected)
    ok = err <= rtol * np.abs(expected) + rtol * scale * 0.1
    assert ok.all(), (
        f"{what}: max abs err {err.max():.3g} at {int(np.argmax(err))}; "
        f"actual {actual[~ok][:4]}, expected {expected[~ok][:4]}"
    )


@pytest.mark.parametrize("key", CASES, ids=CASES)
def test_matches_mxnet(key):
    case = META["cases"][key]
    if case["status"] != "ok":
        pytest.skip(f"MXNet 1.9.1 fails this case: {case['error']}")
    opt, dtype = build(META, case)
    shapes = [tuple(s) for s in META["shapes"]]
    ws = [mx.nd.array(a, dtype=dtype) for a in split(ARRAYS[f"{key}/init"], shapes, dtype)]
    upd = mx.optimizer.get_updater(opt)
    grads, expected = ARRAYS[f"{key}/grads"], ARRAYS[f"{key}/weights"]
    for step in range(META["steps"]):
        gs = [mx.nd.array(a, dtype=dtype) for a in split(grads[step], shapes, dtype)]
        upd(list(range(len(ws))), gs, ws)
        got = np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws])
        _close(got, expected[step], dtype, f"weights after step {step + 1}")
    states = []
    for i in range(len(ws)):
        flatten_state(upd.states[i], states)
    got = np.concatenate(states) if states else np.zeros(0)
    exp = ARRAYS[f"{key}/states"]
    assert got.shape == exp.shape, f"state layout differs: {got.shape} vs {exp.shape}"
    _close(got, exp, "float64" if dtype == "float64" else "float32", "final states")


PICKLED = sorted({k.rsplit("/", 1)[0] for k in ARRAYS if k.endswith("/mxnet_states_0")})


def _run_steps(upd, ws, key, dtype, steps):
    shapes = [tuple(s) for s in META["shapes"]]
    for step in steps:
        gs = [mx.nd.array(a, dtype=dtype) for a in split(ARRAYS[f"{key}/grads"][step], shapes,
                                                         dtype)]
        upd(list(range(len(ws))), gs, ws)


@pytest.mark.parametrize("key", PICKLED, ids=PICKLED)
def test_resume_from_mxnet_pickled_states_with_optimizer(key):
    """MXNet's ``get_states(dump_optimizer=True)`` bytes, loaded through the restricted
    unpickler, continue the trajectory exactly where MXNet left it."""
    case = META["cases"][key]
    opt, dtype = build(META, case)
    shapes = [tuple(s) for s in META["shapes"]]
    ws = [mx.nd.array(a, dtype=dtype) for a in split(ARRAYS[f"{key}/weights"][1], shapes, dtype)]
    upd = mx.optimizer.get_updater(opt)
    upd.set_states(ARRAYS[f"{key}/mxnet_states_1"].tobytes())
    assert upd.optimizer is not opt
    assert type(upd.optimizer) is type(opt)
    _run_steps(upd, ws, key, dtype, range(2, META["steps"]))
    got = np.concatenate([w.asnumpy().astype(np.float64).ravel() for w in ws])
    _close(got, ARRAYS[f"{key}/weights"][-1], dtype, "weights after resuming")


@pytest.mark.parametrize("key", PICKLED, ids=PICKLED)
def test_load_mxnet_pickled_states_only(key):
    case = META["cases"][key]
    opt, dtype = build(META, case)
    shapes = [tuple(s) for s in META["shapes"]]
    ws = [mx.nd.array(a, dtype=dtype) for a in split(ARRAYS[f"{key}/init"], shapes, dtype)]
    ours = mx.optimizer.get_updater(opt)
    _run_steps(ours, ws, key, dtype, range(2))
    theirs = mx.optimizer.get_updater(build(META, case)[0])
    keep = theirs.optimizer
    theirs.set_states(ARRAYS[f"{key}/mxnet_states_0"].tobytes())
    assert theirs.optimizer is keep
    assert sorted(theirs.states) == sorted(ours.states)
    for i in ours.states:
        a, b = [], []
        flatten_state(ours.states[i], a)
        flatten_state(theirs.states[i], b)
        _close(np.concatenate(b), np.concatenate(a), "float32", f"state {i}")
