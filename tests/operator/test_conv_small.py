"""The shifted-plane kernels of small-image convolutions (:mod:`mxlite.kernels.conv_small`).

Float32 stride-1 convolutions with kernels of 25 taps or more and at most 1024 output pixels
(LeNet's 5x5 layers) run the forward, the data gradient and the weight gradient on these
kernels instead of im2col + GEMM.  Each is compared here with a float64 NumPy reference (one
``einsum`` per kernel tap) at float32's precision, on the shapes the dispatch takes and on
edge shapes forced onto the kernels (thresholds patched): batch 1, one input channel, output
channels and pixel counts that are not whole tiles, non-square kernels, padding, one image a
chunk, the batch split over two threads.
"""

from __future__ import annotations

import re

import numba
import numpy as np
import pytest
from conv_reference import check_float32_results, close

from mxlite.kernels import conv_small
from mxlite.operator import get
from mxlite.operator.nn import convolution as conv


@pytest.fixture
def counted(monkeypatch):
    """Calls of the three kernels, by name."""
    calls = {"forward": 0, "scatter": 0, "weight_grad": 0, "weight_gemm": 0}
    for name, fn in (("forward", "taps_forward"), ("scatter", "taps_scatter"),
                     ("weight_grad", "taps_weight_grad"), ("weight_gemm", "tap_columns")):
        real = getattr(conv_small, fn)

        def wrapped(*a, _real=real, _name=name):
            calls[_name] += 1
            return _real(*a)

        monkeypatch.setattr(conv_small, fn, wrapped)
    return calls


# id, N, C, H, W, F, (kh, kw), (pad_h, pad_w)
SHAPES = [
    ("lenet_conv1", 3, 1, 28, 28, 20, (5, 5), (0, 0)),
    ("lenet_conv2", 3, 20, 12, 12, 50, (5, 5), (0, 0)),
    ("batch1_c1_f1", 1, 1, 5, 5, 1, (5, 5), (0, 0)),
    ("f7_pad2", 2, 3, 9, 7, 7, (5, 5), (2, 2)),  # F and C kw not whole tiles; tails
    ("f17_5x3_pad20", 2, 3, 7, 6, 17, (5, 3), (2, 0)),
    ("3x4_pad12", 3, 2, 9, 11, 5, (3, 4), (1, 2)),
    ("7x7_out1", 2, 2, 7, 7, 3, (7, 7), (0, 0)),  # one output pixel
    ("cifar_5x5_pad2", 2, 3, 32, 32, 32, (5, 5), (2, 2)),  # 1024 pixels: 16 full tiles
    ("1x1_image_pad2", 2, 2, 1, 1, 3, (5, 5), (2, 2)),  # padding wider than the image
]
PATHS = ["chunked", "per_image", "threads"]


