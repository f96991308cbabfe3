"""Every computation path of Convolution gives the same numbers.

The operator picks, per call: Winograd F(4x4, 3x3) or F(2x2, 3x3) (wide 3x3 stride-1
convolutions; whole images or blocks of tile rows per GEMM), the direct register-tiled kernel
(thin float32 3x3 pad-1 convolutions of stride 1 or 2), im2col of one image per chunk (the GEMM
writes the output in place) or of several (one GEMM, then a transposed copy), no im2col for 1x1
stride-1 kernels, and the batch split over threads.  Each
path is forced here (module thresholds patched) and compared in float64 with a NumPy
reference (one ``einsum`` per kernel tap) for the output and both gradients; float64 numerical
gradient checks run through the Winograd path.  The direct kernel is float32 only: it is
compared with the float64 reference at float32's precision.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from conv_reference import check_float32_results, close, reference, reference_grads, run_in_threads
from gradcheck import check_gradient

from mxlite.kernels import conv_direct, conv_winograd, epilogue
from mxlite.operator import get
from mxlite.operator.nn import convolution as conv


@pytest.fixture
def force(monkeypatch):
    """``force(path)``: make the operator take ``path``."""
    def apply(path):
        wino = path.startswith("winograd")
        monkeypatch.setattr(conv, "WINOGRAD_CHANNELS", 1 if wino else 1 << 30)
        monkeypatch.setattr(conv, "WINOGRAD_PIXELS", 1 if wino else 1 << 30)
        # winograd2*: F(2x2, 3x3), winograd*: F(4x4, 3x3), in every dtype
        tile = 2 if path.startswith("winograd2") else 4
        monkeypatch.setattr(conv, "WINOGRAD_TILE", tile)
        monkeypatch.setattr(conv, "WINOGRAD_TILE_FLOAT64", tile)
        # *_rows: blocks of one tile row (the transforms' ty0 / nty)
        for name in ("WINOGRAD_CHUNK_BYTES", "WINOGRAD_GRAD_CHUNK_BYTES"):
            monkeypatch.setattr(conv, name, 1 if path.endswith("_rows") else 4 << 20)
        monkeypatch.setattr(conv, "CHUNK_BYTES", 1 << 30 if path == "chunked" else 1)
        monkeypatch.setattr(conv, "PARALLEL_COLUMNS", 0 if path.endswith("threads")
                            else 1 << 62)
        monkeypatch.setattr(conv, "DIRECT", path.startswith("direct"))
    return apply


# id, N, C, H, W, F, kernel, stride, pad, dilate, groups
SHAPES = [
    ("3x3_pad1", 3, 4, 7, 9, 5, 3, 1, 1, 1, 1),
    ("3x3_pad0_odd", 2, 3, 6, 5, 4, 3, 1, 0, 1, 1),
    ("3x3_pad2", 2, 3, 5, 4, 2, 3, 1, 2, 1, 1),
    ("3x3_stride2", 3, 4, 8, 7, 6, 3, 2, 1, 1, 1),
    ("5x5_dilate2_group2", 2, 4, 11, 10, 6, 5, 1, 3, 2, 2),
    ("1x1", 4, 6, 5, 3, 3, 1, 1, 0, 1, 1),
    ("1x1_stride2", 3, 6, 5, 6, 4, 1, 2, 0, 1, 1),
]
PATHS = ["per_image", "chunked", "winograd", "winograd_rows", "winograd2", "winograd2_rows",
         "threads", "winograd_threads"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", SHAPES, ids=[s[0] for s in SHAPES])
def test_conv_paths_match_numpy_reference(shape, path, force):
    _, n, c, h, wd, f, k, s, pd, dl, g = shape
    if path.endswith("threads") and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    force(path)
    rng = np.random.default_rng(hash(shape[0]) % 2**32)
    x = rng.standard_normal((n, c, h, wd))
    w = rng.standard_normal((f, c // g, k, k))
    b = rng.standard_normal(f)
    op = get("Convolution")
    p = op.parse_params({"kernel": (k, k), "stride": (s, s), "pad": (pd, pd),
                         "dilate": (dl, dl), "num_filter": f, "num_group": g})
    threads = numba.get_num_threads()
    if path.endswith("threads"):
        numba.set_num_threads(2)
    try:
        (y,), saved = op.forward(p, [x, w, b], [], True)
        dy = rng.standard_normal(y.shape)
        dx, dw, db = op.backward(p, [dy], [x, w, b], [y], [], saved)
    finally:
        numba.set_num_threads(threads)
    want = reference(x, w, s, pd, dl, g) + b.reshape(1, f, 1, 1)
    np.testing.assert_allclose(y, want, rtol=1e-10, atol=1e-10)
    want_dx, want_dw = reference_grads(x, w, dy, s, pd, dl, g)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("path", PATHS[:6])
def test_conv_paths_float32_close_to_float64(path, force):
    force(path)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 8, 9, 10)), rng.standard_normal((6, 8, 3, 3))
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": 6, "no_bias": True})
    (y32,), saved = op.forward(p, [x.astype(np.float32), w.astype(np.float32)], [], True)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, reference(x, w, 1, 1, 1, 1), rtol=1e-4, atol=1e-4)
    dy = rng.standard_normal(y32.shape).astype(np.float32)
    dx, dw = op.backward(p, [dy], [x.astype(np.float32), w.astype(np.float32)], [y32], [],
                         saved)
    want_dx, want_dw = reference_grads(x, w, dy.astype(np.float64), 1, 1, 1, 1)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("path", ["winograd", "winograd_rows", "winograd2", "winograd2_rows"])
@pytest.mark.parametrize("pad", [0, 1, 2])
def test_winograd_gradients_float64(pad, path, force):
    force(path)
    rng = np.random.default_rng(pad)
    x, w, b = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((3, 2, 3, 3)), \
        rng.standard_normal(3)
    check_gradient("Convolution", {"kernel": (3, 3), "pad": (pad, pad), "num_filter": 3},
                   [x, w, b], rtol=1e-6, atol=1e-8)


def test_winograd_is_taken_for_wide_convolutions(monkeypatch):
    """The default thresholds send a VGG-like layer to Winograd and a ResNet-20 one not."""
    calls = []
    real = conv_winograd.input_transform4
    monkeypatch.setattr(conv_winograd, "input_transform4",
                        lambda *a: calls.append(1) or real(*a))
    op = get("Convolution")
    for c, hw, taken in ((64, 16, True), (16, 16, False), (64, 8, False)):
        calls.clear()
        p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": c, "no_bias": True})
        x = np.ones((1, c, hw, hw), np.float32)
        op.forward(p, [x, np.ones((c, c, 3, 3), np.float32)], [], False)
        assert bool(calls) == taken, (c, hw)


def test_winograd_transforms_match_definition():
    """B^T d B and A^T m A per tile against the matrices of the module docstring."""
    bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)
    rng = np.random.default_rng(1)
    xp = rng.standard_normal((2, 3, 6, 8))  # 2 x 3 tiles
    v = np.empty((16, 3, 2 * 6))
    conv_winograd.input_transform(xp, 0, 2, 3, v)
    for n, c, ty, tx in ((0, 0, 0, 0), (1, 2, 1, 2), (0, 1, 1, 0)):
        d = xp[n, c, 2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]
        np.testing.assert_allclose(v[:, c, n * 6 + ty * 3 + tx].reshape(4, 4), bt @ d @ bt.T)
    m = rng.standard_normal((16, 2, 2 * 6))
    out = np.empty((2, 2, 4, 5))  # odd width: the last tile column is cut
    conv_winograd.output_transform(m, 0, 2, 3, out)
    for n, f, ty, tx in ((0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 1, 2)):
        tile = at @ m[:, f, n * 6 + ty * 3 + tx].reshape(4, 4) @ at.T
        got = out[n, f, 2 * ty:2 * ty + 2, 2 * tx:2 * tx + 2]
        np.testing.assert_allclose(got, tile[:, :got.shape[1]])


def test_winograd4_transforms_match_definition():
    """F(4x4, 3x3): B4^T d B4, A4^T m A4 (cut at odd edges), A4 g A4^T and G4^T m G4 per tile
    against the module's matrices, and the matrices against the definition of a correlation."""
    bt, g, at = conv_winograd.B4T, conv_winograd.G4, conv_winograd.A4T
    rng = np.random.default_rng(4)
    d, k = rng.standard_normal(6), rng.standard_normal(3)
    np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), np.correlate(d, k, "valid"),
                               atol=1e-13)
    for pad_h, pad_w, hx, wx in ((0, 0, 10, 14), (1, 2, 9, 9), (2, 1, 7, 13)):
        x = rng.standard_normal((2, 3, hx, wx))  # 2 x 3 tiles of the padded image
        xp = np.zeros((2, 3, 10 + hx, 14 + wx))
        xp[:, :, pad_h:pad_h + hx, pad_w:pad_w + wx] = x
        v = np.empty((36, 3, 2 * 6))
        conv_winograd.input_transform4(x, pad_h, pad_w, 0, 2, 3, v)
        for n, c, ty, tx in ((0, 0, 0, 0), (1, 2, 1, 2), (0, 1, 1, 0), (1, 1, 1, 1)):
            tile = xp[n, c, 4 * ty:4 * ty + 6, 4 * tx:4 * tx + 6]
            np.testing.assert_allclose(v[:, c, n * 6 + ty * 3 + tx].reshape(6, 6),
                                       bt @ tile @ bt.T, atol=1e-12)
    m = rng.standard_normal((36, 2, 2 * 6))
    bias = np.array([0.25, -1.5])
    for width in (12, 11, 10, 9):  # the last tile column cut to 4, 3, 2, 1 pixels
        out = np.empty((2, 2, 7, width))  # the last tile row cut to 3 rows
        conv_winograd.output_transform4(m, bias, 0, 2, 3, out)
        for n, f, ty, tx in ((0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 1, 2), (1, 0, 0, 2)):
            tile = at @ m[:, f, n * 6 + ty * 3 + tx].reshape(6, 6) @ at.T + bias[f]
            got = out[n, f, 4 * ty:4 * ty + 4, 4 * tx:4 * tx + 4]
            np.testing.assert_allclose(got, tile[:got.shape[0], :got.shape[1]], atol=1e-12)
    a = at.T
    for hy, wy in ((8, 12), (7, 10), (5, 9)):  # zeros past the edges
        dy = rng.standard_normal((2, 2, hy, wy))
        dyp = np.zeros((2, 2, 8, 12))
        dyp[:, :, :hy, :wy] = dy
        u = np.empty((36, 2, 2 * 6))
        conv_winograd.grad_transform4(dy, 0, 2, 3, u)
        for n, f, ty, tx in ((0, 0, 0, 0), (1, 1, 1, 2), (0, 1, 1, 1)):
            tile = dyp[n, f, 4 * ty:4 * ty + 4, 4 * tx:4 * tx + 4]
            np.testing.assert_allclose(u[:, f, n * 6 + ty * 3 + tx].reshape(6, 6),
                                       a @ tile @ a.T, atol=1e-12)
    mm = rng.standard_normal((36, 2, 3))
    np.testing.assert_allclose(conv_winograd.weight_grad_output4(mm)[1, 2],
                               g.T @ mm[:, 1, 2].reshape(6, 6) @ g, atol=1e-13)


