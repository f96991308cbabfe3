"""The direct float32 1x1 convolution kernels (:mod:`mxlite.kernels.conv_pointwise`).

Convolution takes them for 1x1 pad-0 kernels of stride 1 or 2, one group, 4 to 64 channels in
float32 (:func:`mxlite.operator.nn.convolution._pointwise_ok`), for the output, the data
gradient and the weight gradient.  Checked here against the float64 reference of
``conv_reference.py`` at float32's precision: through the operator (which kernels ran, one
thread and two, with and without the data gradient, bias, the epilogue hook), kernel by
kernel over every tile and tail (image sizes around the 16-pixel vector and the 48-pixel
tile, channel counts around the 4- and 8-channel blocks), and the executor's fused epilogue.
Float64 does not take this path: its numerical gradient check runs on im2col + GEMM.
"""

from __future__ import annotations

import os

import numba
import numpy as np
import pytest
from conv_reference import check_float32_results, close, reference, reference_grads
from gradcheck import check_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.kernels import conv_pointwise as kernels
from mxlite.operator import get
from mxlite.operator.nn import convolution as conv


@pytest.fixture
def spy(monkeypatch):
    """The names of the pointwise kernels called (in order), each called for real."""
    calls = []
    for name in ("forward", "data_grad", "weight_grad"):
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name,
                            lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    return calls


