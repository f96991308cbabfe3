"""mx.nd.save / load / load_frombuffer against files written by MXNet 1.9.1."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
from _interop_golden import assert_same, expected_content, manifest, nd, path, read, values

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.ndarray import utils

ND_FILES = sorted(manifest()["nd_files"])
IDENTICAL = [f for f in ND_FILES if manifest()["nd_files"][f]["byte_identical"]]


def _check_loaded(loaded, entry, what):
    if entry["names"] is None:
        assert isinstance(loaded, list), what
        arrays = loaded
    else:
        assert isinstance(loaded, dict), what
        assert list(loaded) == entry["names"], what
        arrays = list(loaded.values())
    assert len(arrays) == len(entry["keys"]), what
    for i, (array, key) in enumerate(zip(arrays, entry["keys"], strict=True)):
        assert isinstance(array, mx.nd.NDArray)
        assert array.context == mx.cpu(0)
        assert_same(array, values()[key], f"{what} #{i}")


# ---------------------------------------------------------------------- MXNet -> mxlite
@pytest.mark.parametrize("fname", ND_FILES, ids=ND_FILES)
def test_load_mxnet_written_file(fname):
    entry = manifest()["nd_files"][fname]
    # (MXNet 1.9.1 loads a file saved under np_shape only within np_shape, and mxlite too)
    with mx.util.np_shape(entry["np_shape"]):
        _check_loaded(mx.nd.load(path(fname)), entry, fname)


@pytest.mark.parametrize("fname", ND_FILES, ids=ND_FILES)
def test_load_frombuffer_mxnet_written_file(fname):
    entry = manifest()["nd_files"][fname]
    buf = read(fname)
    for form in (buf, bytearray(buf), memoryview(buf)):
        with mx.util.np_shape(entry["np_shape"]):
            _check_loaded(mx.nd.load_frombuffer(form), entry, fname)


def test_golden_covers_every_dtype_and_form():
    entries = manifest()["nd_files"]
    dtypes = {d for e in entries.values() for d in e["dtypes"]}
    assert dtypes == {"float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"}
    assert {e["form"] for e in entries.values()} == {"list", "dict"}
    shapes = {values()[k].shape for e in entries.values() for k in e["keys"]}
    assert {(), (0, 3), (2, 0), (3, 1, 1, 1, 1, 1, 2)} <= shapes
    names = entries["dict_all_dtypes.params"]["names"]
    assert any(n.startswith("arg:") for n in names) and any(n.startswith("aux:") for n in names)


# ---------------------------------------------------------------------- mxlite -> MXNet bytes
@pytest.mark.parametrize("fname", IDENTICAL, ids=IDENTICAL)
def test_save_is_byte_identical_to_mxnet(fname, tmp_path):
    content = expected_content(manifest()["nd_files"][fname])
    if fname == "single.params":
        content = content[0]  # MXNet saved a bare NDArray
    assert mx.nd.save_to_bytes(content) == read(fname)
    target = tmp_path / "out.params"
    mx.nd.save(str(target), content)
    assert target.read_bytes() == read(fname)
    mx.nd.save(target, content)  # a PathLike works too
    assert target.read_bytes() == read(fname)


def test_mxnet_reads_mxlite_files():
    """The committed verdict of ``gen_golden_interop.py --check-mxlite`` (MXNet 1.9.1 loading
    the files mxlite wrote): every NDArray file loaded with identical values."""
    import json

    with open(path("mxnet_reads_mxlite.json")) as f:
        verdict = json.load(f)
    assert verdict["mxnet_version"] == "1.9.1"
    checked = {v["golden"] for v in verdict["nd_files"].values()}
    assert checked == set(ND_FILES)
    for name, v in verdict["nd_files"].items():
        assert v["loaded"] and v["identical"], (name, v)
        if manifest()["nd_files"][v["golden"]]["byte_identical"]:
            assert v["bytes_equal_to_mxnet_file"], name


# ---------------------------------------------------------------------- round trips
DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"]
SHAPES = [(), (1,), (4,), (2, 3), (0,), (3, 0, 2), (1, 2, 1, 2, 1, 2)]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_round_trip(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    data = np.asarray((rng.standard_normal(shape) * 50).astype(dtype))
    array = mx.nd.NDArray(data)
    fname = tmp_path / "a.params"
    mx.nd.save(fname, {"arg:x": array, "aux:y": array})
    # a 0-d array is saved as a V3 record, which loads within np_shape(True) (as MXNet's)
    with mx.util.np_shape(data.ndim == 0):
        loaded = mx.nd.load(fname)
        (single,) = mx.nd.load_frombuffer(mx.nd.save_to_bytes(array))
    assert list(loaded) == ["arg:x", "aux:y"]
    assert_same(loaded["arg:x"], data)
    assert_same(single, data)
    assert single._data.flags.writeable


def test_round_trip_non_contiguous_and_big_endian():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    strided = mx.nd.NDArray(base[:, ::2])
    swapped = mx.nd.NDArray(base.astype(">f4"))
    (a, b) = mx.nd.load_frombuffer(mx.nd.save_to_bytes([strided, swapped]))
    assert_same(a, base[:, ::2].copy())
    assert_same(b, base)


def test_raw_bytes_record_round_trip():
    array = mx.nd.array([[1, 2], [3, 4]], dtype="int32")
    raw = utils.array_to_raw_bytes(array)
    assert raw[:4] == struct.pack("<I", utils.V2_MAGIC)
    assert_same(utils.array_from_raw_bytes(raw), array._data)
    assert utils.array_to_raw_bytes(mx.nd.NDArray(np.array(1, np.float32)))[:4] == struct.pack(
        "<I", utils.V3_MAGIC
    )


def test_empty_list_and_dict_load_as_list():
    assert mx.nd.load_frombuffer(mx.nd.save_to_bytes([])) == []
    assert mx.nd.load_frombuffer(mx.nd.save_to_bytes({})) == []


# ---------------------------------------------------------------------- bad arguments
BAD_SAVE = [
    ("tuple-of-ints", 5, ValueError, "needs to either be"),
    ("numpy-array", np.zeros(3), ValueError, "needs to either be"),
    ("list-with-numpy", [mx.nd.ones(2), np.zeros(2)], TypeError, "ndarray at index 1"),
    ("dict-int-key", {1: mx.nd.ones(2)}, TypeError, "key 1"),
    ("dict-numpy-value", {"a": np.zeros(2)}, TypeError, "for 'a'"),
    ("int16", [mx.nd.NDArray(np.zeros(2, np.int16))], TypeError, "dtype int16"),
    ("uint32", {"w": mx.nd.NDArray(np.zeros(2, np.uint32))}, TypeError, "dtype uint32"),
]


@pytest.mark.parametrize(
    ("data", "exc", "match"), [c[1:] for c in BAD_SAVE], ids=[c[0] for c in BAD_SAVE]
)
def test_save_rejects_bad_data(data, exc, match, tmp_path):
    with pytest.raises(exc, match=match):
        mx.nd.save(tmp_path / "x.params", data)
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("fname", [None, 3, b"x.params"], ids=["none", "int", "bytes"])
def test_fname_must_be_a_path(fname):
    with pytest.raises(TypeError, match="fname"):
        mx.nd.save(fname, [])
    with pytest.raises(TypeError, match="fname"):
        mx.nd.load(fname)


@pytest.mark.parametrize("buf", ["text", 12, None], ids=["str", "int", "none"])
def test_load_frombuffer_needs_bytes(buf):
    with pytest.raises(TypeError, match="buf must be bytes-like"):
        mx.nd.load_frombuffer(buf)


def test_missing_file_names_it(tmp_path):
    missing = tmp_path / "nope.params"
    with pytest.raises(MXNetError, match=r"nope\.params: cannot read"):
        mx.nd.load(missing)


# ---------------------------------------------------------------------- atomic writes
def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "model-0001.params"
    mx.nd.save(target, {"arg:w": mx.nd.ones((2, 2))})
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        mx.nd.save(target, {"arg:w": mx.nd.zeros((3, 3))})
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["model-0001.params"]  # no temp file left behind


# ---------------------------------------------------------------------- corrupted files
def _single_f32() -> bytes:
    return mx.nd.save_to_bytes({"arg:w": mx.nd.array([1.0, 2.0, 3.0])})


# byte offsets in _single_f32(): 0 list magic, 8 reserved, 16 count, 24 array magic,
# 28 stype, 32 ndim, 36 dim0, 44 dev_type, 48 dev_id, 52 type flag, 56 data (12 bytes),
# 68 name count, 76 name length, 84 name
def _patch(offset: int, fmt: str, value) -> bytes:
    buf = bytearray(_single_f32())
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


CORRUPT = [
    ("empty-file", b"", "shorter than the 16-byte header"),
    ("json-file", b'{"nodes": [], "arg_nodes": []}', "not an MXNet NDArray file: bad magic"),
    ("bad-list-magic", _patch(0, "<Q", 0x113), "bad magic 0x113"),
    ("absurd-count", _patch(16, "<Q", 1 << 60), "arrays cannot fit"),
    ("bad-array-magic", _patch(24, "<I", 0xDEADBEEF), "unknown magic 0xDEADBEEF"),
    ("unknown-stype", _patch(28, "<i", 7), "unknown storage type 7"),
    ("negative-ndim", _patch(32, "<i", -3), "ndim -3"),
    ("absurd-ndim", _patch(32, "<i", 1 << 30), "ndim 1073741824"),
    ("negative-dim", _patch(36, "<q", -5), "negative size"),
    ("dim-beyond-buffer", _patch(36, "<q", 1 << 40), "truncated NDArray data"),
    ("absurd-dim", _patch(36, "<q", (1 << 63) - 1), "absurdly large"),
    ("bad-dev-type", _patch(44, "<i", 9), "invalid context"),
    ("bad-dev-id", _patch(48, "<i", -1), "invalid context"),
    ("unknown-type-flag", _patch(52, "<i", 42), "unknown array type flag 42"),
    ("bfloat16", _patch(52, "<i", 12), "bfloat16"),
    ("name-count-mismatch", _patch(68, "<Q", 2), "2 names for 1 arrays"),
    ("name-too-long", _patch(76, "<Q", 1 << 50), "truncated NDArray data"),
    ("trailing-garbage", _single_f32() + b"\x00", "1 bytes of trailing garbage"),
    ("truncated-data", _single_f32()[:60], "truncated NDArray data"),
    ("truncated-names", _single_f32()[:-1], "truncated NDArray data"),
    ("bad-utf8-name", _single_f32()[:84] + b"\xff\xfe\xfd\xfc\xfb", "not valid UTF-8"),
]


@pytest.mark.parametrize(("buf", "match"), [c[1:] for c in CORRUPT], ids=[c[0] for c in CORRUPT])
def test_corrupted_file_gives_clear_error(buf, match, tmp_path):
    fname = tmp_path / "broken.params"
    fname.write_bytes(buf)
    with pytest.raises(MXNetError, match=match) as info:
        mx.nd.load(fname)
    assert str(fname) in str(info.value)
    with pytest.raises(MXNetError, match=match) as info:
        mx.nd.load_frombuffer(buf)
    assert "<buffer>" in str(info.value)


def test_duplicate_names_rejected():
    buf = mx.nd.save_to_bytes({"arg:a": mx.nd.ones(1), "arg:b": mx.nd.ones(1)})
    buf = buf.replace(b"arg:b", b"arg:a")
    with pytest.raises(MXNetError, match=r"duplicate names \['arg:a'\]"):
        mx.nd.load_frombuffer(buf)


def test_uninitialised_array_rejected():
    # MXNet writes an uninitialised (none) array as a V2 record with an empty shape
    record = struct.pack("<Iii", utils.V2_MAGIC, 0, 0)
    buf = struct.pack("<QQQ", utils.LIST_MAGIC, 0, 1) + record + struct.pack("<Q", 0)
    with pytest.raises(MXNetError, match="uninitialised"):
        mx.nd.load_frombuffer(buf)


def test_every_truncation_of_a_golden_file_is_an_error():
    buf = read("dict_all_dtypes.params")
    for end in range(len(buf)):
        with pytest.raises(MXNetError):
            mx.nd.load_frombuffer(buf[:end])


def test_sparse_golden_loads_dense():
    loaded = mx.nd.load(path("sparse.params"))
    assert loaded["rsp"].asnumpy()[[0, 2, 4]].sum() == 0
    assert loaded["csr"].shape == (4, 4)
    assert loaded["csr"].asnumpy()[1, 0] == 5


def test_golden_array_helper():
    assert nd("np_shape.params#0").shape == ()


@pytest.mark.parametrize("stored", [0, 5], ids=["empty-storage-shape", "nnz-storage-shape"])
def test_csr_storage_shape_variants(stored):
    """MXNet 1.9.1 writes a csr record's storage shape either as (nnz,) or as (0,) (it varies
    between runs); both mean the same and load the same dense matrix."""
    buf = bytearray(read("sparse.params"))
    magic = struct.pack("<I", utils.V2_MAGIC)
    csr_at = buf.index(magic, buf.index(magic) + 1)  # the second record is the csr
    assert struct.unpack_from("<ii", buf, csr_at + 4) == (2, 1)  # stype csr, 1-d storage shape
    struct.pack_into("<q", buf, csr_at + 12, stored)
    loaded = mx.nd.load_frombuffer(bytes(buf))
    expected = manifest()["nd_files"]["sparse.params"]
    assert_same(loaded["csr"], values()[expected["keys"][expected["names"].index("csr")]])
