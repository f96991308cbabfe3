"""Regenerate ``tests/golden/executor_monitor.json`` from MXNet 1.9.1: the names an
``Executor.set_monitor_callback`` callback sees, in order, for a few small graphs.

Run with the reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_monitor.py

:func:`record` takes the ``mx`` module, so ``tests/test_executor_monitor.py`` runs the same
graphs with mxlite.  For each case and ``monitor_all`` in (False, True) it stores the names.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "executor_monitor.json")

CASES = ["add_concat_fc_relu", "shared_input", "fc_sigmoid_softmax"]


def build(mx, case):
    """The symbol of ``case`` and its input shapes."""
    sym = mx.sym
    data = sym.var("data")
    if case == "add_concat_fc_relu":
        # elemwise_add (named inputs lhs / rhs), Concat (arg0, arg1, ...), FullyConnected
        # (data, weight, bias), Activation (no input names)
        w = sym.var("w")
        added = sym.elemwise_add(data, w, name="add")
        cat = sym.Concat(added, data, dim=1, name="cat")
        fc = sym.FullyConnected(cat, num_hidden=3, name="fc")
        return sym.Activation(fc, act_type="relu", name="act"), {"data": (2, 4), "w": (2, 4)}
    if case == "shared_input":
        # a variable used by three operators (one of them twice)
        prod = sym.elemwise_mul(data, data, name="sq")
        return sym.broadcast_add(prod, sym.exp(data, name="e"), name="sum"), {"data": (2, 3)}
    fc = sym.FullyConnected(data, num_hidden=4, no_bias=True, name="fc1")
    act = sym.Activation(fc, act_type="sigmoid", name="sig")
    return sym.softmax(act, axis=-1, name="sm"), {"data": (3, 5)}


def record(mx, case, monitor_all):
    """The names the monitor sees for one forward of ``case``."""
    net, shapes = build(mx, case)
    exe = net.simple_bind(mx.cpu(), grad_req="null", **shapes)
    names = []
    exe.set_monitor_callback(lambda name, array: names.append(mx.base.py_str(name)),
                             monitor_all)
    exe.forward(is_train=False)
    return names


def main():
    sys.path.insert(0, HERE)
    # the reference build is MKLDNN's: without this it fuses FullyConnected + Activation into
    # one subgraph node, which mxlite (like MXNet's plain CPU build) does not
    os.environ["MXNET_SUBGRAPH_BACKEND"] = "NONE"
    import mxnet as mx

    from golden_json import write_json

    write_json(OUT, {f"{case}/{int(m)}": record(mx, case, m)
                     for case in CASES for m in (False, True)})


if __name__ == "__main__":
    main()