def _run(n, c, h, w, f, s, need_dx=True, bias=True, threads=1, seed=0, dtype=np.float32):
    """Forward and backward of a 1x1 Convolution; ``(x, w, b, dy, y, dx, dw, db)``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((f, c, 1, 1)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    op = get("Convolution")
    p = op.parse_params({"kernel": (1, 1), "stride": (s, s), "num_filter": f,
                         "no_bias": not bias})
    inputs = [x, wt, b] if bias else [x, wt]
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        (y,), saved = op.forward(p, inputs, [], True)
        dy = rng.standard_normal(y.shape).astype(dtype)
        grads = op.backward(p, [dy], inputs, [y], [], saved,
                            need=(need_dx, True, True) if bias else (need_dx, True))
    finally:
        numba.set_num_threads(before)
    dx, dw = grads[:2]
    db = grads[2] if bias else dy.astype(np.float64).sum(axis=(0, 2, 3))
    return x, wt, b if bias else np.zeros(f, dtype), dy, y, dx, dw, db


# id, N, C, H, W, F, stride
SHAPES = [
    ("16to16_32x32", 3, 16, 32, 32, 16, 1),  # ResNet-20's first shortcut
    ("16to32_32x32_s2", 3, 16, 32, 32, 32, 2),
    ("32to64_16x16_s2", 2, 32, 16, 16, 64, 2),
    ("64to64_8x8", 2, 64, 8, 8, 64, 1),
    ("5to7_3x3", 2, 5, 3, 3, 7, 1),  # 9 pixels: a 16-lane scratch; 7 channels: blocks of 4
    ("6to12_5x7_s2", 2, 6, 5, 7, 12, 2),  # odd sizes: 3 x 4 even pixels
    ("8to12_5x40_s2", 2, 8, 5, 40, 12, 2),  # even row of 20: one spread vector and a tail
    ("8to12_6x33_s2", 1, 8, 6, 33, 12, 2),  # odd width: the last column
    ("30to40_9x11", 2, 30, 9, 11, 40, 1),  # 99 pixels: 2 tiles of 48, 1 vector ending at 99
    ("20to6_7x7", 3, 20, 7, 7, 6, 1),  # 49 pixels, 6 channels: the 4-block ending at 6
    ("4to4_4x5_s2", 1, 4, 4, 5, 4, 2),  # the fewest channels taken
    ("12to20_1x1", 4, 12, 1, 1, 20, 1),  # one pixel
    ("96to80_8x8", 2, 96, 8, 8, 80, 1),  # wide on a small image: the weight gradient on GEMM
    ("72to128_9x7_s2", 2, 72, 9, 7, 128, 2),  # 20 output pixels
]


@pytest.mark.parametrize("threads", [1, 2], ids=["1thread", "2threads"])
@pytest.mark.parametrize("need_dx", [True, False], ids=["dx", "no_dx"])
@pytest.mark.parametrize("shape", SHAPES, ids=[s[0] for s in SHAPES])
def test_pointwise_matches_reference(shape, need_dx, threads, spy, monkeypatch):
    """Output, data, weight and bias gradients against the float64 reference, and the kernels
    that ran: the forward, then the data gradient (stride 1: the forward kernel on ``dy``;
    stride 2: its own), then the weight gradient (up to 64 channels; wider on im2col +
    GEMM)."""
    _, n, c, h, w, f, s = shape
    if threads == 2:
        if numba.config.NUMBA_NUM_THREADS < 2:
            pytest.skip("one core: no second thread")
        monkeypatch.setattr(conv, "PARALLEL_COLUMNS", 0)
    x, wt, b, dy, y, dx, dw, db = _run(n, c, h, w, f, s, need_dx, threads=threads,
                                       seed=hash(shape[0]) % 2**32)
    parts = 1 if threads == 1 else min(2, n)
    want = ["forward"] * parts
    if need_dx:
        want += ["forward" if s == 1 else "data_grad"] * parts
    if max(c, f) <= conv.POINTWISE_WEIGHT_GRAD_CHANNELS:
        want += ["weight_grad"] * parts
    assert spy == want
    check_float32_results(y, dx, dw, db, x, wt, b, dy, need_dx, stride=s)


# id, N, C, H, W, F, kwargs: what stays on im2col + GEMM
REFUSED = [
    ("float64", 2, 8, 6, 6, 8, {}, np.float64),
    ("pad1", 2, 8, 6, 6, 8, {"pad": (1, 1)}, np.float32),
    ("stride3", 2, 8, 7, 7, 8, {"stride": (3, 3)}, np.float32),
    ("stride_1x2", 2, 8, 6, 6, 8, {"stride": (1, 2)}, np.float32),
    ("groups2", 2, 8, 6, 6, 8, {"num_group": 2}, np.float32),
    ("3_channels", 2, 3, 6, 6, 8, {}, np.float32),
    ("3_filters", 2, 8, 6, 6, 3, {}, np.float32),
    ("80_channels_9x9", 1, 80, 9, 9, 16, {}, np.float32),  # 81 output pixels
    ("80_filters_9x9", 1, 16, 9, 9, 80, {}, np.float32),
    ("600_channels_4x4", 1, 600, 4, 4, 16, {}, np.float32),
    ("80_channels_3x3", 1, 80, 3, 3, 16, {}, np.float32),  # 9 output pixels
    ("kernel_1x3", 2, 8, 6, 6, 8, {"kernel": (1, 3)}, np.float32),
]


@pytest.mark.parametrize("case", REFUSED, ids=[r[0] for r in REFUSED])
def test_pointwise_refuses(case, spy):
    """Float64, padding, other strides, groups, fewer than 4 channels, more than 64 on an image
    of more than 64 or fewer than 16 output pixels, more than 512, and other kernels run on
    im2col + GEMM, with the right numbers."""
    _, n, c, h, w, f, kw, dtype = case
    rng = np.random.default_rng(1)
    groups = kw.get("num_group", 1)
    kernel = kw.get("kernel", (1, 1))
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((f, c // groups, *kernel)).astype(dtype)
    op = get("Convolution")
    p = op.parse_params({"kernel": kernel, "num_filter": f, "no_bias": True, **kw})
    (y,), saved = op.forward(p, [x, wt], [], True)
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx, dw = op.backward(p, [dy], [x, wt], [y], [], saved)
    assert spy == []
    geometry = {"stride": kw.get("stride", (1, 1))[0], "pad": kw.get("pad", (0, 0)),
                "groups": groups}
    if kw.get("stride") == (1, 2):
        y64 = reference(x.astype(np.float64)[:, :, :, ::2], wt.astype(np.float64),
                        groups=groups)
        close(y, y64)
        return
    x64, w64, dy64 = (a.astype(np.float64) for a in (x, wt, dy))
    close(y, reference(x64, w64, **geometry))
    want_dx, want_dw = reference_grads(x64, w64, dy64, **geometry)
    close(dx, want_dx)
    close(dw, want_dw)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_dilation_and_layout(layout, spy):
    """A 1x1 kernel reads one pixel whatever its dilation, and a channels-last call runs the
    channels-first operator on transposed arrays: both take the kernels, with the
    reference's numbers."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 8, 6, 7)).astype(np.float32)
    w = rng.standard_normal((12, 8, 1, 1)).astype(np.float32)
    op = get("Convolution")
    p = op.parse_params({"kernel": (1, 1), "stride": (2, 2), "dilate": (3, 3),
                         "num_filter": 12, "no_bias": True, "layout": layout})
    last = layout == "NHWC"
    xs, ws = (x.transpose(0, 2, 3, 1), w.transpose(0, 2, 3, 1)) if last else (x, w)
    (y,), _ = op.forward(p, [np.ascontiguousarray(xs), np.ascontiguousarray(ws)], [], False)
    want = reference(x.astype(np.float64), w.astype(np.float64), stride=2)
    close(y.transpose(0, 3, 1, 2) if last else y, want)
    assert spy == ["forward"]


