"""Convolution and Deconvolution, 1-D (NCW), 2-D (NCHW) and 3-D (NCDHW), as in MXNet 1.9.1.

Convolution: data ``(N, C, *spatial)``, weight ``(num_filter, C / num_group, *kernel)``, bias
``(num_filter,)``; output spatial size ``(H + 2 pad - dilate (k - 1) - 1) // stride + 1``.
Computed with im2col (Numba, :mod:`._im2col`) and one BLAS GEMM per group, in chunks of images
whose columns fit the L2 cache (:data:`CHUNK_BYTES`; a 1x1 stride-1 kernel needs no im2col);
backward is the transposed GEMMs plus col2im.  3x3 stride-1 convolutions of at least
:data:`WINOGRAD_CHANNELS` channels use Winograd F(2x2, 3x3) for the output and the data
gradient and F(3x3, 2x2) for the weight gradient (:mod:`mxlite.kernels.conv_winograd`).  Thin
float32 3x3 stride-1 pad-1 convolutions (at most :data:`DIRECT_CHANNELS` channels, rows of a
multiple of 16 pixels: ResNet-20's 16- and 32-channel stages) use the direct register-tiled
kernels of :mod:`mxlite.kernels.conv_direct` for the output and the data gradient; the weight
gradient is direct up to :data:`DIRECT_WEIGHT_GRAD_CHANNELS` channels (16k output channels).
The batch is split over ``MXLITE_NUM_THREADS`` threads (:func:`_split`).  Float64 runs the
im2col / Winograd paths in float64; other dtypes compute in float32.

Deconvolution (the gradient of a convolution with respect to its input, used as a layer):
data ``(N, C, *spatial)``, weight ``(C, num_filter / num_group, *kernel)``; output size
``stride (H - 1) + dilate (k - 1) + 1 - 2 pad + adj``.  With ``target_shape`` MXNet derives
``pad`` and ``adj`` from it: ``t = stride (H - 1) + dilate (k - 1) + 1 - target``,
``pad = ceil(t / 2)``, ``adj = t % 2``.  ``no_bias`` defaults to True, as in MXNet.  3-D
Deconvolution goes beyond MXNet 1.9.1's native CPU operator (1-D/2-D only); it is checked by
numerical gradients and as the adjoint of the 3-D Convolution.

``workspace``, ``cudnn_tune`` and ``cudnn_off`` are accepted and ignored.  ``layout`` may be
None, the channels-first layout matching the kernel (``NCW``, ``NCHW``, ``NCDHW``) or the
channels-last one (``NWC``, ``NHWC``, ``NDHWC``; weights ``(num_filter, *kernel, C / num_group)``
for Convolution, ``(C, *kernel, num_filter / num_group)`` for Deconvolution, as MXNet's shape
inference gives them), computed as the channels-first operator on transposed arrays
(:mod:`._layout`).  MXNet 1.9.1's CPU operators fail on every channels-last input (oneDNN
"could not create a descriptor") and reject ``NWC`` as a parameter value; mxlite computes them.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from ...kernels import PARALLEL_THRESHOLD
from ...kernels import conv_direct as _direct_kernels
from ...kernels import conv_winograd as _winograd_kernels
from ..registry import Operator, Param, ShapeError, register
from . import _im2col as _kernels
from . import _layout
from ._util import fmt, kernel_dtype, merge_shape, planned_buffer, spatial_tuple

_COMMON = {
    "kernel": Param("shape"),
    "stride": Param("shape", ()),
    "dilate": Param("shape", ()),
    "pad": Param("shape", ()),
    "num_filter": Param("int"),
    "num_group": Param("int", 1),
    "workspace": Param("int", 1024),
    "no_bias": Param("bool", False),
    "cudnn_tune": Param("str", None, optional=True,
                        choices=(None, "off", "limited_workspace", "fastest")),
    "cudnn_off": Param("bool", False),
    "layout": Param("str", None, optional=True,
                    choices=(None, "NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC")),
}


class _Geometry:
    """Validated kernel, stride, dilation, padding (and Deconvolution's adj) per spatial axis,
    and the input / output spatial sizes; :meth:`kernel_args` pads them to 3-D for the kernels."""

    def __init__(self, op, p, data_shape, deconv=False):
        nsp = len(p.kernel)
        if nsp not in (1, 2, 3):
            raise ShapeError(f"{op}: kernel={p.kernel} must have 1, 2 or 3 dimensions")
        _layout.check(op, p.layout, nsp)
        if len(data_shape) != nsp + 2:
            raise ShapeError(f"{op}: data shape {fmt(data_shape)} must have {nsp + 2} axes for "
                             f"kernel={p.kernel}")
        if any(k <= 0 for k in p.kernel):
            raise ShapeError(f"{op}: kernel={p.kernel} must be positive")
        if p.num_filter <= 0:
            raise ShapeError(f"{op}: num_filter must be positive, got {p.num_filter}")
        if p.num_group <= 0:
            raise ShapeError(f"{op}: num_group must be positive, got {p.num_group}")
        self.nsp = nsp
        self.kernel = tuple(p.kernel)
        self.stride = spatial_tuple(op, "stride", p.stride, nsp, 1)
        self.dilate = spatial_tuple(op, "dilate", p.dilate, nsp, 1)
        self.pad = spatial_tuple(op, "pad", p.pad, nsp, 0)
        if any(s <= 0 for s in self.stride) or any(d <= 0 for d in self.dilate):
            raise ShapeError(
                f"{op}: stride={self.stride} and dilate={self.dilate} must be positive"
            )
        if any(v < 0 for v in self.pad):
            raise ShapeError(f"{op}: pad={self.pad} must be non-negative")
        self.batch, self.channels = int(data_shape[0]), int(data_shape[1])
        self.in_spatial = tuple(int(s) for s in data_shape[2:])
        ext = tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilate, strict=True))
        if not deconv:
            self.adj = (0,) * nsp
            out = tuple(
                (i + 2 * pd - e) // s + 1
                for i, pd, e, s in zip(self.in_spatial, self.pad, ext, self.stride, strict=True)
            )
            if any(o <= 0 for o in out) or any(
                i + 2 * pd < e for i, pd, e in zip(self.in_spatial, self.pad, ext, strict=True)
            ):
                raise ShapeError(
                    f"{op}: kernel={self.kernel} (dilate={self.dilate}) does not fit data shape "
                    f"{fmt(data_shape)} with pad={self.pad}"
                )
        else:
            full = tuple(s * (i - 1) + e
                         for i, e, s in zip(self.in_spatial, ext, self.stride, strict=True))
            target = tuple(p.target_shape)
            if target and any(t > 0 for t in target):
                if len(target) != nsp:
                    raise ShapeError(f"{op}: target_shape={target} must have {nsp} dimension(s)")
                diff = tuple(f - t for f, t in zip(full, target, strict=True))
                self.pad = tuple((d + 1) // 2 for d in diff)
                self.adj = tuple(d % 2 for d in diff)
            else:
                self.adj = spatial_tuple(op, "adj", p.adj, nsp, 0)
            if any(a >= s and a > 0 for a, s in zip(self.adj, self.stride, strict=True)):
                raise ShapeError(f"{op}: adj={self.adj} must be smaller than stride={self.stride}")
            out = tuple(f - 2 * pd + a
                        for f, pd, a in zip(full, self.pad, self.adj, strict=True))
            if any(o <= 0 for o in out):
                raise ShapeError(f"{op}: output size {out} is not positive for data shape "
                                 f"{fmt(data_shape)}, kernel={self.kernel}, pad={self.pad}")
        self.out_spatial = out

    def as3d(self, values, fill):
        return (fill,) * (3 - self.nsp) + tuple(values)

    def kernel_args(self, cols_spatial):
        """Geometry 3-tuples of im2col/col2im for ``cols_spatial`` sliding positions."""
        return (self.as3d(self.kernel, 1), self.as3d(self.stride, 1), self.as3d(self.pad, 0),
                self.as3d(self.dilate, 1), self.as3d(cols_spatial, 1))


#: bytes of im2col columns per chunk of images (one image at least): a chunk's columns stay in
#: the L2 cache (2 MiB a core where this was measured) between im2col and the GEMMs reading them
CHUNK_BYTES = 1 << 20

#: convolutions with fewer column elements (``C*K * N*L``) than this run in the calling thread
PARALLEL_COLUMNS = PARALLEL_THRESHOLD

_local = threading.local()
_lock = threading.Lock()
#: (threads, pid) -> the thread pool of :func:`_split`
_pools: dict = {}
#: the BLAS hold of :func:`_blas_single`: controller, depth, active limiter
_blas: dict = {"depth": 0, "limit": None}


def _chunk(bytes_per_image: int, n: int) -> int:
    """Images per chunk of the im2col / GEMM loop."""
    return max(1, min(n, CHUNK_BYTES // max(bytes_per_image, 1)))


def _blas_controller():
    """The cached ``threadpoolctl`` controller of the BLAS (None without threadpoolctl)."""
    if "controller" not in _blas:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
            _blas["controller"] = None
        else:
            _blas["controller"] = ThreadpoolController()
    return _blas["controller"]


def _split(work, n: int, columns: int):
    """Run ``work(a, b)`` over contiguous image ranges covering ``range(n)``; the results, in order.

    With ``numba.get_num_threads()`` (``MXLITE_NUM_THREADS``) above one and at least
    :data:`PARALLEL_COLUMNS` column elements, the ranges run on that many threads (the caller's
    and a pool's), each one image chunk after another with the serial Numba kernels and a
    one-thread BLAS: per-image GEMMs are too small to share between BLAS threads, and each of
    them would be one synchronization of those threads."""
    import numba

    threads = min(numba.get_num_threads(), n)
    if threads <= 1 or columns < PARALLEL_COLUMNS:
        return [work(0, n)]
    from concurrent import futures as cf

    with _lock:
        # a forked child inherits the pool object but not its threads: start a new one
        pool = _pools.get((threads, os.getpid()))
        if pool is None:
            pool = _pools[(threads, os.getpid())] = cf.ThreadPoolExecutor(threads - 1,
                                                                          "mxlite-conv")
    bounds = [n * t // threads for t in range(threads + 1)]
    _blas_single(True)
    try:
        others = [pool.submit(work, bounds[t], bounds[t + 1]) for t in range(1, threads)]
        try:
            first = work(bounds[0], bounds[1])
        finally:
            cf.wait(others)  # never leave a worker writing after an error here
        return [first] + [f.result() for f in others]
    finally:
        _blas_single(False)


def _blas_single(enter: bool) -> None:
    """Hold the BLAS at one thread between matching ``enter=True`` / ``False`` calls; nested
    or concurrent holders (convolutions in several Python threads) share one hold, and the
    last to leave restores the thread count found by the first."""
    with _lock:
        depth = _blas["depth"]
        if enter:
            if depth == 0:
                ctl = _blas_controller()
                _blas["limit"] = ctl.limit(limits=1, user_api="blas") if ctl else None
            _blas["depth"] = depth + 1
            return
        _blas["depth"] = depth - 1
        if depth == 1 and _blas["limit"] is not None:
            _blas["limit"].restore_original_limits()
            _blas["limit"] = None


def _workspace(sizes, dtype, slot=0):
    """Flat scratch arrays of ``sizes`` elements, carved from one buffer that is reused from call
    to call (one per thread, dtype and ``slot``; it only grows), so that no batch allocates them
    anew."""
    key = (np.dtype(dtype).str, slot)
    cache = getattr(_local, "buffers", None)
    if cache is None:
        cache = _local.buffers = {}
    total = sum(sizes)
    buf = cache.get(key)
    if buf is None or buf.size < total:
        buf = cache[key] = np.empty(total, dtype=dtype)
    views, at = [], 0
    for size in sizes:
        views.append(buf[at:at + size])
        at += size
    return views




def _as5d(x):
    """A view of ``x`` (N, C, *spatial) with 3 spatial axes (leading ones of size 1)."""
    return x.reshape(x.shape[:2] + (1,) * (5 - x.ndim) + x.shape[2:])


def _im2col(x, geo, out_spatial):
    x5 = np.ascontiguousarray(_as5d(x))
    rows = x.shape[1] * int(np.prod(geo.kernel))
    cols = np.empty((rows, x.shape[0] * int(np.prod(out_spatial))), dtype=x.dtype)
    _kernels.im2col(x5, *geo.kernel_args(out_spatial), cols)
    return cols


def _col2im(cols, geo, image_shape, out_spatial):
    out = np.empty(image_shape, dtype=cols.dtype)
    _kernels.col2im(np.ascontiguousarray(cols), *geo.kernel_args(out_spatial), _as5d(out))
    return out


def _nfl_to_nchw(y, n, f, spatial):
    """(F, N*L) GEMM result -> (N, F, *spatial) contiguous."""
    return np.ascontiguousarray(y.reshape(f, n, -1).transpose(1, 0, 2)).reshape(n, f, *spatial)


def _nchw_to_fnl(y):
    """(N, F, *spatial) -> (F, N*L) contiguous."""
    n, f = y.shape[:2]
    return np.ascontiguousarray(y.reshape(n, f, -1).transpose(1, 0, 2)).reshape(f, -1)


#: Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions with at least this many input and
#: output channels and output pixels per image.  Measured (one thread, ms, im2col -> Winograd,
#: forward / backward): 64ch 64x64 batch 32: 112 -> 88 / 252 -> 202; 128ch 32x32: 84 -> 64 /
#: 173 -> 156; 256ch 16x16: 82 -> 64 / 175 -> 153; 128ch 16x16: 24 -> 21 / 44 -> 47; but
#: ResNet-20's 16-64ch at 32x32-8x8 (batch 128) lose 25-50%: thin GEMMs, short tile rows
WINOGRAD_CHANNELS = 64
WINOGRAD_PIXELS = 256
#: bytes of transformed input tiles per block (whole images, or some tile rows of one image
#: when one image has more).  Blocks that fit the L2 cache measured no faster (1 MiB: 0.99-1.12x
#: the time of 4 MiB on the VGG layers, 256 KiB up to 1.7x: the GEMMs get short)
WINOGRAD_CHUNK_BYTES = 4 << 20


def _winograd_ok(p, geo, channels) -> bool:
    return (geo.nsp == 2 and geo.kernel == (3, 3) and geo.stride == (1, 1)
            and geo.dilate == (1, 1) and p.num_group == 1 and max(geo.pad) <= 2
            and min(channels, p.num_filter) >= WINOGRAD_CHANNELS
            and geo.out_spatial[0] * geo.out_spatial[1] >= WINOGRAD_PIXELS)


def _winograd_blocks(n, c, th, tw, itemsize):
    """``(images per chunk, tile rows per block)``: the transformed tiles of one block (16 C
    values a tile) fill at most :data:`WINOGRAD_CHUNK_BYTES`; a block is whole images when
    an image fits, else some tile rows of one image."""
    per_row = 16 * c * tw * itemsize
    rows = max(1, WINOGRAD_CHUNK_BYTES // per_row)
    if rows < th:
        return 1, rows
    return max(1, min(n, WINOGRAD_CHUNK_BYTES // (per_row * th))), th


def _winograd(x, u, pad, out, post=None):
    """``out`` (N, F, OH, OW) = the 3x3 stride-1 convolution of ``x`` (N, C, H, W) padded by
    ``pad``, for the transformed weight ``u`` (16, F, C) (:mod:`mxlite.kernels.conv_winograd`);
    chunks of images split over threads as :func:`_split` does."""
    n, c = x.shape[:2]
    f, (oh, ow) = u.shape[1], out.shape[2:]
    th, tw = _winograd_kernels.tiles(oh, ow)
    hp, wp = 2 * th + 2, 2 * tw + 2
    step, block = _winograd_blocks(n, c, th, tw, x.itemsize)

    def work(a, b):
        for n0 in range(a, b, step):
            nb = min(step, b - n0)
            size = nb * block * tw
            xp, v, m = _workspace((nb * c * hp * wp, 16 * c * size, 16 * f * size),
                                  x.dtype, slot=4)
            xp = xp.reshape(nb, c, hp, wp)
            _winograd_kernels.pad_images(x[n0:n0 + nb], pad[0], pad[1], xp)
            for ty0 in range(0, th, block):
                nty = min(block, th - ty0)
                p = nb * nty * tw
                vb, mb = v[:16 * c * p].reshape(16, c, p), m[:16 * f * p].reshape(16, f, p)
                _winograd_kernels.input_transform(xp, ty0, nty, tw, vb)
                np.matmul(u, vb, out=mb)
                _winograd_kernels.output_transform(mb, ty0, nty, tw, out[n0:n0 + nb])
            if post is not None:
                post(n0, n0 + nb)

    _split(work, n, 16 * c * n * th * tw)


def _winograd_weight_grad(x, dy, pad):
    """dW (F, C, 3, 3) of the 3x3 stride-1 convolution of ``x`` (N, C, H, W) padded by ``pad``
    for the head gradient ``dy`` (N, F, OH, OW), by Winograd F(3x3, 2x2)."""
    n, c = x.shape[:2]
    f, (oh, ow) = dy.shape[1], dy.shape[2:]
    th, tw = _winograd_kernels.tiles(oh, ow)
    hp, wp = 2 * th + 2, 2 * tw + 2
    step, block = _winograd_blocks(n, max(c, f), th, tw, x.itemsize)

    def work(a, b):
        part, tmp = _workspace((16 * f * c, 16 * f * c), x.dtype, slot=5)
        part, tmp = part.reshape(16, f, c), tmp.reshape(16, f, c)
        part[...] = 0
        for n0 in range(a, b, step):
            nb = min(step, b - n0)
            size = nb * block * tw
            xp, dyp, v, u = _workspace((nb * c * hp * wp, nb * f * 4 * th * tw, 16 * c * size,
                                        16 * f * size), x.dtype, slot=4)
            xp, dyp = xp.reshape(nb, c, hp, wp), dyp.reshape(nb, f, 2 * th, 2 * tw)
            _winograd_kernels.pad_images(x[n0:n0 + nb], pad[0], pad[1], xp)
            _winograd_kernels.pad_images(dy[n0:n0 + nb], 0, 0, dyp)
            for ty0 in range(0, th, block):
                nty = min(block, th - ty0)
                p = nb * nty * tw
                vb, ub = v[:16 * c * p].reshape(16, c, p), u[:16 * f * p].reshape(16, f, p)
                _winograd_kernels.input_transform(xp, ty0, nty, tw, vb)
                _winograd_kernels.grad_transform(dyp, ty0, nty, tw, ub)
                np.matmul(ub, vb.transpose(0, 2, 1), out=tmp)
                part += tmp
        return part

    parts = _split(work, n, 16 * c * n * th * tw)
    for extra in parts[1:]:
        parts[0] += extra
    return _winograd_kernels.weight_grad_output(parts[0])


#: the direct register-tiled kernel (:mod:`mxlite.kernels.conv_direct`) for float32 3x3
#: stride-1 pad-1 convolutions of at most this many input and output channels whose output
#: rows are a multiple of 16 pixels; measured (one thread, batch 128, ms, im2col -> direct,
#: forward): 16ch 32x32: 12.4 -> 7.3; 32ch 16x16: 8.9 -> 6.5.  Wider layers were not measured
#: (Winograd takes those of >= 64 channels); 8-pixel rows (64ch 8x8) were slower: 7.4 -> 11.0
DIRECT_CHANNELS = 32
#: the direct weight gradient for at most this many channels (any output width, 16k output
#: channels); measured (one thread, batch 128, ms, im2col + GEMM -> direct): 16ch 32x32: 17.3
#: -> 10.6; 32ch 16x16: 12.1 -> 7.9; 64ch 8x8: 9.1 -> 7.4; 3 -> 16ch 32x32: 4.9 -> 4.4
DIRECT_WEIGHT_GRAD_CHANNELS = 64
#: False: never use the direct kernel (for benchmarks and tests of the other paths)
DIRECT = True


def _direct_ok(p, geo, channels, filters, dtype) -> int:
    """The direct kernel's tile width for a convolution of ``channels`` -> ``filters`` (0: not
    applicable); ``filters`` is the data gradient's ``channels`` when it checks that one."""
    if not (DIRECT and np.dtype(dtype) == np.float32 and geo.nsp == 2 and geo.kernel == (3, 3)
            and geo.stride == (1, 1) and geo.dilate == (1, 1) and geo.pad == (1, 1)
            and p.num_group == 1 and max(channels, filters) <= DIRECT_CHANNELS):
        return 0
    return _direct_kernels.tile_width(geo.out_spatial[1], filters)


def _direct(x, w, rw, out, post=None):
    """``out`` (N, F, H, W) = the 3x3 stride-1 pad-1 convolution of float32 ``x`` (N, C, H, W)
    with ``w`` (F, C, 3, 3) by the direct kernel of tile width ``rw``; the batch split over
    threads as :func:`_split` does."""
    n, c, h, width = x.shape
    kernel = _direct_kernels.KERNELS[rw]
    wpk = _direct_kernels.pack_weight(w, _direct_kernels.TILES[rw][0])

    # with an epilogue: chunks of images whose output stays in cache until ``post`` ran
    step = n if post is None else _chunk(out[0].nbytes, n)

    def work(a, b):
        (xp,) = _workspace((c * (h + 2) * (width + 2),), np.float32, slot=6)
        for n0 in range(a, b, step):
            n1 = min(b, n0 + step)
            kernel(x[n0:n1], wpk, xp.reshape(1, c, h + 2, width + 2), out[n0:n1])
            if post is not None:
                post(n0, n1)

    _split(work, n, 9 * c * n * h * width)


def _direct_weight_grad_ok(p, geo, channels, filters, dtype) -> bool:
    """Whether :func:`_direct_weight_grad` takes the weight gradient: float32 3x3 stride-1
    pad-1, one group, at most :data:`DIRECT_WEIGHT_GRAD_CHANNELS` channels, any output width,
    ``filters`` a multiple of 16."""
    return bool(DIRECT and np.dtype(dtype) == np.float32 and geo.nsp == 2
                and geo.kernel == (3, 3) and geo.stride == (1, 1) and geo.dilate == (1, 1)
                and geo.pad == (1, 1) and p.num_group == 1
                and max(channels, filters) <= DIRECT_WEIGHT_GRAD_CHANNELS and filters % 16 == 0)


def _direct_weight_grad(x, dy):
    """dW (F, C, 3, 3) of the 3x3 stride-1 pad-1 convolution of float32 ``x`` (N, C, H, W) for
    ``dy`` (N, F, H, W) by :func:`mxlite.kernels.conv_direct.weight_grad`, the batch split over
    threads (one partial sum each)."""
    n, c, h, width = x.shape
    f = dy.shape[1]

    def work(a, b):
        xp, dyt, part = _workspace((c * (h + 2) * (width + 2), h * width * f, f * c * 9),
                                   np.float32, slot=7)
        part = part.reshape(f // 16, c, 9, 16)
        part[...] = 0
        _direct_kernels.weight_grad(x[a:b], dy[a:b], xp.reshape(1, c, h + 2, width + 2),
                                    dyt.reshape(h * width, f), part)
        return part

    parts = _split(work, n, 9 * c * n * h * width)
    for extra in parts[1:]:
        parts[0] += extra
    return _direct_kernels.unpack_weight_grad(parts[0])


class _ConvBase(Operator):
    deconv = False
    partial_shapes = True

    def arguments(self, p):
        return ["data", "weight"] if p.no_bias else ["data", "weight", "bias"]

    def _weight_shape(self, p, channels):
        raise NotImplementedError

    def infer_inputs_from_outputs(self, p, in_shapes, out_shapes):
        """An unknown (0) batch size of the data from the output's (an ``mx.rnn`` ConvRNN begin
        state)."""
        data, out = in_shapes[0], out_shapes[0]
        if data is None or out is None or not out or out[0] == 0 or data[0] != 0 \
                or 0 in data[1:]:
            return in_shapes
        return [(out[0], *data[1:]), *in_shapes[1:]]

    # channels-last layouts: the channels-first operator on transposed arrays
    def infer_shape(self, p, in_shapes, aux_shapes):
        if not _layout.is_last(p.layout):
            return self._infer_first(p, in_shapes, aux_shapes)
        if len(p.kernel) in (1, 2, 3):
            _layout.check(self.name, p.layout, len(p.kernel))
        ins = list(in_shapes)
        ins[:2] = [_layout.to_first(s) for s in ins[:2]]
        ins, outs, aux = self._infer_first(_layout.first_params(p), ins, aux_shapes)
        ins = list(ins)
        ins[:2] = [_layout.to_last(s) for s in ins[:2]]
        return ins, [_layout.to_last(s) for s in outs], aux

    def forward(self, p, inputs, aux, is_train, **kw):
        if not _layout.is_last(p.layout):
            return self._forward(p, inputs, aux, is_train, **kw)
        bufs = kw.get("out")
        ins = [_layout.array_first(inputs[0]), _layout.array_first(inputs[1]), *inputs[2:]]
        outs, saved = self._forward(_layout.first_params(p), ins, aux, is_train)
        return [_layout.array_last(outs[0], bufs[0] if bufs else None)], (saved, ins)

    def backward(self, p, out_grads, inputs, outputs, aux, saved, **kw):
        if not _layout.is_last(p.layout):
            return self._backward(p, out_grads, inputs, outputs, aux, saved, **kw)
        gout = kw.pop("gout", None)
        inner, ins = saved
        grads = self._backward(_layout.first_params(p), [_layout.array_first(out_grads[0])],
                               ins, [None], aux, inner, **kw)
        for k in (0, 1):
            if grads[k] is not None:
                grads[k] = _layout.array_last(grads[k], gout[k] if gout else None)
        return grads

    def _infer_first(self, p, in_shapes, aux_shapes):
        in_shapes = list(in_shapes)
        if not p.no_bias:
            in_shapes[2] = merge_shape(self.name, "bias", in_shapes[2], (p.num_filter,))
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], aux_shapes
        data = tuple(int(s) for s in data)
        if 0 in data:  # partially known (MXNet 1.x's 0 = unknown): the weight from channels
            in_shapes[1] = in_shapes[1] if in_shapes[1] is not None and 0 not in in_shapes[1] \
                else self._weight_shape(p, data[1] if data[1] else 0)
            return in_shapes, [None], aux_shapes
        geo = _Geometry(self.name, p, data, self.deconv)
        c = data[1]
        if c % p.num_group or p.num_filter % p.num_group:
            raise ShapeError(
                f"{self.name}: data channels ({c}) and num_filter ({p.num_filter}) must be "
                f"divisible by num_group ({p.num_group}); data shape {fmt(data)}"
            )
        want_w = self._weight_shape(p, c)
        got_w = None if in_shapes[1] is None else tuple(int(d) for d in in_shapes[1])
        if got_w is not None and (len(got_w) != len(want_w) or any(
                a not in (0, b) for a, b in zip(got_w, want_w, strict=True))):  # 0: unknown
            raise ShapeError(
                f"{self.name}: weight shape {fmt(in_shapes[1])} does not match data shape "
                f"{fmt(data)}; expected {fmt(want_w)}"
            )
        in_shapes[0], in_shapes[1] = data, want_w
        return in_shapes, [(data[0], p.num_filter, *geo.out_spatial)], aux_shapes


@register
class Convolution(_ConvBase):
    name = "Convolution"
    params = dict(_COMMON)

    def _weight_shape(self, p, channels):
        return (p.num_filter, channels // p.num_group, *p.kernel)

    writes_outputs = True
    writes_grads = True

    def _forward(self, p, inputs, aux, is_train, out=None, post=None):
        """``post(out, a, b)``: an epilogue (the executor's fusion, :mod:`mxlite._fusion`)
        called on the kernel-dtype output ``out`` (N, F, *spatial) for each finished range
        of images ``[a, b)``, bias included, right after it is computed (from the thread that
        computed it: ``post`` must run single-threaded kernels)."""
        dtype = inputs[0].dtype
        x, w = (a.astype(kernel_dtype(dtype), copy=False) for a in inputs[:2])
        x = np.ascontiguousarray(x)
        geo = _Geometry(self.name, p, x.shape)
        n, f, g = x.shape[0], p.num_filter, p.num_group
        length = int(np.prod(geo.out_spatial))
        rows = x.shape[1] * int(np.prod(geo.kernel))
        fg, rg = f // g, rows // g
        w2 = np.ascontiguousarray(w).reshape(f, -1)
        out = planned_buffer(out, 0, (n, f, *geo.out_spatial), x.dtype)
        out3 = out.reshape(n, f, length)
        bias = None if p.no_bias else inputs[2].astype(x.dtype, copy=False).reshape(1, f, 1)
        hook = None
        if post is not None:  # the bias goes in first, chunk by chunk
            def hook(a, b):
                if bias is not None:
                    out3[a:b] += bias
                post(out, a, b)
        if _winograd_ok(p, geo, x.shape[1]):
            _winograd(x, _winograd_kernels.weight_transform(w), geo.pad, out, hook)
            if bias is not None and hook is None:
                out3 += bias
            return [out.astype(dtype, copy=False)], geo
        rw = _direct_ok(p, geo, x.shape[1], f, x.dtype)
        if rw:
            _direct(x, w, rw, out, hook)
            if bias is not None and hook is None:
                out3 += bias
            return [out.astype(dtype, copy=False)], geo
        plan = _Plan(geo, x, rows, length)

        def work(a, b):
            for n0, nb, cols in plan.columns(a, b):
                # one image: the GEMM writes its (F, L) output in place; a chunk of several
                # (small images): one GEMM of the chunk, then its (F, nb, L) -> (nb, F, L) copy
                y = out3[n0] if nb == 1 else \
                    _workspace((f * nb * length,), x.dtype, slot=3)[0].reshape(f, nb * length)
                for k in range(g):
                    np.matmul(w2[k * fg:(k + 1) * fg], cols[k * rg:(k + 1) * rg],
                              out=y[k * fg:(k + 1) * fg])
                if nb > 1:
                    out3[n0:n0 + nb] = y.reshape(f, nb, length).transpose(1, 0, 2)
                if hook is not None:
                    hook(n0, n0 + nb)
            if bias is not None and hook is None:
                out3[a:b] += bias

        _split(work, n, rows * n * length)
        return [out.astype(dtype, copy=False)], geo

    skips_grads = True

    def _backward(self, p, out_grads, inputs, outputs, aux, saved, need=None, gout=None):
        geo = saved
        x, w = inputs[0], inputs[1]
        want_dx = need is None or need[0]
        kdt = kernel_dtype(x.dtype)
        xk = np.ascontiguousarray(x, dtype=kdt)
        n, f, g = x.shape[0], p.num_filter, p.num_group
        length = int(np.prod(geo.out_spatial))
        rows = x.shape[1] * int(np.prod(geo.kernel))
        fg, rg = f // g, rows // g
        dy = np.ascontiguousarray(out_grads[0], dtype=kdt).reshape(n, f, length)
        w2 = np.ascontiguousarray(w, dtype=kdt).reshape(f, -1)
        dw_full = planned_buffer(gout, 1, w.shape, kdt)
        dw = dw_full.reshape(f, rg)
        dx = planned_buffer(gout, 0, xk.shape, kdt) if want_dx else None
        # Winograd: the data gradient is the convolution of dy with the flipped, transposed
        # weight and padding 2 - pad; the weight gradient is F(3x3, 2x2) of x and dy
        if _winograd_ok(p, geo, x.shape[1]):
            dy4 = dy.reshape(n, f, *geo.out_spatial)
            np.copyto(dw_full, _winograd_weight_grad(xk, dy4, geo.pad))
            if want_dx:
                flipped = w2.reshape(w.shape)[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
                _winograd(dy4, _winograd_kernels.weight_transform(np.ascontiguousarray(flipped)),
                          tuple(2 - pd for pd in geo.pad), dx)
            return self._grads(p, inputs, dx, dw_full, dy, gout)
        # the direct kernels: the data gradient is the convolution of dy with the flipped,
        # transposed weight (pad 1); the weight gradient by its own kernel; what they do not
        # take runs on im2col / col2im + GEMM below (no im2col when the weight gradient is
        # direct: the data gradient's columns are W^T dy)
        rw = _direct_ok(p, geo, f, x.shape[1], kdt) if want_dx else 0
        dy4 = dy.reshape(n, f, *geo.out_spatial)
        if rw:
            _direct(dy4, _direct_kernels.flipped(w2.reshape(w.shape)), rw, dx)
        # next to a col2im data gradient only from 16 channels: the im2col the direct weight
        # gradient saves is the smaller part there (one thread, batch 128, backward ms: 64ch
        # 8x8 18.1 -> 16.4, but 3 -> 16ch 32x32 9.0 -> 9.4)
        dw_direct = _direct_weight_grad_ok(p, geo, x.shape[1], f, kdt) and (
            rw or not want_dx or x.shape[1] >= 16)
        if dw_direct:
            np.copyto(dw_full, _direct_weight_grad(xk, dy4))
            if rw or not want_dx:
                return self._grads(p, inputs, dx, dw_full, dy, gout)
        plan = _Plan(geo, xk, rows, length, None if rw else dx)
        want_cols = want_dx and not rw

        def work(a, b):
            # the weight gradient transposed, (g, C*K/g, F/g): OpenBLAS runs cols @ dy^T
            # 1.2-1.5x faster than dy @ cols^T on these shapes
            part, tmp = _workspace((f * rg, f * rg), kdt, slot=1)
            part, tmp = part.reshape(g, rg, fg), tmp.reshape(g, rg, fg)
            part[...] = 0
            # recomputed, as MXNet does
            for n0, nb, cols in plan.columns(a, b, fill=not dw_direct):
                dcols = plan.gradient_columns(n0, nb)
                if nb == 1:
                    dyc = dy[n0]
                else:
                    dyc = _workspace((f * nb * length,), kdt, slot=3)[0].reshape(f, nb, length)
                    dyc[...] = dy[n0:n0 + nb].transpose(1, 0, 2)
                    dyc = dyc.reshape(f, nb * length)
                for k in range(g):
                    fs, rs = slice(k * fg, (k + 1) * fg), slice(k * rg, (k + 1) * rg)
                    if not dw_direct:
                        np.matmul(cols[rs], dyc[fs].T, out=tmp[k])
                        part[k] += tmp[k]
                    if want_cols:
                        np.matmul(w2[fs].T, dyc[fs], out=dcols[rs])
                if want_cols:
                    plan.scatter(dcols, n0, nb)
            return part

        parts = _split(work, n, rows * n * length)
        if not dw_direct:
            for extra in parts[1:]:
                parts[0] += extra
            dw.reshape(g, fg, rg)[...] = parts[0].transpose(0, 2, 1)
        return self._grads(p, inputs, dx, dw_full, dy, gout)

    @staticmethod
    def _grads(p, inputs, dx, dw, dy, gout):
        """The gradients in the inputs' dtypes, the bias's summed from ``dy`` (N, F, L)."""
        x, w = inputs[0], inputs[1]
        grads = [None if dx is None else dx.astype(x.dtype, copy=False),
                 dw.astype(w.dtype, copy=False)]
        if not p.no_bias:
            db = planned_buffer(gout, 2, (dy.shape[1],), dy.dtype)
            np.sum(dy, axis=(0, 2), out=db)
            grads.append(db.astype(inputs[2].dtype, copy=False))
        return grads


class _Plan:
    """How one convolution call walks its batch: chunks of images whose im2col columns fit
    :data:`CHUNK_BYTES`, each im2col'ed into a per-thread workspace (none for a 1x1 kernel of
    stride 1 without padding: the image itself is its column matrix) and, in backward, the
    gradient columns scattered back with col2im (or written straight into ``dx``)."""

    def __init__(self, geo, x, rows, length, dx=None):
        self.x, self.dx, self.rows, self.length = x, dx, rows, length
        self.direct = (all(k == 1 for k in geo.kernel) and all(s == 1 for s in geo.stride)
                       and not any(geo.pad))
        self.x5, self.args = _as5d(x), geo.kernel_args(geo.out_spatial)
        self.dx5 = None if dx is None else _as5d(dx)
        self.step = _chunk(rows * length * x.itemsize, x.shape[0])

    def columns(self, a, b, fill=True):
        """``(n0, nb, cols)`` per chunk of images ``[a, b)``; ``cols`` is (C*K, nb*L), None
        with ``fill=False`` (the chunks alone)."""
        n, rows, length = self.x.shape[0], self.rows, self.length
        if self.direct:
            x3 = self.x.reshape(n, rows, length)
            for n0 in range(a, b):
                yield n0, 1, x3[n0]
            return
        (buf,) = _workspace((rows * self.step * length,), self.x.dtype)
        for n0 in range(a, b, self.step):
            nb = min(self.step, b - n0)
            if not fill:
                yield n0, nb, None
                continue
            cols = buf[:rows * nb * length].reshape(rows, nb * length)
            _kernels._im2col_ser(self.x5[n0:n0 + nb], *self.args, cols)
            yield n0, nb, cols

    def gradient_columns(self, n0, nb):
        """Where the GEMM writes the column gradients of images ``[n0, n0 + nb)``."""
        if self.dx is None:
            return None
        if self.direct:
            return self.dx.reshape(self.dx.shape[0], self.rows, self.length)[n0]
        (buf,) = _workspace((self.rows * self.step * self.length,), self.x.dtype, slot=2)
        return buf[:self.rows * nb * self.length].reshape(self.rows, nb * self.length)

    def scatter(self, dcols, n0, nb):
        if not self.direct:
            _kernels._col2im_ser(dcols, *self.args, self.dx5[n0:n0 + nb])


@register
class Deconvolution(_ConvBase):
    name = "Deconvolution"
    deconv = True
    params = {
        **_COMMON,
        "adj": Param("shape", ()),
        "target_shape": Param("shape", ()),
        "workspace": Param("int", 512),
        "no_bias": Param("bool", True),
    }

    def _weight_shape(self, p, channels):
        return (channels, p.num_filter // p.num_group, *p.kernel)

    # Deconvolution is Convolution's data gradient: per chunk of images (columns within
    # CHUNK_BYTES, as Convolution's), forward = the GEMM W^T x into columns + col2im into the
    # output; backward = im2col of dy, then dx = W cols and dW += x cols^T, the batch split
    # over threads by _split (one partial dW each)

    @staticmethod
    def _images(x, n0, nb, slot):
        """Images ``[n0, n0 + nb)`` of ``x`` (N, C, L) as a (C, nb*L) matrix (a view for one
        image, else a copy into a workspace)."""
        if nb == 1:
            return x[n0]
        c, length = x.shape[1:]
        (buf,) = _workspace((c * nb * length,), x.dtype, slot=slot)
        m = buf.reshape(c, nb, length)
        m[...] = x[n0:n0 + nb].transpose(1, 0, 2)
        return m.reshape(c, nb * length)

    def _forward(self, p, inputs, aux, is_train):
        dtype = inputs[0].dtype
        x, w = (a.astype(kernel_dtype(dtype), copy=False) for a in inputs[:2])
        x = np.ascontiguousarray(x)
        geo = _Geometry(self.name, p, x.shape, deconv=True)
        n, c = x.shape[:2]
        g, f = p.num_group, p.num_filter
        cg = c // g
        length = int(np.prod(geo.in_spatial))
        x3 = x.reshape(n, c, length)
        w2 = np.ascontiguousarray(w).reshape(c, -1)  # (C, F/g * K)
        rg = w2.shape[1]
        rows = g * rg
        out = np.empty((n, f, *geo.out_spatial), dtype=x.dtype)
        out5, args = _as5d(out), geo.kernel_args(geo.in_spatial)
        step = _chunk(rows * length * x.itemsize, n)

        def work(a, b):
            (buf,) = _workspace((rows * step * length,), x.dtype, slot=8)
            for n0 in range(a, b, step):
                nb = min(step, b - n0)
                xm = self._images(x3, n0, nb, slot=9)
                cols = buf[:rows * nb * length].reshape(rows, nb * length)
                for k in range(g):
                    cs = slice(k * cg, (k + 1) * cg)
                    np.matmul(w2[cs].T, xm[cs], out=cols[k * rg:(k + 1) * rg])
                _kernels._col2im_ser(cols, *args, out5[n0:n0 + nb])

        _split(work, n, rows * n * length)
        if not p.no_bias:
            out += inputs[2].astype(x.dtype, copy=False).reshape((1, f) + (1,) * geo.nsp)
        return [out.astype(dtype, copy=False)], (geo, x)

    def _backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, w = inputs[0], inputs[1]
        geo, xk = saved
        n, c = x.shape[:2]
        g = p.num_group
        cg = c // g
        length = int(np.prod(geo.in_spatial))
        x3 = xk.reshape(n, c, length)
        dy = np.ascontiguousarray(out_grads[0], dtype=xk.dtype)
        dy5, args = _as5d(dy), geo.kernel_args(geo.in_spatial)
        w2 = np.ascontiguousarray(w, dtype=xk.dtype).reshape(c, -1)
        rg = w2.shape[1]
        rows = g * rg
        dx = np.empty_like(xk)
        dx3 = dx.reshape(n, c, length)
        step = _chunk(rows * length * xk.itemsize, n)

        def work(a, b):
            buf, part, tmp, dxb = _workspace(
                (rows * step * length, c * rg, c * rg, c * step * length), xk.dtype, slot=10)
            part, tmp = part.reshape(c, rg), tmp.reshape(c, rg)
            part[...] = 0
            for n0 in range(a, b, step):
                nb = min(step, b - n0)
                cols = buf[:rows * nb * length].reshape(rows, nb * length)
                _kernels._im2col_ser(dy5[n0:n0 + nb], *args, cols)
                xm = self._images(x3, n0, nb, slot=9)
                dxm = dx3[n0] if nb == 1 else dxb[:c * nb * length].reshape(c, nb * length)
                for k in range(g):
                    cs, rs = slice(k * cg, (k + 1) * cg), slice(k * rg, (k + 1) * rg)
                    np.matmul(w2[cs], cols[rs], out=dxm[cs])
                    np.matmul(xm[cs], cols[rs].T, out=tmp[cs])
                    part[cs] += tmp[cs]
                if nb > 1:
                    dx3[n0:n0 + nb] = dxm.reshape(c, nb, length).transpose(1, 0, 2)
            return part

        parts = _split(work, n, rows * n * length)
        dw = parts[0]
        for extra in parts[1:]:
            dw += extra
        grads = [dx.astype(x.dtype, copy=False), dw.reshape(w.shape).astype(w.dtype, copy=False)]
        if not p.no_bias:
            db = dy.sum(axis=(0, *range(2, dy.ndim)))
            grads.append(db.astype(inputs[2].dtype, copy=False))
        return grads
