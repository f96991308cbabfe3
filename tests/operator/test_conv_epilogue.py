"""The convolution epilogue of the copy-out (mxlite.kernels.epilogue, issue 13): the direct
kernel's output with its epilogue equals, bit for bit, the plain output finished by the
unfused operators' own arithmetic (float32 bias and residual adds, BatchNorm's float64
``x * scale + shift`` rounded twice, relu's ``v if v > 0 else 0``), for every tile, stride 1
and 2, images side by side, and the in-place form other convolution paths call; the same for
the thin Winograd kernel's store (every tile, images side by side, through the operator's
plumbing in one thread and two)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from mxlite.kernels import conv_direct, epilogue
from mxlite.kernels import conv_winograd_thin as thin
from mxlite.operator.nn import convolution

# id: (bias, addend, BatchNorm, relu, second output, scale/shift dtype)
EPILOGUES = {
    "copy": (False, False, False, False, False, None),
    "bias": (True, False, False, False, False, None),
    "relu": (False, False, False, True, False, None),
    "bias_relu": (True, False, False, True, False, None),
    "bn": (False, False, True, False, False, np.float64),
    "bn_relu": (False, False, True, True, False, np.float64),
    "bias_bn_relu": (True, False, True, True, False, np.float64),
    "add": (False, True, False, False, False, None),
    "bias_add_relu": (True, True, False, True, False, None),
    "add_bn_relu_two_outputs": (False, True, True, True, True, np.float64),
    "bias_add_bn_two_outputs": (True, True, True, False, True, np.float64),
    "bn_relu_float32_affine": (False, False, True, True, False, np.float32),
}

# id: (stride, images side by side, variant, H, W)
GEOMETRIES = {
    "s1_one_8x3_9x7": (1, 1, 0, 9, 7),
    "s1_two_8x3_8x8": (1, 2, 0, 8, 8),
    "s1_four_4x5_5x6": (1, 4, 1, 5, 6),
    "s2_8x3_9x7": (2, 1, 0, 9, 7),
    "s2_4x5_8x8": (2, 1, 1, 8, 8),
}


def _bits(a):
    """The bit patterns (a -0.0 is not a +0.0, each NaN its own)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _unfused(y, bias, addend, scale, shift, relu):
    """What the unfused operators compute from the plain convolution output ``y``: the sum
    (Convolution's bias, then ``elemwise_add``) and the final value (BatchNorm, relu)."""
    s = y.copy()
    if bias is not None:
        s = s + bias.reshape(1, -1, 1, 1)
    if addend is not None:
        s = s + addend
    v = s
    if scale is not None:  # BatchNorm: in scale's dtype, one multiply and one add, rounded
        shape = (1, -1) + (1,) * (s.ndim - 2)
        v = (s.astype(scale.dtype) * scale.reshape(shape) + shift.reshape(shape)).astype(y.dtype)
    if relu:  # Activation(relu): v if v > 0 else 0
        v = np.where(v > 0, v, np.zeros((), y.dtype))
    return s, v


def _case(rng, out_shape, spec, dtype=np.float32):
    has_bias, has_add, has_bn, relu, two, sdt = spec
    f = out_shape[1]
    bias = rng.standard_normal(f).astype(dtype) if has_bias else None
    addend = rng.standard_normal(out_shape).astype(dtype) if has_add else None
    scale = rng.uniform(0.5, 2.0, f).astype(sdt) if has_bn else None
    shift = rng.standard_normal(f).astype(sdt) if has_bn else None
    out2 = np.full(out_shape, np.nan, dtype) if two else None
    epi = epilogue.Epilogue(scale=scale, shift=shift, relu=relu, addend=addend, out2=out2)
    return epi, bias, addend, scale, shift, out2


