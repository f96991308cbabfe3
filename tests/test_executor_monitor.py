"""``Executor.set_monitor_callback`` reports MXNet 1.9.1's names in MXNet's order: inputs as
``<node>_<input name>`` for operators that name their inputs, ``<node>_input<i>`` for the
others, a variable input under its own name at every use (tests/golden/executor_monitor.json,
written by tools/gen_golden_monitor.py)."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest

import mxlite as mx

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
import gen_golden_monitor as spec  # noqa: E402

GOLDEN = json.loads((HERE / "golden" / "executor_monitor.json").read_text())


@pytest.mark.parametrize("monitor_all", [False, True], ids=["outputs", "monitor_all"])
@pytest.mark.parametrize("case", spec.CASES)
def test_monitor_sees_mxnet_names_in_mxnet_order(case, monitor_all):
    assert spec.record(mx, case, monitor_all) == GOLDEN[f"{case}/{int(monitor_all)}"]
