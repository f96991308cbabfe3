"""nd.save / nd.load of row_sparse and csr arrays: MXNet 1.9.1's bytes both ways, storage kept,
bounded reads of corrupted records."""

from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest

import mxlite as mx
from mxlite.ndarray import utils

from ._golden import META

SAVES = sorted(META["save"])


def _arrays(code):
    return eval(code, {"mx": mx, "np": np})


def _same(a, b):
    assert a.stype == b.stype
    assert a.shape == b.shape
    assert np.dtype(a.dtype) == np.dtype(b.dtype)
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


@pytest.mark.parametrize("name", SAVES, ids=SAVES)
def test_save_bytes_identical_to_mxnet(name):
    case = META["save"][name]
    assert mx.nd.save_to_bytes(_arrays(case["code"])) == bytes.fromhex(case["hex"])


@pytest.mark.parametrize("name", SAVES, ids=SAVES)
def test_load_mxnet_bytes_keeps_storage(name, tmp_path):
    case = META["save"][name]
    expected = _arrays(case["code"])
    path = tmp_path / "f.params"
    path.write_bytes(bytes.fromhex(case["hex"]))
    loaded = mx.nd.load(str(path))
    pairs = (zip(loaded.values(), expected.values(), strict=True) if isinstance(expected, dict)
             else zip(loaded, expected, strict=True))
    for got, want in pairs:
        _same(got, want)
    mx.nd.save(str(path), loaded)  # and back: the very same bytes
    assert path.read_bytes() == bytes.fromhex(case["hex"])


def test_large_sparse_record_loads_without_densifying():
    """A 10M-row gradient of 2 rows: loading allocates the 2 rows only."""
    g = mx.nd.sparse.row_sparse_array((np.ones((2, 8), np.float32), [5, 9_999_999]),
                                      shape=(10_000_000, 8))
    buf = mx.nd.save_to_bytes([g])
    assert len(buf) < 300
    (back,) = mx.nd.load_frombuffer(buf)
    assert back.stype == "row_sparse" and back.shape == (10_000_000, 8)
    assert back.indices.asnumpy().tolist() == [5, 9_999_999]


def test_pickle_round_trip():
    c = mx.nd.sparse.csr_matrix(([1.0, 2.0], [2, 0], [0, 1, 2]), shape=(2, 3))
    _same(pickle.loads(pickle.dumps(c)), c)


def _rsp_record(indices, rows=4, cols=2):
    idx = np.asarray(indices, np.int64)
    vals = np.ones((idx.size, cols), np.float32)
    head = struct.pack("<Ii", utils.V2_MAGIC, 1)
    head += struct.pack("<iqq", 2, idx.size, cols) + struct.pack("<iqq", 2, rows, cols)
    head += struct.pack("<iii", 1, 0, 0) + struct.pack("<iiq", 6, 1, idx.size)
    body = head + vals.tobytes() + idx.tobytes()
    return struct.pack("<QQQ", utils.LIST_MAGIC, 0, 1) + body + struct.pack("<Q", 0)


@pytest.mark.parametrize("indices, match", [
    ([0, 0], "sorted and unique"),
    ([3, 1], "sorted and unique"),
    ([1, 4], "out of range"),
    ([-1], "out of range"),
], ids=["duplicate", "unsorted", "past-end", "negative"])
def test_corrupted_row_sparse_rejected(indices, match):
    with pytest.raises(mx.MXNetError, match=match):
        mx.nd.load_frombuffer(_rsp_record(indices))


def test_valid_hand_built_record_loads():
    (g,) = mx.nd.load_frombuffer(_rsp_record([1, 3]))
    assert g.indices.asnumpy().tolist() == [1, 3]


def test_declared_sizes_are_bounded():
    buf = bytearray(_rsp_record([1, 3]))
    struct.pack_into("<q", buf, 24 + 8 + 4, 1 << 40)  # storage rows: far more than the bytes
    with pytest.raises(mx.MXNetError, match=r"truncated|absurdly"):
        mx.nd.load_frombuffer(bytes(buf))
    for end in range(len(buf) - 1):
        with pytest.raises(mx.MXNetError):
            mx.nd.load_frombuffer(_rsp_record([1, 3])[:end])