@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("shape", [(2, 64, 20, 20, 64, 1), (1, 64, 17, 19, 64, 0),
                                   (1, 64, 9, 10, 64, 2)], ids=["even", "odd_pad0", "pad2"])
def test_winograd_float32_error(shape, tile, monkeypatch):
    """Float32 Winograd against the float64 reference, for activations and weights at the
    scale of a trained layer: max |error| / max |exact| below 5e-5 (F(4x4, 3x3)) or 5e-6
    (F(2x2, 3x3)) for the output and both gradients (measured on the VGG layers: up to 1.2e-5
    and 1.3e-6)."""
    n, c, h, wd, f, pad = shape
    monkeypatch.setattr(conv, "WINOGRAD_TILE", tile)
    monkeypatch.setattr(conv, "WINOGRAD_PIXELS", 1)
    rng = np.random.default_rng(tile)
    x = np.maximum(rng.standard_normal((n, c, h, wd)), 0)
    w = rng.standard_normal((f, c, 3, 3)) * np.sqrt(2 / (9 * c))
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (pad, pad), "num_filter": f, "no_bias": True})
    x32, w32 = x.astype(np.float32), w.astype(np.float32)
    (y,), saved = op.forward(p, [x32, w32], [], True)
    dy = rng.standard_normal(y.shape)
    dx, dw = op.backward(p, [dy.astype(np.float32)], [x32, w32], [y], [], saved)
    want_dx, want_dw = reference_grads(x, w, dy, 1, pad, 1, 1)
    bound = 5e-5 if tile == 4 else 5e-6
    for got, want in ((y, reference(x, w, 1, pad, 1, 1)), (dx, want_dx), (dw, want_dw)):
        assert got.dtype == np.float32
        assert np.abs(got - want).max() / np.abs(want).max() < bound