def test_switch_routes(spy, monkeypatch):
    """``POINTWISE = False`` sends ResNet-20's shortcut shape back to im2col + GEMM (same
    numbers at float32's precision); True takes the kernels."""
    got = {}
    for on in (True, False):
        monkeypatch.setattr(conv, "POINTWISE", on)
        spy.clear()
        got[on] = _run(2, 16, 8, 8, 32, 2)[4:]
        assert bool(spy) == on
    for a, b in zip(got[True], got[False], strict=True):
        close(a, b.astype(np.float64))


GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "..", "golden", "conv_pointwise.npz"))
GOLDEN_CASES = sorted({k.split("/")[0] for k in GOLDEN.files})


@pytest.mark.parametrize("cid", GOLDEN_CASES)
def test_mxnet_parity(cid, spy):
    """MXNet 1.9.1's output and gradients (``tools/gen_golden_pointwise.py``, float32, its
    oneDNN CPU path) at float32's precision, through the direct 1x1 kernels."""
    g = {k.split("/")[1]: GOLDEN[k] for k in GOLDEN.files if k.startswith(cid + "/")}
    x, w, dy = g["x"], g["w"], g["dy"]
    stride = int(cid[1])  # the ids start s1_ or s2_
    bias = "b" in g
    op = get("Convolution")
    p = op.parse_params({"kernel": (1, 1), "stride": (stride, stride),
                         "num_filter": w.shape[0], "no_bias": not bias})
    inputs = [x, w, g["b"]] if bias else [x, w]
    (y,), saved = op.forward(p, inputs, [], True)
    grads = op.backward(p, [dy], inputs, [y], [], saved)
    assert "forward" in spy
    for name, got in zip(("y", "dx", "dw", "db"), [y, *grads], strict=False):
        close(got, g[name].astype(np.float64))


