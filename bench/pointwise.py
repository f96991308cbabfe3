"""A/B of Convolution's direct 1x1 kernels (:mod:`mxlite.kernels.conv_pointwise`) against the
im2col + GEMM path they replace, on ResNet-20's projection shortcuts (batch 128, float32):
forward, backward with the data gradient and backward without it, the two paths interleaved
in one process (``convolution.POINTWISE`` switched per call), several rounds, medians.

    PYTHONPATH=src MXLITE_NUM_THREADS=1 python bench/pointwise.py        # process CPU time
    PYTHONPATH=src MXLITE_NUM_THREADS=2 python bench/pointwise.py        # wall time

One thread is timed by process CPU time (robust to a loaded machine), more by wall time.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

#: (label, N, C, H, W, F, stride)
SHAPES = [
    ("16->16 32x32", 128, 16, 32, 32, 16, 1),
    ("16->32 32x32 /2", 128, 16, 32, 32, 32, 2),
    ("32->64 16x16 /2", 128, 32, 16, 16, 64, 2),
    ("64->64 8x8", 128, 64, 8, 8, 64, 1),
    ("64->128 16x16 /2", 128, 64, 16, 16, 128, 2),
    ("128->128 8x8", 128, 128, 8, 8, 128, 1),
    ("128->128 16x16", 128, 128, 16, 16, 128, 1),
    ("256->256 8x8", 128, 256, 8, 8, 256, 1),
    ("128->256 8x8 /2", 128, 128, 8, 8, 256, 2),
    ("256->256 4x4", 128, 256, 4, 4, 256, 1),
    ("64->256 56x56", 8, 64, 56, 56, 256, 1),  # ResNet-50's bottlenecks, batch 8
    ("256->64 56x56", 8, 256, 56, 56, 64, 1),
    ("256->512 56x56 /2", 8, 256, 56, 56, 512, 2),
    ("512->512 4x4", 128, 512, 4, 4, 512, 1),
]


def _case(shape):
    from mxlite.operator import get

    _, n, c, h, w, f, s = shape
    rng = np.random.default_rng(0)
    op = get("Convolution")
    p = op.parse_params({"kernel": (1, 1), "stride": (s, s), "num_filter": f,
                         "no_bias": True})
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((f, c, 1, 1)).astype(np.float32)
    out = [np.empty((n, f, (h - 1) // s + 1, (w - 1) // s + 1), np.float32)]
    (y,), saved = op.forward(p, [x, wt], [], True)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    gout = [np.empty_like(x), np.empty_like(wt)]
    return {
        "fwd": lambda: op.forward(p, [x, wt], [], False, out=out),
        "bwd": lambda: op.backward(p, [dy], [x, wt], [y], [], saved, gout=gout),
        "bwd-no-dx": lambda: op.backward(p, [dy], [x, wt], [y], [], saved,
                                         need=(False, True), gout=gout),
    }


def main(argv=None):
    from mxlite.operator.nn import convolution

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--inner", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="substrings of shape labels to keep")
    ap.add_argument("--channels", type=int, default=convolution.POINTWISE_CHANNELS,
                    help="POINTWISE_CHANNELS (wider layers than that stay on im2col)")
    args = ap.parse_args(argv)
    convolution.POINTWISE_CHANNELS = args.channels
    threads = numba.get_num_threads()
    clock = time.process_time if threads == 1 else time.perf_counter
    print(f"{threads} thread(s), {'process CPU' if threads == 1 else 'wall'} ms, median of "
          f"{args.rounds} rounds; im2col -> direct 1x1")
    for shape in SHAPES:
        if args.only and not any(o in shape[0] for o in args.only):
            continue
        case = _case(shape)
        times = {(k, on): [] for k in case for on in (False, True)}
        for _ in range(args.rounds):
            for k, fn in case.items():
                for on in (False, True):
                    convolution.POINTWISE = on
                    fn()
                    t0 = clock()
                    for _ in range(args.inner):
                        fn()
                    times[k, on].append((clock() - t0) / args.inner * 1e3)
        convolution.POINTWISE = True
        cells = []
        for k in case:
            a, b = (statistics.median(times[k, on]) for on in (False, True))
            cells.append(f"{k} {a:6.2f} -> {b:5.2f}")
        print(f"{shape[0]:<18}" + "   ".join(cells))


if __name__ == "__main__":
    main()
