"""Regenerate ``tests/golden/gluon_op_hook.json`` from MXNet 1.9.1: what
``HybridBlock.register_op_hook`` reports for a few hybridized networks.

Run with the reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_op_hook.py

:func:`build` takes the ``mx`` module, so ``tests/gluon/test_op_hook.py`` builds the same
networks with mxlite.  For each case and ``monitor_all`` in (False, True) it stores the
``(node name, operator name)`` pairs in the order the hook sees them.
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "gluon_op_hook.json")

CASES = ["dense_relu", "conv_bn_pool", "concat_branches"]


def build(mx, case):
    """The hybridized, initialized network of ``case`` and its input."""
    nn = mx.gluon.nn
    net = nn.HybridSequential(prefix=f"{case}_")
    with net.name_scope():
        if case == "dense_relu":
            net.add(nn.Dense(3), nn.Activation("relu"), nn.Dense(2, activation="tanh"))
            x = mx.nd.ones((2, 4))
        elif case == "conv_bn_pool":
            net.add(nn.Conv2D(2, 3, padding=1), nn.BatchNorm(), nn.LeakyReLU(0.1),
                    nn.MaxPool2D(), nn.Flatten())
            x = mx.nd.ones((1, 1, 4, 4))
        else:
            net.add(_Branches(mx, prefix="br_"))
            x = mx.nd.ones((2, 3))
    net.initialize()
    net.hybridize()
    return net, x


def _Branches(mx, prefix):
    class Branches(mx.gluon.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.a = mx.gluon.nn.Dense(2)

        def hybrid_forward(self, F, x):
            y = self.a(x)
            return F.concat(F.sigmoid(y), y * 2, F.sum(x, axis=1, keepdims=True), dim=1)

    return Branches(prefix=prefix)


def record(mx, case, monitor_all):
    """The ``[name, op]`` pairs the hook sees for one forward."""
    with mx.name.NameManager():
        net, x = build(mx, case)
    seen = []

    def hook(name, op, array):
        seen.append([mx.base.py_str(name), mx.base.py_str(op)])

    net.register_op_hook(hook, monitor_all)
    net(x)
    return seen


def main():
    sys.path.insert(0, HERE)
    import mxnet as mx

    from golden_json import write_json

    write_json(OUT, {f"{case}/{int(m)}": record(mx, case, m)
                     for case in CASES for m in (False, True)})


if __name__ == "__main__":
    main()
