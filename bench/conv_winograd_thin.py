"""A/B of the thin-layer Winograd kernel against the direct kernel on ResNet-20's stride-1 3x3
layers (batch 128, float32), interleaved in one process, medians of several rounds.

    PYTHONPATH=src MXLITE_NUM_THREADS=1 python bench/conv_winograd_thin.py kernels
    PYTHONPATH=src MXLITE_NUM_THREADS=2 python bench/conv_winograd_thin.py kernels
    PYTHONPATH=src MXLITE_NUM_THREADS=1 python bench/conv_winograd_thin.py step --mode infer
    PYTHONPATH=src MXLITE_NUM_THREADS=1 python bench/conv_winograd_thin.py step --against OLD.py

``kernels`` times ``convolution._winograd_thin`` and ``convolution._direct`` on the same
arrays (the forward, the forward with a BatchNorm + relu epilogue, the data gradient; one
thread: process CPU time, robust to a loaded machine; more: wall time); ``step``
times whole ResNet-20 steps of ``bench/fit.py`` with ``convolution.WINOGRAD_THIN`` switched
on and off between steps, or (``--against``) with this kernel module and another copy of it
(e.g. ``git show main:src/mxlite/kernels/conv_winograd_thin.py > OLD.py``) swapped between
steps, and the time of each thin Winograd layer in the graph (its inputs as the network
leaves them in the caches), per layer shape.
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


def _load_copy(path: str):
    """The kernel module at ``path`` (a copy of :mod:`mxlite.kernels.conv_winograd_thin`),
    imported as a sibling module of it."""
    import importlib.util

    name = "mxlite.kernels._thin_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _against(mode: str, rounds: int, path: str) -> None:
    """ResNet-20 steps with this kernel module and the copy at ``path`` swapped between
    steps; per layer shape, the median time of one thin Winograd layer (``_winograd_thin``:
    the weight transform, the kernel and its store) in each."""
    import fit
    import mxlite as mx
    from mxlite.operator.nn import convolution as conv

    clock = _clock()
    run, _ = fit.mx_setup(mx, "resnet20", mode)
    kernels = {"this": conv._thin_kernels, "against": _load_copy(path)}
    real = conv._winograd_thin
    layers = {name: {} for name in kernels}
    current = ["this"]

    def timed(x, w, *args, **kwargs):
        t0 = clock()
        real(x, w, *args, **kwargs)
        key = f"{x.shape[1]}->{w.shape[0]}ch {x.shape[2]}x{x.shape[3]}"
        layers[current[0]].setdefault(key, []).append(clock() - t0)

    def switched(name):
        def go():
            conv._thin_kernels = kernels[name]
            current[0] = name
            run()
        return go

    conv._winograd_thin = timed
    try:
        t = _ab({name: switched(name) for name in kernels}, rounds, clock)
    finally:
        conv._winograd_thin = real
        conv._thin_kernels = kernels["this"]
    print(f"resnet20 {mode} ({clock.__name__}, median of {rounds}): this kernel "
          f"{t['this']:.1f} ms/step, {path} {t['against']:.1f} ms/step "
          f"({t['this'] / t['against']:.3f}x)")
    for key in sorted(layers["this"]):
        a, b = (float(np.median(layers[name][key])) * 1e3 for name in ("this", "against"))
        count = len(layers["this"][key]) // (rounds + 1)
        print(f"  {key} ({count} a step): this {a:.2f} ms, against {b:.2f} ms "
              f"({a / b:.2f}x)")


def step(mode: str, rounds: int, against: str | None = None) -> None:
    if against is not None:
        _against(mode, rounds, against)
        return
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
    sp.add_argument("--against", metavar="FILE",
                    help="another copy of the kernel module to swap in between steps")
    args = ap.parse_args(argv)
    if args.cmd == "kernels":
        kernels(args.rounds)
    else:
        step(args.mode, args.rounds, args.against)


if __name__ == "__main__":
    main()
