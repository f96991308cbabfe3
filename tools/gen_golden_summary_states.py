"""Regenerate ``tests/golden/gluon_summary_states.txt`` from MXNet 1.9.1: ``Block.summary`` of
a recurrent layer called with its begin states (a list among the inputs, a tuple of an array
and a list as the output).

Run with the reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_summary_states.py
"""

from __future__ import annotations

import contextlib
import io
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "gluon_summary_states.txt")


def summary_text(mx) -> str:
    """What ``summary`` prints for an LSTM given its begin states (the test calls it too)."""
    net = mx.gluon.rnn.LSTM(30, prefix="lstm_")
    net.initialize()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        net.summary(mx.nd.ones((8, 4, 5)), net.begin_state(4))
    return buf.getvalue()


def main():
    import mxnet as mx

    text = summary_text(mx)
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, OUT)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
