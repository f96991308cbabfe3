"""The file-reading iterators of ``mx.io``: ``MNISTIter`` (IDX files), ``CSVIter`` and
``ImageRecordIter`` (RecordIO image files), with MXNet 1.9.1's parameters.

Each reads its files once (bounded by their size on disk), then batches like
:class:`~mxlite.io.NDArrayIter`.

>>> import os, tempfile, numpy as np, mxlite as mx
>>> d = tempfile.mkdtemp(); path = os.path.join(d, "x.csv")
>>> np.savetxt(path, np.arange(12).reshape(4, 3), delimiter=",")
>>> it = mx.io.CSVIter(data_csv=path, data_shape=(3,), batch_size=2)
>>> [b.data[0].shape for b in it]
[(2, 3), (2, 3)]
"""

from __future__ import annotations

import os
import struct

import numpy as np

from .base import MXNetError
from .io import DataBatch, NDArrayIter
from .ndarray import array as _nd_array

__all__ = ["CSVIter", "ImageRecordIter", "MNISTIter"]

_MAX_FILE = 1 << 34  # 16 GiB: refuse anything larger


def _size(path, what) -> int:
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise MXNetError(f"{what}: cannot open {path!r}: {err.strerror}") from None
    if size > _MAX_FILE:
        raise MXNetError(f"{what}: {path!r} is larger than {_MAX_FILE} bytes")
    return size


class _FileIter(NDArrayIter):
    """MXNet's C++-backed iterators: ``getdata()`` / ``getlabel()`` give one NDArray (not a
    list); batches hold lists as usual."""

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data, label = NDArrayIter.getdata(self), NDArrayIter.getlabel(self)
        if data[0].shape[0] != self.batch_size:
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def getdata(self):
        return NDArrayIter.getdata(self)[0]

    def getlabel(self):
        return NDArrayIter.getlabel(self)[0]


def _read_idx(path: str, what: str) -> np.ndarray:
    size = _size(path, what)
    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) != 4 or head[:3] != b"\x00\x00\x08":
            raise MXNetError(f"{what}: {path!r} is not an IDX file of unsigned bytes")
        ndim = head[3]
        dims = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        count = int(np.prod(dims, dtype=np.int64))
        if count > size:
            raise MXNetError(f"{what}: {path!r} announces {dims} but holds {size} bytes")
        data = f.read(count)
    if len(data) != count:
        raise MXNetError(f"{what}: {path!r} is truncated ({len(data)} of {count} bytes)")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


class MNISTIter(_FileIter):
    """MNIST from its IDX files: data ``(batch, 1, 28, 28)`` (``flat``: ``(batch, 784)``)
    float32 in [0, 1], labels float32.  ``shuffle`` permutes once, with ``seed``; the last
    incomplete batch is dropped, as MXNet's.
    """

    def __init__(self, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte",
                 batch_size=128, shuffle=True, flat=False, seed=0, silent=False, num_parts=1,
                 part_index=0, data_name="data", label_name="softmax_label", **kwargs):
        unknown = set(kwargs) - {"input_shape", "data_shape", "prefetch_buffer", "ctx",
                                 "dtype"}
        if unknown:
            raise ValueError(f"MNISTIter: unknown arguments {sorted(unknown)}")
        images = _read_idx(image, "MNISTIter")
        labels = _read_idx(label, "MNISTIter")
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise MXNetError(f"MNISTIter: {images.shape[0]} images of shape {images.shape[1:]} "
                             f"and {labels.shape} labels do not match")
        n = images.shape[0]
        if num_parts > 1:
            part = n // num_parts
            images = images[part_index * part:(part_index + 1) * part]
            labels = labels[part_index * part:(part_index + 1) * part]
        data = images.astype(np.float32) / 255.0
        data = data.reshape(data.shape[0], -1) if flat else data[:, None, :, :]
        target = labels.astype(np.float32)
        if shuffle:
            order = np.random.default_rng(seed).permutation(data.shape[0])
            data, target = data[order], target[order]
        super().__init__({data_name: data}, {label_name: target}, batch_size,
                         shuffle=False, last_batch_handle="discard")


def _read_csv(path, shape, dtype, what) -> np.ndarray:
    _size(path, what)
    try:
        values = np.loadtxt(path, delimiter=",", dtype=dtype, ndmin=2)
    except ValueError as err:
        raise MXNetError(f"{what}: cannot parse {path!r}: {err}") from None
    width = int(np.prod(shape))
    if values.shape[1] != width:
        raise MXNetError(f"{what}: rows of {path!r} have {values.shape[1]} values, shape "
                         f"{tuple(shape)} needs {width}")
    return values.reshape((values.shape[0], *shape))


