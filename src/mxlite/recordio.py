"""``mx.recordio``: MXNet's RecordIO files (``.rec``, with an optional ``.idx`` index).

A file is a sequence of records: ``uint32 magic 0xced7230a``, ``uint32 lrecord`` (upper 3 bits a
continuation flag, lower 29 the length), the payload, zero padding to 4 bytes.  ``pack`` /
``unpack`` add MXNet's image-record header ``IRHeader(flag, label, id, id2)`` (``<IfQQ``; a
label array of ``flag`` float32 values follows when ``flag > 0``); ``pack_img`` / ``unpack_img``
store an encoded image (BGR arrays, as MXNet's OpenCV-based functions; Pillow encodes).

>>> import os, tempfile, mxlite as mx
>>> path = os.path.join(tempfile.mkdtemp(), "x.rec")
>>> w = mx.recordio.MXRecordIO(path, "w")
>>> w.write(mx.recordio.pack(mx.recordio.IRHeader(0, 3.0, 7, 0), b"hello"))
>>> w.close()
>>> r = mx.recordio.MXRecordIO(path, "r")
>>> header, payload = mx.recordio.unpack(r.read())
>>> header.label, header.id, payload
(3.0, 7, b'hello')

Reading is bounded: a record's length is checked against the bytes left in the file, so a
corrupt or hostile file raises :class:`~mxlite.base.MXNetError` instead of allocating.
"""

from __future__ import annotations

import io
import numbers
import os
import struct
from collections import namedtuple

import numpy as np

from .base import MXNetError

__all__ = ["IRHeader", "MXIndexedRecordIO", "MXRecordIO", "pack", "pack_img", "unpack",
           "unpack_img"]

_MAGIC = 0xCED7230A
_LEN_MASK = (1 << 29) - 1

IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """Image-record header: ``flag`` (number of float labels that follow, 0 for
one scalar ``label``), ``label``, ``id`` and ``id2``."""
_IR_FORMAT = "<IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)


class MXRecordIO:
    """Sequential reader (``flag='r'``) or writer (``flag='w'``) of a RecordIO file."""

    def __init__(self, uri, flag):
        if flag not in ("r", "w"):
            raise ValueError(f"MXRecordIO: flag must be 'r' or 'w', got {flag!r}")
        self.uri = os.fspath(uri)
        self.flag = flag
        self.writable = flag == "w"
        self.is_open = False
        self._file = None
        self.open()

    def open(self):
        """(Re)open the file; a writer truncates it."""
        if self.is_open:
            self.close()
        self._file = open(self.uri, "wb" if self.writable else "rb")
        if not self.writable:
            self._size = os.fstat(self._file.fileno()).st_size
        self.is_open = True

    def close(self):
        """Close the file (writers flush to disk)."""
        if self.is_open:
            if self.writable:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            self.is_open = False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_file"] = None
        state["is_open"] = False
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if not self.writable:
            self.open()

    def reset(self):
        """Back to the first record (reopens the file)."""
        self.close()
        self.open()

    def tell(self) -> int:
        """The current byte position (where the next record starts)."""
        self._check_open()
        return self._file.tell()

    def _check_open(self):
        if not self.is_open:
            raise MXNetError(f"MXRecordIO {self.uri!r} is closed")

    def write(self, buf: bytes) -> None:
        """Append one record."""
        self._check_open()
        if not self.writable:
            raise MXNetError(f"MXRecordIO {self.uri!r} was opened for reading")
        if not isinstance(buf, (bytes, bytearray, memoryview)):
            raise TypeError(f"MXRecordIO.write: buf must be bytes, got {type(buf).__name__}")
        buf = bytes(buf)
        if len(buf) > _LEN_MASK:
            raise ValueError(f"MXRecordIO.write: record of {len(buf)} bytes exceeds 2**29 - 1")
        # as dmlc's writer: a payload holding the magic at a 4-byte boundary is split there
        # (the magic dropped) into parts flagged 1 (first), 2 (middle), 3 (last), so that a
        # reader scanning for the magic never starts inside a record
        magic = struct.pack("<I", _MAGIC)
        cuts = [i for i in range(0, len(buf) - 3, 4) if buf[i:i + 4] == magic]
        if not cuts:
            parts = [(0, buf)]
        else:
            bounds = [0, *[c + 4 for c in cuts]]
            ends = [*cuts, len(buf)]
            pieces = [buf[b:e] for b, e in zip(bounds, ends, strict=True)]
            flags = [1] + [2] * (len(pieces) - 2) + [3]
            parts = list(zip(flags, pieces, strict=True))
        out = bytearray()
        for cflag, piece in parts:
            out += struct.pack("<II", _MAGIC, (cflag << 29) | len(piece)) + piece
            out += b"\0" * ((-len(piece)) % 4)
        self._file.write(bytes(out))

    def read(self):
        """The next record's payload, or ``None`` at the end of the file."""
        self._check_open()
        if self.writable:
            raise MXNetError(f"MXRecordIO {self.uri!r} was opened for writing")
        parts = []
        while True:
            head = self._file.read(8)
            if not head:
                if parts:
                    raise MXNetError(f"{self.uri}: file ends inside a multi-part record")
                return None
            if len(head) < 8:
                raise MXNetError(f"{self.uri}: truncated record header at {self.tell() - 8}")
            magic, lrec = struct.unpack("<II", head)
            if magic != _MAGIC:
                raise MXNetError(f"{self.uri}: bad record magic {magic:#x} at byte "
                                 f"{self.tell() - 8}")
            cflag, length = lrec >> 29, lrec & _LEN_MASK
            if length > self._size - self._file.tell():
                raise MXNetError(f"{self.uri}: record of {length} bytes runs past the end")
            parts.append(self._file.read(length))
            self._file.read((-length) % 4)
            if cflag in (0, 3):  # whole record, or its last part
                break
            if cflag == 1 and len(parts) > 1:
                raise MXNetError(f"{self.uri}: a record starts inside another")
        if len(parts) == 1:
            return parts[0]
        return _MAGIC.to_bytes(4, "little").join(parts)  # MXNet's split at embedded magics


