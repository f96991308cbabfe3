"""Image transforms as Blocks (images are HWC NDArrays, ``ToTensor`` makes them CHW)."""

from __future__ import annotations

import numpy as np

from ....ndarray import NDArray
from ...block import Block, HybridBlock, Sequential

__all__ = ["Cast", "Compose", "Normalize", "RandomFlipLeftRight", "Resize", "ToTensor"]


class Compose(Sequential):
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        super().__init__()
        for t in transforms:
            self.add(t)


class Cast(HybridBlock):
    """Cast to ``dtype``."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F, x):
        return F.cast(x, self._dtype)


def _np(x):
    return x.asnumpy() if isinstance(x, NDArray) else np.asarray(x)


class ToTensor(Block):
    """HWC (or NHWC) uint8 in ``[0, 255]`` to CHW (NCHW) float32 in ``[0, 1]``."""

    def forward(self, x):
        a = _np(x)
        if a.ndim not in (3, 4):
            raise ValueError(f"ToTensor expects an HWC or NHWC image, got shape {a.shape}")
        a = np.moveaxis(a, -1, -3).astype(np.float32) / 255.0
        return NDArray(np.ascontiguousarray(a), getattr(x, "context", None))


class Normalize(Block):
    """``(x - mean) / std`` per channel of a CHW (or NCHW) float image."""

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self._std = np.asarray(std, dtype=np.float32).reshape(-1)

    def forward(self, x):
        a = _np(x)
        if a.ndim not in (3, 4):
            raise ValueError(f"Normalize expects a CHW or NCHW image, got shape {a.shape}")
        shape = (-1, 1, 1)
        out = (a - self._mean.reshape(shape)) / self._std.reshape(shape)
        return NDArray(out.astype(a.dtype, copy=False), getattr(x, "context", None))


def _linear_coeffs(n_out: int, n_in: int):
    """Source indices and weights of bilinear resizing on pixel centres, clamped at the borders
    (float32 positions, as OpenCV's ``INTER_LINEAR``)."""
    f = ((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5).astype(np.float32)
    s0 = np.floor(f).astype(np.int64)
    f = f - s0.astype(np.float32)
    low = s0 < 0
    f[low], s0[low] = 0, 0
    high = s0 >= n_in - 1
    f[high], s0[high] = 0, n_in - 1
    return s0, np.minimum(s0 + 1, n_in - 1), f


def _resize_u8(a, th, tw):
    """OpenCV's fixed-point bilinear resize of uint8 images (11-bit weights)."""
    (ys0, ys1, fy), (xs0, xs1, fx) = _linear_coeffs(th, a.shape[0]), _linear_coeffs(tw, a.shape[1])
    one = np.float32(1)
    a0, a1 = (np.rint(c * np.float32(2048)).astype(np.int64) for c in (one - fx, fx))
    b0, b1 = (np.rint(c * np.float32(2048)).astype(np.int64)[:, None, None] for c in (one - fy, fy))
    src = a.astype(np.int64)
    rows = src[:, xs0] * a0[None, :, None] + src[:, xs1] * a1[None, :, None]
    out = (((b0 * (rows[ys0] >> 4)) >> 16) + ((b1 * (rows[ys1] >> 4)) >> 16) + 2) >> 2
    return np.clip(out, 0, 255).astype(np.uint8)


def _resize_float(a, th, tw):
    (ys0, ys1, fy), (xs0, xs1, fx) = _linear_coeffs(th, a.shape[0]), _linear_coeffs(tw, a.shape[1])
    fy, fx = fy[:, None, None].astype(a.dtype), fx[None, :, None].astype(a.dtype)
    top = a[ys0][:, xs0] * (1 - fx) + a[ys0][:, xs1] * fx
    bottom = a[ys1][:, xs0] * (1 - fx) + a[ys1][:, xs1] * fx
    return top * (1 - fy) + bottom * fy


class Resize(Block):
    """Resize an HWC image to ``size`` (an int: both sides, or ``(w, h)``); ``keep_ratio``
    scales the shorter side to ``size``.  Bilinear (``interpolation=1``) on pixel centres, in
    OpenCV's fixed point for uint8 images (what MXNet calls: equal when shrinking, within 1 when
    enlarging), or nearest (``interpolation=0``)."""

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__()
        self._size = size
        self._keep = keep_ratio
        if interpolation not in (0, 1):
            raise ValueError(f"Resize: interpolation must be 0 (nearest) or 1 (bilinear), got "
                             f"{interpolation!r}")
        self._interp = interpolation

    def _target(self, h, w):
        if isinstance(self._size, int):
            if not self._keep:
                return self._size, self._size
            if h < w:
                return self._size, max(1, int(w * self._size / h + 0.5))
            return max(1, int(h * self._size / w + 0.5)), self._size
        tw, th = self._size
        return th, tw

    def forward(self, x):
        a = _np(x)
        if a.ndim != 3:
            raise ValueError(f"Resize expects an HWC image, got shape {a.shape}")
        h, w = a.shape[:2]
        th, tw = self._target(h, w)
        if self._interp == 0:
            yi = np.minimum(np.floor(np.arange(th) * h / th).astype(int), h - 1)
            xi = np.minimum(np.floor(np.arange(tw) * w / tw).astype(int), w - 1)
            out = a[yi][:, xi]
        elif a.dtype == np.uint8:
            out = _resize_u8(a, th, tw)
        else:
            out = _resize_float(a.astype(np.float32) if a.dtype.kind != "f" else a, th, tw)
            out = out.astype(a.dtype)
        return NDArray(np.ascontiguousarray(out), getattr(x, "context", None))


class RandomFlipLeftRight(Block):
    """Flip an HWC image left-right with probability 0.5 (NumPy's global generator)."""

    def forward(self, x):
        a = _np(x)
        if np.random.random() < 0.5:  # noqa: NPY002  (global generator, as MXNet)
            a = a[:, ::-1]
        return NDArray(np.ascontiguousarray(a), getattr(x, "context", None))