@pytest.mark.parametrize("weights", ["taps", "gemm"])
@pytest.mark.parametrize("need_dx", [True, False], ids=["dx", "no_dx"])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", SHAPES, ids=[s[0] for s in SHAPES])
def test_small_kernels_match_numpy_reference(shape, path, need_dx, weights, counted,
                                             monkeypatch):
    """Output (with bias) and both gradients against the float64 reference, the weight
    gradient by either of its two paths."""
    _, n, c, h, wd, f, k, pad = shape
    if path == "threads" and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    monkeypatch.setattr(conv, "SMALL_MIN_TAPS", 1)
    monkeypatch.setattr(conv, "SMALL_WEIGHT_GEMM_CHANNELS", 0 if weights == "gemm" else 1 << 30)
    monkeypatch.setattr(conv, "SMALL_BACKWARD_CHANNELS", 1 << 30)
    monkeypatch.setattr(conv, "SMALL_CHUNK_BYTES", 1 if path == "per_image" else 1 << 20)
    monkeypatch.setattr(conv, "PARALLEL_COLUMNS", 0 if path == "threads" else 1 << 62)
    rng = np.random.default_rng(hash(shape[0]) % 2**32)
    x = rng.standard_normal((n, c, h, wd)).astype(np.float32)
    w = rng.standard_normal((f, c, *k)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    op = get("Convolution")
    p = op.parse_params({"kernel": k, "pad": pad, "num_filter": f})
    threads = numba.get_num_threads()
    if path == "threads":
        numba.set_num_threads(2)
    try:
        (y,), saved = op.forward(p, [x, w, b], [], True)
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx, dw, db = op.backward(p, [dy], [x, w, b], [y], [], saved,
                                 need=(need_dx, True, True))
    finally:
        numba.set_num_threads(threads)
    assert counted["forward"] >= 1
    assert counted["weight_gemm" if weights == "gemm" else "weight_grad"] >= 1
    assert counted["weight_grad" if weights == "gemm" else "weight_gemm"] == 0
    assert bool(counted["scatter"]) == need_dx
    check_float32_results(y, dx, dw, db, x, w, b, dy, need_dx, pad=pad)


@pytest.mark.parametrize("nchw,f,params,dtype,fwd,bwd", [
    ((2, 1, 28, 28), 20, {"kernel": (5, 5)}, np.float32, True, True),
    ((2, 20, 12, 12), 50, {"kernel": (5, 5)}, np.float32, True, True),
    ((2, 3, 32, 32), 32, {"kernel": (5, 5), "pad": (2, 2)}, np.float32, True, True),
    ((2, 32, 16, 16), 8, {"kernel": (5, 5), "pad": (2, 2)}, np.float32, True, False),
    ((2, 20, 12, 12), 50, {"kernel": (5, 5)}, np.float64, False, False),
    ((2, 20, 12, 12), 50, {"kernel": (5, 5), "stride": (2, 2)}, np.float32, False, False),
    ((2, 20, 12, 12), 50, {"kernel": (5, 5), "dilate": (2, 2)}, np.float32, False, False),
    ((2, 20, 12, 12), 50, {"kernel": (5, 5), "num_group": 2}, np.float32, False, False),
    ((2, 4, 12, 12), 8, {"kernel": (3, 3), "pad": (1, 1)}, np.float32, False, False),
    ((1, 1, 37, 36), 2, {"kernel": (5, 5)}, np.float32, False, False),  # 33x32 > 1024
], ids=["lenet1", "lenet2", "cifar5x5", "c32_fwd_only", "float64", "stride2", "dilate2",
        "groups2", "3x3", "big_image"])
def test_small_kernels_are_taken_where_measured_faster(nchw, f, params, dtype, fwd, bwd,
                                                       counted):
    """The dispatch: LeNet-like float32 stride-1 layers of >= 25 taps and <= 1024 output
    pixels; the backward only up to 20 input channels; every other layer keeps its path."""
    op = get("Convolution")
    p = op.parse_params({"num_filter": f, "no_bias": True, **params})
    x = np.ones(nchw, dtype)
    w = np.ones((f, nchw[1] // p.num_group, *params["kernel"]), dtype)
    (y,), saved = op.forward(p, [x, w], [], True)
    op.backward(p, [np.ones_like(y)], [x, w], [y], [], saved)
    assert bool(counted["forward"]) == fwd
    assert bool(counted["weight_grad"] or counted["weight_gemm"]) == bool(counted["scatter"]) \
        == bwd
    # the weight gradient by GEMM from 16 input channels
    assert bool(counted["weight_gemm"]) == (bwd and nchw[1] >= 16)


def test_small_path_off_gives_the_same_numbers():
    """``SMALL = False`` (im2col + GEMM) and the shifted planes agree on LeNet's layers."""
    rng = np.random.default_rng(3)
    op = get("Convolution")
    p = op.parse_params({"kernel": (5, 5), "num_filter": 50})
    x = rng.standard_normal((4, 20, 12, 12)).astype(np.float32)
    w = rng.standard_normal((50, 20, 5, 5)).astype(np.float32)
    b = rng.standard_normal(50).astype(np.float32)
    dy = rng.standard_normal((4, 50, 8, 8)).astype(np.float32)
    got = {}
    for flag in (True, False):
        try:
            conv.SMALL = flag
            (y,), saved = op.forward(p, [x, w, b], [], True)
            got[flag] = [y, *op.backward(p, [dy], [x, w, b], [y], [], saved)]
        finally:
            conv.SMALL = True
    for a, b_ in zip(got[True], got[False], strict=True):
        close(a, b_)


def test_shifted_planes_definition():
    """``S[n, c kw + kx, y ow + xo] = xpad[n, c, y, xo + kx]``, zeros after the last row; and
    :func:`unshift_planes` is its adjoint (``<S(x), d> == <x, S^T(d)>``)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    ph, pw, kw, ow = 1, 2, 4, 8  # 7 + 2 pw - kw + 1 = 8
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    length = xp.shape[2] * ow + 5
    s = np.full((2, 3 * kw, length), np.nan, np.float32)
    conv_small.shifted_planes(x, ph, pw, kw, ow, s)
    for kx in range(kw):
        want = xp[:, :, :, kx:kx + ow].reshape(2, 3, -1)
        np.testing.assert_array_equal(s[:, kx::kw, :want.shape[2]], want)
    assert not s[:, :, xp.shape[2] * ow:].any()
    d = rng.standard_normal(s.shape).astype(np.float32)
    back = np.empty_like(x)
    conv_small.unshift_planes(d, ph, pw, kw, ow, back)
    np.testing.assert_allclose(np.vdot(s.astype(np.float64), d), np.vdot(x, back), rtol=1e-5)


def test_small_kernels_ask_for_512_bit_vectors():
    """The forward kernel's LLVM function carries ``prefer-vector-width=512``, and on an
    AVX-512 CPU its code has FMAs on zmm registers.  (A fresh uncached compile: cached code
    cannot be inspected.)"""
    import llvmlite.binding as llvm

    kernel = numba.njit(fastmath=True, nogil=True)(conv_small.taps_forward.py_func)
    wpk = np.zeros((1, 2, 3, conv_small.OCB), np.float32)
    kernel(np.zeros((1, 2, 160), np.float32), wpk, 8, np.zeros(conv_small.OCB, np.float32),
           np.zeros((1, 4, 80), np.float32))
    sig = kernel.signatures[0]
    assert '"prefer-vector-width"="512"' in kernel.inspect_llvm(sig)
    if "+avx512f" in llvm.get_host_cpu_features().flatten().split(","):
        assert re.search(r"vfmadd\w+ps\s[^\n]*zmm", kernel.inspect_asm(sig))
