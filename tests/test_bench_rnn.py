"""bench/rnn.py runs: mxlite's and PyTorch's timings of a tiny case are positive numbers."""

from __future__ import annotations

import importlib.util
import os

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
_spec = importlib.util.spec_from_file_location("bench_rnn", os.path.join(BENCH, "rnn.py"))
bench_rnn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_rnn)

TINY = [("lstm", 2, True, 3, 2, 4, 5), ("gru", 1, False, 3, 2, 4, 5),
        ("rnn_relu", 1, False, 3, 2, 4, 5)]


@pytest.mark.parametrize("case", TINY, ids=lambda c: f"{c[0]}_l{c[1]}")
def test_mxlite_timings(case):
    infer, train = bench_rnn.run_mx(case, rounds=1)
    assert infer > 0 and train > 0


@pytest.mark.parametrize("case", TINY, ids=lambda c: f"{c[0]}_l{c[1]}")
def test_torch_timings(case):
    pytest.importorskip("torch")
    infer, train = bench_rnn.run_torch(case, rounds=1)
    assert infer > 0 and train > 0