@pytest.mark.parametrize("geo", list(GEOMETRIES), ids=str)
@pytest.mark.parametrize("name", list(EPILOGUES), ids=str)
def test_direct_copy_out_applies_the_epilogue(name, geo):
    stride, k, var, h, w = GEOMETRIES[geo]
    ocb = conv_direct.VARIANTS[var][0]
    c, f, n = 3, 2 * ocb, 3  # batch 3: the last group of side-by-side images is short
    rng = np.random.default_rng(len(name) * 31 + h)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wpk = conv_direct.pack_weight(rng.standard_normal((f, c, 3, 3)).astype(np.float32), ocb)
    xs, ys = conv_direct.scratch_sizes(c, h, w, f, stride, var, k)
    shape = (n, f, (h - 1) // stride + 1, (w - 1) // stride + 1)

    def run(args):
        out = np.full(shape, np.nan, np.float32)
        conv_direct.forward(x, wpk, var, stride, k, np.full(xs, np.nan, np.float32),
                            np.full(ys, np.nan, np.float32), out, args)
        return out

    plain = run(epilogue.NONE)
    assert not np.isnan(plain).any()
    epi, bias, addend, scale, shift, out2 = _case(rng, shape, EPILOGUES[name])
    got = run(epi.args(bias, 0, n))
    s, v = _unfused(plain, bias, addend, scale, shift, epi.relu)
    if out2 is None:
        np.testing.assert_array_equal(_bits(got), _bits(v))
    else:  # the sum in ``out``, BatchNorm (+ relu) of it in ``out2``
        np.testing.assert_array_equal(_bits(got), _bits(s))
        np.testing.assert_array_equal(_bits(out2), _bits(v))
    if name.startswith(("bn", "bias_bn")) and scale.dtype == np.float64:
        # the float64 affine is not the float32 one: the test sees the difference
        _, v32 = _unfused(plain, bias, addend, scale.astype(np.float32),
                          shift.astype(np.float32), epi.relu)
        assert not np.array_equal(_bits(v), _bits(v32))


def _check(got, out2, plain, bias, addend, scale, shift, relu):
    """``got`` (and ``out2``) against the unfused arithmetic on the plain output."""
    s, v = _unfused(plain, bias, addend, scale, shift, relu)
    if out2 is None:
        np.testing.assert_array_equal(_bits(got), _bits(v))
    else:  # the sum in ``out``, BatchNorm (+ relu) of it in ``out2``
        np.testing.assert_array_equal(_bits(got), _bits(s))
        np.testing.assert_array_equal(_bits(out2), _bits(v))


# id: (tile, variant, images side by side, C, H, W, F)
THIN_GEOMETRIES = {
    "F4_8x3_two_9x7": (4, 0, 2, 5, 9, 7, 6),  # partial tiles, F not a multiple of 8
    "F4_4x5_four_8x8": (4, 1, 4, 16, 8, 8, 16),
    "F2_8x2_one_5x6": (2, 2, 1, 3, 5, 6, 13),
    "F2_4x5_eight_4x4": (2, 1, 8, 8, 4, 4, 8),
}


@pytest.mark.parametrize("geo", list(THIN_GEOMETRIES), ids=str)
@pytest.mark.parametrize("name", list(EPILOGUES), ids=str)
def test_thin_winograd_store_applies_the_epilogue(name, geo):
    """:func:`thin.forward` with the epilogue in its store equals its plain output (bias
    included: the output transform adds it in both) finished by the unfused arithmetic;
    batch 3, so the last group of side-by-side images is short; scratch and outputs start
    as NaN."""
    tile, var, k, c, h, w, f = THIN_GEOMETRIES[geo]
    n = 3
    rng = np.random.default_rng(len(name) * 17 + h)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    upk = thin.pack_weight(rng.standard_normal((f, c, 3, 3)).astype(np.float32), tile,
                           thin.VARIANTS[var][0])
    shape = (n, f, h, w)
    epi, bias, addend, scale, shift, out2 = _case(rng, shape, EPILOGUES[name])
    b = bias if bias is not None else np.zeros(f, np.float32)

    def run(args):
        bufs = [np.full(s, np.nan, np.float32)
                for s in thin.scratch_sizes(c, h, w, f, tile, var, k)]
        out = np.full(shape, np.nan, np.float32)
        thin.forward(x, upk, b, tile, var, k, *bufs, out, args)
        return out

    plain = run(epilogue.NONE)
    assert not np.isnan(plain).any()
    _check(run(epi.args(None, 0, n)), out2, plain, None, addend, scale, shift, epi.relu)


@pytest.mark.parametrize("threads", [1, 2], ids=["one_thread", "two_threads"])
@pytest.mark.parametrize("name", [e for e in EPILOGUES if e != "copy"], ids=str)
def test_thin_winograd_operator_path_hands_the_epilogue_to_its_store(name, threads,
                                                                     monkeypatch):
    """``Convolution._forward(..., post=Epilogue)`` on a layer the thin Winograd kernel
    takes: the kernel gets the epilogue (each thread its images' addend and second output),
    no hook runs after it, and the bits are those of the unfused arithmetic on the plain
    output (bias included)."""
    if threads == 2 and numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: no second thread")
    from mxlite.operator.registry import get

    n, c, h, w, f = 6, 16, 8, 8, 16
    rng = np.random.default_rng(len(name))
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (rng.standard_normal((f, c, 3, 3)) / 12).astype(np.float32)
    has_bias = EPILOGUES[name][0]
    op = get("Convolution")
    p = op.parse_params({"kernel": (3, 3), "pad": (1, 1), "num_filter": f,
                         "no_bias": not has_bias})
    epi, bias, addend, scale, shift, out2 = _case(rng, (n, f, h, w), EPILOGUES[name])
    inputs = [x, wt] + ([bias] if has_bias else [])
    calls = []
    real = thin.forward
    monkeypatch.setattr(thin, "forward", lambda *a: calls.append(a[-1]) or real(*a))
    monkeypatch.setattr(convolution, "PARALLEL_COLUMNS", 1)  # two chunks with two threads
    monkeypatch.setattr(convolution, "WINOGRAD_THIN_CHANNELS", 16)  # 16ch 8x8: by default
    monkeypatch.setattr(convolution, "WINOGRAD_THIN_FEW", (16, 0))  # the direct kernel's
    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        (plain,), _ = op._forward(p, inputs, [], False)
        calls.clear()
        (got,), _ = op._forward(p, inputs, [], False, post=epi)
    finally:
        numba.set_num_threads(before)
    assert len(calls) == threads and all(a[0].size == 0 for a in calls)  # no bias twice
    _check(got, out2, plain, None, addend, scale, shift, epi.relu)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(4, 3, 10), (4, 3, 5, 6), (4, 3, 2, 3, 4)],
                         ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("name", [e for e in EPILOGUES if not EPILOGUES[e][0]], ids=str)