# n, c, th, tw, tile, budget (bytes), (images per chunk, tile rows per block)
BLOCKS = [
    ("whole_images", 32, 256, 4, 4, 4, 2 << 20, (3, 4)),
    ("one_image", 32, 64, 16, 16, 4, 4 << 20, (1, 16)),
    ("equal_rows", 32, 64, 16, 16, 4, 2 << 20, (1, 8)),  # 14 rows fit: 8 + 8, not 14 + 2
    ("rows_of_one", 2, 8, 5, 5, 2, 1, (1, 1)),
]


@pytest.mark.parametrize("case", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_winograd_blocks(case):
    _, n, c, th, tw, tile, budget, want = case
    assert conv._winograd_blocks(n, c, th, tw, 4, tile, budget) == want


def test_threaded_convolutions_restore_the_blas_threads(force):
    """The one-thread BLAS hold ends with the last of concurrent convolutions."""
    from threadpoolctl import threadpool_info

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    force("threads")

    def blas_threads():
        return {i["filepath"]: i["num_threads"] for i in threadpool_info()
                if i["user_api"] == "blas"}

    before = blas_threads()
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": 4, "no_bias": True})
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((6, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3))
    want = reference(x, w, 1, 1, 1, 1)
    errors = []
    threads = numba.get_num_threads()
    numba.set_num_threads(2)

    def run():
        for _ in range(5):
            (y,), _ = op.forward(p, [x, w], [], False)
            errors.append(float(np.abs(y - want).max()))

    try:
        run_in_threads(run)
    finally:
        numba.set_num_threads(threads)
    assert len(errors) == 15 and max(errors) < 1e-10
    after = blas_threads()
    assert {k: after[k] for k in before} == before


# id, N, C, H, W, F, stride: shapes around what the direct kernels take: the output for
# stride 1 or 2, F a multiple of 4 and at most 64 channels, any image size; the data gradient
# likewise (C not a multiple of 4: computed for the next one and cut); the weight gradient for
# at most 64 channels and F a multiple of 16
DIRECT_SHAPES = [
    ("8to16_5x16", 3, 8, 5, 16, 16, 1),
    ("16to8_4x32", 2, 16, 4, 32, 8, 1),  # F = 8: the weight gradient on im2col + GEMM
    ("3to8_6x16", 2, 3, 6, 16, 8, 1),  # C = 3: dx for 4 channels, cut; dW on im2col
    ("3to16_6x16", 2, 3, 6, 16, 16, 1),  # C = 3, an RGB input
    ("3to32_6x8", 2, 3, 6, 8, 32, 1),  # C = 3, F = 32: dW with the pixels in the lanes (VGG)
    ("32to32_16x16", 2, 32, 16, 16, 32, 1),
    ("64to64_8x8", 2, 64, 8, 8, 64, 1),  # ResNet-20's third stage
    ("64to16_3x8", 2, 64, 3, 8, 16, 1),
    ("5to12_7x9", 1, 5, 7, 9, 12, 1),  # odd sizes, batch 1, F = 12: the 4-channel tile only
    ("6to16_5x5", 2, 6, 5, 5, 16, 1),  # C = 6: dx for 8 channels, cut
    ("12to4_1x1", 2, 12, 1, 1, 4, 1),  # one pixel: only padding around it
    ("6to6_5x5", 2, 6, 5, 5, 6, 1),  # F = 6: refused, im2col + GEMM
    ("80to16_4x4", 1, 80, 4, 4, 16, 1),  # 80 channels: refused
    ("16to32_32x32_s2", 1, 16, 32, 32, 32, 2),  # ResNet-20's strided layers
    ("32to64_16x16_s2", 1, 32, 16, 16, 64, 2),
    ("8to16_9x7_s2", 2, 8, 9, 7, 16, 2),  # odd sizes: the phases differ in size
    ("4to4_1x2_s2", 1, 4, 1, 2, 4, 2),
    ("3to16_6x6_s2", 2, 3, 6, 6, 16, 2),  # C = 3: dx for 4 channels, cut
    ("8to6_5x8_s2", 2, 8, 5, 8, 6, 2),  # F = 6: the output and dW on im2col, dx direct
]


@pytest.mark.parametrize("need_dx", [True, False], ids=["dx", "no_dx"])
@pytest.mark.parametrize("path", ["direct", "direct_threads"])
@pytest.mark.parametrize("shape", DIRECT_SHAPES, ids=[s[0] for s in DIRECT_SHAPES])
def test_direct_kernels_match_numpy_reference(shape, path, need_dx, force, monkeypatch):
    """Output and gradients against the float64 reference, with and without the data
    gradient, in one thread and two (the direct kernels and the im2col / col2im paths they
    leave over, per chunk of images)."""
    _, n, c, h, wd, f, s = shape
    if path == "direct_threads" and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    force(path)
    # the direct kernels themselves: the thin Winograd kernel, which takes some of these
    # stride-1 shapes when on, has its tests in test_conv_winograd_thin.py
    monkeypatch.setattr(conv, "WINOGRAD_THIN", False)
    calls, wcalls = [], []
    real, real_s2 = conv_direct.forward, conv_direct.data_grad_s2

    def spy(x, wpk, var, stride, *rest):
        calls.append((x.shape[1], wpk.size, stride))
        return real(x, wpk, var, stride, *rest)

    def spy_s2(dy, *rest):
        calls.append((dy.shape[1], sum(w.size for w in rest[:4]), 2))
        return real_s2(dy, *rest)

    monkeypatch.setattr(conv_direct, "forward", spy)
    monkeypatch.setattr(conv_direct, "data_grad_s2", spy_s2)
    for name in ("weight_grad_lanes", "weight_grad_planes"):
        monkeypatch.setattr(conv_direct, name,
                            lambda *a, _real=getattr(conv_direct, name), _name=name:
                            wcalls.append(_name) or _real(*a))
    rng = np.random.default_rng(hash(shape[0]) % 2**32)
    x = rng.standard_normal((n, c, h, wd)).astype(np.float32)
    w = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "stride": (s, s), "num_filter": f})
    threads = numba.get_num_threads()
    if path == "direct_threads":
        numba.set_num_threads(2)
    try:
        (y,), saved = op.forward(p, [x, w, b], [], True)
        forward_calls = set(calls)
        calls.clear()
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx, dw, db = op.backward(p, [dy], [x, w, b], [y], [], saved,
                                 need=(need_dx, True, True))
    finally:
        numba.set_num_threads(threads)
    assert y.dtype == dw.dtype == np.float32
    # which kernels ran: as DIRECT_SHAPES says
    thin = max(c, f) <= 64
    assert forward_calls == ({(c, f * c * 9, s)} if thin and f % 4 == 0 else set())
    dx_direct = need_dx and thin
    # the input channels the data gradient computes: C, else the next multiple of the tile's 4
    # or 8 channels (zero weights), cut afterwards
    wide = {c} if c % 4 == 0 else {c + -c % 4, c + -c % 8}
    assert len(set(calls)) == dx_direct
    if dx_direct:
        (got,) = set(calls)
        assert got[::2] == (f, s) and got[1] // (9 * f) in wide
    dw_direct = thin and f % 16 == 0
    kernel = "weight_grad_lanes" if s == 2 or (f >= 32 and c >= 4) else "weight_grad_planes"
    assert set(wcalls) == ({kernel} if dw_direct else set())
    check_float32_results(y, dx, dw, db, x, w, b, dy, need_dx, stride=s, pad=1)


