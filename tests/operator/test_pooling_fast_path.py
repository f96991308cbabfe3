"""Max pooling's fast kernels (no padding, every window inside the image) against the general
per-window kernels: same outputs, same argmax (first maximum, NaN kept), same gradients."""

import numpy as np
import pytest

from mxlite.operator.nn import _pooling_kernels as K

CASES = [
    # (spatial H, W, kernel (kh, kw), stride (sh, sw))
    ((8, 8), (2, 2), (2, 2)),  # the 2x2 stride-2 kernel
    ((9, 7), (2, 2), (2, 2)),  # ... with a row and a column in no window
    ((9, 7), (3, 3), (2, 2)),
    ((6, 10), (2, 3), (1, 2)),
    ((1, 12), (1, 3), (1, 3)),  # 1-D pooling
    ((5, 5), (5, 5), (1, 1)),  # global
]


def _general(x5, k, s, out_shape):
    out = np.empty(out_shape, x5.dtype)
    arg = np.empty(out_shape, np.int64)
    K._forward_ser(x5, 0, k, s, (0, 0, 0), True, 1.0, float(np.finfo(x5.dtype).min), out, arg)
    return out, arg


@pytest.mark.parametrize("hw,kernel,stride", CASES, ids=[f"{c[0]}k{c[1]}s{c[2]}" for c in CASES])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties_nan"])
@pytest.mark.parametrize("index", [np.int64, np.int32], ids=["int64", "int32"])
def test_fast_max_pool_matches_general_kernel(hw, kernel, stride, ties, index):
    rng = np.random.default_rng(7)
    h, w = hw
    x = rng.standard_normal((2, 3, 1, h, w)).astype(np.float32)
    if ties:
        x = np.round(x)  # many equal maxima: the first one wins in both
        x[0, 0, 0, 0, 0] = np.nan
    k, s = (1, *kernel), (1, *stride)
    out_shape = (2, 3, 1, (h - kernel[0]) // stride[0] + 1, (w - kernel[1]) // stride[1] + 1)
    ref_out, ref_arg = _general(x, k, s, out_shape)
    assert K._inside(x, k, s, (0, 0, 0), ref_out)
    out = np.empty(out_shape, np.float32)
    arg = np.empty(out_shape, index)  # Pooling stores int32 argmax
    K.pool_forward(x, 0, k, s, (0, 0, 0), True, 1.0, out, arg)
    np.testing.assert_array_equal(out, ref_out)
    np.testing.assert_array_equal(arg, ref_arg)
    dy = rng.standard_normal(out_shape).astype(np.float32)
    dx_ref = np.empty_like(x)
    K._backward_ser(x, dy, 0, k, s, (0, 0, 0), True, 1.0, ref_out, ref_arg, dx_ref)
    dx = np.full_like(x, 5.0)  # stale values must be overwritten
    K.pool_backward(x, dy, 0, k, s, (0, 0, 0), True, 1.0, out, arg, dx)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-6, atol=1e-6)


def test_padding_or_full_windows_take_the_general_kernel():
    x = np.zeros((1, 1, 1, 5, 5), np.float32)
    assert not K._inside(x, (1, 2, 2), (1, 2, 2), (0, 1, 1), np.zeros((1, 1, 1, 3, 3)))
    assert not K._inside(x, (1, 2, 2), (1, 2, 2), (0, 0, 0), np.zeros((1, 1, 1, 3, 3)))
    assert K._inside(x, (1, 2, 2), (1, 2, 2), (0, 0, 0), np.zeros((1, 1, 1, 2, 2)))


WHOLE = [
    # (N, C, D, H, W, dtype)
    (2, 3, 1, 8, 8, np.float32),  # ResNet's global average pool, 64 a plane
    (4, 5, 1, 7, 7, np.float32),  # 49 a plane: 6 runs of 8 and a tail of 1
    (3, 2, 1, 1, 5, np.float32),  # fewer than 8 a plane: only the tail
    (2, 2, 3, 4, 5, np.float64),  # 3-D
    (64, 64, 1, 8, 8, np.float32),  # large enough for the parallel driver
]


@pytest.mark.parametrize("kind", [1, 2], ids=["avg", "sum"])
@pytest.mark.parametrize("shape", WHOLE, ids=[f"{s[:5]}-{np.dtype(s[5]).name}" for s in WHOLE])
def test_whole_plane_avg_sum_match_the_general_kernel(shape, kind):
    *dims, dtype = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal(dims).astype(dtype)
    k, s, p = tuple(dims[2:]), (1, 1, 1), (0, 0, 0)
    out_shape = (*dims[:2], 1, 1, 1)
    ref = np.empty(out_shape, dtype)
    arg = np.empty((1, 1, 1, 1, 1), np.int32)
    K._forward_ser(x, kind, k, s, p, True, 1.0, 0.0, ref, arg)
    assert K._whole_plane(x, kind, k, s, p, ref)
    out = np.full(out_shape, 7.0, dtype)
    K.pool_forward(x, kind, k, s, p, True, 1.0, out, arg)
    exact = x.astype(np.float64).reshape(*dims[:2], -1)
    exact = exact.mean(-1) if kind == 1 else exact.sum(-1)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(out.reshape(dims[:2]), exact, rtol=tol, atol=tol)
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)
    dy = rng.standard_normal(out_shape).astype(dtype)
    dx_ref = np.empty_like(x)
    K._backward_ser(x, dy, kind, k, s, p, True, 1.0, ref, arg, dx_ref)
    dx = np.full_like(x, 5.0)  # stale values must be overwritten
    K.pool_backward(x, dy, kind, k, s, p, True, 1.0, out, arg, dx)
    np.testing.assert_array_equal(dx, dx_ref)


@pytest.mark.parametrize("kind,k,p,out", [
    (0, (1, 4, 4), (0, 0, 0), (1, 1, 1)),  # max: its own kernels
    (1, (1, 4, 4), (0, 1, 1), (1, 2, 2)),  # padded
    (1, (1, 2, 4), (0, 0, 0), (1, 3, 1)),  # several windows a plane
    (3, (1, 4, 4), (0, 0, 0), (1, 1, 1)),  # Lp
], ids=["max", "padded", "windows", "lp"])
def test_whole_plane_path_only_for_one_unpadded_avg_or_sum_window(kind, k, p, out):
    x = np.zeros((1, 1, 1, 4, 4), np.float32)
    assert not K._whole_plane(x, kind, k, (1, 1, 1), p, np.zeros((1, 1, *out)))