def test_in_place_epilogue_of_the_other_paths(name, shape, dtype):
    """``Epilogue(out, a, b)``: what the paths that write their output first (Winograd, the
    small-image kernel, im2col + GEMM) call per chunk of images; images outside ``[a, b)``
    are left alone."""
    spec = EPILOGUES[name]
    if spec[5] is not None:
        spec = (*spec[:5], np.float64 if spec[5] == np.float64 or dtype == np.float64
                else np.float32)
    rng = np.random.default_rng(len(name) + len(shape))
    y = rng.standard_normal(shape).astype(dtype)
    epi, _, addend, scale, shift, out2 = _case(rng, shape, spec, dtype)
    out = y.copy()
    epi(out, 1, 3)
    s, v = _unfused(y, None, addend, scale, shift, epi.relu)
    np.testing.assert_array_equal(_bits(out[[0, 3]]), _bits(y[[0, 3]]))
    if out2 is None:
        np.testing.assert_array_equal(_bits(out[1:3]), _bits(v[1:3]))
    else:
        np.testing.assert_array_equal(_bits(out[1:3]), _bits(s[1:3]))
        np.testing.assert_array_equal(_bits(out2[1:3]), _bits(v[1:3]))
        assert np.isnan(out2[[0, 3]]).all()


@pytest.mark.parametrize(("kw", "message"), [
    ({"scale": np.ones(2)}, r"scale and shift go together.*shift=False"),
    ({"shift": np.ones(2)}, r"scale and shift go together.*scale=False"),
    ({"out2": np.zeros((1, 2, 1, 1), np.float32)}, r"out2 .*scale and shift needed"),
], ids=["scale_alone", "shift_alone", "out2_without_affine"])
def test_epilogue_rejects_incomplete_affines(kw, message):
    with pytest.raises(ValueError, match=message):
        epilogue.Epilogue(**kw)


@pytest.mark.parametrize(("kw", "message"), [
    ({"scale": np.ones(3), "shift": np.ones(3)}, r"scale of shape \(3,\) for an output of 2 ch"),
    ({"addend": np.zeros((2, 2, 4, 3), np.float32)}, r"addend float32 \(2, 2, 4, 3\) does not"),
    ({"addend": np.zeros((2, 2, 3, 4))}, r"addend float64 \(2, 2, 3, 4\) does not match"),
    ({"scale": np.ones(2), "shift": np.ones(2),
      "out2": np.zeros((2, 2, 3, 4), np.float32)[:, :, :, ::-1]}, r"out2 .*C-contiguous"),
], ids=["scale_length", "addend_shape", "addend_dtype", "out2_strided"])
def test_epilogue_rejects_arrays_that_do_not_fit_the_output(kw, message):
    """The kernels index the epilogue's arrays unchecked: a misfit is refused first."""
    out = np.zeros((2, 2, 3, 4), np.float32)
    with pytest.raises(ValueError, match=message):
        epilogue.Epilogue(**kw)(out, 0, 2)
