"""The fused thin-layer Winograd kernel (:mod:`mxlite.kernels.conv_winograd_thin`): every
tile, element-wise variant and number of images side by side against the float64 reference
on sizes that leave partial tiles and channel counts that are not multiples of the tile; the
Convolution operator's output and data gradient through it, in one thread and two; which
layers it takes; and the epilogue hook."""

import numba
import numpy as np
import pytest
from conv_reference import check_float32_results, reference

from mxlite.kernels import conv_winograd_thin as thin
from mxlite.kernels import epilogue
from mxlite.operator.nn import convolution as conv
from mxlite.operator.registry import get

#: max |error| / max |exact| of float32 against the float64 reference: F(2x2, 3x3) adds and
#: subtracts only (im2col's error); F(4x4, 3x3) as conv_winograd's tests bound it on the
#: wide layers (measured here up to 4e-6)
BOUND = {2: 1e-6, 4: 5e-5}

# id, N, C, H, W, F
KERNEL_SHAPES = [
    ("odd_5to6_7x9", 3, 5, 7, 9, 6),  # partial tiles both ways, F not a multiple of 4
    ("3to13_11x5", 2, 3, 11, 5, 13),
    ("16ch_8x8", 2, 16, 8, 8, 16),  # fewer images than side by side
    ("32ch_16x16", 5, 32, 16, 16, 32),
    ("4to8_3x3", 9, 4, 3, 3, 8),  # one tile an image
    ("2to3_1x2", 4, 2, 1, 2, 3),  # a one-row image: pad rows only around it
    ("3to4_5x17", 3, 3, 5, 17, 4),  # rows over 16 wide: the wide fill, two vectors out (F4)
    ("2to3_6x32", 2, 2, 6, 32, 3),  # 32 wide: the most for two output vectors a row
    ("2to5_9x70", 2, 2, 9, 70, 5),  # F(4x4): 18 tiles a row, two vectors of them
]