@pytest.mark.parametrize("s", [1, 2])
def test_float64_gradients_through_the_dispatcher(s):
    """The float64 1x1 convolution (im2col + GEMM, not this path) against finite
    differences, next to the float32 checks above."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 5, 5))
    w = rng.standard_normal((6, 4, 1, 1))
    b = rng.standard_normal(6)
    check_gradient("Convolution", {"kernel": (1, 1), "stride": (s, s), "num_filter": 6},
                   [x, w, b])


# (output channels, tile variant): each tile at and past its block
TILE_CHANNELS = [(f, var) for var, ocb in enumerate(kernels.OCB) for f in (4, 8, 9, 13, 24)
                 if f >= ocb]


@pytest.mark.parametrize("f_var", TILE_CHANNELS,
                         ids=[f"{f}ch_ocb{kernels.OCB[v]}" for f, v in TILE_CHANNELS])
@pytest.mark.parametrize("lead_soff", [(0, 0), (5, 3), (12, 15)],
                         ids=["lead0", "lead5_soff3", "lead12_soff15"])
@pytest.mark.parametrize("s", [1, 2])
@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (4, 4), (1, 17), (6, 8), (7, 7), (5, 20),
                                (10, 10)], ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_forward_every_tile_and_tail(hw, s, f_var, lead_soff):
    """:func:`conv_pointwise.forward` with either tile over output sizes around 16 and 48
    pixels (1, 15, 16, 17, 48, 49, 100 for stride 1) and channel counts around the blocks
    (the last block overlapping the one before), whole tiles from any first pixel (``lead``)
    and scratch from any offset; the output written everywhere (NaN before)."""
    f, var = f_var
    rng = np.random.default_rng(3)
    c = 5
    x = rng.standard_normal((2, c, *hw)).astype(np.float32)
    w2 = rng.standard_normal((f, c)).astype(np.float32)
    xs = x[:, :, ::s, ::s]
    out = np.full((2, f, *xs.shape[2:]), np.nan, np.float32)
    wpk, starts = kernels.pack_weight(w2, kernels.OCB[var])
    scratch = np.zeros(kernels.scratch_size(c, f, *xs.shape[2:], s), np.float32)
    kernels.forward(x, wpk, starts, var, s, *lead_soff, scratch, out)
    close(out, np.einsum("fc,ncyx->nfyx", w2.astype(np.float64), xs))


@pytest.mark.parametrize("lead_soff", [(0, 0), (12, 9)], ids=["lead0", "lead12_soff9"])
@pytest.mark.parametrize("c", [4, 7, 16])
@pytest.mark.parametrize("hw", [(1, 1), (2, 3), (4, 8), (5, 16), (6, 33), (8, 32), (9, 9)],
                         ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_stride2_data_grad_every_size(hw, c, lead_soff):
    """:func:`conv_pointwise.data_grad`: the even pixels of ``dx`` hold the gradient, every
    other pixel is zero (``dx`` starts as NaN), for widths with and without whole spread
    vectors, odd widths and heights."""
    rng = np.random.default_rng(4)
    h, w = hw
    f = 6
    dy = rng.standard_normal((2, f, (h + 1) // 2, (w + 1) // 2)).astype(np.float32)
    w2 = rng.standard_normal((f, c)).astype(np.float32)
    var = kernels.variant(c)
    wpk, starts = kernels.pack_weight(np.ascontiguousarray(w2.T), kernels.OCB[var])
    scratch = np.zeros(kernels.scratch_size(c, f, *dy.shape[2:], 2), np.float32)
    dx = np.full((2, c, h, w), np.nan, np.float32)
    kernels.data_grad(dy, wpk, starts, var, *lead_soff, scratch, dx)
    want = np.zeros(dx.shape)
    want[:, :, ::2, ::2] = np.einsum("fc,nfyx->ncyx", w2.astype(np.float64), dy)
    close(dx, want)


@pytest.mark.parametrize("lead_soff", [(0, 0), (4, 11), (12, 0)],
                         ids=["lead0", "lead4_soff11", "lead12"])
@pytest.mark.parametrize("block", [(16, 1), (48, 1), (1 << 20, 1), (0, 2), (0, 0)],
                         ids=["block16", "block48", "whole", "2images", "chosen"])
@pytest.mark.parametrize("s", [1, 2])
@pytest.mark.parametrize("cf", [(4, 4), (5, 9), (16, 16), (13, 6)],
                         ids=lambda cf: f"{cf[0]}to{cf[1]}")
@pytest.mark.parametrize("hw", [(1, 1), (4, 4), (7, 7), (8, 12), (11, 9), (8, 16)],
                         ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_weight_grad_every_size(hw, cf, s, block, lead_soff):
    """:func:`conv_pointwise.weight_grad`: vectors in pixel blocks of any length, blocks of
    two whole images or as :func:`grad_block` chooses, from any first pixel ``lead`` (the
    pixels before it and past the last whole vector in one zero-padded vector per row),
    scratch from any offset, overlapping channel blocks."""
    rng = np.random.default_rng(5)
    c, f = cf
    x = rng.standard_normal((3, c, *hw)).astype(np.float32)
    xs = x[:, :, ::s, ::s]
    oh, ow = xs.shape[2:]
    dy = rng.standard_normal((3, f, oh, ow)).astype(np.float32)
    fst, cst = kernels.blocks(f, kernels.GB), kernels.blocks(c, kernels.GB)
    acc = np.zeros((fst.size, cst.size, kernels.GB, kernels.GB, 16), np.float32)
    pixels, images = block
    if pixels == 0 and images == 0:
        pixels, images = kernels.grad_block(c, f, oh, ow)
    elif pixels == 0:  # whole images, two at a time
        pixels = max(16, oh * ow // 16 * 16)
    scratch = np.zeros(kernels.grad_scratch_size(c, f, oh, ow, s, images), np.float32)
    kernels.weight_grad(x, dy, s, pixels, images, *lead_soff, fst, cst, scratch, acc)
    got = kernels.unpack_weight_grad(acc, fst, cst)
    close(got, np.einsum("nfyx,ncyx->fc", dy.astype(np.float64), xs))


def test_lead_and_alignment():
    """:func:`conv_pointwise.lead`: the pixels to the first 64-byte boundary when every plane
    shares the arrays' offset from one, else 0; :func:`align_to` puts a scratch element at a
    given array's offset."""
    buf = np.empty(4096 + 64, np.float32)
    base = (-(buf.ctypes.data // 4)) % 16  # buf[base] is 64-byte aligned
    a = buf[base + 4:base + 4 + 1024]  # 16 bytes past a boundary: 12 pixels to the next
    b = buf[base + 2052:base + 2052 + 1024]
    px = kernels.ALIGN_PIXELS
    assert kernels.lead(px, a) == 12 and kernels.lead(px, a, b) == 12
    assert kernels.lead(px, a, buf[base:base + 64]) == 0  # different offsets
    assert kernels.lead(px - 16, a) == 0  # small images: not worth it
    assert kernels.lead(px + 1, a) == 0  # planes of an odd length: their offsets differ
    assert kernels.lead(px, buf[base:base + 64]) == 0
    scratch = np.empty(64, np.float32)
    for at in (0, 5, 37):
        soff = kernels.align_to(scratch, at, a)
        assert 0 <= soff < 16
        assert (scratch[soff + at:].ctypes.data - a.ctypes.data) % 64 == 0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(4, 24), f=st.integers(4, 24),
       h=st.integers(1, 13), w=st.integers(1, 13), s=st.sampled_from([1, 2]))
def test_pointwise_property(n, c, f, h, w, s):
    """Any batch, channel count and image size the kernels take: the operator's output and
    gradients match the float64 reference."""
    x, wt, b, dy, y, dx, dw, db = _run(n, c, h, w, f, s)
    check_float32_results(y, dx, dw, db, x, wt, b, dy, True, stride=s)


@pytest.mark.parametrize("bias", [False, True], ids=["no_bias", "bias"])
@pytest.mark.parametrize("s", [1, 2])
def test_epilogue_hook_sees_finished_chunks(s, bias, monkeypatch):
    """``post(out, a, b)`` runs once per finished chunk of images, in order and covering the
    batch, with those images' output (bias included) already final."""
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)  # one image per chunk
    rng = np.random.default_rng(6)
    n, c, h, w, f = 3, 8, 6, 6, 8
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((f, c, 1, 1)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    want = reference(x.astype(np.float64), wt.astype(np.float64), stride=s)
    if bias:
        want += b.reshape(1, -1, 1, 1)
    op = get("Convolution")
    p = op.parse_params({"kernel": (1, 1), "stride": (s, s), "num_filter": f,
                         "no_bias": not bias})
    seen = []

    def post(out, a, bnd):
        close(out[a:bnd], want[a:bnd])
        out[a:bnd] *= 2  # an epilogue working in place
        seen.append((a, bnd))

    (y,), _ = op.forward(p, [x, wt, b] if bias else [x, wt], [], False, post=post)
    assert seen == [(0, 1), (1, 2), (2, 3)]
    close(y, 2 * want)


@pytest.mark.parametrize("s", [1, 2])
def test_executor_fuses_the_epilogue(s, monkeypatch):
    """A 1x1 convolution followed by BatchNorm and relu in the executor: the fused plan hands
    :func:`convolution._pointwise` its epilogue and gives the unfused plan's numbers."""
    S = mx.sym
    data = S.Variable("data")
    c = S.Convolution(data, num_filter=16, kernel=(1, 1), stride=(s, s), no_bias=True,
                      name="c")
    h = S.Activation(S.BatchNorm(c, use_global_stats=True, fix_gamma=False, name="bn"),
                     act_type="relu", name="r")
    sym = S.SoftmaxOutput(S.FullyConnected(S.Flatten(h), num_hidden=3, name="fc"),
                          name="softmax")
    posts = []
    real = conv._pointwise
    monkeypatch.setattr(conv, "_pointwise", lambda *a, **k: posts.append(a[-1]) or real(*a, **k))
    outs = []
    for fused in (True, False):
        monkeypatch.setenv("MXLITE_FUSION", "1" if fused else "0")
        exe = sym.simple_bind(mx.cpu(), data=(3, 8, 6, 6))
        rng = np.random.default_rng(7)
        for name, arr in exe.arg_dict.items():
            arr[:] = rng.integers(0, 3, arr.shape[0]) if name == "softmax_label" else \
                rng.standard_normal(arr.shape) * 0.3
        for name, arr in exe.aux_dict.items():
            arr[:] = rng.uniform(0.5, 1.5, arr.shape) if name.endswith("var") else \
                rng.standard_normal(arr.shape) * 0.1
        exe.forward(is_train=False)
        outs.append(exe.outputs[0].asnumpy())
    assert callable(posts[0]) and posts[-1] is None  # fused: an epilogue; unfused: none
    np.testing.assert_array_equal(outs[0], outs[1])


def test_forward_keeps_accumulators_in_zmm_registers():
    """The forward kernel's LLVM function prefers 512-bit vectors and, on an AVX-512 CPU, its
    FMAs run on zmm registers with no zmm register moved to or from the stack among them.
    (A fresh uncached compile: cached code cannot be inspected.)"""
    import re

    import llvmlite.binding as llvm

    kernel = numba.njit(fastmath=True, nogil=True)(kernels._tiles.py_func)
    x = np.zeros(8 * 64, np.float32)
    wpk, starts = kernels.pack_weight(np.zeros((8, 8), np.float32), 8)
    kernel(x, 0, 8, 64, 64, wpk, starts, 0, np.zeros(8 * 64, np.float32), 0, 64, 0)
    sig = kernel.signatures[0]
    assert '"prefer-vector-width"="512"' in kernel.inspect_llvm(sig)
    if "+avx512f" in llvm.get_host_cpu_features().flatten().split(","):
        lines = kernel.inspect_asm(sig).splitlines()
        fmas = [i for i, line in enumerate(lines) if re.search(r"vfmadd\w+ps\s.*zmm", line)]
        assert len(fmas) >= 8 * 3
        spills = [line for line in lines[fmas[0]:fmas[-1]]
                  if re.search(r"zmm.*\(%rsp\)|\(%rsp\).*zmm", line)]
        assert not spills
