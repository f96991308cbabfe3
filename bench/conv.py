"""Convolution / pooling speed: a per-operator profile of a ``bench/fit.py`` model, and kernel
A/B timings of mxlite's Convolution against PyTorch's ``conv2d`` (and MXNet 1.9.1's when
``--mxnet PYTHON`` names its interpreter) on the layer shapes of ResNet-20, the VGG stack and
LeNet.

    PYTHONPATH=src python bench/conv.py profile resnet20 --mode train
    PYTHONPATH=src python bench/conv.py kernels [--mxnet /tmp/mxref/bin/python]
    PYTHONPATH=src python bench/conv.py direct [--against OLD/conv_direct.py] [--cold 1024]
                                                [--epilogue bn]
    PYTHONPATH=src python bench/conv.py step --against OLD/conv_direct.py

``profile`` wraps every registered operator's forward and backward with a timer and prints
the seconds per step by operator type (thread CPU time and wall time).  ``kernels`` prints, per
shape, the median time of forward, data-gradient and weight-gradient of each library (with
``--no-direct`` also mxlite without its direct 3x3 and small-image kernels, as ``im2col``) and
the ratios (mxlite time / other; below 1 means mxlite is faster); one library per worker
process (one thread: process CPU time, which a loaded machine disturbs little; more threads:
wall time).  ``direct`` times the direct 3x3 forward of ResNet-20's layers
(``convolution._direct``) and, with one thread, its input fill and output copy alone; with
``--against`` another copy of ``conv_direct.py`` (say the previous commit's; with the
``epilogue.py`` beside it, that copy-out too) runs interleaved with this one in the same
process, for an A/B (repeatable).  ``--epilogue bn`` / ``residual`` runs the copy-outs of the
ResNet-20 inference graph (BatchNorm + relu; the residual sum and BatchNorm + relu of it into
a second output); ``--cold MIB`` rotates the calls through buffers of more than ``MIB`` MiB,
so that each call finds its input, output and addend out of cache, as in the graph.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

#: (label, N, C, H, W, F, k, stride, pad) of the convolutions measured by ``kernels``
SHAPES = [
    ("r20-s1-3x3", 128, 16, 32, 32, 16, 3, 1, 1),
    ("r20-s2-3x3/2", 128, 16, 32, 32, 32, 3, 2, 1),
    ("r20-s2-3x3", 128, 32, 16, 16, 32, 3, 1, 1),
    ("r20-s2-1x1/2", 128, 16, 32, 32, 32, 1, 2, 0),
    ("r20-s3-3x3/2", 128, 32, 16, 16, 64, 3, 2, 1),
    ("r20-s3-3x3", 128, 64, 8, 8, 64, 3, 1, 1),
    ("r20-conv0", 128, 3, 32, 32, 16, 3, 1, 1),
    ("vgg-1_2", 32, 64, 64, 64, 64, 3, 1, 1),
    ("vgg-2_2", 32, 128, 32, 32, 128, 3, 1, 1),
    ("vgg-3_2", 32, 256, 16, 16, 256, 3, 1, 1),
    ("lenet-conv1", 64, 1, 28, 28, 20, 5, 1, 0),
    ("lenet-conv2", 64, 20, 12, 12, 50, 5, 1, 0),
]


# --------------------------------------------------------------------------- profile
def _shape_key(name, meth, args):
    """``name.meth`` plus the data shape and the kernel/stride/filters of a conv or pool call."""
    try:
        p, inputs = args[0], args[1] if meth == "forward" else args[2]
        shape = "x".join(str(d) for d in inputs[0].shape)
        extra = "".join(f" {k}={getattr(p, k)}" for k in ("num_filter", "kernel", "stride")
                        if k in p and getattr(p, k))
        return f"{name}.{meth} {shape}{extra}"
    except (AttributeError, IndexError, TypeError):
        return f"{name}.{meth}"


def profile(model, mode, steps, by_shape=False):
    import fit
    import mxlite as mx
    from mxlite.operator import registry

    registry._load_builtin()
    cpu = collections.defaultdict(float)
    wall = collections.defaultdict(float)
    calls = collections.Counter()
    patched = set()
    for op in set(registry._OPERATORS.values()):
        cls = type(op)
        if cls in patched:
            continue
        patched.add(cls)
        for meth in ("forward", "backward"):
            orig = getattr(cls, meth)  # maybe inherited: the wrapper goes on cls itself

            def timed(self, *a, _orig=orig, _name=cls.name, _meth=meth, **kw):
                key = _shape_key(_name, _meth, a) if by_shape and _name in (
                    "Convolution", "Deconvolution", "Pooling") else f"{_name}.{_meth}"
                c0, w0 = time.thread_time(), time.perf_counter()
                try:
                    return _orig(self, *a, **kw)
                finally:
                    cpu[key] += time.thread_time() - c0
                    wall[key] += time.perf_counter() - w0
                    calls[key] += 1

            setattr(cls, meth, timed)
    step, _ = fit.mx_setup(mx, model, mode)
    for _ in range(3):
        step()
    cpu.clear()
    wall.clear()
    calls.clear()
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(steps):
        step()
    total_cpu, total_wall = (time.process_time() - c0) / steps, (time.perf_counter() - w0) / steps
    print(f"{model} {mode}: {total_wall * 1e3:.1f} ms/step wall, {total_cpu * 1e3:.1f} ms "
          f"process CPU ({os.environ.get('MXLITE_NUM_THREADS', 'default')} threads)")
    width = max(28, *(len(k) + 2 for k in wall))
    print(f"{'operator':<{width}}{'wall ms':>9}{'share':>7}{'thr-CPU ms':>11}{'calls':>7}")
    for key in sorted(wall, key=wall.get, reverse=True):
        print(f"{key:<{width}}{wall[key] / steps * 1e3:9.2f}"
              f"{wall[key] / steps / total_wall:7.1%}{cpu[key] / steps * 1e3:11.2f}"
              f"{calls[key] // steps:7d}")
    rest = total_wall - sum(wall.values()) / steps
    print(f"{'(outside operators)':<{width}}{rest * 1e3:9.2f}{rest / total_wall:7.1%}")


# --------------------------------------------------------------------------- kernels
def _mx_case(mx, shape):
    """Closures running forward, data-grad+weight-grad of one conv in mxlite or MXNet."""
    import numpy as np

    _, n, c, h, w, f, k, s, p = shape
    rng = np.random.default_rng(0)
    x = mx.nd.array(rng.standard_normal((n, c, h, w)).astype(np.float32))
    wt = mx.nd.array(rng.standard_normal((f, c, k, k)).astype(np.float32) * 0.1)
    data = mx.sym.Variable("data")
    sym = mx.sym.Convolution(data, kernel=(k, k), stride=(s, s), pad=(p, p), num_filter=f,
                             no_bias=True, name="conv")
    ex = sym.simple_bind(mx.cpu(), data=(n, c, h, w), grad_req="write")
    ex.arg_dict["data"][:] = x
    ex.arg_dict["conv_weight"][:] = wt
    ex.forward(is_train=True)
    dy = mx.nd.ones(ex.outputs[0].shape)

    def fwd():
        ex.forward(is_train=False)
        ex.outputs[0].wait_to_read()

    def bwd():
        ex.forward(is_train=True)
        ex.backward([dy])
        ex.grad_dict["data"].wait_to_read()
        ex.grad_dict["conv_weight"].wait_to_read()

    return {"fwd": fwd, "fwd+bwd": bwd}


def _torch_case(shape):
    import torch

    _, n, c, h, w, f, k, s, p = shape
    torch.manual_seed(0)
    x = torch.randn(n, c, h, w, requires_grad=True)
    wt = (torch.randn(f, c, k, k) * 0.1).requires_grad_(True)

    def fwd():
        with torch.no_grad():
            torch.nn.functional.conv2d(x, wt, stride=s, padding=p)

    def bwd():
        y = torch.nn.functional.conv2d(x, wt, stride=s, padding=p)
        y.backward(torch.ones_like(y))

    return {"fwd": fwd, "fwd+bwd": bwd}


def _median_time(fn, reps, inner, clock):
    import statistics

    times = []
    for _ in range(reps):
        t0 = clock()
        for _ in range(inner):
            fn()
        times.append((clock() - t0) / inner)
    return statistics.median(times)


def kernel_worker(lib, shapes, reps, threads):
    if lib == "torch":
        import torch

        torch.set_num_threads(threads)
        cases = [_torch_case(s) for s in shapes]
    else:
        import importlib

        mx = importlib.import_module(lib.split(":")[0])
        if lib == "mxlite:im2col":  # the paths before the direct and small-image kernels
            from mxlite.operator.nn import convolution

            convolution.DIRECT = False
            convolution.SMALL = False
        cases = [_mx_case(mx, s) for s in shapes]
    # one thread: process CPU time, robust to a loaded machine; more: wall time
    clock = time.process_time if threads == 1 else time.perf_counter
    out = []
    for case in cases:
        for fn in case.values():
            fn()
        out.append({k: _median_time(fn, reps, 2, clock) for k, fn in case.items()})
    return out


def kernels(args):
    shapes = [s for s in SHAPES if not args.only or any(o in s[0] for o in args.only)]
    libs = [("mxlite", sys.executable, "mxlite")]
    if args.no_direct:
        libs.append(("im2col", sys.executable, "mxlite:im2col"))
    libs.append(("torch", sys.executable, "torch"))
    if args.mxnet:
        libs.append(("mxnet", args.mxnet, "mxnet"))
    env = dict(os.environ, MXLITE_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    results = {}
    for label, python, lib in libs:
        cmd = [python, os.path.abspath(__file__), "_worker", lib, json.dumps(shapes),
               str(args.reps), str(args.threads)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode:
            print(f"{label} failed:\n{proc.stderr[-2000:]}")
            continue
        results[label] = json.loads(proc.stdout.strip().splitlines()[-1])
    others = [lb for lb in results if lb != "mxlite"]
    head = f"{'shape':<14}{'pass':<9}" + "".join(f"{lb + ' ms':>11}" for lb in results)
    head += "".join(f"{'/' + lb:>9}" for lb in others)
    print(head)
    for i, shape in enumerate(shapes):
        for pas in ("fwd", "fwd+bwd"):
            row = f"{shape[0]:<14}{pas:<9}"
            row += "".join(f"{results[lb][i][pas] * 1e3:11.2f}" for lb in results)
            if "mxlite" in results:
                row += "".join(f"{results['mxlite'][i][pas] / results[lb][i][pas]:9.2f}"
                               for lb in others)
            print(row)


# --------------------------------------------------------------------------- direct
#: (label, C, H=W, F, stride) of the direct forward's layers (ResNet-20, batch 128)
DIRECT_SHAPES = [("16ch 32x32", 16, 32, 16, 1), ("32ch 16x16", 32, 16, 32, 1),
                 ("64ch 8x8", 64, 8, 64, 1), ("16->32ch /2", 16, 32, 32, 2),
                 ("32->64ch /2", 32, 16, 64, 2), ("3->16ch 32x32", 3, 32, 16, 1)]


def _load_kernels(path, name="_against"):
    """A copy of ``conv_direct.py`` at ``path``, imported as ``mxlite.kernels.<name>``; with an
    ``epilogue.py`` beside it, that copy's copy-out too (imported as ``<name>_epilogue``, the
    kernel's import of it rewritten in a copy of its source under the temporary directory),
    and with a ``conv_winograd_thin.py`` as well, that kernel on that copy-out (the module's
    ``bench_thin_kernels``, which ``step`` swaps in with it)."""
    import hashlib
    import importlib.util
    import tempfile

    def load(module, file):
        spec = importlib.util.spec_from_file_location(f"mxlite.kernels.{module}", file)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = loaded
        spec.loader.exec_module(loaded)
        return loaded

    sibling = os.path.join(os.path.dirname(os.path.abspath(path)), "epilogue.py")
    if not os.path.exists(sibling):
        return load(name, path)
    with open(path) as f:
        source = f.read().replace("from .epilogue import", f"from .{name}_epilogue import")
    with open(sibling) as f:
        epilogue = f.read()
    thin_path = os.path.join(os.path.dirname(os.path.abspath(path)), "conv_winograd_thin.py")
    thin = ""
    if os.path.exists(thin_path):  # the thin Winograd kernel's store uses the copy-out too
        with open(thin_path) as f:
            thin = f.read().replace("from .epilogue import", f"from .{name}_epilogue import")
    # copies under a folder of their own: Numba's cache of a module is valid for its name only
    key = hashlib.sha1("\0".join((name, source, epilogue, thin)).encode()).hexdigest()[:12]
    folder = os.path.join(tempfile.gettempdir(), f"mxlite-bench-{key}")
    os.makedirs(folder, exist_ok=True)
    files = []
    for stem, text in ((f"{name}_epilogue", epilogue), ("conv_direct", source),
                       (f"{name}_thin", thin)):
        files.append(os.path.join(folder, f"{stem}.py"))
        if text and not os.path.exists(files[-1]):
            with open(files[-1], "w") as f:
                f.write(text)
    load(f"{name}_epilogue", files[0])
    module = load(name, files[1])
    if thin:
        module.bench_thin_kernels = load(f"{name}_thin", files[2])
    return module


def _parts(cd):
    """Numba drivers of ``cd``'s input fill and output copy over a batch, as its ``forward``
    runs them (``None`` where ``cd`` has no flat-plane fills)."""
    import numba

    if not hasattr(cd, "fill_flat"):
        return None

    @numba.njit(nogil=True)
    def fill(x, stride, xp):
        h, w = x.shape[2], x.shape[3]
        plane = cd.forward_geometry(h, w, stride, 1)[1]
        for n in range(x.shape[0]):
            if stride == 1:
                cd.fill_flat(x[n], plane, xp, h, h)
            else:
                cd.fill_phases(x[n], plane, xp)

    @numba.njit(nogil=True)
    def copy(yp, stride, out):
        h, w = out.shape[2] * stride, out.shape[3] * stride
        pitch, _, oh, ow, _, lp = cd.forward_geometry(h, w, stride, 1)
        for n in range(out.shape[0]):
            for f in range(out.shape[1]):
                for y in range(oh):
                    src = yp[f * lp + y * pitch:f * lp + y * pitch + ow]
                    dst = out[n, f, y]
                    for q in range(ow):
                        dst[q] = src[q]

    return fill, copy


#: the epilogues ``direct --epilogue`` runs (ResNet-20's in the inference graph): none, the
#: next BatchNorm + relu, or the residual sum into ``out`` and BatchNorm + relu of it into ``out2``
DIRECT_EPILOGUES = ("none", "bn", "residual")


def _direct_sets(c, hw, f, stride, epilogue, cold_mb, seed=0):
    """Distinct ``(x, out, Epilogue)`` buffers of one layer: enough of them that their bytes
    exceed ``cold_mb`` MiB (so a call that takes the next set finds it out of cache, as in the
    graph), one set where ``cold_mb`` is 0 (warm)."""
    import numpy as np

    from mxlite.kernels import epilogue as epi_mod

    rng = np.random.default_rng(seed)
    oh = (hw - 1) // stride + 1
    x0 = rng.standard_normal((128, c, hw, hw)).astype(np.float32)
    scale = rng.uniform(0.5, 1.5, f)
    shift = rng.uniform(-0.5, 0.5, f)
    add0 = rng.standard_normal((128, f, oh, oh)).astype(np.float32)
    per_set = x0.nbytes + add0.nbytes * (3 if epilogue == "residual" else 1)
    count = max(1, -(-(cold_mb << 20) // per_set)) if cold_mb else 1
    sets = []
    for _ in range(count):
        x = x0.copy()
        out = np.full((128, f, oh, oh), 0.0, np.float32)  # touched: no page faults timed
        if epilogue == "none":
            epi = epi_mod.Epilogue()
        elif epilogue == "bn":
            epi = epi_mod.Epilogue(scale=scale, shift=shift, relu=True)
        else:
            epi = epi_mod.Epilogue(scale=scale, shift=shift, relu=True, addend=add0.copy(),
                                   out2=np.full_like(out, 0.0))
        sets.append((x, out, epi))
    return sets


def _direct_row(cd_now, mods, shape, reps, clock, one_thread, epilogue="none", cold_mb=0):
    """One line of :func:`direct`: each kernel module's forward time on ``shape`` with the
    ``epilogue`` (:data:`DIRECT_EPILOGUES`), the modules interleaved call by call; with
    ``cold_mb`` the calls rotate through buffers of more than that many MiB
    (:func:`_direct_sets`), else (and with one thread) ``cd_now``'s fill and copy alone."""
    import numpy as np

    from mxlite.operator.nn import convolution

    label, c, hw, f, stride = shape
    rng = np.random.default_rng(0)
    w = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    oh = (hw - 1) // stride + 1
    sets = _direct_sets(c, hw, f, stride, epilogue, cold_mb)
    turn = [0]

    def runner(cd):
        plan = (stride, *cd.variant(hw, hw, stride, f))

        def run():
            x, out, epi = sets[turn[0] % len(sets)]
            turn[0] += 1
            saved = convolution._direct_kernels
            convolution._direct_kernels = cd
            try:
                convolution._direct(x, w, plan, out, epilogue=epi)
            finally:
                convolution._direct_kernels = saved

        for _ in range(max(2, len(sets))):
            run()
        return run

    runs = [(name, runner(cd), []) for name, cd in mods]
    for _ in range(reps):
        for _, run, times in runs:
            c0 = clock()
            run()
            times.append(clock() - c0)
    flops = 2 * 128 * f * c * 9 * oh * oh
    row = f"{label:<15}"
    for name, _, times in runs:
        ms = float(np.median(times)) * 1e3
        row += f"{name} {ms:6.2f} ({flops / ms / 1e6:4.0f} GFLOP/s)  "
    for name, _, times in runs[:-1]:  # each call's time over the one before ``now``'s
        ratios = [b / a for a, b in zip(times, runs[-1][2], strict=True)]
        row += f"now/{name} {float(np.median(ratios)):.3f}  "
    parts = _parts(cd_now) if one_thread and not cold_mb else None
    if parts is not None:
        x = sets[0][0]
        fill, copy = parts
        xs, ys = cd_now.scratch_sizes(c, hw, hw, f, stride, 0)
        xp, yp = np.zeros(xs, np.float32), np.zeros(ys, np.float32)
        out = np.empty((128, f, oh, oh), np.float32)
        fill(x, stride, xp)
        copy(yp, stride, out)
        tf = _median_time(lambda: fill(x, stride, xp), reps, 1, clock)
        tc = _median_time(lambda: copy(yp, stride, out), reps, 1, clock)
        row += f"now's fill {tf * 1e3:.2f}, copy {tc * 1e3:.2f}"
    return row


