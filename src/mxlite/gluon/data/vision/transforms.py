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


class Resize(Block):
    """Resize an HWC image to ``size`` (an int: both sides, or ``(w, h)``) with bilinear
    interpolation on pixel centres; ``keep_ratio`` scales the shorter side to ``size``."""

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
        ys = (np.arange(th) + 0.5) * h / th - 0.5
        xs = (np.arange(tw) + 0.5) * w / tw - 0.5
        if self._interp == 0:
            yi = np.clip(np.floor((np.arange(th) + 0.5) * h / th), 0, h - 1).astype(int)
            xi = np.clip(np.floor((np.arange(tw) + 0.5) * w / tw), 0, w - 1).astype(int)
            out = a[yi][:, xi]
        else:
            ys, xs = np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)
            y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
            y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
            wy, wx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
            f = a.astype(np.float64)
            top = f[y0][:, x0] * (1 - wx) + f[y0][:, x1] * wx
            bot = f[y1][:, x0] * (1 - wx) + f[y1][:, x1] * wx
            out = top * (1 - wy) + bot * wy
            if a.dtype.kind in "ui":
                out = np.clip(np.rint(out), np.iinfo(a.dtype).min, np.iinfo(a.dtype).max)
        return NDArray(np.ascontiguousarray(out.astype(a.dtype)), getattr(x, "context", None))


class RandomFlipLeftRight(Block):
    """Flip an HWC image left-right with probability 0.5 (NumPy's global generator)."""

    def forward(self, x):
        a = _np(x)
        if np.random.random() < 0.5:  # noqa: NPY002  (global generator, as MXNet)
            a = a[:, ::-1]
        return NDArray(np.ascontiguousarray(a), getattr(x, "context", None))
