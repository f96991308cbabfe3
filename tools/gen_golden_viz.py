"""MXNet 1.9.1's ``mx.viz.print_summary`` output for the nets below (tests/golden/viz/*.txt).

    /tmp/mxref/bin/python tools/gen_golden_viz.py
"""

import contextlib
import io
import os


def nets(mx):
    d = mx.sym.var("data")
    c = mx.sym.Convolution(d, kernel=(3, 3), num_filter=4, name="conv")
    b = mx.sym.BatchNorm(c, name="bn")
    a = mx.sym.Activation(b, act_type="relu", name="relu")
    f = mx.sym.FullyConnected(mx.sym.flatten(a, name="flat"), num_hidden=10, name="fc")
    conv = mx.sym.SoftmaxOutput(f, name="softmax")
    x1 = mx.sym.FullyConnected(mx.sym.var("a"), num_hidden=3, name="fa")
    x2 = mx.sym.FullyConnected(mx.sym.var("b"), num_hidden=3, name="fb", no_bias=True)
    two = mx.sym.elemwise_add(x1, x2, name="sum")
    return {
        "conv": (conv, {"data": (1, 3, 8, 8)}, {}),
        "two_inputs": (two, {"a": (2, 5), "b": (2, 7)}, {"line_length": 80}),
    }


def main():
    import mxnet as mx

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
                       "viz")
    os.makedirs(out, exist_ok=True)
    for name, (sym, shape, kwargs) in nets(mx).items():
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            mx.viz.print_summary(sym, shape=shape, **kwargs)
        with open(os.path.join(out, f"{name}.txt"), "w") as f:
            f.write(buf.getvalue())


if __name__ == "__main__":
    main()
