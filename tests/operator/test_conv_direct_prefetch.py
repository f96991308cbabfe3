"""The software prefetches of the direct 3x3 forward (mxlite.kernels.conv_direct, issue 13):
which bytes :func:`conv_direct.forward` prefetches (the next images' input, and for layers
of few input channels this image's output), that every prefetch address lies inside its
array and that together they reach every cache line of it, and that the results stay those
of the float64 reference whatever the arrays' layout (a prefetch itself leaves no trace
a test can see: these check the addresses the kernel computes for them)."""

from __future__ import annotations

import numpy as np
import pytest
from conv_reference import close, reference

from mxlite.kernels import conv_direct, epilogue


def _batch(n, c, h, w, layout, seed=0):
    """A float32 (n, c, h, w) array of ``layout``: contiguous or a view of a larger one."""
    rng = np.random.default_rng(seed)
    if layout == "contiguous":
        return rng.standard_normal((n, c, h, w)).astype(np.float32)
    if layout == "every_other_image":
        return rng.standard_normal((2 * n, c, h, w)).astype(np.float32)[::2]
    if layout == "channel_slice":
        return rng.standard_normal((n, c + 2, h, w)).astype(np.float32)[:, 1:c + 1]
    if layout == "strided_columns":
        return rng.standard_normal((n, c, h, 2 * w)).astype(np.float32)[..., ::2]
    raise ValueError(layout)


def _img(a):
    return a.shape[1] * a.shape[2] * a.shape[3]


# id: (layout, n, k, the span's first image or None, images in it)
SPANS = {
    "one_image": ("contiguous", 1, 1, 1, 1),
    "two_images": ("contiguous", 1, 2, 1, 2),
    "clipped_at_the_batch_end": ("contiguous", 3, 2, 3, 1),
    "past_the_batch": ("contiguous", 4, 1, None, 0),
    "before_the_batch": ("contiguous", -1, 1, None, 0),
    "image_of_a_batch_view": ("every_other_image", 2, 1, 2, 1),
    "images_of_a_batch_view": ("every_other_image", 1, 2, None, 0),
    "image_of_a_channel_slice": ("channel_slice", 2, 1, 2, 1),
    "strided_columns": ("strided_columns", 1, 1, None, 0),
}


@pytest.mark.parametrize("case", list(SPANS), ids=str)
def test_image_span_is_the_images_data_or_nothing(case):
    """``image_span(a, n, k)``: the address and bytes of images ``n .. n + k`` (clipped to
    the batch) where they are one run of memory, else nothing."""
    layout, n, k, first, images = SPANS[case]
    a = _batch(4, 3, 5, 6, layout)
    address, size = conv_direct.image_span(a, n, k)
    if first is None:
        assert (address, size) == (0, 0)
        return
    assert address == a.ctypes.data + first * a.strides[0]
    assert size == 4 * images * _img(a)
    # the span is the images' own data
    flat = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_float * (size // 4)).from_address(
        address))
    np.testing.assert_array_equal(flat, a[first:first + images].ravel())


