"""Convolution and Deconvolution, 1-D (NCW), 2-D (NCHW) and 3-D (NCDHW), as in MXNet 1.9.1.

Convolution: data ``(N, C, *spatial)``, weight ``(num_filter, C / num_group, *kernel)``, bias
``(num_filter,)``; output spatial size ``(H + 2 pad - dilate (k - 1) - 1) // stride + 1``.
Computed with im2col (Numba, :mod:`._im2col`) and one BLAS GEMM per group; backward is the
transposed GEMMs plus col2im.

Deconvolution (the gradient of a convolution with respect to its input, used as a layer):
data ``(N, C, *spatial)``, weight ``(C, num_filter / num_group, *kernel)``; output size
``stride (H - 1) + dilate (k - 1) + 1 - 2 pad + adj``.  With ``target_shape`` MXNet derives
``pad`` and ``adj`` from it: ``t = stride (H - 1) + dilate (k - 1) + 1 - target``,
``pad = ceil(t / 2)``, ``adj = t % 2``.  ``no_bias`` defaults to True, as in MXNet.  3-D
Deconvolution goes beyond MXNet 1.9.1's native CPU operator (1-D/2-D only); it is checked by
numerical gradients and as the adjoint of the 3-D Convolution.

``workspace``, ``cudnn_tune`` and ``cudnn_off`` are accepted and ignored.  ``layout`` may be
None or the channels-first layout matching the kernel (``NCW``, ``NCHW``, ``NCDHW``); MXNet's
CPU operator has no channels-last support either.
"""

from __future__ import annotations

import threading

import numpy as np

from ..registry import Operator, Param, ShapeError, register
from . import _im2col as _kernels
from ._util import fmt, kernel_dtype, merge_shape, spatial_tuple

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
                    choices=(None, "NCW", "NCHW", "NCDHW", "NHWC", "NDHWC")),
}


class _Geometry:
    """Validated kernel, stride, dilation, padding (and Deconvolution's adj) per spatial axis,
    and the input / output spatial sizes; :meth:`kernel_args` pads them to 3-D for the kernels."""

    def __init__(self, op, p, data_shape, deconv=False):
        nsp = len(p.kernel)
        if nsp not in (1, 2, 3):
            raise ShapeError(f"{op}: kernel={p.kernel} must have 1, 2 or 3 dimensions")
        expected_layout = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[nsp]
        if p.layout not in (None, expected_layout):
            raise ShapeError(f"{op}: layout {p.layout!r} is not supported for a {nsp}-D kernel "
                             f"(use {expected_layout})")
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


#: bytes of im2col columns per chunk of images (one image at least).  The buffers are reused, so
#: a chunk costs no page faults; each chunk is one synchronization of the GEMM's threads, which
#: a busy machine makes cost a scheduler time slice, so the chunks are large (a CIFAR ResNet's
#: layers take one to three per batch of 128)
CHUNK_BYTES = 32 << 20

_local = threading.local()


