"""A bounded reader of MXNet/dmlc RecordIO files (``.rec`` with an ``.idx`` index).

Record layout: ``uint32 magic 0xced7230a``, ``uint32 (cflag << 29) | length``, ``length`` bytes,
padding to a multiple of 4.  ``cflag`` 0 is a whole record; 1/2/3 start, continue and end a
record that was split where its payload contained the magic word (the magic is put back
between the parts).
"""

from __future__ import annotations

import os
import struct

from ...base import MXNetError

_MAGIC = 0xCED7230A
_MAX_INDEX_BYTES = 1 << 30


class IndexedRecordReader:
    """Random access to the records of ``rec_path`` through the offsets in ``idx_path``."""

    def __init__(self, idx_path: str, rec_path: str):
        for path in (idx_path, rec_path):
            if not os.path.exists(path):
                raise MXNetError(f"RecordFileDataset: {path} not found (a .rec file needs its "
                                 ".idx index next to it)")
        self._rec_path = rec_path
        self._size = os.path.getsize(rec_path)
        self.index: dict[int, int] = {}
        self.keys: list[int] = []
        with open(idx_path, "rb") as f:
            text = f.read(_MAX_INDEX_BYTES + 1)
        if len(text) > _MAX_INDEX_BYTES:
            raise MXNetError(f"{idx_path}: index larger than {_MAX_INDEX_BYTES} bytes")
        for lineno, line in enumerate(text.decode("ascii", "replace").splitlines(), 1):
            parts = line.strip().split("\t")
            if not parts or parts == [""]:
                continue
            try:
                key, offset = int(parts[0]), int(parts[1])
            except (IndexError, ValueError):
                raise MXNetError(f"{idx_path}:{lineno}: expected 'key<TAB>offset', got "
                                 f"{line!r}") from None
            if not 0 <= offset < self._size:
                raise MXNetError(f"{idx_path}:{lineno}: offset {offset} outside the "
                                 f"{self._size}-byte record file")
            self.index[key] = offset
            self.keys.append(key)
        self._file = open(rec_path, "rb")

    def read_idx(self, key: int) -> bytes:
        self._file.seek(self.index[key])
        return self._read()

    def _read(self) -> bytes:
        parts = []
        while True:
            head = self._file.read(8)
            if len(head) < 8:
                raise MXNetError(f"{self._rec_path}: truncated record header")
            magic, lrec = struct.unpack("<II", head)
            if magic != _MAGIC:
                raise MXNetError(f"{self._rec_path}: bad record magic {magic:#x}")
            cflag, length = lrec >> 29, lrec & ((1 << 29) - 1)
            if self._file.tell() + length > self._size:
                raise MXNetError(f"{self._rec_path}: record of {length} bytes runs past the "
                                 "end of the file")
            parts.append(self._file.read(length))
            self._file.seek((-length) % 4, os.SEEK_CUR)
            if cflag in (0, 3):
                break
            if cflag not in (1, 2):
                raise MXNetError(f"{self._rec_path}: bad continuation flag {cflag}")
        return struct.pack("<I", _MAGIC).join(parts)

    def close(self) -> None:
        self._file.close()

    def __del__(self):
        f = getattr(self, "_file", None)
        if f is not None:
            f.close()
