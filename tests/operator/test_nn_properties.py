"""Property tests (hypothesis): Convolution, Deconvolution and Pooling against direct,
loop-over-windows NumPy references on random geometries."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mxlite.operator import get


def conv_reference(x, w, b, stride, pad, dilate, groups):
    n, _, h, wd = x.shape
    f, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    oh = (h + 2 * pad[0] - dilate[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dilate[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, f, oh, ow))
    fg = f // groups
    for fi in range(f):
        g = fi // fg
        for y in range(oh):
            for xx in range(ow):
                ys = y * stride[0] + dilate[0] * np.arange(kh)
                xs = xx * stride[1] + dilate[1] * np.arange(kw)
                patch = xp[:, g * cg:(g + 1) * cg][:, :, ys][:, :, :, xs]
                out[:, fi, y, xx] = np.sum(patch * w[fi], axis=(1, 2, 3)) + b[fi]
    return out


geometry = st.tuples(
    st.integers(1, 3), st.integers(1, 3),  # kernel
    st.integers(1, 2), st.integers(1, 2),  # stride
    st.integers(0, 1), st.integers(0, 1),  # pad
    st.integers(1, 2), st.integers(1, 2),  # dilate
    st.sampled_from([1, 2]),  # groups
    st.integers(0, 2**31 - 1),  # seed
)


def _conv_case(geom):
    """The generator, input ``x`` (2, c, 6, 5), weight ``w`` and the geometry parameters
    (kernel, stride, pad, dilate, num_group) of one drawn ``geometry``; c = F = 2 * groups."""
    kh, kw, sh, sw, ph, pw, dh, dw, groups, seed = geom
    rng = np.random.default_rng(seed)
    c = f = 2 * groups
    x = rng.standard_normal((2, c, 6, 5))
    w = rng.standard_normal((f, c // groups, kh, kw))
    params = {"kernel": (kh, kw), "stride": (sh, sw), "pad": (ph, pw), "dilate": (dh, dw),
              "num_group": groups}
    return rng, x, w, params


@settings(max_examples=25, deadline=None)
@given(geometry)
def test_convolution_matches_direct_reference(geom):
    sh, sw, ph, pw, dh, dw, groups = geom[2:9]
    rng, x, w, geo = _conv_case(geom)
    f = w.shape[0]
    b = rng.standard_normal(f)
    op = get("Convolution")
    p = op.parse_params({**geo, "num_filter": f})
    (y,), _ = op.forward(p, [x, w, b], [], True)
    np.testing.assert_allclose(y, conv_reference(x, w, b, (sh, sw), (ph, pw), (dh, dw), groups),
                               rtol=1e-10, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(geometry)
def test_deconvolution_is_adjoint_of_convolution(geom):
    """<conv(x; w), y> == <x, deconv(y; w)> for the same geometry (no bias)."""
    kh, kw, sh, sw, ph, pw, dh, dw = geom[:8]
    rng, x, w, geo = _conv_case(geom)
    c = f = x.shape[1]
    common = {**geo, "no_bias": True}
    conv = get("Convolution")
    (y,), _ = conv.forward(conv.parse_params({**common, "num_filter": f}), [x, w], [], True)
    r = rng.standard_normal(y.shape)
    deconv = get("Deconvolution")
    # adj restores the input size lost to the floor in the convolution's output size
    adj = tuple((i + 2 * pd - d * (k - 1) - 1) % s
                for i, pd, d, k, s in zip((6, 5), (ph, pw), (dh, dw), (kh, kw), (sh, sw),
                                          strict=True))
    dp = deconv.parse_params({**common, "num_filter": c, "adj": adj})
    (back,), _ = deconv.forward(dp, [r, w], [], True)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(y * r), np.sum(x * back), rtol=1e-10)


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3),
                 st.integers(0, 1), st.integers(0, 1), st.sampled_from(["max", "avg", "sum"]),
                 st.sampled_from(["valid", "full"]), st.booleans(), st.integers(0, 2**31 - 1)))
def test_pooling_matches_direct_reference(geom):
    kh, kw, sh, sw, ph, pw, pool_type, convention, include_pad, seed = geom
    if ph >= kh or pw >= kw:
        ph, pw = 0, 0
    x = np.random.default_rng(seed).standard_normal((2, 2, 5, 6))
    op = get("Pooling")
    p = op.parse_params({"kernel": (kh, kw), "stride": (sh, sw), "pad": (ph, pw),
                         "pool_type": pool_type, "pooling_convention": convention,
                         "count_include_pad": include_pad})
    (y,), _ = op.forward(p, [x], [], True)
    ref = np.empty_like(y)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, 5 + ph), min(w0 + kw, 6 + pw)
            window = x[:, :, max(h0, 0):min(h1, 5), max(w0, 0):min(w1, 6)]
            if window.size == 0:  # only with the full convention; MXNet's values
                ref[:, :, i, j] = np.finfo(x.dtype).min if pool_type == "max" else 0.0
            elif pool_type == "max":
                ref[:, :, i, j] = window.max(axis=(2, 3))
            elif pool_type == "sum":
                ref[:, :, i, j] = window.sum(axis=(2, 3))
            else:
                count = (h1 - h0) * (w1 - w0) if include_pad else window.shape[2] * window.shape[3]
                ref[:, :, i, j] = window.sum(axis=(2, 3)) / count
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