def _chunk(bytes_per_image: int, n: int) -> int:
    """Images per chunk of the batched im2col / GEMM loop."""
    return max(1, min(n, CHUNK_BYTES // max(bytes_per_image, 1)))


def _workspace(sizes, dtype):
    """Flat scratch arrays of ``sizes`` elements, carved from one buffer that is reused from call
    to call (one per thread and dtype; it only grows), so that no batch allocates them anew."""
    key = np.dtype(dtype).str
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


def _dest(bufs, k, shape, dtype):
    """``bufs[k]`` when it is a contiguous array of ``shape`` and ``dtype``, else a new one."""
    b = bufs[k] if bufs is not None and k < len(bufs) else None
    if b is not None and b.shape == tuple(shape) and b.dtype == dtype and b.flags.c_contiguous:
        return b
    return np.empty(shape, dtype)


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

    def infer_shape(self, p, in_shapes, aux_shapes):
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

    def forward(self, p, inputs, aux, is_train, out=None):
        dtype = inputs[0].dtype
        x, w = (a.astype(kernel_dtype(dtype), copy=False) for a in inputs[:2])
        x = np.ascontiguousarray(x)
        geo = _Geometry(self.name, p, x.shape)
        n, f, g = x.shape[0], p.num_filter, p.num_group
        spatial = int(np.prod(geo.out_spatial))
        rows = x.shape[1] * int(np.prod(geo.kernel))
        fg, rg = f // g, rows // g
        w2 = w.reshape(f, -1)
        out = _dest(out, 0, (n, f, *geo.out_spatial), x.dtype).reshape(n, f, spatial)
        x5, args = _as5d(x), geo.kernel_args(geo.out_spatial)
        bias = None if p.no_bias else inputs[2].astype(x.dtype, copy=False).reshape(1, f, 1)
        step = _chunk(rows * spatial * x.itemsize, n)
        cols_buf, y_buf = _workspace((rows * step * spatial, f * step * spatial), x.dtype)
        for n0 in range(0, n, step):
            nb = min(step, n - n0)
            cols = cols_buf[:rows * nb * spatial].reshape(rows, nb * spatial)
            _kernels.im2col(x5[n0:n0 + nb], *args, cols)
            y = y_buf[:f * nb * spatial].reshape(f, nb * spatial)
            for k in range(g):
                np.matmul(w2[k * fg:(k + 1) * fg], cols[k * rg:(k + 1) * rg],
                          out=y[k * fg:(k + 1) * fg])
            dst = out[n0:n0 + nb]
            dst[...] = y.reshape(f, nb, spatial).transpose(1, 0, 2)
            if bias is not None:
                dst += bias
        return [out.reshape(n, f, *geo.out_spatial).astype(dtype, copy=False)], geo

    skips_grads = True

    def backward(self, p, out_grads, inputs, outputs, aux, saved, need=None, gout=None):
        geo = saved
        x, w = inputs[0], inputs[1]
        want_dx = need is None or need[0]
        kdt = kernel_dtype(x.dtype)
        xk = np.ascontiguousarray(x, dtype=kdt)
        n, f, g = x.shape[0], p.num_filter, p.num_group
        spatial = int(np.prod(geo.out_spatial))
        rows = x.shape[1] * int(np.prod(geo.kernel))
        fg, rg = f // g, rows // g
        dy = np.asarray(out_grads[0], dtype=kdt).reshape(n, f, spatial)
        w2 = w.astype(kdt, copy=False).reshape(f, -1)
        dw_full = _dest(gout, 1, w.shape, kdt)
        dw = dw_full.reshape(f, rows // g)
        dw[...] = 0
        dx = _dest(gout, 0, xk.shape, kdt) if want_dx else None
        x5, args = _as5d(xk), geo.kernel_args(geo.out_spatial)
        dx5 = _as5d(dx) if want_dx else None
        step = _chunk(rows * spatial * xk.itemsize, n)
        size = rows * step * spatial
        cols_buf, dcols_buf, dyt_buf, dw_buf = _workspace(
            (size, size, f * step * spatial, dw.size), kdt)
        dw_part = dw_buf.reshape(dw.shape)
        for n0 in range(0, n, step):
            nb = min(step, n - n0)
            cols = cols_buf[:rows * nb * spatial].reshape(rows, nb * spatial)
            _kernels.im2col(x5[n0:n0 + nb], *args, cols)  # recomputed, as MXNet does
            dyt = dyt_buf[:f * nb * spatial].reshape(f, nb, spatial)
            dyt[...] = dy[n0:n0 + nb].transpose(1, 0, 2)
            dyt = dyt.reshape(f, nb * spatial)
            dcols = dcols_buf[:rows * nb * spatial].reshape(rows, nb * spatial)
            for k in range(g):
                fs, rs = slice(k * fg, (k + 1) * fg), slice(k * rg, (k + 1) * rg)
                # d_weight^T = cols @ dy^T: OpenBLAS runs this shape faster than dy @ cols^T
                np.matmul(cols[rs], dyt[fs].T, out=dw_part[fs].T)
                if want_dx:
                    np.matmul(w2[fs].T, dyt[fs], out=dcols[rs])
            dw += dw_part
            if want_dx:
                _kernels.col2im(dcols, *args, dx5[n0:n0 + nb])
        grads = [None if dx is None else dx.astype(x.dtype, copy=False),
                 dw_full.astype(w.dtype, copy=False)]
        if not p.no_bias:
            db = _dest(gout, 2, (f,), kdt)
            np.sum(dy, axis=(0, 2), out=db)
            grads.append(db.astype(inputs[2].dtype, copy=False))
        return grads


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

    def forward(self, p, inputs, aux, is_train):
        dtype = inputs[0].dtype
        x, w = (a.astype(kernel_dtype(dtype), copy=False) for a in inputs[:2])
        geo = _Geometry(self.name, p, x.shape, deconv=True)
        n, c = x.shape[:2]
        g, f = p.num_group, p.num_filter
        cg = c // g
        xf = _nchw_to_fnl(x)  # (C, N*L_in)
        w2 = w.reshape(c, -1)  # (C, F/g * K)
        rg = w2.shape[1]
        cols = np.empty((g * rg, xf.shape[1]), dtype=x.dtype)
        for k in range(g):
            cs = slice(k * cg, (k + 1) * cg)
            np.matmul(w2[cs].T, xf[cs], out=cols[k * rg:(k + 1) * rg])
        out = _col2im(cols, geo, (n, f, *geo.out_spatial), geo.in_spatial)
        if not p.no_bias:
            out += inputs[2].astype(x.dtype, copy=False).reshape((1, f) + (1,) * geo.nsp)
        return [out.astype(dtype, copy=False)], (geo, xf)

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, w = inputs[0], inputs[1]
        geo, xf = saved
        c = x.shape[1]
        g = p.num_group
        cg = c // g
        dy = np.asarray(out_grads[0], dtype=xf.dtype)
        cols = _im2col(dy, geo, geo.in_spatial)  # (F*K, N*L_in)
        w2 = w.astype(xf.dtype, copy=False).reshape(c, -1)
        rg = w2.shape[1]
        dxf = np.empty_like(xf)
        dw = np.empty_like(w2)
        for k in range(g):
            cs, rs = slice(k * cg, (k + 1) * cg), slice(k * rg, (k + 1) * rg)
            np.matmul(w2[cs], cols[rs], out=dxf[cs])
            np.matmul(xf[cs], cols[rs].T, out=dw[cs])
        dx = _nfl_to_nchw(dxf, x.shape[0], c, geo.in_spatial)
        grads = [dx.astype(x.dtype, copy=False), dw.reshape(w.shape).astype(w.dtype, copy=False)]
        if not p.no_bias:
            db = dy.sum(axis=(0, *range(2, dy.ndim)))
            grads.append(db.astype(inputs[2].dtype, copy=False))
        return grads
