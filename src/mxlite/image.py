"""``mx.image``: decoding, resizing and cropping images, and ``ImageIter`` (MXNet 1.9.1 names).

Images are HxWxC ``uint8`` NDArrays in RGB order (``to_rgb=1``, MXNet's default).  Decoding
and resizing use Pillow (``pip install 'mxlite[image]'``); interpolation codes follow
MXNet/OpenCV (0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos).

>>> import io, numpy as np, mxlite as mx
>>> from PIL import Image
>>> buf = io.BytesIO(); Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(buf, "PNG")
>>> img = mx.image.imdecode(buf.getvalue())
>>> img.shape, mx.image.imresize(img, 3, 2).shape
((4, 6, 3), (2, 3, 3))

Decoding is bounded: images over ``MAX_PIXELS`` pixels raise :class:`~mxlite.base.MXNetError`.
"""

from __future__ import annotations

import io
import os
import random as _pyrandom

import numpy as np

from .base import MXNetError
from .io import DataBatch, DataDesc, DataIter
from .ndarray import NDArray

__all__ = ["ImageIter", "center_crop", "color_normalize", "fixed_crop", "imdecode", "imread",
           "imresize", "random_crop", "resize_short", "scale_down"]

MAX_PIXELS = 1 << 28  # refuse decompression bombs


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the `image` extra
        raise ImportError("mx.image needs Pillow: pip install 'mxlite[image]'") from None
    return Image


def _decode(buf, flag=1) -> np.ndarray:
    """Bytes -> HxWx3 RGB (``flag=1``) or HxWx1 grey (``flag=0``) uint8."""
    image = _pil()
    if isinstance(buf, NDArray):
        buf = buf.asnumpy().astype(np.uint8).tobytes()
    elif isinstance(buf, np.ndarray):
        buf = buf.astype(np.uint8).tobytes()
    if not isinstance(buf, (bytes, bytearray, memoryview)):
        raise TypeError(f"imdecode: buf must be bytes or a uint8 array, got {type(buf).__name__}")
    try:
        with image.open(io.BytesIO(bytes(buf))) as im:
            if im.width * im.height > MAX_PIXELS:
                raise MXNetError(f"imdecode: image of {im.width}x{im.height} pixels is too large")
            im = im.convert("L" if flag == 0 else "RGB")
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, image.DecompressionBombError) as err:
        raise MXNetError(f"imdecode: cannot decode image: {err}") from None
    return arr[:, :, None] if arr.ndim == 2 else arr


def imdecode(buf, flag=1, to_rgb=1, out=None) -> NDArray:
    """Decode an encoded image (JPEG, PNG, ...) to an HxWxC uint8 NDArray.

    ``flag=0`` gives one grey channel; ``to_rgb=0`` gives BGR as OpenCV does.
    """
    arr = _decode(buf, flag)
    if flag != 0 and not to_rgb:
        arr = arr[:, :, ::-1]
    arr = np.ascontiguousarray(arr)
    if out is not None:
        if out.shape != arr.shape:
            raise ValueError(f"imdecode: out has shape {out.shape}, the image {arr.shape}")
        out._data[...] = arr
        return out
    return NDArray(arr)


def imread(filename, flag=1, to_rgb=1, out=None) -> NDArray:
    """Read and decode an image file (see :func:`imdecode`)."""
    with open(os.fspath(filename), "rb") as f:
        return imdecode(f.read(), flag, to_rgb, out)


_RESAMPLE = {0: "NEAREST", 1: "BILINEAR", 2: "BICUBIC", 3: "BOX", 4: "LANCZOS"}


def imresize(src, w, h, interp=1) -> NDArray:
    """``src`` (HxWxC) resized to ``h`` x ``w``."""
    image = _pil()
    if not (isinstance(w, (int, np.integer)) and isinstance(h, (int, np.integer))) \
            or w <= 0 or h <= 0:
        raise ValueError(f"imresize: w and h must be positive ints, got {w!r}, {h!r}")
    if interp not in _RESAMPLE:
        raise ValueError(f"imresize: interp must be one of {sorted(_RESAMPLE)}, got {interp!r}")
    arr = src.asnumpy() if isinstance(src, NDArray) else np.asarray(src)
    if arr.ndim != 3:
        raise ValueError(f"imresize: src must be HxWxC, got shape {arr.shape}")
    resample = getattr(image.Resampling, _RESAMPLE[interp])
    channels = []
    for c in range(arr.shape[2]):
        plane = image.fromarray(np.ascontiguousarray(arr[:, :, c]).astype(np.float32), "F")
        channels.append(np.asarray(plane.resize((int(w), int(h)), resample)))
    out = np.stack(channels, axis=2)
    if arr.dtype == np.uint8:
        out = np.clip(np.rint(out), 0, 255)
    return NDArray(out.astype(arr.dtype))


