"""Regenerate ``tests/golden/ctc_blank_label.json`` from MXNet 1.9.1: ``CTCLoss`` when a label
(within its given length) equals the blank channel.

Run with the reference interpreter::

    /tmp/mxref/bin/python tools/gen_golden_ctc_blank.py

:data:`CASES` gives the labels, lengths and blank choice; the data are seeded normal draws made
by :func:`inputs`, which the test (tests/operator/test_ctc_blank_label.py) calls too.  Stored:
the losses.  (Not the gradients: MXNet 1.9.1's gradient for such labels is not the derivative
of its loss -- off by up to 1.2 against its own finite differences in the first case; mxlite's
is checked against finite differences instead.)
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "ctc_blank_label.json")

T, N, C = 6, 2, 4

# (case id, blank_label, labels (N, 4), label lengths)
CASES = [
    ("last_blank_first_and_inside", "last", [[3, 1, 3, 0], [3, 3, 2, 0]], [3, 2]),
    ("first_blank_repeated", "first", [[0, 1, 0, 2], [2, 0, 0, 1]], [4, 3]),
    ("last_only_blanks", "last", [[3, 3, 0, 0], [1, 3, 2, 2]], [2, 4]),
]


def inputs(k):
    return np.random.RandomState(10 + k).standard_normal((T, N, C)).astype(np.float32)


def run(mx, k):
    _, blank, labels, lengths = CASES[k]
    data = mx.nd.array(inputs(k))
    data.attach_grad()
    with mx.autograd.record():
        loss = mx.nd.CTCLoss(data, mx.nd.array(labels), mx.nd.array(lengths),
                             use_label_lengths=True, blank_label=blank)
    loss.backward()
    return loss.asnumpy(), data.grad.asnumpy()


def main():
    sys.path.insert(0, HERE)
    import mxnet as mx

    from golden_json import write_json

    out = {}
    for k, case in enumerate(CASES):
        loss, _ = run(mx, k)
        out[case[0]] = {"loss": loss.tolist()}
    write_json(OUT, out)


if __name__ == "__main__":
    main()
