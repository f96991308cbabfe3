"""Benchmark of the fused ``RNN`` operator against PyTorch's (and MXNet 1.9.1's, if given).

Run ``python bench/rnn.py`` (``--quick``: fewer rounds).  For each case (mode, layers,
direction at ``T x N x I -> H``) it times, interleaved over several rounds, the inference
forward and a training step (forward + backward to data, parameters and states) of
``mx.nd.RNN`` and of ``torch.nn.LSTM/GRU/RNN`` with the same sizes, and prints medians of the
CPU time (``time.process_time``; set ``MXLITE_NUM_THREADS=1 OMP_NUM_THREADS=1`` for one thread)
and the ratio.  ``--mxnet /path/to/python`` also runs this file under MXNet 1.9.1's interpreter
(``--peer mxnet``) and adds its numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

CASES = [
    # mode, layers, bidirectional, T, N, I, H
    ("lstm", 2, False, 35, 32, 128, 128),
    ("lstm", 1, True, 35, 32, 128, 128),
    ("gru", 2, False, 35, 32, 128, 128),
    ("rnn_tanh", 2, False, 35, 32, 128, 128),
    ("lstm", 1, False, 20, 4, 32, 32),
]


def _median(fn, rounds):
    fn()  # warm up (compilation)
    times = []
    for _ in range(rounds):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return float(np.median(times))


def _mx_module():
    if "--peer" in sys.argv:
        import mxnet as mx  # the reference interpreter
    else:
        import mxlite as mx
    return mx


def run_mx(case, rounds):
    """``(inference_s, train_s)`` of mxlite (or MXNet under ``--peer mxnet``)."""
    mx = _mx_module()
    mode, layers, bi, T, N, I, H = case
    d = 2 if bi else 1
    sym = mx.sym.RNN(mx.sym.var("data"), state_size=H, num_layers=layers, bidirectional=bi,
                     mode=mode, name="rnn")
    shapes = dict(zip(sym.list_arguments(), sym.infer_shape(data=(T, N, I))[0], strict=True))
    rng = np.random.default_rng(0)
    args = [mx.nd.array(rng.uniform(-0.1, 0.1, shapes[k])) for k in sym.list_arguments()]
    params = dict(state_size=H, num_layers=layers, bidirectional=bi, mode=mode)
    for a in args:
        a.attach_grad()
    head = mx.nd.ones((T, N, d * H))

    def infer():
        mx.nd.RNN(*args, **params).wait_to_read()

    def train():
        with mx.autograd.record():
            y = mx.nd.RNN(*args, **params)
        y.backward(head)
        args[1].grad.wait_to_read()

    return _median(infer, rounds), _median(train, rounds)


def run_torch(case, rounds):
    import torch

    mode, layers, bi, T, N, I, H = case
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(mode)
    kw = {} if cls else {"nonlinearity": mode[4:]}
    net = (cls or torch.nn.RNN)(I, H, num_layers=layers, bidirectional=bi, **kw)
    x = torch.rand(T, N, I, requires_grad=True)

    def infer():
        with torch.no_grad():
            net(x)

    def train():
        y, _ = net(x)
        y.sum().backward()

    return _median(infer, rounds), _median(train, rounds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--mxnet", default=None, help="python of an MXNet 1.9.1 install")
    ap.add_argument("--peer", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    rounds = 3 if args.quick else 9
    if args.peer == "mxnet":
        print(json.dumps([run_mx(c, rounds) for c in CASES]))
        return
    mxnet = None
    if args.mxnet:
        cmd = [args.mxnet, __file__, "--peer", "mxnet"] + (["--quick"] if args.quick else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        mxnet = json.loads(out.strip().splitlines()[-1])
    print("| case | mxlite infer ms | torch infer ms | mxlite train ms | torch train ms |"
          + (" mxnet infer ms | mxnet train ms |" if mxnet else ""))
    print("|---|---|---|---|---|" + ("---|---|" if mxnet else ""))
    for k, case in enumerate(CASES):
        mode, layers, bi, T, N, I, H = case
        a = run_mx(case, rounds)
        b = run_torch(case, rounds)
        row = (f"| {mode} L{layers} {'bi' if bi else 'uni'} {T}x{N}x{I}->{H} | "
               f"{a[0] * 1e3:.2f} | {b[0] * 1e3:.2f} | {a[1] * 1e3:.2f} | {b[1] * 1e3:.2f} |")
        if mxnet:
            row += f" {mxnet[k][0] * 1e3:.2f} | {mxnet[k][1] * 1e3:.2f} |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
