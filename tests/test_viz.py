"""mx.viz.print_summary against MXNet 1.9.1's output (tests/golden/viz, tools/gen_golden_viz.py);
plot_network when graphviz is installed."""

import contextlib
import io
import os
import sys

import pytest

import mxlite as mx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
from gen_golden_viz import nets

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "viz")


def _summary(name):
    sym, shape, kwargs = nets(mx)[name]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mx.viz.print_summary(sym, shape=shape, **kwargs)
    return buf.getvalue().splitlines()


def _golden(name):
    with open(os.path.join(GOLDEN, f"{name}.txt")) as f:
        return f.read().splitlines()


def test_print_summary_matches_mxnet():
    assert _summary("conv") == _golden("conv")


def test_print_summary_second_input_fixed():
    # MXNet 1.9.1 drops the second input's row and counts 0 parameters for fb (its bug);
    # every other line is the same
    ours, theirs = _summary("two_inputs"), _golden("two_inputs")
    assert [line for line in ours if not line.startswith(("b(null)", "fb(", "Total"))
            and line not in ("_" * 80,)] == \
        [line for line in theirs if not line.startswith(("fb(", "Total"))
         and line not in ("_" * 80,)]
    assert any(line.startswith("b(null)") for line in ours)
    fb = next(line for line in ours if line.startswith("fb("))
    assert fb.split()[2] == "21" and fb.split()[3] == "b"
    assert "Total params: 39" in ours


def test_print_summary_rejects_bad_input():
    with pytest.raises(TypeError, match="Symbol"):
        mx.viz.print_summary("net")
    with pytest.raises(TypeError, match="dict"):
        mx.viz.print_summary(mx.sym.var("x"), shape=[(1, 2)])


def test_plot_network():
    pytest.importorskip("graphviz")
    sym, shape, _ = nets(mx)["conv"]
    dot = mx.viz.plot_network(sym, shape=shape)
    assert "conv" in dot.source and "4x6x6" in dot.source
