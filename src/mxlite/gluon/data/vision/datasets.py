"""MNIST, FashionMNIST and CIFAR10 read from the standard files under a local ``root``.

Nothing is downloaded: when a file is missing the error names every file expected (place
them there first).  Files are read with bounded, validated headers; no code is executed.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from ....base import MXNetError
from ....ndarray import array
from ..dataset import Dataset

__all__ = ["CIFAR10", "MNIST", "FashionMNIST"]

_MAX_BYTES = 1 << 31


class _LocalDataset(Dataset):
    _files: dict = {}

    def __init__(self, root, train, transform):
        self._root = os.path.expanduser(root)
        self._train = train
        self._transform = transform
        self._data = None
        self._label = None
        self._get_data()

    def _paths(self, names):
        paths = [os.path.join(self._root, n) for n in names]
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            raise MXNetError(
                f"{type(self).__name__}: file(s) not found: {', '.join(missing)}. mxlite does "
                f"not download datasets; put the standard files {', '.join(names)} in "
                f"{self._root!r} (or pass root=...)")
        return paths

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)


def _read(path: str) -> bytes:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        raise MXNetError(f"{path}: larger than {_MAX_BYTES} bytes")
    return data


def _read_idx(path: str, magic: int, ndim: int) -> np.ndarray:
    buf = _read(path)
    head = 4 + 4 * ndim
    if len(buf) < head:
        raise MXNetError(f"{path}: truncated IDX header")
    got, *dims = struct.unpack(f">{1 + ndim}I", buf[:head])
    if got != magic:
        raise MXNetError(f"{path}: not an IDX file of this kind (magic {got}, expected {magic})")
    size = int(np.prod(dims))
    if len(buf) - head != size:
        raise MXNetError(f"{path}: header says {size} bytes of data, the file has "
                         f"{len(buf) - head}")
    return np.frombuffer(buf, dtype=np.uint8, offset=head).reshape(dims)


class MNIST(_LocalDataset):
    """The MNIST digits: samples ``(image uint8 (28, 28, 1), label int32)``.

    Reads ``train-images-idx3-ubyte.gz`` / ``train-labels-idx1-ubyte.gz`` (``train``) or
    ``t10k-images-idx3-ubyte.gz`` / ``t10k-labels-idx1-ubyte.gz`` from ``root`` (uncompressed
    files without ``.gz`` work too).
    """

    _train_files = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    _test_files = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "mnist"), train=True,
                 transform=None):
        super().__init__(root, train, transform)

    def _get_data(self):
        names = self._train_files if self._train else self._test_files
        plain = [n[:-3] for n in names]
        if all(os.path.exists(os.path.join(self._root, n)) for n in plain):
            names = plain
        images, labels = self._paths(names)
        label = _read_idx(labels, 2049, 1).astype(np.int32)
        data = _read_idx(images, 2051, 3)
        if len(data) != len(label):
            raise MXNetError(f"{images}: {len(data)} images for {len(label)} labels")
        self._data = array(data.reshape(len(label), data.shape[1], data.shape[2], 1),
                           dtype=np.uint8)
        self._label = label


class FashionMNIST(MNIST):
    """Fashion-MNIST: same files and format as :class:`MNIST`."""

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "fashion-mnist"),
                 train=True, transform=None):
        super().__init__(root, train, transform)


class CIFAR10(_LocalDataset):
    """CIFAR-10: samples ``(image uint8 (32, 32, 3), label int32)`` from the binary version
    (``cifar-10-batches-bin/data_batch_1.bin`` ... ``data_batch_5.bin``, ``test_batch.bin``)."""

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "cifar10"), train=True,
                 transform=None):
        super().__init__(root, train, transform)

    def _get_data(self):
        names = [f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)] \
            if self._train else ["cifar-10-batches-bin/test_batch.bin"]
        data, label = [], []
        for path in self._paths(names):
            buf = _read(path)
            if len(buf) % 3073:
                raise MXNetError(f"{path}: size {len(buf)} is not a multiple of 3073 bytes")
            rec = np.frombuffer(buf, dtype=np.uint8).reshape(-1, 3073)
            data.append(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            label.append(rec[:, 0].astype(np.int32))
        self._data = array(np.concatenate(data), dtype=np.uint8)
        self._label = np.concatenate(label)
