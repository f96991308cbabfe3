"""A/B of the thin-layer Winograd kernel against the direct kernel on ResNet-20's stride-1 3x3
layers (batch 128, float32), interleaved in one process, medians of several rounds.

    PYTHONPATH=src MXLITE_NUM_THREADS=1 python bench/conv_winograd_thin.py kernels
    PYTHONPATH=src MXLITE_NUM_THREADS=2 python bench/conv_winograd_thin.py kernels
    PYTHONPATH=src MXLITE_NUM_THREADS=1 python bench/conv_winograd_thin.py step --mode infer

``kernels`` times ``convolution._winograd_thin`` and ``convolution._direct`` on the same
arrays (the forward, the forward with a BatchNorm + relu epilogue, the data gradient; one
thread: process CPU time, robust to a loaded machine; more: wall time); ``step``
times whole ResNet-20 steps of ``bench/fit.py`` with ``convolution.WINOGRAD_THIN`` switched
on and off between steps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: (C = F, H = W) of ResNet-20's stride-1 3x3 layers
SHAPES = [(16, 32), (32, 16), (64, 8)]


def _clock():
    import numba

    return time.process_time if numba.get_num_threads() == 1 else time.perf_counter


def _ab(fns, rounds, clock):
    """Medians (ms) of the interleaved runs of ``fns`` (name -> callable)."""
    times = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {name: float(np.median(t)) * 1e3 for name, t in times.items()}


def _cases(conv, x, w, wf, plan, out, bn):
    """name -> (direct, thin Winograd) callables of :func:`kernels`."""
    return {
        "forward": (lambda: conv._direct(x, w, plan, out),
                    lambda: conv._winograd_thin(x, w, out)),
        "forward+bn+relu": (lambda: conv._direct(x, w, plan, out, epilogue=bn),
                            lambda: conv._winograd_thin(x, w, out, epilogue=bn)),
        "data gradient": (lambda: conv._direct(x, wf, plan, out),
                          lambda: conv._winograd_thin(x, wf, out)),
    }


def kernels(rounds: int) -> None:
    """Per layer shape: the forward without and with a BatchNorm + relu epilogue (the
    :class:`mxlite.kernels.epilogue.Epilogue` each kernel applies in its copy-out / store)
    and the data gradient (the convolution of ``dy`` with the flipped weights)."""
    from mxlite.kernels import conv_direct
    from mxlite.kernels import epilogue as epi_mod
    from mxlite.operator.nn import convolution as conv

    clock = _clock()
    rng = np.random.default_rng(0)
    print(f"batch 128, {clock.__name__}, median of {rounds}")
    for c, hw in SHAPES:
        x = np.maximum(rng.standard_normal((128, c, hw, hw)), 0).astype(np.float32)
        w = (rng.standard_normal((c, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        wf = conv_direct.flipped(w)
        out = np.empty_like(x)
        bn = epi_mod.Epilogue(scale=rng.uniform(0.5, 2, c), shift=rng.standard_normal(c),
                              relu=True)
        plan = (1, *conv_direct.variant(hw, hw, 1, c))
        cases = _cases(conv, x, w, wf, plan, out, bn)
        for what, (direct, thin) in cases.items():
            t = _ab({"direct": direct, "winograd_thin": thin}, rounds, clock)
            print(f"{c}ch {hw}x{hw} {what}: direct {t['direct']:.2f} ms, thin Winograd "
                  f"{t['winograd_thin']:.2f} ms ({t['winograd_thin'] / t['direct']:.2f}x)")


def step(mode: str, rounds: int) -> None:
    import fit
    import mxlite as mx
    from mxlite.operator.nn import convolution as conv

    clock = _clock()
    run, _ = fit.mx_setup(mx, "resnet20", mode)

    def switched(on):
        def go():
            conv.WINOGRAD_THIN = on
            run()
        return go

    t = _ab({"on": switched(True), "off": switched(False)}, rounds, clock)
    conv.WINOGRAD_THIN = True
    print(f"resnet20 {mode} ({clock.__name__}, median of {rounds}): thin Winograd on "
          f"{t['on']:.1f} ms/step, off (direct) {t['off']:.1f} ms/step "
          f"({t['on'] / t['off']:.3f}x)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    kp = sub.add_parser("kernels")
    kp.add_argument("--rounds", type=int, default=9)
    sp = sub.add_parser("step")
    sp.add_argument("--mode", choices=("infer", "train"), default="infer")
    sp.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    if args.cmd == "kernels":
        kernels(args.rounds)
    else:
        step(args.mode, args.rounds)


if __name__ == "__main__":
    main()
