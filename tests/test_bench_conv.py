"""Smoke test of ``bench/conv.py direct``: its fill and copy drivers lay the data out as the
direct forward kernel does (so the times it prints are of the real layouts), and a copy of
``conv_direct.py`` loads beside the package's for an A/B.  No timing is asserted."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.insert(0, BENCH)

import conv as bench_conv  # noqa: E402
from mxlite.kernels import conv_direct, epilogue  # noqa: E402


@pytest.mark.parametrize("stride", [1, 2])
def test_direct_bench_fill_and_copy_use_the_forward_layouts(stride):
    """The fill driver leaves the last image's planes as :func:`conv_direct.forward` reads
    them (pixel ``(y, x)`` of a flat plane at ``1 + (y + 1) W + x``; stride 2: pixel ``(2 i +
    a, 2 j + b)`` in phase ``2 a + b`` at ``1 + (i + 1) OW + j``), and the copy driver reads
    rows of ``pitch`` of ``yp`` (F, lp) into ``out``."""
    fill, copy = bench_conv._parts(conv_direct)
    c, h, w, f = 3, 6, 10, 2
    x = np.random.default_rng(0).standard_normal((2, c, h, w)).astype(np.float32)
    pitch, plane, oh, ow, _, lp = conv_direct.forward_geometry(h, w, stride, 1)
    xp = np.full(c * plane, np.nan, np.float32)
    fill(x, stride, xp)
    planes = xp.reshape(c, plane)
    if stride == 1:
        got = planes[:, 1 + w:1 + (h + 1) * w].reshape(c, h, w)
        np.testing.assert_array_equal(got, x[1])
    else:
        size = (oh + 1) * ow + 2
        for a in range(2):
            for b in range(2):
                phase = planes[:, (2 * a + b) * size + 1 + ow:(2 * a + b) * size + 1 + ow
                               + oh * ow].reshape(c, oh, ow)
                want = x[1, :, a::2, b::2]
                np.testing.assert_array_equal(phase[:, :want.shape[1], :want.shape[2]], want)
    yp = np.arange(f * lp, dtype=np.float32)
    out = np.empty((2, f, oh, ow), np.float32)
    copy(yp, stride, out)
    rows = np.stack([yp[q * lp + np.arange(oh)[:, None] * pitch + np.arange(ow)]
                     for q in range(f)])
    np.testing.assert_array_equal(out, np.broadcast_to(rows, out.shape))


def test_direct_bench_loads_another_kernel_copy():
    """``--against``: a copy of ``conv_direct.py`` imports as its own module of
    ``mxlite.kernels`` (relative imports resolved), with the same tile choice."""
    other = bench_conv._load_kernels(conv_direct.__file__)
    assert other is not conv_direct
    assert other.__name__ == "mxlite.kernels._against"
    assert other.variant(16, 16, 1, 32) == conv_direct.variant(16, 16, 1, 32)


def test_direct_bench_loads_a_copy_with_its_copy_out_and_thin_kernel(tmp_path):
    """A copy with ``epilogue.py`` and ``conv_winograd_thin.py`` beside it: the kernel and the
    thin Winograd kernel import that copy-out, not the package's (for ``step``)."""
    import shutil

    from mxlite.kernels import conv_winograd_thin

    for module in (conv_direct, epilogue, conv_winograd_thin):
        shutil.copy(module.__file__, tmp_path)
    other = bench_conv._load_kernels(str(tmp_path / "conv_direct.py"), "_against_test")
    copy_out = sys.modules["mxlite.kernels._against_test_epilogue"]
    assert copy_out is not epilogue
    assert other.store_image is copy_out.store_image
    assert other.bench_thin_kernels.store_channel is copy_out.store_channel