def resize_short(src, size, interp=2) -> NDArray:
    """Resize so that the shorter side is ``size`` (keeping the aspect ratio)."""
    h, w = src.shape[:2]
    if h > w:
        new_w, new_h = size, int(size * h / w)
    else:
        new_w, new_h = int(size * w / h), size
    return imresize(src, new_w, new_h, interp)


def fixed_crop(src, x0, y0, w, h, size=None, interp=2) -> NDArray:
    """The ``w`` x ``h`` region at ``(x0, y0)``, resized to ``size=(w, h)`` if given."""
    if x0 < 0 or y0 < 0 or x0 + w > src.shape[1] or y0 + h > src.shape[0]:
        raise ValueError(f"fixed_crop: region ({x0}, {y0}, {w}, {h}) outside image {src.shape}")
    out = NDArray(np.ascontiguousarray(src.asnumpy()[y0:y0 + h, x0:x0 + w]))
    if size is not None and (w, h) != tuple(size):
        out = imresize(out, size[0], size[1], interp)
    return out


def scale_down(src_size, size):
    """``size`` (w, h) scaled down to fit in ``src_size`` (w, h), keeping its aspect ratio."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def center_crop(src, size, interp=2):
    """The central crop of ``size=(w, h)`` (scaled down to fit); returns ``(image, (x, y, w,
    h))``."""
    h, w = src.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    x0, y0 = int((w - new_w) / 2), int((h - new_h) / 2)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def random_crop(src, size, interp=2):
    """A random crop of ``size=(w, h)``; returns ``(image, (x, y, w, h))``."""
    h, w = src.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    x0 = _pyrandom.randint(0, w - new_w)
    y0 = _pyrandom.randint(0, h - new_h)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def color_normalize(src, mean, std=None) -> NDArray:
    """``(src - mean) / std`` (float)."""
    out = src.astype("float32") - mean
    if std is not None:
        out = out / std
    return out


class ImageIter(DataIter):
    """Batches of images from a RecordIO file (``path_imgrec``) or an image list
    (``path_imglist`` / ``imglist`` of ``[label, path]`` under ``path_root``).

    Each image is decoded (RGB), resized so its shorter side fits, center-cropped to
    ``data_shape`` ``(C, H, W)`` and given as float32 CHW; ``aug_list`` replaces that with
    callables ``aug(image) -> image`` applied in order.
    """

    def __init__(self, batch_size, data_shape, label_width=1, path_imgrec=None,
                 path_imglist=None, path_root=None, path_imgidx=None, shuffle=False,
                 part_index=0, num_parts=1, aug_list=None, imglist=None, data_name="data",
                 label_name="softmax_label", dtype="float32", last_batch_handle="pad",
                 **kwargs):
        super().__init__(batch_size)
        if kwargs:
            raise ValueError(f"ImageIter: unknown arguments {sorted(kwargs)}")
        if len(data_shape) != 3 or data_shape[0] not in (1, 3):
            raise ValueError(f"ImageIter: data_shape must be (1 or 3, H, W), got {data_shape}")
        if last_batch_handle not in ("pad", "discard", "roll_over"):
            raise ValueError(f"ImageIter: bad last_batch_handle {last_batch_handle!r}")
        from . import recordio

        self.data_shape = tuple(data_shape)
        self.label_width = label_width
        self.shuffle = shuffle
        self.dtype = np.dtype(dtype)
        self.last_batch_handle = last_batch_handle
        self.path_root = path_root or ""
        self.aug_list = aug_list
        self._items: list = []  # (label array, loader) pairs
        if path_imgrec is not None:
            if path_imgidx is not None:
                rec = recordio.MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
                for key in rec.keys:
                    self._items.append(("rec", rec, key))
            else:
                rec = recordio.MXRecordIO(path_imgrec, "r")
                while True:
                    raw = rec.read()
                    if raw is None:
                        break
                    self._items.append(("raw", raw, None))
        elif path_imglist is not None or imglist is not None:
            entries = imglist if imglist is not None else self._read_list(path_imglist)
            for entry in entries:
                label, path = np.asarray(entry[:-1] if len(entry) > 2 else entry[0],
                                         dtype=np.float32).reshape(-1), entry[-1]
                self._items.append(("file", label, path))
        else:
            raise ValueError("ImageIter: give path_imgrec, path_imglist or imglist")
        if num_parts > 1:
            n = len(self._items) // num_parts
            self._items = self._items[part_index * n:(part_index + 1) * n]
        if not self._items:
            raise ValueError("ImageIter: no images found")
        self.provide_data = [DataDesc(data_name, (batch_size, *self.data_shape), self.dtype)]
        shape = (batch_size,) if label_width == 1 else (batch_size, label_width)
        self.provide_label = [DataDesc(label_name, shape, np.float32)]
        self._order = list(range(len(self._items)))
        self.cur = 0
        self.reset()

    @staticmethod
    def _read_list(path):
        entries = []
        with open(path) as f:
            for line in f:
                fields = line.strip().split("\t")
                if len(fields) < 3:
                    continue
                entries.append([*[float(x) for x in fields[1:-1]], fields[-1]])
        return entries

    def reset(self):
        if self.shuffle:
            _pyrandom.shuffle(self._order)
        if self.last_batch_handle != "roll_over" or self.cur >= len(self._items):
            self.cur = 0

    def _load(self, i):
        kind, a, b = self._items[i]
        from . import recordio

        if kind == "file":
            with open(os.path.join(self.path_root, b), "rb") as f:
                return a, f.read()
        raw = a.read_idx(b) if kind == "rec" else a
        header, payload = recordio.unpack(raw)
        return np.asarray(header.label, dtype=np.float32).reshape(-1), payload

    def _transform(self, img: NDArray) -> np.ndarray:
        if self.aug_list is not None:
            for aug in self.aug_list:
                img = aug(img)
        else:
            _, h, w = self.data_shape
            img = resize_short(img, max(h, w)) if min(img.shape[:2]) < max(h, w) else img
            img, _ = center_crop(img, (w, h))
        arr = img.asnumpy() if isinstance(img, NDArray) else np.asarray(img)
        if arr.shape[:2] != self.data_shape[1:]:
            raise MXNetError(f"ImageIter: augmented image has shape {arr.shape}, expected "
                             f"{self.data_shape[1:]} (H, W)")
        return arr.transpose(2, 0, 1).astype(self.dtype)

    def iter_next(self) -> bool:
        n = len(self._items)
        if self.cur >= n:
            return False
        if self.last_batch_handle == "discard" and self.cur + self.batch_size > n:
            return False
        data = np.zeros((self.batch_size, *self.data_shape), dtype=self.dtype)
        labels = np.zeros((self.batch_size, self.label_width), dtype=np.float32)
        count = 0
        while count < self.batch_size and self.cur < n:
            label, payload = self._load(self._order[self.cur])
            img = imdecode(payload, flag=0 if self.data_shape[0] == 1 else 1)
            data[count] = self._transform(img)
            labels[count, :label.size] = label[:self.label_width]
            count += 1
            self.cur += 1
        self._pad = self.batch_size - count
        if self._pad and self.last_batch_handle == "roll_over":
            self.cur = 0
            return self.iter_next() if count == 0 else self._finish(data, labels)
        return self._finish(data, labels)

    def _finish(self, data, labels) -> bool:
        self._data = [NDArray(data)]
        lab = labels[:, 0] if self.label_width == 1 else labels
        self._label = [NDArray(np.ascontiguousarray(lab))]
        return True

    def next(self) -> DataBatch:
        if not self.iter_next():
            raise StopIteration
        return DataBatch(self._data, self._label, pad=self._pad)

    def getdata(self):
        return self._data

    def getlabel(self):
        return self._label

    def getpad(self):
        return self._pad