@pytest.mark.parametrize("var", range(len(conv_direct.VARIANTS)),
                         ids=[f"{o}x{v}" for o, v in conv_direct.VARIANTS])
@pytest.mark.parametrize("stride_k", [(1, 1), (1, 2), (1, 4), (2, 1)],
                         ids=["s1", "s1_2wide", "s1_4wide", "s2"])
@pytest.mark.parametrize("hw", [(1, 1), (2, 3), (5, 16), (8, 8), (9, 7), (13, 18)],
                         ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_direct_forward_every_tile_and_size(hw, stride_k, var):
    """Each tile of :func:`conv_direct.forward`, with 1, 2 or 4 images side by side, on odd
    and small sizes, its scratch filled with NaN beforehand: the lanes past the image rows
    (which read the next row or image, channel or the scratch past the planes) never reach
    the output, and every input position a useful lane reads is written for each image
    (batch 3: the scratch is reused, and the last group of side-by-side images is short)."""
    h, w = hw
    stride, k = stride_k
    ocb = conv_direct.VARIANTS[var][0]
    c, f = 3, 2 * ocb
    rng = np.random.default_rng(h * 100 + w)
    x = rng.standard_normal((3, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    xs, ys = conv_direct.scratch_sizes(c, h, w, f, stride, var, k)
    out = np.full((3, f, (h - 1) // stride + 1, (w - 1) // stride + 1), np.nan, np.float32)
    conv_direct.forward(x, conv_direct.pack_weight(wt, ocb), var, stride, k,
                        np.full(xs, np.nan, np.float32), np.full(ys, np.nan, np.float32), out,
                        epilogue.NONE)
    close(out, reference(x.astype(np.float64), wt.astype(np.float64), stride, 1, 1, 1))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("hw", [(1, 1), (2, 3), (5, 16), (8, 8), (9, 7), (13, 18)],
                         ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_direct_gradient_kernels_every_size(hw, stride):
    """:func:`conv_direct.weight_grad_planes` (chunks of 2 images over a batch of 3) and, for
    stride 2, :func:`conv_direct.data_grad_s2` with each tile, on odd and small sizes, their
    scratch filled with NaN beforehand: the zeros of ``dy`` past its rows are written for
    every image, and only lanes of the image reach ``dx``."""
    h, w = hw
    c, f = 8, 5
    rng = np.random.default_rng(h * 100 + w)
    x = rng.standard_normal((3, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    dy = rng.standard_normal((3, f, oh, ow)).astype(np.float32)
    want_dx, want_dw = reference_grads(x.astype(np.float64), wt.astype(np.float64),
                                       dy.astype(np.float64), stride, 1, 1, 1)
    acc = np.zeros((f, c, 9, 16), np.float32)
    xs, ds = conv_direct.grad_scratch_sizes(c, h, w, f, stride, 2)
    conv_direct.weight_grad_planes(x, dy, stride, 2, np.full(xs, np.nan, np.float32),
                                   np.full(ds, np.nan, np.float32), acc)
    close(acc.sum(axis=3).reshape(f, c, 3, 3), want_dw)
    if stride == 1:
        return
    for var, (ocb, _) in enumerate(conv_direct.VARIANTS):
        ds, ys = conv_direct.phase_scratch_sizes(c, h, w, f, oh, ow, var)
        dx = np.full(x.shape, np.nan, np.float32)
        conv_direct.data_grad_s2(dy, *conv_direct.pack_phase_weights(wt, ocb), var,
                                 conv_direct.phase_offsets(ow), np.full(ds, np.nan, np.float32),
                                 np.full(ys, np.nan, np.float32), dx)
        close(dx, want_dx)


def test_direct_tile_choice():
    """The tile and images side by side with the least time per image at the tiles' rates:
    8 channels x 48 pixels (and a last tile of fewer vectors) on flat planes of one image at
    32x32, 16x16 and 8x8 (1024, 256 and 64 lanes: every lane an output pixel); tiny images
    side by side (2x3: 6 flat positions in a vector of 16, against 31 for 4 images); stride
    2: one image; only the 4-channel tile where F is not a multiple of 8; none where F is not
    one of 4."""
    wide, narrow = (conv_direct.VARIANTS.index(t) for t in ((8, 3), (4, 3)))
    assert conv_direct.variant(32, 32, 1, 16) == (wide, 1)
    assert conv_direct.variant(16, 16, 1, 32) == (wide, 1)
    assert conv_direct.variant(8, 8, 1, 64) == (wide, 1)
    assert conv_direct.variant(2, 3, 1, 16) == (wide, 4)
    assert conv_direct.variant(16, 16, 2, 64) == (wide, 1)
    assert conv_direct.variant(32, 32, 1, 12) == (narrow, 1)
    assert conv_direct.variant(32, 32, 1, 6) == (-1, 0)


# id, H, W: flat planes (one image of stride 1) whose lengths end in a last tile of 0, 1 or 2
# vectors of the 3-vector tiles, a row shorter than a vector, a row longer than three, and
# planes with tiles inside the image (read from x in place: 16x16, 20x24, 17x21)
FLAT_SIZES = [("8x8_tail1", 8, 8), ("16x16_tail1", 16, 16), ("4x8_tail2", 4, 8),
              ("6x8_whole", 6, 8), ("3x5_one_vector", 3, 5), ("2x50_rows_over_tiles", 2, 50),
              ("1x1", 1, 1), ("7x1_column", 7, 1), ("20x24_inside", 20, 24),
              ("17x21_inside_tail2", 17, 21)]
# how x's images lie in memory: C-contiguous, a channel slice of a wider batch (image
# stride larger than C H W; the tiles inside still read x in place), or a column stride of 2
# (every tile on the copied planes)
FLAT_LAYOUTS = ["contiguous", "channel_slice", "strided"]


@pytest.mark.parametrize("layout", FLAT_LAYOUTS)
@pytest.mark.parametrize("var", range(len(conv_direct.VARIANTS)),
                         ids=[f"{o}x{v}" for o, v in conv_direct.VARIANTS])
@pytest.mark.parametrize("size", FLAT_SIZES, ids=[s[0] for s in FLAT_SIZES])
def test_direct_flat_planes_mask_the_row_ends(size, var, layout):
    """:func:`conv_direct.forward` on flat planes (no zero column between rows: the taps of
    kernel columns 0 and 2 masked at the row ends), whole tiles and a last tile of 1 or 2
    vectors, the tiles inside the image reading ``x`` in place and the others the rows
    copied for them, scratch filled with NaN beforehand, against the float64 reference; the
    masks are what keeps the row before's last pixel out of the first pixel's sum (an input
    that is large only in the first and last columns shows it)."""
    _, h, w = size
    ocb = conv_direct.VARIANTS[var][0]
    c, f = 5, 2 * ocb
    pitch, plane, _, _, length, lp = conv_direct.forward_geometry(h, w, 1, 1)
    assert (pitch, plane, length, lp) == (w, (h + 2) * w + 2, h * w, -(-h * w // 16) * 16)
    rng = np.random.default_rng(h * 100 + w)
    big = rng.standard_normal((3, c + 2, h, 2 * w)).astype(np.float32)
    x = {"contiguous": np.ascontiguousarray(big[:2, :c, :, :w]),
         "channel_slice": np.ascontiguousarray(big[..., :w])[1:, 1:c + 1],
         "strided": big[:2, :c, :, ::2]}[layout]
    x[..., -1] *= 1000
    x[..., 0] -= 500
    inside = conv_direct.direct_tiles(x, lp)
    if layout == "strided":
        assert inside == (0, 0)
    elif h * w >= 256:
        assert inside[1] > inside[0]
    wt = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    xs, ys = conv_direct.scratch_sizes(c, h, w, f, 1, var, 1)
    out = np.full((2, f, h, w), np.nan, np.float32)
    conv_direct.forward(x, conv_direct.pack_weight(wt, ocb), var, 1, 1,
                        np.full(xs, np.nan, np.float32), np.full(ys, np.nan, np.float32), out,
                        epilogue.NONE)
    close(out, reference(x.astype(np.float64), wt.astype(np.float64), 1, 1, 1, 1))


# id, H, W: stride-2 images whose rows split into their even and odd columns by 16 pairs, 8,
# one at a time, or all of these, with an odd last column or not
PHASE_SIZES = [("3x1", 3, 1), ("2x2", 2, 2), ("5x7_odd", 5, 7), ("4x16_by_8", 4, 16),
               ("3x18_8_and_1", 3, 18), ("2x32_by_16", 2, 32), ("3x50_16_8_1", 3, 50),
               ("2x67_odd_all", 2, 67)]


@pytest.mark.parametrize("layout", ["contiguous", "strided_rows"])
@pytest.mark.parametrize("size", PHASE_SIZES, ids=[s[0] for s in PHASE_SIZES])
def test_direct_stride2_flat_phases(size, layout):
    """:func:`conv_direct.forward` of stride 2 on the 4 flat phases of :func:`fill_phases`
    (rows of OW, no zero column; kernel column 0 masked at each row's first pixel), each
    image row split into even and odd columns by :func:`_split_row` (unit-stride rows) or
    one element at a time (a view with a column stride of 2), scratch filled with NaN,
    against the float64 reference; the phases' layout matches :func:`forward_geometry`."""
    _, h, w = size
    c, f = 3, 8
    oh, ow = (h + 1) // 2, (w + 1) // 2
    assert conv_direct.forward_geometry(h, w, 2, 1) == (ow, 4 * ((oh + 1) * ow + 2), oh, ow,
                                                        oh * ow, -(-oh * ow // 16) * 16)
    rng = np.random.default_rng(h * 100 + w)
    big = rng.standard_normal((2, c, h, 2 * w)).astype(np.float32)
    x = np.ascontiguousarray(big[..., :w]) if layout == "contiguous" else big[..., ::2]
    x[..., 0] += 300
    wt = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    xs, ys = conv_direct.scratch_sizes(c, h, w, f, 2, 0, 1)
    out = np.full((2, f, oh, ow), np.nan, np.float32)
    conv_direct.forward(x, conv_direct.pack_weight(wt, 8), 0, 2, 1,
                        np.full(xs, np.nan, np.float32), np.full(ys, np.nan, np.float32), out,
                        epilogue.NONE)
    close(out, reference(x.astype(np.float64), wt.astype(np.float64), 2, 1, 1, 1))


def test_direct_kernel_is_taken_for_thin_float32_layers(monkeypatch):
    """ResNet-20's 3x3 layers (16, 32 and 64 channels, stride 1 and 2) go to the direct
    kernel; float64, wide layers, dilation and pad 0 do not.  (With the thin Winograd kernel
    on, it takes the stride-1 ones: test_conv_winograd_thin.py.)"""
    monkeypatch.setattr(conv, "WINOGRAD_THIN", False)
    calls = []
    real = conv_direct.forward
    monkeypatch.setattr(conv_direct, "forward", lambda *a: calls.append(1) or real(*a))
    op = get("Convolution")
    for c, hw, dtype, stride, pad, dilate, taken in (
            (16, 32, np.float32, 1, 1, 1, True), (32, 16, np.float32, 1, 1, 1, True),
            (64, 8, np.float32, 1, 1, 1, True), (16, 32, np.float32, 2, 1, 1, True),
            (16, 32, np.float64, 1, 1, 1, False), (96, 8, np.float32, 1, 1, 1, False),
            (16, 32, np.float32, 3, 1, 1, False), (16, 32, np.float32, 1, 0, 1, False),
            (16, 32, np.float32, 1, 1, 2, False)):
        calls.clear()
        p = op.parse_params({"kernel": (3, 3), "pad": (pad, pad), "stride": (stride, stride),
                             "dilate": (dilate, dilate), "num_filter": c, "no_bias": True})
        x = np.ones((1, c, hw, hw), dtype)
        op.forward(p, [x, np.ones((c, c, 3, 3), dtype)], [], False)
        assert bool(calls) == taken, (c, hw, dtype, stride, pad, dilate)


def test_direct_kernel_keeps_accumulators_in_zmm_registers():
    """The kernel's LLVM function carries ``prefer-vector-width=512`` (Numba's target otherwise
    prefers 256-bit vectors on AVX-512 CPUs and splits each ``<16 x float>``), and on an
    AVX-512 CPU its code has FMAs on zmm registers and moves no zmm register to or from the
    stack among them (the accumulators stay in registers).  (A fresh uncached compile:
    cached code cannot be inspected.)"""
    import re

    import llvmlite.binding as llvm

    kernel = numba.njit(fastmath=True, nogil=True)(conv_direct.forward.py_func)
    x = np.zeros((1, 8, 2, 16), np.float32)
    xs, ys = conv_direct.scratch_sizes(8, 2, 16, 8, 1, 0)
    kernel(x, np.zeros(8 * 8 * 9, np.float32), 0, 1, 1, np.zeros(xs, np.float32),
           np.zeros(ys, np.float32), np.zeros((1, 8, 2, 16), np.float32), epilogue.NONE)
    sig = kernel.signatures[0]
    ir_text = kernel.inspect_llvm(sig)
    assert '"prefer-vector-width"="512"' in ir_text
    if "+avx512f" in llvm.get_host_cpu_features().flatten().split(","):
        lines = kernel.inspect_asm(sig).splitlines()
        fmas = [i for i, line in enumerate(lines) if re.search(r"vfmadd\w+ps\s.*zmm", line)]
        # every tile of every variant: whole tiles and the last ones of fewer vectors
        assert len(fmas) >= 9 * sum(o * v * (v + 1) // 2 for o, v in conv_direct.VARIANTS)
        # between the first FMA and the last: no zmm register to or from the stack
        spills = [line for line in lines[fmas[0]:fmas[-1]] if re.search(r"zmm.*\(%rsp\)|"
                                                                        r"\(%rsp\).*zmm", line)]
        assert not spills


# id, N, C, H, W, F, kernel, stride, pad, dilate, groups, adj
DECONV_SHAPES = [
    ("3x3_stride2", 3, 4, 5, 6, 3, 3, 2, 1, 1, 1, 1),
    ("4x4_stride2_group2", 2, 4, 4, 3, 6, 4, 2, 1, 1, 2, 0),
    ("3x3_dilate2", 3, 2, 4, 4, 3, 3, 1, 2, 2, 1, 0),
]


@pytest.mark.parametrize("path", ["per_image", "chunked", "threads"])
@pytest.mark.parametrize("shape", DECONV_SHAPES, ids=[s[0] for s in DECONV_SHAPES])
def test_deconvolution_paths_match_numpy_reference(shape, path, force):
    """Deconvolution is the data gradient of Convolution with its weight: the output is
    ``reference_grads``' dx (for ``dy`` = the data), the data gradient the convolution of the
    head gradient, the weight gradient ``reference_grads``' dw; per image, chunked and over
    threads."""
    _, n, c, h, wd, f, k, s, pd, dl, g, adj = shape
    if path.endswith("threads") and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    force(path)
    rng = np.random.default_rng(hash(shape[0]) % 2**32)
    x = rng.standard_normal((n, c, h, wd))
    w = rng.standard_normal((c, f // g, k, k))
    b = rng.standard_normal(f)
    op = get("Deconvolution")
    p = op.parse_params({"kernel": (k, k), "stride": (s, s), "pad": (pd, pd),
                         "dilate": (dl, dl), "adj": (adj, adj), "num_filter": f,
                         "num_group": g, "no_bias": False})
    threads = numba.get_num_threads()
    if path.endswith("threads"):
        numba.set_num_threads(2)
    try:
        (y,), saved = op.forward(p, [x, w, b], [], True)
        dy = rng.standard_normal(y.shape)
        dx, dw, db = op.backward(p, [dy], [x, w, b], [y], [], saved)
    finally:
        numba.set_num_threads(threads)
    want_y, _ = reference_grads(np.zeros(y.shape), w, x, s, pd, dl, g)
    np.testing.assert_allclose(y, want_y + b.reshape(1, f, 1, 1), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, reference(dy, w, s, pd, dl, g), rtol=1e-10, atol=1e-10)
    _, want_dw = reference_grads(dy, w, x, s, pd, dl, g)
    np.testing.assert_allclose(dw, want_dw, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)), rtol=1e-12)