def direct(args):
    import numba

    from mxlite.kernels import conv_direct

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 2:  # the clock ramps up in a fresh process's first second
        pass
    mods = [("now", conv_direct)]
    for i, path in enumerate(args.against or ()):
        # named by the file, or its folder for copies named conv_direct.py
        stem = os.path.splitext(os.path.basename(path))[0]
        name = (os.path.basename(os.path.dirname(os.path.abspath(path))) if stem == "conv_direct"
                else stem) if len(args.against) > 1 else "against"
        mods.insert(i, (name, _load_kernels(path, f"_against{i or ''}")))
    threads = numba.get_num_threads()
    clock = time.process_time if threads == 1 else time.perf_counter
    print(f"direct 3x3 forward, batch 128, {threads} thread(s), "
          f"{'process CPU' if threads == 1 else 'wall'} ms, medians of {args.reps}, epilogue "
          f"{args.epilogue}, " + (f"cold (buffers > {args.cold} MiB)" if args.cold else "warm"))
    for shape in DIRECT_SHAPES:
        if args.only and not any(o in shape[0] for o in args.only):
            continue
        print(_direct_row(conv_direct, mods, shape, args.reps, clock, threads == 1,
                          args.epilogue, args.cold), flush=True)


# --------------------------------------------------------------------------- step
def step(args):
    """ResNet-20 inference steps (``bench/fit.py``'s ``resnet20-infer``) with this
    ``conv_direct`` and each ``--against`` copy in turn (with their ``epilogue.py`` and
    ``conv_winograd_thin.py`` where these lie beside it: :func:`_load_kernels`), step by step
    in one process: per kernel the median step time (one thread: process CPU) and each
    step's over the one just before it of the other kernel."""
    import numba
    import numpy as np

    import fit
    import mxlite as mx
    from mxlite.kernels import conv_direct, conv_winograd_thin
    from mxlite.operator.nn import convolution

    mods = [(f"against{i or ''}", _load_kernels(p, f"_against{i or ''}"))
            for i, p in enumerate(args.against or ())] + [("now", conv_direct)]
    run, _ = fit.mx_setup(mx, "resnet20", "infer")
    threads = numba.get_num_threads()
    clock = time.process_time if threads == 1 else time.perf_counter
    times = {name: [] for name, _ in mods}
    saved = convolution._direct_kernels, convolution._thin_kernels
    try:
        for rep in range(args.reps + 2):
            for name, cd in mods:
                convolution._direct_kernels = cd
                convolution._thin_kernels = getattr(cd, "bench_thin_kernels", conv_winograd_thin)
                c0 = clock()
                run()
                if rep >= 2:  # the first two compile and warm up
                    times[name].append(clock() - c0)
    finally:
        convolution._direct_kernels, convolution._thin_kernels = saved
    print(f"resnet20 inference step, batch 128, {threads} thread(s), "
          f"{'process CPU' if threads == 1 else 'wall'} ms, medians of {args.reps}")
    now = times["now"]
    for name, _ in mods:
        row = f"{name:<10}{float(np.median(times[name])) * 1e3:8.2f}"
        if name != "now":
            ratio = np.median([b / a for a, b in zip(times[name], now, strict=True)])
            row += f"   now/{name} {ratio:.3f}"
        print(row)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_worker":
        lib, shapes, reps, threads = argv[1], json.loads(argv[2]), int(argv[3]), int(argv[4])
        print(json.dumps(kernel_worker(lib, shapes, reps, threads)))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("profile", help="per-operator times of one bench/fit.py model")
    pp.add_argument("model", choices=("lenet", "resnet20", "vgg"))
    pp.add_argument("--mode", choices=("train", "infer"), default="train")
    pp.add_argument("--steps", type=int, default=5)
    pp.add_argument("--by-shape", action="store_true",
                    help="one row per convolution / pooling shape")
    kp = sub.add_parser("kernels", help="conv kernel times against PyTorch (and MXNet)")
    kp.add_argument("--mxnet", help="python of an MXNet 1.9.1 install")
    kp.add_argument("--threads", type=int, default=2)
    kp.add_argument("--reps", type=int, default=5)
    kp.add_argument("--only", nargs="*", help="substrings of shape labels to keep")
    kp.add_argument("--no-direct", action="store_true",
                    help="also time mxlite without the direct 3x3 and small-image kernels "
                         "('im2col')")
    dp = sub.add_parser("direct", help="the direct 3x3 forward of ResNet-20's layers")
    dp.add_argument("--against", action="append",
                    help="another conv_direct.py to time interleaved with this one (repeatable: "
                         "each named by its file name)")
    dp.add_argument("--reps", type=int, default=9)
    dp.add_argument("--epilogue", choices=DIRECT_EPILOGUES, default="none",
                    help="what the copy-out applies (bn: BatchNorm + relu; residual: the sum "
                         "into out, BatchNorm + relu of it into a second output)")
    dp.add_argument("--cold", type=int, default=0, metavar="MIB",
                    help="rotate through buffers of more than MIB MiB (> L3: cold data)")
    dp.add_argument("--only", nargs="*", help="substrings of layer labels to keep")
    sp = sub.add_parser("step", help="ResNet-20 inference steps, this conv_direct against others")
    sp.add_argument("--against", action="append", help="another conv_direct.py (repeatable)")
    sp.add_argument("--reps", type=int, default=15)
    args = ap.parse_args(argv)
    if args.cmd == "profile":
        profile(args.model, args.mode, args.steps, args.by_shape)
    elif args.cmd == "direct":
        direct(args)
    elif args.cmd == "step":
        step(args)
    else:
        kernels(args)


if __name__ == "__main__":
    main()