@pytest.mark.parametrize("offset", [0, 4, 16, 60], ids=lambda o: f"at{o}")
@pytest.mark.parametrize("size", [4, 60, 64, 68, 128, 4096 + 8], ids=lambda s: f"{s}B")
def test_prefetch_addresses_stay_inside_and_reach_every_line(size, offset):
    """The prefetches of a span of ``size`` bytes starting ``offset`` bytes into a cache
    line: each address inside the span (on a float32), one per cache line it touches."""
    address = 64 * 1000 + offset
    lines = conv_direct.span_lines(address, size)
    got = [conv_direct.line_address(address, size, i) for i in range(lines)]
    assert all(address <= a <= address + size - 4 and a % 4 == 0 for a in got)
    touched = set(range(address // 64, (address + size - 1) // 64 + 1))
    assert [a // 64 for a in got] == sorted(touched)


def test_prefetch_lines_walk_the_spans_in_order():
    """``prefetch_lines(spans, done, count)`` issues the next ``count`` lines of the spans one
    after another and never more than there are; an empty span is skipped."""
    x = np.zeros(1000, np.float32)
    spans = np.array([[x.ctypes.data + 4, 400], [0, 0]], np.int64)
    total = conv_direct.span_lines(*spans[0])
    done, steps = 0, 0
    while done < total:
        done = conv_direct.prefetch_lines(spans, done, 3)
        steps += 1
    assert done == total and steps == -(-total // 3)
    assert conv_direct.prefetch_lines(spans, total, 5) == total


@pytest.mark.parametrize("c, f", [(3, 16), (16, 16)], ids=["3to16_output_too", "16to16_input"])
def test_prefetch_spans_follow_the_output_rule(c, f):
    """The next image's input always; this image's output only where an output image has at
    least :data:`conv_direct.PREFETCH_OUTPUT_RATIO` times an input's elements."""
    x = _batch(3, c, 8, 8, "contiguous")
    out = np.zeros((3, f, 8, 8), np.float32)
    output = _img(out) >= conv_direct.PREFETCH_OUTPUT_RATIO * _img(x)
    spans = np.zeros((2, 2), np.int64)
    total = conv_direct.prefetch_spans(x, out, 1, 1, output, spans)
    assert tuple(spans[0]) == conv_direct.image_span(x, 2, 1)
    assert tuple(spans[1]) == (conv_direct.image_span(out, 1, 1) if c == 3 else (0, 0))
    assert output == (c == 3)
    assert total == sum(conv_direct.span_lines(*s) for s in spans)
    # the last image: no next input
    conv_direct.prefetch_spans(x, out, 2, 1, output, spans)
    assert tuple(spans[0]) == (0, 0)


LAYOUTS = ["contiguous", "every_other_image", "channel_slice", "strided_columns"]


@pytest.mark.parametrize("out_layout", ["contiguous", "every_other_image", "channel_slice"])
@pytest.mark.parametrize("x_layout", LAYOUTS)
@pytest.mark.parametrize("c, f, stride", [(3, 16, 1), (16, 16, 1), (16, 32, 2), (3, 16, 2)],
                         ids=["3to16", "16to16", "16to32_s2", "3to16_s2"])
def test_forward_with_prefetches_matches_reference(c, f, stride, x_layout, out_layout):
    """:func:`conv_direct.forward` on views whose images are or are not one run of memory
    (prefetched or not), with and without the output prefetch, and BatchNorm + relu in the
    copy-out: the float64 reference's result, bit for bit the same as from contiguous
    copies."""
    n, h, w = 5, 9, 7
    x = _batch(n, c, h, w, x_layout, seed=c + f)
    rng = np.random.default_rng(stride)
    wt = rng.standard_normal((f, c, 3, 3)).astype(np.float32)
    scale, shift = rng.uniform(0.5, 2.0, f), rng.standard_normal(f)
    var, k = conv_direct.variant(h, w, stride, f)
    ocb = conv_direct.VARIANTS[var][0]
    xs, ys = conv_direct.scratch_sizes(c, h, w, f, stride, var, k)
    oh, ow = (h - 1) // stride + 1, (w - 1) // stride + 1
    epi = epilogue.Epilogue(scale=scale, shift=shift, relu=True).args()

    def run(xin, out):
        conv_direct.forward(xin, conv_direct.pack_weight(wt, ocb), var, stride, k,
                            np.full(xs, np.nan, np.float32), np.full(ys, np.nan, np.float32),
                            out, epi)
        return out

    out = _batch(n, f, oh, ow, out_layout)
    out[...] = np.nan
    got = run(x, out)
    want = run(np.ascontiguousarray(x), np.full((n, f, oh, ow), np.nan, np.float32))
    np.testing.assert_array_equal(got, want)
    ref = reference(x.astype(np.float64), wt.astype(np.float64), stride, 1)
    close(got, np.maximum(ref * scale.reshape(1, -1, 1, 1) + shift.reshape(1, -1, 1, 1), 0))
