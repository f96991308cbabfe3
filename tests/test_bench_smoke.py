"""Smoke test of the benchmark (``bench/``): every scenario function runs once on a tiny size.

No timing is asserted; this checks that the benchmark's code paths (mxlite's public updater
forms, every built-in optimizer in both dtypes, the initializers, the triad kernel, the table
builder) still run, so that ``make bench`` does not break silently.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

import mxlite_steps  # noqa: E402
import peers_mxnet  # noqa: E402
import peers_torch  # noqa: E402
import run as bench_run  # noqa: E402
import scenarios  # noqa: E402
import triad  # noqa: E402

SCALE = 1e-4  # big: 1,677 elements; resnet50: 161 tiny tensors; small-many: 10 tensors

ALL_SPECS = scenarios.MAIN_OPTIMIZERS + scenarios.OPTIMIZERS


def test_resnet50_table_is_the_real_network():
    params = scenarios.resnet50_params()
    assert len(params) == 161
    assert sum(math.prod(s) for _, s in params) == scenarios.RESNET50_TOTAL == 25_557_032
    assert params[0] == ("conv0_weight", (64, 3, 7, 7))
    assert params[-2:] == [("fc1_weight", (1000, 2048)), ("fc1_bias", (1000,))]
    assert {scenarios.init_role(n) for n, _ in params} == {"weight", "one", "zero"}


@pytest.mark.parametrize("name", scenarios.SCENARIOS, ids=scenarios.SCENARIOS)
def test_scenario_shapes_shrink(name):
    full = scenarios.scenario_shapes(name)
    tiny = scenarios.scenario_shapes(name, SCALE)
    assert 0 < sum(math.prod(s) for s in tiny) < sum(math.prod(s) for s in full)
    with pytest.raises(ValueError, match="scenario must be one of"):
        scenarios.scenario_shapes("nope")


@pytest.mark.parametrize(
    ("spec", "dtype", "form"),
    [(s, dt, f) for s in ALL_SPECS for dt in ("float32", "float16") for f in ("index", "list")],
    ids=[f"{s.key}-{dt}-{f}" for s in ALL_SPECS for dt in ("float32", "float16")
         for f in ("index", "list")],
)
def test_optimizer_step_runs_and_moves_weights(spec, dtype, form):
    if spec.name not in mxlite_steps.available_optimizers():
        pytest.skip(f"{spec.name} is not a built-in mxlite optimizer")
    shapes = scenarios.spec_shapes(spec, "small-many", SCALE)
    step = mxlite_steps.make_opt_step(spec, shapes, dtype, form)
    step()
    step()


def test_form_is_validated():
    spec = scenarios.MAIN_OPTIMIZERS[0]
    with pytest.raises(ValueError, match="form must be 'index' or 'list', got 'bulk'"):
        mxlite_steps.make_opt_step(spec, [(4,)], "float32", "bulk")


def test_list_and_index_forms_agree():
    spec = scenarios.MAIN_OPTIMIZERS[1]  # adam
    shapes = scenarios.scenario_shapes("small-many", SCALE)
    import mxlite as mx

    results = []
    for form in ("index", "list"):
        upd = mx.optimizer.get_updater(mx.optimizer.create(spec.name, **spec.kwargs))
        ws, gs = scenarios.make_arrays(shapes, "float32")
        w_nd = [mx.nd.array(w) for w in ws]
        g_nd = [mx.nd.array(g) for g in gs]
        for _ in range(3):
            if form == "list":
                upd(list(range(len(w_nd))), g_nd, w_nd)
            else:
                for i, (g, w) in enumerate(zip(g_nd, w_nd, strict=True)):
                    upd(i, g, w)
        results.append([w.asnumpy() for w in w_nd])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


INIT_IDS = [e[0] for e in scenarios.INITIALIZERS]


@pytest.mark.parametrize("entry", scenarios.INITIALIZERS, ids=INIT_IDS)
def test_initializer_step_runs(entry):
    _, create_args, torch_rule = entry
    params = bench_run.init_params(SCALE)
    mxlite_steps.make_init_step(create_args, params)()
    if peers_torch.available():
        peers_torch.make_init_step(torch_rule, params)()


@pytest.mark.parametrize("spec", [s for s in ALL_SPECS if s.torch], ids=lambda s: s.key)
def test_torch_peer_step_runs(spec):
    pytest.importorskip("torch")
    shapes = scenarios.spec_shapes(spec, "small-many", SCALE)
    steps = [peers_torch.make_opt_step(spec.torch, impl, shapes, "float32")
             for impl in spec.torch[2]]
    assert any(s is not None for s in steps)
    for s in steps:
        if s is not None:
            s()


def test_triad_kernel():
    t = triad.Triad(1024)
    t.step()
    np.testing.assert_allclose(t.a, t.b + t.s * t.c, rtol=1e-6)
    assert t.gbps(t.measure(reps=2)) > 0


def test_measure_interleaves_and_counts():
    calls = []
    out = bench_run.measure({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                            warmup=1, reps=3)
    assert {k: len(v) for k, v in out.items()} == {"a": 3, "b": 3}
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]


def test_targets_and_table():
    row = {"scenario": "big", "optimizer": "adam", "dtype": "float32", "form": "index",
           "vs_torch_fused": 1.05, "vs_mxnet": 6.0, "bw_fraction": 0.85}
    assert bench_run.targets_for(row) == [("<= torch fused", True), (">= 90% triad", False),
                                          (">= 5x MXNet", True)]
    other = {"scenario": "big", "optimizer": "ftml", "dtype": "float32", "form": "index",
             "bw_fraction": 0.8}
    assert bench_run.targets_for(other) == [("<= 1.3x bound", True)]


def test_mxnet_peer_importable_without_mxnet():
    # the MXNet side runs under MXNet's interpreter; here only its request plumbing is checked
    assert callable(peers_mxnet.run)
    groups = [{"kind": "opt", "spec": scenarios.MAIN_OPTIMIZERS[0], "scenario": "small-many",
               "dtype": "float32", "forms": ["index", "list"]}]
    cases = bench_run.mxnet_cases(groups, SCALE)
    assert [c["form"] for c in cases] == ["index", "list"]
    assert cases[0]["name"] == "sgd" and cases[0]["kwargs"]["momentum"] == 0.9


def test_thread_count_from_environment(monkeypatch):
    monkeypatch.setenv("MXLITE_NUM_THREADS", "3")
    assert bench_run.thread_count(None) == 3
    monkeypatch.delenv("MXLITE_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert bench_run.thread_count(None) == 2
    assert bench_run.thread_count(5) == 5
    with pytest.raises(ValueError, match="--threads must be >= 1, got 0"):
        bench_run.thread_count(0)
