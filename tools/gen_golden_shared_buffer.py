"""Regenerate ``tests/golden/executor_shared_buffer.json`` from MXNet 1.9.1: what
``simple_bind(shared_buffer=...)`` without ``shared_exec`` puts into the buffer and which
arguments it takes from a pre-filled one.

Run with the reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_shared_buffer.py

:func:`record` takes the ``mx`` module, so ``tests/test_executor_shared_buffer.py`` runs the
same binds with mxlite.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "executor_shared_buffer.json")

# (id, shared_arg_names, grad_req)
CASES = [
    ("names-none", None, "write"),
    ("names-empty", [], "write"),
    ("names-weight", ["fc_weight"], "write"),
    ("names-params", ["fc_weight", "fc_bias"], "write"),
    ("names-data", ["data"], "write"),
    ("names-params-null", ["fc_weight", "fc_bias"], "null"),
    ("names-none-req-dict", None, {"fc_weight": "write", "data": "null"}),
]


def record(mx, names, grad_req):
    """``{"empty": keys after binding with an empty buffer, "filled": {argument: first value
    of its array}}`` where the second bind gets a buffer with every argument filled with 7."""
    import numpy as np

    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    net = mx.sym.SoftmaxOutput(fc, mx.sym.var("softmax_label"), name="softmax")
    buf = {}
    net.simple_bind(mx.cpu(), grad_req=grad_req, data=(2, 4), shared_arg_names=names,
                    shared_buffer=buf)
    filled = {name: mx.nd.array(np.full(arr.size, 7.0, np.float32))
              for name, arr in buf.items()}
    filled.update({n: mx.nd.array(np.full(16, 7.0, np.float32)) for n in net.list_arguments()})
    exe = net.simple_bind(mx.cpu(), grad_req=grad_req, data=(2, 4), shared_arg_names=names,
                          shared_buffer=filled)
    return {"empty": sorted(buf),
            "filled": {n: float(a.asnumpy().ravel()[0]) for n, a in exe.arg_dict.items()}}


def main():
    sys.path.insert(0, HERE)
    import mxnet as mx

    from golden_json import write_json

    write_json(OUT, {case: record(mx, names, req) for case, names, req in CASES})


if __name__ == "__main__":
    main()