class MXIndexedRecordIO(MXRecordIO):
    """RecordIO with random access through an index file of ``key\\tbyte_offset`` lines."""

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = os.fspath(idx_path)
        self.idx: dict = {}
        self.keys: list = []
        self.key_type = key_type
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        super().open()
        self.idx = {}
        self.keys = []
        if self.writable:
            self.fidx = open(self.idx_path, "w")
            return
        self.fidx = None
        with open(self.idx_path) as f:
            for lineno, line in enumerate(f, 1):
                fields = line.strip().split("\t")
                if not fields or fields == [""]:
                    continue
                if len(fields) < 2:
                    raise MXNetError(f"{self.idx_path}:{lineno}: expected 'key<TAB>offset'")
                key = self.key_type(fields[0])
                self.idx[key] = int(fields[1])
                self.keys.append(key)

    def close(self):
        if not self.is_open:
            return
        super().close()
        if self.fidx is not None:
            self.fidx.close()
            self.fidx = None

    def __getstate__(self):
        state = super().__getstate__()
        state["fidx"] = None
        return state

    def seek(self, idx):
        """Position the reader at record ``idx``."""
        if self.writable:
            raise MXNetError("MXIndexedRecordIO.seek needs a reader")
        if idx not in self.idx:
            raise KeyError(f"record {idx!r} is not in the index {self.idx_path!r}")
        self._file.seek(self.idx[idx])

    def read_idx(self, idx):
        """The payload of record ``idx``."""
        self.seek(idx)
        return self.read()

    def write_idx(self, idx, buf):
        """Append ``buf`` as record ``idx`` and index it."""
        key = self.key_type(idx)
        pos = self.tell()
        self.write(buf)
        self.fidx.write(f"{key}\t{pos}\n")
        self.idx[key] = pos
        self.keys.append(key)


def pack(header: IRHeader, s: bytes) -> bytes:
    """``header`` (a label array sets ``flag`` to its length) followed by the payload ``s``."""
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        head = struct.pack(_IR_FORMAT, 0, float(header.label), int(header.id), int(header.id2))
        return head + bytes(s)
    label = np.asarray(header.label, dtype=np.float32).ravel()
    head = struct.pack(_IR_FORMAT, label.size, 0.0, int(header.id), int(header.id2))
    return head + label.tobytes() + bytes(s)


def unpack(s: bytes):
    """``(IRHeader, payload)``; with ``flag > 0`` the header's label is the float32 array."""
    if len(s) < _IR_SIZE:
        raise MXNetError(f"unpack: record of {len(s)} bytes is shorter than its header")
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        n = header.flag * 4
        if len(s) < n:
            raise MXNetError(f"unpack: header announces {header.flag} labels, record too short")
        header = header._replace(label=np.frombuffer(s[:n], dtype=np.float32).copy())
        s = s[n:]
    return header, s


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the `image` extra
        raise ImportError("image records need Pillow: pip install 'mxlite[image]'") from None
    return Image


def pack_img(header: IRHeader, img, quality=95, img_fmt=".jpg") -> bytes:
    """Encode ``img`` (HxW or HxWx3 uint8, BGR as MXNet's OpenCV arrays) and :func:`pack` it."""
    image = _pil()
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        raise TypeError(f"pack_img: img must be uint8, got {arr.dtype}")
    if arr.ndim == 3:
        if arr.shape[2] != 3:
            raise ValueError(f"pack_img: img must have 3 channels, got shape {arr.shape}")
        arr = arr[:, :, ::-1]  # BGR -> RGB for Pillow
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}.get(img_fmt.lower())
    if fmt is None:
        raise ValueError(f"pack_img: img_fmt must be .jpg or .png, got {img_fmt!r}")
    buf = io.BytesIO()
    options = {"quality": int(quality)} if fmt == "JPEG" else \
        {"compress_level": min(9, max(0, int(quality)))}
    image.fromarray(np.ascontiguousarray(arr)).save(buf, format=fmt, **options)
    return pack(header, buf.getvalue())


def unpack_img(s: bytes, iscolor=-1):
    """``(IRHeader, image)``: the decoded image as MXNet's OpenCV gives it (BGR, HxWx3 uint8;
    ``iscolor=0`` grey HxW)."""
    header, payload = unpack(s)
    from .image import _decode

    arr = _decode(payload, flag=0 if iscolor == 0 else 1)
    if arr.ndim == 3:
        arr = np.ascontiguousarray(arr[:, :, ::-1])  # RGB -> BGR
    else:
        arr = arr.reshape(arr.shape[:2])
    return header, arr