class CSVIter(_FileIter):
    """Rows of ``data_csv`` (and ``label_csv``) reshaped to ``data_shape`` (``label_shape``);
    without labels they are zeros.  ``round_batch`` fills the last batch from the start
    (reporting the pad), else it is dropped.
    """

    def __init__(self, data_csv, data_shape, label_csv=None, label_shape=(1,), batch_size=1,
                 round_batch=True, dtype="float32", data_name="data",
                 label_name="softmax_label", **kwargs):
        unknown = set(kwargs) - {"prefetch_buffer", "ctx", "prefetch_batch"}
        if unknown:
            raise ValueError(f"CSVIter: unknown arguments {sorted(unknown)}")
        if dtype not in ("float32", "int32", "int64", np.float32, np.int32, np.int64):
            raise ValueError(f"CSVIter: dtype must be float32, int32 or int64, got {dtype!r}")
        data = _read_csv(data_csv, tuple(data_shape), dtype, "CSVIter")
        if label_csv is not None:
            label = _read_csv(label_csv, tuple(label_shape), dtype, "CSVIter")
            if label.shape[0] != data.shape[0]:
                raise MXNetError(f"CSVIter: {data.shape[0]} data rows but {label.shape[0]} "
                                 "label rows")
        else:
            label = np.zeros((data.shape[0], *tuple(label_shape)), dtype=dtype)
        if tuple(label_shape) == (1,):
            label = label.reshape(-1)
        super().__init__({data_name: _nd_array(data, dtype=data.dtype)},
                         {label_name: _nd_array(label, dtype=label.dtype)}, batch_size,
                         shuffle=False, last_batch_handle="pad" if round_batch else "discard")


class ImageRecordIter(_FileIter):
    """Images of a RecordIO file (``path_imgrec``, as ``im2rec`` writes them) as float32
    ``(batch,) + data_shape`` batches.

    Each image is decoded (RGB), its shorter side resized to ``resize`` (when > 0), cropped to
    ``data_shape`` (``rand_crop``: at random, else centered; an image smaller than the crop is
    resized up), mirrored at random with ``rand_mirror``, then normalized:
    ``(pixel - mean_rgb) / std_rgb * scale``.  ``shuffle`` reorders every epoch.
    """

    def __init__(self, path_imgrec, data_shape, batch_size=1, label_width=1, shuffle=False,
                 seed=0, resize=-1, rand_crop=False, rand_mirror=False, mean_r=0.0, mean_g=0.0,
                 mean_b=0.0, std_r=1.0, std_g=1.0, std_b=1.0, scale=1.0, round_batch=True,
                 data_name="data", label_name="softmax_label", dtype="float32", **kwargs):
        from . import recordio
        from .image import center_crop, imdecode, imresize, random_crop, resize_short

        known = {"preprocess_threads", "prefetch_buffer", "path_imgidx", "path_imglist",
                 "num_parts", "part_index", "max_random_scale", "min_random_scale",
                 "max_aspect_ratio", "random_h", "random_s", "random_l", "max_rotate_angle",
                 "max_shear_ratio", "fill_value", "inter_method", "pad", "ctx", "verbose",
                 "seed_aug", "mean_img", "label_name", "shuffle_chunk_size"}
        unknown = set(kwargs) - known
        if unknown:
            raise ValueError(f"ImageRecordIter: unknown arguments {sorted(unknown)}")
        if len(data_shape) != 3:
            raise ValueError(f"ImageRecordIter: data_shape must be (C, H, W), got {data_shape}")
        c, h, w = data_shape
        rng = np.random.default_rng(seed)
        import random as _pyrandom

        _pyrandom.seed(int(seed))
        _size(path_imgrec, "ImageRecordIter")
        rec = recordio.MXRecordIO(path_imgrec, "r")
        images, labels = [], []
        mean = np.array([mean_r, mean_g, mean_b], dtype=np.float32)[:c]
        std = np.array([std_r, std_g, std_b], dtype=np.float32)[:c]
        while True:
            raw = rec.read()
            if raw is None:
                break
            header, payload = recordio.unpack(raw)
            img = imdecode(payload, flag=0 if c == 1 else 1)
            if resize > 0:
                img = resize_short(img, resize)
            if img.shape[0] < h or img.shape[1] < w:
                img = imresize(img, max(w, img.shape[1]), max(h, img.shape[0]))
            img, _ = (random_crop if rand_crop else center_crop)(img, (w, h))
            arr = img.asnumpy().astype(np.float32)
            if rand_mirror and rng.random() < 0.5:
                arr = arr[:, ::-1]
            arr = (arr - mean) / std * scale
            images.append(arr.transpose(2, 0, 1))
            label = np.asarray(header.label, dtype=np.float32).reshape(-1)
            labels.append(label[0] if label_width == 1 else label[:label_width])
        rec.close()
        if not images:
            raise MXNetError(f"ImageRecordIter: {path_imgrec!r} holds no records")
        super().__init__({data_name: np.stack(images).astype(dtype)},
                         {label_name: np.asarray(labels, dtype=np.float32)}, batch_size,
                         shuffle=shuffle, last_batch_handle="pad" if round_batch else "discard")
