"""Convolution and Deconvolution, 1-D (NCW), 2-D (NCHW) and 3-D (NCDHW), as in MXNet 1.9.1.

Convolution: data ``(N, C, *spatial)``, weight ``(num_filter, C / num_group, *kernel)``, bias
``(num_filter,)``; output spatial size ``(H + 2 pad - dilate (k - 1) - 1) // stride + 1``.
Computed with im2col (Numba, :mod:`._im2col`) and one BLAS GEMM per group, in chunks of images
whose columns fit the L2 cache (:data:`CHUNK_BYTES`; a 1x1 stride-1 kernel needs no im2col);
backward is the transposed GEMMs plus col2im.  3x3 stride-1 convolutions of at least
:data:`WINOGRAD_CHANNELS` channels use Winograd F(4x4, 3x3) for the output and the data
gradient and F(3x3, 4x4) for the weight gradient in float32, F(2x2, 3x3) and F(3x3, 2x2) in
float64 (:data:`WINOGRAD_TILE`, :mod:`mxlite.kernels.conv_winograd`).  Thin
float32 3x3 pad-1 convolutions of stride 1 or 2 (at most :data:`DIRECT_CHANNELS` channels, any
image size: all of ResNet-20's 3x3 layers) use the direct register-tiled kernels of
:mod:`mxlite.kernels.conv_direct` for the output and the data gradient; the weight gradient is
direct up to :data:`DIRECT_WEIGHT_GRAD_CHANNELS` channels (16k output channels).  Of those,
the stride-1 layers of 16-64 channels (:func:`_winograd_thin_ok`) run the fused Winograd
F(4x4, 3x3) kernel of :mod:`mxlite.kernels.conv_winograd_thin` for the output and the data
gradient (a fused epilogue in its store, as the direct kernel's copy-out).
Thin float32 1x1 pad-0 convolutions of stride 1 or 2 (:func:`_pointwise_ok`: 4 to
:data:`POINTWISE_CHANNELS` channels, any image size; ResNet-20's projection shortcuts) use the
direct kernels of :mod:`mxlite.kernels.conv_pointwise` for the output and both gradients.
Float32 stride-1 convolutions of small images with kernels of at least :data:`SMALL_MIN_TAPS`
taps (LeNet's 5x5 layers, :func:`_small_ok`) skip im2col: the kernels of
:mod:`mxlite.kernels.conv_small` work on per-kernel-column shifted copies of each image.
The batch is split over ``MXLITE_NUM_THREADS`` threads (:func:`_split`), the BLAS held at
one thread meanwhile where the work calls it (:func:`_blas_single`; not around the direct,
thin Winograd and 1x1 kernels, which call none).  Float64 runs the im2col / Winograd paths in
float64; other dtypes compute in float32.

What an inference forward would redo at every batch is kept: the direct, thin Winograd and
1x1 kernels' packed weights (:func:`_packed`: used only while the weight holds the very bytes
it was packed from, at most :data:`PACK_CACHE_BYTES`), the validated geometry per parameters
and shape (:func:`_geometry`) and the kernels' plans (:func:`_memo`); :func:`clear_caches`
empties them.

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

import math
import os
import threading
from collections import OrderedDict

import numba
import numpy as np

from ...kernels import PARALLEL_THRESHOLD
from ...kernels import conv_direct as _direct_kernels
from ...kernels import conv_pointwise as _pointwise_kernels
from ...kernels import conv_small as _small_kernels
from ...kernels import conv_winograd as _winograd_kernels
from ...kernels import conv_winograd_thin as _thin_kernels
from ...kernels import epilogue as _epilogue
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


#: (operator, deconv, data shape, parameters) -> :class:`_Geometry` (:func:`_geometry`)
_geometries: dict = {}


def _geometry(op, p, data_shape, deconv=False) -> _Geometry:
    """``_Geometry(op, p, data_shape, deconv)``, built once per parameters and shape (at most
    1024 kept; the objects are never modified)."""
    try:
        key = (op, deconv, tuple(data_shape), tuple(p.items()))
        geo = _geometries.get(key)
    except TypeError:  # an unhashable parameter value
        return _Geometry(op, p, data_shape, deconv)
    if geo is None:
        geo = _Geometry(op, p, data_shape, deconv)
        if len(_geometries) >= 1024:
            _geometries.clear()
        _geometries[key] = geo
    return geo


#: bytes of im2col columns per chunk of images (one image at least): a chunk's columns stay in
#: the L2 cache (2 MiB a core where this was measured) between im2col and the GEMMs reading them
CHUNK_BYTES = 1 << 20

#: convolutions with fewer column elements (``C*K * N*L``) than this run in the calling thread
PARALLEL_COLUMNS = PARALLEL_THRESHOLD

_local = threading.local()
_lock = threading.Lock()
#: (threads, pid) -> the thread pool of :func:`_split`
_pools: dict = {}
#: the BLAS hold of :func:`_blas_single`: controller, its BLAS libraries, depth, and the
#: ``(library, thread count)`` pairs the first holder found and set to one thread
_blas: dict = {"depth": 0, "held": None}


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


def _blas_libraries() -> list:
    """The cached ``threadpoolctl`` controllers of the BLAS libraries (one per library)."""
    libs = _blas.get("libraries")
    if libs is None:
        ctl = _blas_controller()
        libs = _blas["libraries"] = [] if ctl is None else \
            list(ctl.select(user_api="blas").lib_controllers)
    return libs


def _split(work, n: int, columns: int, blas: bool = True):
    """Run ``work(a, b)`` over contiguous image ranges covering ``range(n)``; the results, in order.

    With ``numba.get_num_threads()`` (``MXLITE_NUM_THREADS``) above one and at least
    :data:`PARALLEL_COLUMNS` column elements, the ranges run on that many threads (the caller's
    and a pool's), each one image chunk after another with the serial Numba kernels and a
    one-thread BLAS (:func:`_blas_single`; ``blas=False``: ``work`` calls no BLAS, no hold):
    per-image GEMMs are too small to share between BLAS threads, and each of them would be
    one synchronization of those threads."""
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
    if blas:
        _blas_single(True)
    try:
        others = [pool.submit(work, bounds[t], bounds[t + 1]) for t in range(1, threads)]
        try:
            first = work(bounds[0], bounds[1])
        finally:
            cf.wait(others)  # never leave a worker writing after an error here
        return [first] + [f.result() for f in others]
    finally:
        if blas:
            _blas_single(False)


def _blas_single(enter: bool) -> None:
    """Hold the BLAS at one thread between matching ``enter=True`` / ``False`` calls; nested
    or concurrent holders (convolutions in several Python threads) share one hold, and the
    last to leave restores the thread counts found by the first.  (Each library's own
    ``threadpoolctl`` controller, a C call each way: ``ThreadpoolController.limit`` rescans
    every library, ~30x the time.)"""
    with _lock:
        depth = _blas["depth"]
        if enter:
            if depth == 0:
                held = []
                for lib in _blas_libraries():
                    threads = lib.get_num_threads()
                    if threads is not None and threads != 1:
                        lib.set_num_threads(1)
                        held.append((lib, threads))
                _blas["held"] = held
            _blas["depth"] = depth + 1
            return
        _blas["depth"] = depth - 1
        if depth == 1:
            for lib, threads in _blas["held"]:
                lib.set_num_threads(threads)
            _blas["held"] = None


#: bytes the packed-weight cache (:func:`_packed`) may hold: the packed weights and the copies
#: of the weights they were packed from; the least recently used entries go first (0: off)
PACK_CACHE_BYTES = 32 << 20
#: (pack, id of the weight, shape, dtype, pack arguments) -> (the weight's bytes, packed,
#: bytes held), least recently used first
_packs: OrderedDict = OrderedDict()
_pack_state = {"bytes": 0}


def _pack(pack, w, args, blas):
    if not blas:
        return pack(w, *args)
    _blas_single(True)
    try:
        return pack(w, *args)
    finally:
        _blas_single(False)


def _nbytes(packed) -> int:
    return sum(a.nbytes for a in packed) if isinstance(packed, tuple) else packed.nbytes


def _packed(pack, w, *args, blas=False):
    """``pack(w, *args)`` (a kernel's weight packing), kept for the next call with the same
    weight: an inference forward packs unchanged weights at every batch.  An entry is found by
    the array object (its ``id``), shape, dtype and ``pack`` arguments, and used only while
    ``w`` holds the very bytes it was packed from, compared with a copy kept beside it
    (``tobytes`` and a memcmp, far cheaper than packing): any change (an optimizer update,
    ``set_params``, a write by the user, a new array at a reused ``id``) repacks.  At most
    :data:`PACK_CACHE_BYTES` are kept.  ``pack`` must be deterministic and its result is
    shared: callers must not write into it.  ``blas``: ``pack`` runs a GEMM, at one BLAS
    thread (:func:`_blas_single`)."""
    if not w.flags.c_contiguous or w.size == 0:
        return _pack(pack, w, args, blas)
    bits = w.tobytes()
    key = (pack, id(w), w.shape, w.dtype, args)
    with _lock:
        entry = _packs.get(key)
        if entry is not None:
            _packs.move_to_end(key)
    if entry is not None and entry[0] == bits:
        return entry[1]
    # packed from these bytes: the entry's two halves agree whatever writes ``w`` meanwhile
    packed = _pack(pack, np.frombuffer(bits, w.dtype).reshape(w.shape).copy(), args, blas)
    size = len(bits) + _nbytes(packed)
    with _lock:
        old = _packs.pop(key, None)
        if old is not None:
            _pack_state["bytes"] -= old[2]
        if size <= PACK_CACHE_BYTES:
            _packs[key] = (bits, packed, size)
            _pack_state["bytes"] += size
            while _pack_state["bytes"] > PACK_CACHE_BYTES:
                _, (_, _, freed) = _packs.popitem(last=False)
                _pack_state["bytes"] -= freed
    return packed


#: (function, arguments) -> result of the kernels' pure plan functions (:func:`_memo`)
_plans: dict = {}


def _memo(fn, *args):
    """``fn(*args)`` for a kernel module's pure planning function of a few integers (a
    variant, scratch sizes), computed once per arguments (at most 4096 kept)."""
    key = (fn, args)
    got = _plans.get(key)
    if got is None:
        got = fn(*args)
        if len(_plans) >= 4096:
            _plans.clear()
        _plans[key] = got
    return got


_F32 = np.dtype(np.float32)
#: the plain epilogue of the kernels that take one (no bias, addend, affine or relu)
_PLAIN = _epilogue.Epilogue()
_zero_bias: dict = {}


def _zeros(f: int) -> np.ndarray:
    """A shared float32 zero bias of ``f`` channels (read by the kernels, never written)."""
    z = _zero_bias.get(f)
    if z is None:
        z = _zero_bias[f] = np.zeros(f, np.float32)
    return z


def clear_caches() -> None:
    """Empty the packed-weight, geometry and plan caches (after changing a kernel module's
    tuning constants at run time; the caches are correct otherwise)."""
    with _lock:
        _packs.clear()
        _pack_state["bytes"] = 0
        _plans.clear()
        _geometries.clear()


def _workspace(sizes, dtype, slot=0):
    """Flat scratch arrays of ``sizes`` elements (a tuple), carved from one buffer that is reused
    from call to call (one per thread, dtype and ``slot``; it only grows), so that no batch
    allocates them anew."""
    cache = getattr(_local, "buffers", None)
    if cache is None:
        cache = _local.buffers = {}
        _local.views = {}
    # the views of the last call with these sizes, while their buffer is the slot's
    carved = _local.views.get((dtype, slot, sizes)) if isinstance(sizes, tuple) else None
    key = (np.dtype(dtype).str, slot)
    if carved is not None and cache.get(key) is carved[0]:
        return carved[1]
    total = sum(sizes)
    buf = cache.get(key)
    if buf is None or buf.size < total:
        buf = cache[key] = np.empty(total, dtype=dtype)
    views, at = [], 0
    for size in sizes:
        views.append(buf[at:at + size])
        at += size
    views = tuple(views)
    if isinstance(sizes, tuple):
        if len(_local.views) >= 256:
            _local.views.clear()
        _local.views[(dtype, slot, sizes)] = (buf, views)
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
#: when one image has more).  F(2x2, 3x3): blocks that fit the L2 cache measured no faster
#: (1 MiB: 0.99-1.12x the time of 4 MiB on the VGG layers, 256 KiB up to 1.7x: the GEMMs get
#: short).  F(4x4, 3x3), one thread, forward ms at 1 / 2 / 4 / 8 MiB: 64ch 64x64 58 / 54 / 60
#: / 71, 128ch 32x32 52 / 47 / 47 / 57, 256ch 16x16 62 / 49 / 50 / 58
WINOGRAD_CHUNK_BYTES = 2 << 20
#: the same for the weight gradient, whose GEMMs sum over the tiles of a block (longer blocks,
#: longer sums).  F(3x3, 4x4), one thread, ms at 1 / 2 / 4 MiB (blocks of equal tile rows):
#: 64ch 64x64 78 / 72 / 65, 64 -> 128ch 32x32 43 / 34 / 32, 128ch 32x32 70 / 55 / 49; 8 MiB
#: was slower again
WINOGRAD_GRAD_CHUNK_BYTES = 4 << 20


def _winograd_ok(p, geo, channels) -> bool:
    return (geo.nsp == 2 and geo.kernel == (3, 3) and geo.stride == (1, 1)
            and geo.dilate == (1, 1) and p.num_group == 1 and max(geo.pad) <= 2
            and min(channels, p.num_filter) >= WINOGRAD_CHANNELS
            and geo.out_spatial[0] * geo.out_spatial[1] >= WINOGRAD_PIXELS)


#: the Winograd output tile of float32: 4 = F(4x4, 3x3) (and F(3x3, 4x4) for the weight
#: gradient), 2 = F(2x2, 3x3) (and F(3x3, 2x2)).  Measured (one thread, ms per image, forward,
#: F2 -> F4): 64ch 64x64: 2.45 -> 1.95; 128ch 32x32: 1.98 -> 1.39; 256ch 16x16: 1.69 -> 1.28.
#: F4's float32 error is larger: max |error| / max |exact| 3e-6 - 1.2e-5 on the VGG layers
#: (F2 and im2col: 2e-7 - 1.3e-6)
WINOGRAD_TILE = 4
#: the tile of float64, which keeps F(2x2, 3x3)
WINOGRAD_TILE_FLOAT64 = 2


def _winograd_tile(dtype) -> int:
    return WINOGRAD_TILE_FLOAT64 if dtype == np.float64 else WINOGRAD_TILE


def _winograd_variant(tile):
    """``(tiles, input_transform, output_transform, weight_transform, grad_transform,
    weight_grad_output)`` of the F(tile x tile, 3x3) kernels."""
    k = _winograd_kernels
    if tile == 4:
        return (k.tiles4, k.input_transform4, k.output_transform4, k.weight_transform4,
                k.grad_transform4, k.weight_grad_output4)
    return (k.tiles, k.input_transform, k.output_transform, k.weight_transform,
            k.grad_transform, k.weight_grad_output)


def _winograd_blocks(n, c, th, tw, itemsize, tile=2, budget=None):
    """``(images per chunk, tile rows per block)``: the transformed tiles of one block
    (``(tile + 2)^2 C`` values a tile) fill at most ``budget`` bytes (default
    :data:`WINOGRAD_CHUNK_BYTES`); a block is whole images when an image fits, else some tile
    rows of one image."""
    budget = WINOGRAD_CHUNK_BYTES if budget is None else budget
    per_row = (tile + 2) ** 2 * c * tw * itemsize
    rows = max(1, budget // per_row)
    if rows < th:  # blocks of equal rows (14 + 2 rows made the second block's GEMMs short)
        blocks = -(-th // rows)
        return 1, -(-th // blocks)
    return max(1, min(n, budget // (per_row * th))), th


def _winograd(x, w, pad, out, bias=None, post=None):
    """``out`` (N, F, OH, OW) = the 3x3 stride-1 convolution of ``x`` (N, C, H, W) padded by
    ``pad`` with the weight ``w`` (F, C, 3, 3), plus ``bias`` (F,) when given, by Winograd
    F(t x t, 3x3), ``t =`` :func:`_winograd_tile` (:mod:`mxlite.kernels.conv_winograd`; F(4x4,
    3x3) adds the bias in its output transform); chunks of images split over threads as
    :func:`_split` does."""
    tile = _winograd_tile(x.dtype)
    tiles, input_transform, output_transform, weight_transform = _winograd_variant(tile)[:4]
    xs = (tile + 2) ** 2
    n, c = x.shape[:2]
    f, (oh, ow) = w.shape[0], out.shape[2:]
    # the transformed weight in a reused buffer (a fresh 9 MB one per call of a 256-channel
    # layer cost more in page faults than its GEMM)
    u = weight_transform(w, _workspace((xs * f * c,), x.dtype, slot=11)[0].reshape(xs, f, c))
    th, tw = tiles(oh, ow)
    hp, wp = tile * th + 2, tile * tw + 2
    step, block = _winograd_blocks(n, c, th, tw, x.itemsize, tile)

    def work(a, b):
        for n0 in range(a, b, step):
            nb = min(step, b - n0)
            size = nb * block * tw
            xp, v, m = _workspace((nb * c * hp * wp if tile == 2 else 0, xs * c * size,
                                   xs * f * size), x.dtype, slot=4)
            if tile == 2:  # F(2x2, 3x3) transforms a padded copy; F(4x4, 3x3) pads each row
                xp = xp.reshape(nb, c, hp, wp)
                _winograd_kernels.pad_images(x[n0:n0 + nb], pad[0], pad[1], xp)
            for ty0 in range(0, th, block):
                nty = min(block, th - ty0)
                p = nb * nty * tw
                vb, mb = v[:xs * c * p].reshape(xs, c, p), m[:xs * f * p].reshape(xs, f, p)
                if tile == 2:
                    input_transform(xp, ty0, nty, tw, vb)
                else:
                    input_transform(x[n0:n0 + nb], pad[0], pad[1], ty0, nty, tw, vb)
                np.matmul(u, vb, out=mb)
                if tile == 2:
                    output_transform(mb, ty0, nty, tw, out[n0:n0 + nb])
                else:
                    output_transform(mb, b4, ty0, nty, tw, out[n0:n0 + nb])
            if tile == 2 and bias is not None:
                out[n0:n0 + nb] += bias.reshape(-1, 1, 1)
            if post is not None:
                post(n0, n0 + nb)

    b4 = np.zeros(f, x.dtype) if bias is None else np.ascontiguousarray(bias, dtype=x.dtype)
    _split(work, n, xs * c * n * th * tw)


def _winograd_weight_grad(x, dy, pad):
    """dW (F, C, 3, 3) of the 3x3 stride-1 convolution of ``x`` (N, C, H, W) padded by ``pad``
    for the head gradient ``dy`` (N, F, OH, OW), by Winograd F(3x3, t x t), ``t =``
    :func:`_winograd_tile`."""
    tile = _winograd_tile(x.dtype)
    tiles, input_transform, _, _, grad_transform, weight_grad_output = \
        _winograd_variant(tile)
    xs = (tile + 2) ** 2
    n, c = x.shape[:2]
    f, (oh, ow) = dy.shape[1], dy.shape[2:]
    th, tw = tiles(oh, ow)
    hp, wp = tile * th + 2, tile * tw + 2
    step, block = _winograd_blocks(n, max(c, f), th, tw, x.itemsize, tile,
                                   WINOGRAD_GRAD_CHUNK_BYTES)

    def work(a, b):
        part, tmp = _workspace((xs * f * c, xs * f * c), x.dtype, slot=5)
        part, tmp = part.reshape(xs, f, c), tmp.reshape(xs, f, c)
        part[...] = 0
        for n0 in range(a, b, step):
            nb = min(step, b - n0)
            size = nb * block * tw
            pads = (nb * c * hp * wp, nb * f * 4 * th * tw) if tile == 2 else (0, 0)
            xp, dyp, v, u = _workspace((*pads, xs * c * size, xs * f * size), x.dtype, slot=4)
            if tile == 2:  # padded copies; F(4x4, 3x3) pads each row in its transforms
                xp = xp.reshape(nb, c, hp, wp)
                dyp = dyp.reshape(nb, f, 2 * th, 2 * tw)
                _winograd_kernels.pad_images(x[n0:n0 + nb], pad[0], pad[1], xp)
                _winograd_kernels.pad_images(dy[n0:n0 + nb], 0, 0, dyp)
            for ty0 in range(0, th, block):
                nty = min(block, th - ty0)
                p = nb * nty * tw
                vb, ub = v[:xs * c * p].reshape(xs, c, p), u[:xs * f * p].reshape(xs, f, p)
                if tile == 2:
                    input_transform(xp, ty0, nty, tw, vb)
                    grad_transform(dyp, ty0, nty, tw, ub)
                else:
                    input_transform(x[n0:n0 + nb], pad[0], pad[1], ty0, nty, tw, vb)
                    grad_transform(dy[n0:n0 + nb], ty0, nty, tw, ub)
                np.matmul(ub, vb.transpose(0, 2, 1), out=tmp)
                part += tmp
        return part

    parts = _split(work, n, xs * c * n * th * tw)
    for extra in parts[1:]:
        parts[0] += extra
    return weight_grad_output(parts[0])


#: the direct register-tiled kernel (:mod:`mxlite.kernels.conv_direct`) for float32 3x3
#: pad-1 convolutions of stride 1 or 2 of at most this many input and output channels, any
#: image size; measured (one thread, batch 128, ms, im2col + GEMM -> direct, forward /
#: backward, interleaved in one process, load average 3): 16ch 32x32: 14.7 -> 6.7 / 34.6 ->
#: 15.8; 16 -> 32ch /2: 9.4 -> 4.7 / 17.5 -> 9.6; 32ch 16x16: 11.1 -> 5.6 / 21.0 -> 11.7;
#: 32 -> 64ch /2: 7.2 -> 4.3 / 12.9 -> 8.3; 64ch 8x8: 9.1 -> 6.4 / 16.6 -> 11.9; 3 -> 16ch
#: 32x32: 5.1 -> 2.3 / 9.0 -> 5.7.  Wider layers were not measured (Winograd takes those of
#: >= 64 channels and >= 256 output pixels)
DIRECT_CHANNELS = 64
#: the direct weight gradient for at most this many channels (any output width, 16k output
#: channels); measured (one thread, batch 128, ms, im2col + GEMM -> the first direct kernel,
#: which the IR tiles beat again, see :data:`DIRECT_WEIGHT_GRAD_LANES`): 16ch 32x32: 17.3
#: -> 10.6; 32ch 16x16: 12.1 -> 7.9; 64ch 8x8: 9.1 -> 7.4; 3 -> 16ch 32x32: 4.9 -> 4.4
DIRECT_WEIGHT_GRAD_CHANNELS = 64
#: False: never use the direct kernel (for benchmarks and tests of the other paths)
DIRECT = True


def _direct_ok(p, geo, channels, filters, dtype, grad=False):
    """The direct kernel's plan ``(stride, variant, k)`` (``k`` images side by side) for a
    convolution of ``channels`` ->
    ``filters`` (None: not applicable); ``grad``: for the data gradient (``channels`` the
    convolution's output channels, ``filters`` its input channels: :func:`_direct_data_grad`)."""
    stride = geo.stride[0] if geo.nsp == 2 else 0
    if not (DIRECT and np.dtype(dtype) == np.float32 and geo.nsp == 2 and geo.kernel == (3, 3)
            and geo.stride == (stride, stride) and stride in (1, 2)
            and geo.dilate == (1, 1) and geo.pad == (1, 1) and p.num_group == 1
            and max(channels, filters) <= DIRECT_CHANNELS):
        return None
    h, w = geo.in_spatial
    if grad:
        # the data gradient of a few input channels (an RGB image: 3) is computed for the
        # next multiple of 4 (zero weights) and cut: one thread, batch 128, 3 -> 16ch 32x32,
        # backward 9.2 -> 5.8 ms (col2im before)
        filters += -filters % 4
    if grad and stride == 2:
        var, k = _memo(_direct_kernels.phase_variant, h, w, *geo.out_spatial, filters), 1
    else:
        var, k = _memo(_direct_kernels.variant, h, w, stride, filters)
    return None if var < 0 else (stride, var, k)


def _direct(x, w, rw, out, post=None, epilogue=None, bias=None, cache=False):
    """``out`` (N, F, OH, OW) = the 3x3 pad-1 convolution of float32 ``x`` (N, C, H, W) with
    ``w`` (F, C, 3, 3) by the direct kernel, ``rw`` = :func:`_direct_ok`'s ``(stride,
    variant, k)``; the batch split over threads as :func:`_split` does.  ``bias`` (F,) and
    ``epilogue`` (a :class:`mxlite.kernels.epilogue.Epilogue`) are applied by the kernel's
    copy-out; ``post(a, b)`` (an epilogue the copy-out does not know) runs on each finished
    chunk of output images while they are in cache.  ``cache``: ``w`` is a bound weight, its
    packing kept from call to call (:func:`_packed`)."""
    n, c, h, width = x.shape
    stride, var, k = rw
    ocb = _direct_kernels.VARIANTS[var][0]
    wpk = _packed(_direct_kernels.pack_weight, w, ocb) if cache else \
        _direct_kernels.pack_weight(w, ocb)
    sizes = _memo(_direct_kernels.scratch_sizes, c, h, width, w.shape[0], stride, var, k)
    if epilogue is None:
        epi_args = _epilogue.NONE if bias is None else None
        epilogue = _PLAIN
    else:
        epilogue.check(out)
        epi_args = None

    # with a hook: chunks of images whose output stays in cache until ``post`` ran
    step = n if post is None else -(-_chunk(out[0].nbytes, n) // k) * k

    def work(a, b):
        xp, yp = _workspace(sizes, np.float32, slot=6)
        for n0 in range(a, b, step):
            n1 = min(b, n0 + step)
            _direct_kernels.forward(x[n0:n1], wpk, var, stride, k, xp, yp, out[n0:n1],
                                    epi_args or epilogue.args(bias, n0, n1))
            if post is not None:
                post(n0, n1)

    _split(work, n, 9 * c * n * h * width, blas=False)


def _direct_data_grad(dy, w, rw, dx):
    """``dx`` (N, C, H, W) = the data gradient of the 3x3 pad-1 convolution with ``w`` (F, C,
    3, 3) for float32 ``dy`` (N, F, OH, OW), ``rw`` = :func:`_direct_ok` (..., grad=True):
    stride 1, the convolution of ``dy`` with the flipped, transposed weight (:func:`_direct`);
    stride 2, :func:`mxlite.kernels.conv_direct.data_grad_s2` (4 phases of 4, 2, 2 and 1
    taps), the batch split over threads as :func:`_split` does."""
    stride, var, _ = rw
    n, f, oh, ow = dy.shape
    c, h, width = dx.shape[1:]
    if c % _direct_kernels.VARIANTS[var][0]:
        # zero weights for the input channels up to the tile's, into scratch, then cut
        c4 = c + -c % _direct_kernels.VARIANTS[var][0]
        wide = np.zeros((f, c4, 3, 3), np.float32)
        wide[:, :c] = w
        (full,) = _workspace((n * c4 * h * width,), np.float32, slot=8)
        full = full.reshape(n, c4, h, width)
        _direct_data_grad(dy, wide, rw, full)
        dx[...] = full[:, :c]
        return
    if stride == 1:
        _direct(dy, _direct_kernels.flipped(w), rw, dx)
        return
    ws = _direct_kernels.pack_phase_weights(w, _direct_kernels.VARIANTS[var][0])
    toff = _direct_kernels.phase_offsets(ow)
    sizes = _direct_kernels.phase_scratch_sizes(c, h, width, f, oh, ow, var)

    def work(a, b):
        dyp, yp = _workspace(sizes, np.float32, slot=6)
        _direct_kernels.data_grad_s2(dy[a:b], *ws, var, toff, dyp, yp, dx[a:b])

    _split(work, n, 9 * c * n * h * width, blas=False)


#: the fused thin-layer Winograd kernel (:mod:`mxlite.kernels.conv_winograd_thin`) for the
#: float32 3x3 stride-1 pad-1 output and data gradient of the layers the direct kernel takes
#: with at least this many input and output channels and :data:`WINOGRAD_THIN_PIXELS` output
#: pixels (below 64 channels also :data:`WINOGRAD_THIN_FEW`); measured against the direct
#: kernel with its copy-out epilogue (``bench/conv_winograd_thin.py kernels``: batch 128, ms,
#: direct -> Winograd, one thread process CPU, interleaved, quiet machine), forward / forward +
#: BatchNorm + relu / data gradient: 16ch 32x32 4.06 -> 4.04 / 3.84 -> 4.00 / 3.70 -> 3.59
#: (so 16 channels stay direct); 32ch 16x16 3.64 -> 3.23 / 3.73 -> 3.61 / 3.59 -> 3.18; 64ch
#: 8x8 3.79 -> 3.24 / 3.76 -> 3.62 / 3.81 -> 3.22.  With BatchNorm + relu, Winograd / direct:
#: 16ch 16x16 1.52, 16ch 8x8 1.62, 32ch 8x8 1.34, 32 -> 64ch 8x8 1.18 (direct), 32ch 32x32
#: 0.82, 48ch 16x16 0.75, 64ch 16x16 0.82.  A ResNet-20 inference step moves by 1-4% with it
#: (two threads, in one process: on 55.2, off 53.7 ms wall; one thread 94.6 / 95.2 ms);
#: training, one thread: 335 -> 348 ms off.  F(2x2, 3x3) (:data:`WINOGRAD_THIN_TILE` 2) was
#: slower (16ch 32x32 5.5-5.7 ms against F(4x4)'s 4.6-5.2 before the direct kernel's rework)
WINOGRAD_THIN_CHANNELS = 32
#: the fewest and most output pixels per image of the thin Winograd kernel (what was measured:
#: 8x8 to 32x32)
WINOGRAD_THIN_PIXELS = (64, 1024)
#: ``(channels, pixels)``: below that many input or output channels the thin Winograd kernel
#: needs at least that many output pixels per image
WINOGRAD_THIN_FEW = (64, 256)
#: the output tile of the thin Winograd kernel: 4 = F(4x4, 3x3), 2 = F(2x2, 3x3)
WINOGRAD_THIN_TILE = 4
#: False: never use the thin Winograd kernel (the direct kernel takes those layers; with
#: :data:`DIRECT` False neither runs)
WINOGRAD_THIN = True


def _winograd_thin_ok(p, geo, channels, filters, dtype) -> bool:
    """Whether :func:`_winograd_thin` computes a convolution of ``channels`` -> ``filters``
    (for the data gradient: the convolution's output channels -> its input channels)."""
    pixels = geo.out_spatial[0] * geo.out_spatial[1] if geo.nsp == 2 else 0
    return bool(WINOGRAD_THIN and DIRECT and np.dtype(dtype) == np.float32 and geo.nsp == 2
                and geo.kernel == (3, 3) and geo.stride == (1, 1) and geo.dilate == (1, 1)
                and geo.pad == (1, 1) and p.num_group == 1
                and WINOGRAD_THIN_CHANNELS <= min(channels, filters)
                and max(channels, filters) <= DIRECT_CHANNELS
                and WINOGRAD_THIN_PIXELS[0] <= pixels <= WINOGRAD_THIN_PIXELS[1]
                and (min(channels, filters) >= WINOGRAD_THIN_FEW[0]
                     or pixels >= WINOGRAD_THIN_FEW[1]))


def _winograd_thin(x, w, out, bias=None, post=None, epilogue=None, cache=False):
    """``out`` (N, F, H, W) = the 3x3 stride-1 pad-1 convolution of float32 ``x`` (N, C, H,
    W) with ``w`` (F, C, 3, 3), plus ``bias`` (F,) when given, by the fused thin-layer
    Winograd kernel (F(:data:`WINOGRAD_THIN_TILE` x ..., 3x3)); the batch split over threads
    as :func:`_split` does.  ``epilogue`` (a :class:`mxlite.kernels.epilogue.Epilogue`) is
    applied by the kernel's store, channel by channel in L1 (as :func:`_direct`'s copy-out);
    ``post(a, b)`` (an epilogue the store does not know) runs on each finished chunk of
    output images, bias included, while they are in cache.  ``cache``: ``w`` is a bound
    weight, its packing kept from call to call (:func:`_packed`)."""
    k = _thin_kernels
    n, c, h, width = x.shape
    f, tile = w.shape[0], WINOGRAD_THIN_TILE
    # planned for the images of one thread's range (batch 1: one image, not 8 side by side)
    per = max(1, -(-n // max(1, min(numba.get_num_threads(), n))))
    var, side = _memo(k.plan, h, width, f, tile, per)
    # the weight transform's GEMM at one BLAS thread (see pack_weight), as the kernels run
    ocb = k.VARIANTS[var][0]
    upk = _packed(k.pack_weight, w, tile, ocb, blas=True) if cache else \
        _pack(k.pack_weight, w, (tile, ocb), True)
    b = _zeros(f) if bias is None else np.ascontiguousarray(bias, np.float32)
    sizes = _memo(k.scratch_sizes, c, h, width, f, tile, var, side)
    if x.dtype != _F32 or not x.flags.c_contiguous:
        x = np.ascontiguousarray(x, np.float32)
    if epilogue is None:
        epi_args, epilogue = _epilogue.NONE, _PLAIN
    else:
        epilogue.check(out)
        epi_args = None
    step = max(1, n if post is None else -(-_chunk(out[0].nbytes, n) // side) * side)

    def work(a, bb):
        bufs = _workspace(sizes, np.float32, slot=12)
        for n0 in range(a, bb, step):
            n1 = min(bb, n0 + step)
            # the bias is the output transform's: the epilogue's arrays without it
            k.forward(x[n0:n1], upk, b, tile, var, side, *bufs, out[n0:n1],
                      epi_args or epilogue.args(None, n0, n1))
            if post is not None:
                post(n0, n1)

    _split(work, n, 9 * c * n * h * width, blas=False)


def _direct_weight_grad_ok(p, geo, channels, filters, dtype) -> bool:
    """Whether :func:`_direct_weight_grad` takes the weight gradient: float32 3x3 pad-1 of
    stride 1 or 2, one group, at most :data:`DIRECT_WEIGHT_GRAD_CHANNELS` channels, any image
    size, ``filters`` a multiple of 16."""
    return bool(DIRECT and np.dtype(dtype) == np.float32 and geo.nsp == 2
                and geo.kernel == (3, 3) and geo.dilate == (1, 1) and geo.pad == (1, 1)
                and geo.stride in ((1, 1), (2, 2)) and p.num_group == 1
                and max(channels, filters) <= DIRECT_WEIGHT_GRAD_CHANNELS and filters % 16 == 0)


#: output channels from which the stride-1 weight gradient runs with the output channels in
#: the lanes (:func:`mxlite.kernels.conv_direct.weight_grad_lanes`) rather than the pixels
#: (:func:`~mxlite.kernels.conv_direct.weight_grad_planes`); measured (one thread, batch 128,
#: ms, lanes / pixels): 16ch 32x32: 9.7 / 8.8; 3 -> 16ch 32x32: 4.4 / 2.7; 32ch 16x16:
#: 6.1 / 8.3; 64ch 8x8: 6.0 / 10.0
DIRECT_WEIGHT_GRAD_LANES = 32
#: ... but with fewer input channels than this (an RGB input) by the pixels in the lanes at any
#: width: 3 -> 64ch 64x64 batch 32 (VGG's first layer), one thread, ms, lanes / pixels: 20.5 / 8.8
DIRECT_WEIGHT_GRAD_PLANES_CHANNELS = 4


def _direct_weight_grad(x, dy, stride=1):
    """dW (F, C, 3, 3) of the 3x3 pad-1 convolution of float32 ``x`` (N, C, H, W) for ``dy``
    (N, F, OH, OW), stride 1 or 2, the batch split over threads (one partial sum each): by
    :func:`mxlite.kernels.conv_direct.weight_grad_lanes` (output channels in the lanes) or,
    for fewer than :data:`DIRECT_WEIGHT_GRAD_LANES` output channels or
    :data:`DIRECT_WEIGHT_GRAD_PLANES_CHANNELS` input channels of stride 1,
    :func:`~mxlite.kernels.conv_direct.weight_grad_planes` (pixels in the lanes)."""
    n, c, h, width = x.shape
    f, oh, ow = dy.shape[1:]
    lanes = stride == 2 or (f >= DIRECT_WEIGHT_GRAD_LANES
                            and c >= DIRECT_WEIGHT_GRAD_PLANES_CHANNELS)
    if lanes:
        sizes = (c * (h + 2) * (width + 2), oh * ow * f, f * c * 9)
    else:
        chunk = _direct_kernels.grad_chunk(c, h, width, f, stride)
        sizes = (*_direct_kernels.grad_scratch_sizes(c, h, width, f, stride, chunk),
                 f * c * 9 * 16)

    def work(a, b):
        xp, scratch, part = _workspace(sizes, np.float32, slot=7)
        if lanes:
            part = part.reshape(f // 16, c, 9, 16)
            part[...] = 0
            _direct_kernels.weight_grad_lanes(x[a:b], dy[a:b], stride,
                                              xp.reshape(1, c, h + 2, width + 2),
                                              scratch.reshape(oh * ow, f), part)
            return part
        part = part.reshape(f, c, 9, 16)
        part[...] = 0
        _direct_kernels.weight_grad_planes(x[a:b], dy[a:b], stride, chunk, xp, scratch, part)
        return part

    parts = _split(work, n, 9 * c * n * h * width, blas=False)
    for extra in parts[1:]:
        parts[0] += extra
    if lanes:
        return _direct_kernels.unpack_weight_grad(parts[0])
    return parts[0].sum(axis=3).reshape(f, c, 3, 3)


#: the direct 1x1 kernels (:mod:`mxlite.kernels.conv_pointwise`) for float32 1x1 pad-0
#: convolutions of stride 1 or 2, one group, of at least 4 and at most this many input and
#: output channels, any image size (ResNet-20's projection shortcuts).  Measured (one thread,
#: batch 128, process CPU ms, im2col + GEMM -> direct, interleaved in one process, load
#: average 4, forward / data gradient / weight gradient): 16ch 32x32 1.53 -> 1.01 / 1.34 ->
#: 0.91 / 1.49 -> 1.17; 16 -> 32ch /2 1.78 -> 0.74 / 1.96 -> 1.04 / 1.80 -> 0.95; 32 -> 64ch
#: /2 1.27 -> 0.55 / 1.06 -> 0.73 / 1.32 -> 0.80; 64ch 8x8 0.92 -> 0.61 / 0.81 -> 0.61 / 1.48
#: -> 1.25 (``bench/pointwise.py``)
POINTWISE_CHANNELS = 64
#: ... and the output and data gradient of wider layers (at most this many channels) on
#: small images (at least 16 and at most :data:`POINTWISE_WIDE_PIXELS` output pixels), where
#: the per-image GEMMs are short: 128ch 8x8 2.90 -> 1.75 / 2.85 -> 1.89; 128 -> 256ch 8x8 /2
#: 2.18 -> 1.33 / 2.78 -> 2.77; 256ch 4x4 3.64 -> 2.05 / 3.38 -> 2.40; 512ch 4x4 12.9 -> 8.4 /
#: 18.2 -> 11.4.  On larger images they stop winning: 128ch 16x16 10.7 -> 8.9 / 10.4 -> 9.7;
#: 256ch 8x8 9.9 -> 9.4 / 9.5 -> 9.7; batch 8, 64 -> 256ch 56x56 7.6 -> 7.6 / 8.9 -> 10.6;
#: 256 -> 64ch 56x56 9.4 -> 10.3 / 9.1 -> 13.5
POINTWISE_WIDE_CHANNELS = 512
POINTWISE_WIDE_PIXELS = 64
#: the direct 1x1 weight gradient for at most this many channels; wider, im2col + GEMM wins:
#: 128ch 8x8 3.4 -> 4.8, 256ch 4x4 4.7 -> 11.4, 128ch 16x16 13.4 -> 22.4
POINTWISE_WEIGHT_GRAD_CHANNELS = 64
#: False: never use the direct 1x1 kernels (for benchmarks and tests of the other paths)
POINTWISE = True


def _pointwise_ok(p, geo, channels, filters, dtype) -> bool:
    """Whether the direct 1x1 kernels take the output and the data gradient of this
    convolution of ``channels`` -> ``filters``: float32, 2-D, a 1x1 kernel (any dilation),
    stride 1 or 2 on both axes, pad 0, one group, ``4 <= channels, filters <=``
    :data:`POINTWISE_CHANNELS` (or :data:`POINTWISE_WIDE_CHANNELS` for 16 to
    :data:`POINTWISE_WIDE_PIXELS` output pixels); the weight gradient too up to
    :data:`POINTWISE_WEIGHT_GRAD_CHANNELS` (:func:`_pointwise_weight_grad_ok`)."""
    if not (POINTWISE and np.dtype(dtype) == np.float32 and geo.nsp == 2
            and geo.kernel == (1, 1) and geo.stride in ((1, 1), (2, 2))
            and geo.pad == (0, 0) and p.num_group == 1 and 4 <= min(channels, filters)):
        return False
    wide = max(channels, filters)
    pixels = geo.out_spatial[0] * geo.out_spatial[1]
    return bool(wide <= POINTWISE_CHANNELS or (
        wide <= POINTWISE_WIDE_CHANNELS and 16 <= pixels <= POINTWISE_WIDE_PIXELS))


def _pointwise_weight_grad_ok(p, geo, channels, filters, dtype) -> bool:
    """Whether :func:`_pointwise_weight_grad` takes the weight gradient (as
    :func:`_pointwise_ok`, at most :data:`POINTWISE_WEIGHT_GRAD_CHANNELS` channels)."""
    return (_pointwise_ok(p, geo, channels, filters, dtype)
            and max(channels, filters) <= POINTWISE_WEIGHT_GRAD_CHANNELS)


def _pointwise_pack(w, ocb):
    """:func:`mxlite.kernels.conv_pointwise.pack_weight` of the (F, C, 1, 1) weight ``w``."""
    return _pointwise_kernels.pack_weight(w.reshape(w.shape[0], -1), ocb)


def _pointwise(x, w2, stride, out, post=None, cache=None):
    """``out`` (N, F, OH, OW) = the 1x1 pad-0 convolution of stride 1 or 2 of float32 ``x``
    (N, C, H, W) with ``w2`` (F, C), by :func:`mxlite.kernels.conv_pointwise.forward`; the
    batch split over threads as :func:`_split` does; ``post(a, b)`` (an epilogue) runs on
    each finished chunk of output images while they are in cache.  ``cache``: the bound
    weight ``w2`` is a view of, its packing kept from call to call (:func:`_packed`)."""
    n, c = x.shape[:2]
    f, oh, ow = out.shape[1:]
    var = _memo(_pointwise_kernels.variant, f)
    ocb = _pointwise_kernels.OCB[var]
    # (cached by the 4-D weight: ``w2`` is a new view at every call)
    wpk, starts = _packed(_pointwise_pack, cache, ocb) if cache is not None else \
        _pointwise_kernels.pack_weight(w2, ocb)
    size = _memo(_pointwise_kernels.scratch_size, c, f, oh, ow, stride)
    step = n if post is None else _chunk(out[0].nbytes, n)

    def work(a, b):
        (scratch,) = _workspace((size,), np.float32, slot=30)
        for n0 in range(a, b, step):
            n1 = min(b, n0 + step)
            xs, ys = x[n0:n1], out[n0:n1]
            # aligned vectors where x (or the stride-2 scratch) and out allow
            lead = _pointwise_kernels.lead(oh * ow, ys, *((xs,) if stride == 1 else ()))
            soff = _pointwise_kernels.align_to(scratch, 0, ys)
            _pointwise_kernels.forward(xs, wpk, starts, var, stride, lead, soff, scratch, ys)
            if post is not None:
                post(n0, n1)

    _split(work, n, c * n * oh * ow, blas=False)


def _pointwise_data_grad(dy, w2, stride, dx):
    """``dx`` (N, C, H, W) = the data gradient of the 1x1 pad-0 convolution of stride 1 or 2
    with ``w2`` (F, C) for float32 ``dy`` (N, F, OH, OW): stride 1, :func:`_pointwise` of
    ``dy`` with ``w2`` transposed; stride 2, :func:`mxlite.kernels.conv_pointwise.data_grad`
    (the even pixels, zeros between them, in one pass), the batch split over threads."""
    if stride == 1:
        _pointwise(dy, np.ascontiguousarray(w2.T), 1, dx)
        return
    n, f, oh, ow = dy.shape
    c = dx.shape[1]
    var = _pointwise_kernels.variant(c)
    wpk, starts = _pointwise_kernels.pack_weight(np.ascontiguousarray(w2.T),
                                                 _pointwise_kernels.OCB[var])
    size = _pointwise_kernels.scratch_size(c, f, oh, ow, 2)

    def work(a, b):
        (scratch,) = _workspace((size,), np.float32, slot=30)
        d = dy[a:b]
        lead = _pointwise_kernels.lead(oh * ow, d)
        soff = _pointwise_kernels.align_to(scratch, f * max(oh * ow, 16), d)
        _pointwise_kernels.data_grad(d, wpk, starts, var, lead, soff, scratch, dx[a:b])

    _split(work, n, c * n * oh * ow, blas=False)


def _pointwise_weight_grad(x, dy, stride):
    """dW (F, C) of the 1x1 pad-0 convolution of stride 1 or 2 of float32 ``x`` (N, C, H, W)
    for ``dy`` (N, F, OH, OW) by :func:`mxlite.kernels.conv_pointwise.weight_grad`, the batch
    split over threads (one partial sum each)."""
    k = _pointwise_kernels
    n, c = x.shape[:2]
    f, oh, ow = dy.shape[1:]
    fst, cst = k.blocks(f, k.GB), k.blocks(c, k.GB)
    block, images = k.grad_block(c, f, oh, ow)
    sizes = (k.grad_scratch_size(c, f, oh, ow, stride, images),
             fst.size * cst.size * k.GB * k.GB * 16)

    def work(a, b):
        scratch, acc = _workspace(sizes, np.float32, slot=31)
        acc = acc.reshape(fst.size, cst.size, k.GB, k.GB, 16)
        acc[...] = 0
        xs, d = x[a:b], dy[a:b]
        # aligned vectors where x (or the stride-2 scratch) and dy allow
        lead = k.lead(oh * ow, d, *((xs,) if stride == 1 else ()))
        soff = k.align_to(scratch, 0, d) if stride == 2 else 0
        k.weight_grad(xs, d, stride, block, images, lead, soff, fst, cst, scratch, acc)
        return k.unpack_weight_grad(acc, fst, cst)

    parts = _split(work, n, c * n * oh * ow, blas=False)
    for extra in parts[1:]:
        parts[0] += extra
    return parts[0]


#: the shifted-plane kernels (:mod:`mxlite.kernels.conv_small`) for float32 stride-1
#: convolutions of small images: at most this many output pixels per image and kernels of at
#: least :data:`SMALL_MIN_TAPS` taps (LeNet's 5x5 layers).  Measured (one thread, process CPU
#: ms, im2col + GEMM -> shifted planes, forward / forward + backward): LeNet 20 -> 50ch 12x12
#: batch 64: 5.9 -> 2.8 / 16.5 -> 10.5; 1 -> 20ch 28x28 (no data gradient): 2.0 -> 1.0 / 4.3
#: -> 2.5; 3 -> 32ch 32x32 pad 2 (no data gradient): 8.5 -> 4.7 / 17.4 -> 12.4; 32 -> 64ch
#: 16x16 pad 2 batch 32: 11.1 -> 10.2 / 33.2 -> 39.1 (so backward only up to
#: :data:`SMALL_BACKWARD_CHANNELS`).  3x3 kernels stay on the direct / im2col paths (ResNet-20,
#: batch 128, forward + backward: 16ch 32x32 28.9 -> 41.0, 64ch 8x8 25.8 -> 33.7)
SMALL_PIXELS = 1024
SMALL_MIN_TAPS = 25
#: the shifted-plane backward for at most this many input channels (see above)
SMALL_BACKWARD_CHANNELS = 20
#: bytes of shifted planes per chunk of images (one image at least)
SMALL_CHUNK_BYTES = 1 << 20
#: False: never use the shifted-plane kernels (for benchmarks and tests of the other paths)
SMALL = True
#: the weight gradient of the shifted-plane path from this many input channels by im2col
#: columns copied from the planes (runs of a whole image's pixels) and one GEMM per chunk,
#: below by :func:`mxlite.kernels.conv_small.taps_weight_grad`.  Measured (one thread, batch
#: 64, backward ms, taps -> GEMM): 20 -> 50ch 12x12 7.27 -> 7.03; 1 -> 20ch 28x28 (no data
#: gradient) 1.06 -> 1.87; 3 -> 32ch 32x32 pad 2 6.40 -> 8.62
SMALL_WEIGHT_GEMM_CHANNELS = 16


def _small_ok(p, geo, dtype, channels, backward=False) -> bool:
    """Whether the shifted-plane kernels take this convolution of ``channels`` input channels
    (its forward, or with ``backward`` both gradients): float32, 2-D, stride 1, no dilation,
    one group, at most :data:`SMALL_PIXELS` output pixels, :data:`SMALL_MIN_TAPS` kernel taps
    or more, and for the backward at most :data:`SMALL_BACKWARD_CHANNELS` channels."""
    return bool(SMALL and np.dtype(dtype) == np.float32 and geo.nsp == 2
                and geo.stride == (1, 1) and geo.dilate == (1, 1) and p.num_group == 1
                and geo.kernel[0] * geo.kernel[1] >= SMALL_MIN_TAPS
                and geo.out_spatial[0] * geo.out_spatial[1] <= SMALL_PIXELS
                and (not backward or channels <= SMALL_BACKWARD_CHANNELS))


def _small_geometry(geo, channels):
    """``(kh, kw, OW, L, Lp, J, plane length)`` of the shifted planes of one image: the output
    width and pixels, those padded to whole vectors, the planes' rows ``C * kw`` and length."""
    (kh, kw), (oh, ow) = geo.kernel, geo.out_spatial
    length = oh * ow
    lp = _small_kernels.padded_length(length)
    rows = channels * kw
    plane = max(lp + (kh - 1) * ow, (geo.in_spatial[0] + 2 * geo.pad[0]) * ow)
    return kh, kw, ow, length, lp, rows, plane


def _small_planes(x, geo, n0, nb, plane, slot):
    """The shifted planes of images ``[n0, n0 + nb)`` of ``x`` in workspace ``slot``:
    ``(nb, C * kw, plane)``."""
    kw, ow = geo.kernel[1], geo.out_spatial[1]
    (buf,) = _workspace((nb * x.shape[1] * kw * plane,), np.float32, slot=slot)
    planes = buf.reshape(nb, x.shape[1] * kw, plane)
    _small_kernels.shifted_planes(x[n0:n0 + nb], geo.pad[0], geo.pad[1], kw, ow, planes)
    return planes


def _small_forward(x, w, bias, geo, out, post=None):
    """``out`` (N, F, OH, OW) = the convolution of float32 ``x`` with ``w`` plus ``bias`` (F,)
    (None: none) by :func:`mxlite.kernels.conv_small.taps_forward`, the batch split over
    threads; ``post(a, b)`` (an epilogue) runs on each finished chunk of output images."""
    n, c = x.shape[:2]
    f = w.shape[0]
    kh, _, ow, length, _, rows, plane = _small_geometry(geo, c)
    wpk = _small_kernels.pack_forward(w)
    bpad = np.zeros(wpk.shape[0] * _small_kernels.OCB, dtype=np.float32)
    if bias is not None:
        bpad[:f] = bias
    out3 = out.reshape(n, f, length)
    step = max(1, SMALL_CHUNK_BYTES // (4 * rows * plane))

    def work(a, b):
        for n0 in range(a, b, step):
            nb = min(step, b - n0)
            planes = _small_planes(x, geo, n0, nb, plane, slot=20)
            _small_kernels.taps_forward(planes, wpk, ow, bpad, out3[n0:n0 + nb])
            if post is not None:
                post(n0, n0 + nb)

    _split(work, n, rows * kh * n * length)


def _small_backward(x, w, dy, geo, dx):
    """The weight gradient (F, C, kh, kw) of the convolution of float32 ``x`` (N, C, H, W) for
    ``dy`` (N, F, OH * OW), and ``dx`` (when not None) written, by the kernels of
    :mod:`mxlite.kernels.conv_small`; the batch split over threads (a partial weight gradient
    each)."""
    ocb = _small_kernels.OCB
    n, c = x.shape[:2]
    f = w.shape[0]
    kh, kw, ow, length, lp, rows, plane = _small_geometry(geo, c)
    fpad = -(-f // ocb) * ocb
    # dx: the gradient of the planes of a padded image, dS (C kw, Hp * OW), from dy
    length2 = (geo.in_spatial[0] + 2 * geo.pad[0]) * ow
    wdx = None if dx is None else _small_kernels.pack_scatter(w, f)
    per_image = 4 * (rows * plane + fpad * lp + (0 if dx is None else rows * length2))
    step = max(1, SMALL_CHUNK_BYTES // per_image)

    gemm = c >= SMALL_WEIGHT_GEMM_CHANNELS
    k = rows * kh

    def work(a, b):
        part, dyw = _workspace((fpad * rows * kh, step * fpad * lp), np.float32, slot=21)
        part = part.reshape(fpad, rows, kh)
        part[...] = 0
        if gemm:
            cols, dyc, tmp = _workspace((k * step * length, f * step * length, k * f),
                                        np.float32, slot=23)
            part_t = part.reshape(-1)[:k * f].reshape(k, f)
            tmp = tmp.reshape(k, f)
        for n0 in range(a, b, step):
            nb = min(step, b - n0)
            planes = _small_planes(x, geo, n0, nb, plane, slot=20)
            d = dy[n0:n0 + nb]
            if lp > length or (not gemm and fpad > f):
                # the kernels' dy: pixels padded to whole vectors, for taps_weight_grad rows
                # to whole tiles, zeros there
                d = dyw[:nb * fpad * lp].reshape(nb, fpad, lp)
                d[...] = 0
                d[:, :f, :length] = dy[n0:n0 + nb]
            if gemm:
                c2 = cols[:k * nb * length].reshape(k, nb * length)
                y2 = dyc[:f * nb * length].reshape(f, nb * length)
                _small_kernels.tap_columns(planes, rows, kh, ow, length, c2)
                _small_kernels.image_columns(dy[n0:n0 + nb], length, y2)
                np.matmul(c2, y2.T, out=tmp)
                part_t += tmp
            else:
                _small_kernels.taps_weight_grad(d, planes, ow, nb, part)
            if dx is None:
                continue
            (ds,) = _workspace((nb * rows * length2,), np.float32, slot=22)
            ds = ds.reshape(nb, rows, length2)
            ds[...] = 0
            _small_kernels.taps_scatter(d, wdx, ow, length, ds)
            _small_kernels.unshift_planes(ds, geo.pad[0], geo.pad[1], kw, ow, dx[n0:n0 + nb])
        return part

    parts = _split(work, n, rows * kh * n * length)
    for extra in parts[1:]:
        parts[0] += extra
    if gemm:  # (C kw kh, F) -> (F, C, kh, kw)
        return parts[0].reshape(-1)[:k * f].reshape(c, kw, kh, f).transpose(3, 0, 2, 1)
    # (F, C kw, kh) -> (F, C, kh, kw)
    return parts[0][:f, :rows].reshape(f, c, kw, kh).transpose(0, 1, 3, 2)


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
        geo = _geometry(self.name, p, data, self.deconv)
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
        computed it: ``post`` must run single-threaded kernels).  A
        :class:`mxlite.kernels.epilogue.Epilogue` as ``post`` is applied by the direct
        kernel's copy-out and the thin Winograd kernel's store, the bias with it (the other
        paths call it as above)."""
        dtype = inputs[0].dtype
        kdt = kernel_dtype(dtype)
        x, w = np.ascontiguousarray(inputs[0], kdt), inputs[1].astype(kdt, copy=False)
        # an inference forward of a bound weight (not a converted copy): the kernels'
        # packings of it are kept (training changes the weights at every batch)
        own = not is_train and w is inputs[1] and w.flags.c_contiguous
        geo = _geometry(self.name, p, x.shape)
        n, c, f = x.shape[0], x.shape[1], p.num_filter
        out = planned_buffer(out, 0, (n, f, *geo.out_spatial), x.dtype)
        bias = None if p.no_bias else inputs[2].astype(x.dtype, copy=False)
        # the direct and thin Winograd kernels: an Epilogue in their store / copy-out (the
        # bias too), any other ``post`` after each chunk
        if x.dtype == _F32 and not _winograd_ok(p, geo, c) and not _small_ok(p, geo, kdt, c):
            epi = post if isinstance(post, _epilogue.Epilogue) else None
            post_only = None if post is None or epi is not None else \
                lambda a, b: post(out, a, b)
            if _winograd_thin_ok(p, geo, c, f, kdt):
                _winograd_thin(x, w, out, None if bias is None else bias.ravel(), post_only,
                               epilogue=epi, cache=own)
                return [out.astype(dtype, copy=False)], geo
            rw = _direct_ok(p, geo, c, f, kdt)
            if rw:
                _direct(x, w, rw, out, post_only, epilogue=epi,
                        bias=None if bias is None else bias.ravel(), cache=own)
                return [out.astype(dtype, copy=False)], geo
        g = p.num_group
        length = math.prod(geo.out_spatial)
        rows = c * math.prod(geo.kernel)
        fg, rg = f // g, rows // g
        w2 = np.ascontiguousarray(w).reshape(f, -1)
        out3 = out.reshape(n, f, length)
        if bias is not None:
            bias = bias.reshape(1, f, 1)
        hook = post_only = None
        if post is not None:
            def post_only(a, b):  # the paths that add the bias themselves
                post(out, a, b)

            def hook(a, b):  # the bias goes in first, chunk by chunk
                if bias is not None:
                    out3[a:b] += bias
                post(out, a, b)
        if _winograd_ok(p, geo, x.shape[1]):
            _winograd(x, w, geo.pad, out, None if bias is None else bias.reshape(f), post_only)
            return [out.astype(dtype, copy=False)], geo
        if _small_ok(p, geo, x.dtype, x.shape[1]):
            _small_forward(x, np.ascontiguousarray(w), None if bias is None else bias.ravel(),
                           geo, out, post_only)
            return [out.astype(dtype, copy=False)], geo
        if _pointwise_ok(p, geo, x.shape[1], f, x.dtype):
            _pointwise(x, w2, geo.stride[0], out, hook, cache=w if own else None)
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
                _winograd(dy4, flipped, tuple(2 - pd for pd in geo.pad), dx)
            return self._grads(p, inputs, dx, dw_full, dy, gout)
        if _small_ok(p, geo, kdt, x.shape[1], backward=True):
            np.copyto(dw_full, _small_backward(xk, w2.reshape(w.shape), dy, geo, dx))
            return self._grads(p, inputs, dx, dw_full, dy, gout)
        if want_dx and _pointwise_ok(p, geo, x.shape[1], f, kdt):
            _pointwise_data_grad(dy.reshape(n, f, *geo.out_spatial), w2, geo.stride[0], dx)
            want_dx = False  # done: what follows computes the weight gradient only
        if _pointwise_weight_grad_ok(p, geo, x.shape[1], f, kdt):
            dw[...] = _pointwise_weight_grad(xk, dy.reshape(n, f, *geo.out_spatial),
                                             geo.stride[0])
            return self._grads(p, inputs, dx, dw_full, dy, gout)
        # the direct kernels: the data gradient is the convolution of dy with the flipped,
        # transposed weight (pad 1); the weight gradient by its own kernel; what they do not
        # take runs on im2col / col2im + GEMM below (no im2col when the weight gradient is
        # direct: the data gradient's columns are W^T dy)
        rw = _direct_ok(p, geo, f, x.shape[1], kdt, grad=True) if want_dx else None
        dy4 = dy.reshape(n, f, *geo.out_spatial)
        if rw and _winograd_thin_ok(p, geo, f, x.shape[1], kdt):
            _winograd_thin(dy4, _direct_kernels.flipped(w2.reshape(w.shape)), dx)
        elif rw:
            _direct_data_grad(dy4, w2.reshape(w.shape), rw, dx)
        # next to a col2im data gradient only from 16 channels: the im2col the direct weight
        # gradient saves is the smaller part there (one thread, batch 128, backward ms: 64ch
        # 8x8 18.1 -> 16.4, but 3 -> 16ch 32x32 9.0 -> 9.4)
        dw_direct = _direct_weight_grad_ok(p, geo, x.shape[1], f, kdt) and (
            rw or not want_dx or x.shape[1] >= 16)
        if dw_direct:
            np.copyto(dw_full, _direct_weight_grad(xk, dy4, geo.stride[0]))
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
        geo = _geometry(self.name, p, x.shape, deconv=True)
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