def _case(shape, seed):
    _, n, c, h, w, f = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (rng.standard_normal((f, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    return x, wt, b


def _relative_error(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


@pytest.mark.parametrize("side", thin.SIDE_BY_SIDE, ids=[f"k{k}" for k in thin.SIDE_BY_SIDE])
@pytest.mark.parametrize("var", range(len(thin.VARIANTS)),
                         ids=[f"{o}x{v}" for o, v in thin.VARIANTS])
@pytest.mark.parametrize("tile", [2, 4], ids=["F2", "F4"])
@pytest.mark.parametrize("shape", KERNEL_SHAPES, ids=[s[0] for s in KERNEL_SHAPES])
def test_forward_every_tile_variant_and_side_by_side(shape, tile, var, side):
    """:func:`thin.forward` (bias included) against the float64 reference, the scratch
    filled with NaN first (a lane read before it is written would show)."""
    x, wt, b = _case(shape, 7)
    n, c, h, w = x.shape
    f = wt.shape[0]
    bufs = [np.full(s, np.nan, np.float32)
            for s in thin.scratch_sizes(c, h, w, f, tile, var, side)]
    out = np.full((n, f, h, w), np.nan, np.float32)
    thin.forward(x, thin.pack_weight(wt, tile, thin.VARIANTS[var][0]), b, tile, var, side,
                 *bufs, out, epilogue.NONE)
    want = reference(x.astype(np.float64), wt.astype(np.float64), 1, 1) + b.reshape(1, -1, 1, 1)
    assert _relative_error(out, want) < BOUND[tile]


def _take_every_thin_layer(monkeypatch):
    """The dispatch opened to every layer of 16-64 channels and 8x8-32x32 outputs (by
    default the 16-channel and small 32-channel ones stay direct: measured faster)."""
    monkeypatch.setattr(conv, "WINOGRAD_THIN_CHANNELS", 16)
    monkeypatch.setattr(conv, "WINOGRAD_THIN_FEW", (16, 0))


# id, N, C, H, W, F: shapes the operator sends to the kernel (with every thin layer taken)
OPERATOR_SHAPES = [
    ("16ch_9x11", 2, 16, 9, 11, 16),  # partial tiles
    ("20to24_8x8", 3, 20, 8, 8, 24),  # C not a multiple of 8: dx has 20 output channels
    ("32to18_15x13", 2, 32, 15, 13, 18),
    ("64ch_8x8_batch5", 5, 64, 8, 8, 64),  # 8 images side by side: the batch is short
    ("16ch_32x32", 1, 16, 32, 32, 16),
]


@pytest.mark.parametrize("need_dx", [True, False], ids=["dx", "no_dx"])
@pytest.mark.parametrize("threads", [1, 2], ids=["one_thread", "two_threads"])
@pytest.mark.parametrize("shape", OPERATOR_SHAPES, ids=[s[0] for s in OPERATOR_SHAPES])
def test_operator_output_and_gradients(shape, threads, need_dx, monkeypatch):
    """Convolution's output (bias included) and data gradient run through the kernel (once
    each) and match the float64 reference; the weight gradient stays direct."""
    if threads == 2 and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    _take_every_thin_layer(monkeypatch)
    calls = []
    real = thin.forward
    monkeypatch.setattr(thin, "forward",
                        lambda x, *a: calls.append(x.shape[1:]) or real(x, *a))
    x, w, b = _case(shape, 3)
    _, c, h, wd = x.shape
    f = w.shape[0]
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": f})
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        (y,), saved = op.forward(p, [x, w, b], [], True)
        forward_calls = set(calls)
        calls.clear()
        dy = np.random.default_rng(4).standard_normal(y.shape).astype(np.float32)
        dx, dw, db = op.backward(p, [dy], [x, w, b], [y], [], saved,
                                 need=(need_dx, True, True))
    finally:
        numba.set_num_threads(before)
    assert forward_calls == {(c, h, wd)}
    assert set(calls) == ({(f, h, wd)} if need_dx else set())
    check_float32_results(y, dx, dw, db, x, w, b, dy, need_dx, stride=1, pad=1)


@pytest.mark.parametrize("batch,threads,per", [(1, 1, 1), (1, 2, 1), (5, 1, 5), (5, 2, 3)],
                         ids=["batch1", "batch1_two_threads", "batch5", "batch5_two_threads"])
def test_operator_plans_for_one_threads_images(batch, threads, per, monkeypatch):
    """The plan is made for the images of one thread's range (at batch 1 one image, not
    several side by side), and the result still matches the reference."""
    if threads == 2 and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    _take_every_thin_layer(monkeypatch)
    seen = []
    real = thin.plan
    monkeypatch.setattr(thin, "plan", lambda *a: seen.append(a) or real(*a))
    x, w, b = _case(("64ch_8x8", batch, 64, 8, 8, 64), 3)
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": 64})
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        (y,), _ = op.forward(p, [x, w, b], [], False)
    finally:
        numba.set_num_threads(before)
    assert seen == [(8, 8, 64, conv.WINOGRAD_THIN_TILE, per)]
    want = reference(x.astype(np.float64), w.astype(np.float64), 1, 1) + b.reshape(1, -1, 1, 1)
    assert _relative_error(y, want) < BOUND[conv.WINOGRAD_THIN_TILE]


# C, H, W, F, dtype, stride, pad, taken
DISPATCH = [
    ("resnet_16ch", 16, 32, 32, 16, np.float32, 1, 1, False),  # measured: direct wins
    ("resnet_32ch", 32, 16, 16, 32, np.float32, 1, 1, True),
    ("resnet_64ch", 64, 8, 8, 64, np.float32, 1, 1, True),
    ("32ch_32x32", 32, 32, 32, 32, np.float32, 1, 1, True),
    ("32ch_8x8", 32, 8, 8, 32, np.float32, 1, 1, False),  # 32ch needs 256 pixels
    ("16to32_16x16", 16, 16, 16, 32, np.float32, 1, 1, False),  # the fewer channels count
    ("float64", 16, 32, 32, 16, np.float64, 1, 1, False),
    ("rgb_input", 3, 32, 32, 16, np.float32, 1, 1, False),  # 3 channels: direct
    ("stride2", 16, 32, 32, 32, np.float32, 2, 1, False),
    ("pad0", 16, 32, 32, 16, np.float32, 1, 0, False),
    ("wide_96ch", 96, 8, 8, 96, np.float32, 1, 1, False),
    ("small_4x4", 16, 4, 4, 16, np.float32, 1, 1, False),  # 16 pixels: direct
    ("large_64x64", 16, 64, 64, 16, np.float32, 1, 1, False),  # not measured: direct
]


@pytest.mark.parametrize("case", DISPATCH, ids=[d[0] for d in DISPATCH])
def test_which_layers_it_takes(case, monkeypatch):
    """The stride-1 3x3 float32 layers of 32-64 channels (32: at least 16x16 outputs) up to
    32x32 outputs (ResNet-20's 32- and 64-channel ones), and nothing else; the switch turns
    it off."""
    _, c, h, w, f, dtype, stride, pad, taken = case
    calls = []
    real = thin.forward
    monkeypatch.setattr(thin, "forward", lambda *a: calls.append(1) or real(*a))
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (pad, pad), "stride": (stride, stride),
                         "num_filter": f, "no_bias": True})
    x = np.ones((1, c, h, w), dtype)
    wt = np.ones((f, c, 3, 3), dtype)
    op.forward(p, [x, wt], [], False)
    assert bool(calls) == taken
    monkeypatch.setattr(conv, "WINOGRAD_THIN", False)
    calls.clear()
    op.forward(p, [x, wt], [], False)
    assert not calls


def test_epilogue_hook_sees_each_chunk_with_bias(monkeypatch):
    """``post(out, a, b)`` runs on ranges of images that cover the batch once, each already
    holding the output plus bias (the contract of Convolution's fused epilogues)."""
    _take_every_thin_layer(monkeypatch)
    calls = []
    real = thin.forward
    monkeypatch.setattr(thin, "forward", lambda *a: calls.append(1) or real(*a))
    x, w, b = _case(("resnet", 6, 16, 8, 8, 16), 5)
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": 16})
    want = reference(x.astype(np.float64), w.astype(np.float64), 1, 1) + b.reshape(1, -1, 1, 1)
    seen = []

    def post(out, a, bb):
        seen.append((a, bb))
        assert _relative_error(out[a:bb], want[a:bb]) < BOUND[4]
        out[a:bb] *= 2  # the epilogue's result is what the operator returns

    (y,), _ = op._forward(p, [x, w, b], [], False, post=post)
    assert calls  # the thin Winograd kernel ran
    assert sorted(i for a, bb in seen for i in range(a, bb)) == list(range(6))
    assert _relative_error(y, 2 * want) < BOUND[4]


# H, W, F, tile, n (None: any), (variant, images side by side)
PLANS = [
    ("16ch_32x32", 32, 32, 16, 4, None, ((8, 2), 1)),  # 8 rows of 8 tiles: 2 blocks of 32
    ("32ch_16x16", 16, 16, 32, 4, None, ((8, 2), 2)),  # 4 rows of 8: one block of 32
    ("64ch_8x8", 8, 8, 64, 4, None, ((8, 2), 8)),  # 2 rows of 16: one block of 32
    ("64ch_8x8_F2", 8, 8, 64, 2, None, ((8, 2), 2)),  # 4 rows of 8
    ("64ch_8x8_batch1", 8, 8, 64, 4, 1, ((8, 2), 1)),  # one image: never more side by side
    ("64ch_8x8_batch5", 8, 8, 64, 4, 5, ((8, 2), 5)),  # 20 tiles in one block of 32
    ("32ch_16x16_batch3", 16, 16, 32, 4, 3, ((8, 3), 3)),  # 48 tiles: one block of 48
    ("32ch_16x16_batch5", 16, 16, 32, 4, 5, ((4, 5), 5)),  # 80 tiles: one block of 80
    ("64ch_8x8_batch64", 8, 8, 64, 4, 64, ((8, 2), 8)),  # one thread's half of 128
]


@pytest.mark.parametrize("case", PLANS, ids=[p[0] for p in PLANS])
def test_plan_fills_whole_blocks(case):
    _, h, w, f, tile, n, (tile_shape, side) = case
    assert thin.plan(h, w, f, tile, n) == (thin.VARIANTS.index(tile_shape), side)


def test_plan_counts_the_last_chunk():
    """17 images of 64ch 8x8: 8 side by side leave one image in a block of 32 lanes for 4
    tiles; the plan's lane count says so."""
    assert thin._lanes(8, 8, 4, 8, 32, 17) == 3 * 32
    assert thin._lanes(8, 8, 4, 8, 32, 16) == 2 * 32
    with pytest.raises(ValueError, match="n must be at least 1"):
        thin.plan(8, 8, 64, 4, 0)


# id, F, C, tile, ocb
PACKS = [
    ("64ch_F4_ocb8", 64, 64, 4, 8),
    ("32ch_F4_ocb4", 32, 32, 4, 4),
    ("13to3_F2_ocb8", 13, 3, 2, 8),  # F padded with zero filters
    ("6to5_F4_ocb4", 6, 5, 4, 4),
    ("1to1_F4_ocb8", 1, 1, 4, 8),
]


@pytest.mark.parametrize("case", PACKS, ids=[p[0] for p in PACKS])
def test_pack_weight_matches_reference(case):
    """The one-GEMM weight transform against ``G w G^T`` per filter and channel in float64,
    for float32 and float64 weights and a non-contiguous (flipped) one."""
    _, f, c, tile, ocb = case
    w = np.random.default_rng(2).standard_normal((f, c, 3, 3))
    for wt in (w.astype(np.float32), w, w[:, :, ::-1, ::-1]):
        got = thin.pack_weight(wt, tile, ocb)
        want = thin._pack_weight_reference(wt, tile, ocb)
        assert got.dtype == np.float32 and got.shape == want.shape
        assert _relative_error(got, want) < 1e-6


@pytest.mark.parametrize("args", [((4, 4, 3, 3), 3, 8), ((4, 4, 5, 5), 4, 8), ((4, 4, 9), 4, 8),
                                  ((4, 4, 3, 3), 4, 0)],
                         ids=["tile3", "kernel5x5", "flat_taps", "ocb0"])
def test_pack_weight_refuses_bad_input(args):
    shape, tile, ocb = args
    with pytest.raises(ValueError, match="pack_weight"):
        thin.pack_weight(np.zeros(shape, np.float32), tile, ocb)
