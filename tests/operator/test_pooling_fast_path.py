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
