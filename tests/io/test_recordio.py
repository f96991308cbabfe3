"""mx.recordio against MXNet 1.9.1's files (tests/golden/recordio, tools/gen_golden_recordio.py)
and mx.image basics."""

import io
import os
import sys

import numpy as np
import pytest

import mxlite as mx

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "recordio")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from gen_golden_recordio import RECORDS  # noqa: E402

PIL = pytest.importorskip("PIL.Image")


def _write(tmp_path, name="x"):
    rec = mx.recordio.MXIndexedRecordIO(str(tmp_path / f"{name}.idx"),
                                        str(tmp_path / f"{name}.rec"), "w")
    for key, label, rid, payload in RECORDS:
        rec.write_idx(key, mx.recordio.pack(mx.recordio.IRHeader(0, label, rid, 0), payload))
    rec.close()
    return tmp_path / f"{name}.rec", tmp_path / f"{name}.idx"


def test_writer_is_byte_identical_to_mxnet(tmp_path):
    rec, idx = _write(tmp_path)
    with open(os.path.join(GOLDEN, "mxnet.rec"), "rb") as f:
        assert rec.read_bytes() == f.read()
    with open(os.path.join(GOLDEN, "mxnet.idx")) as f:
        assert idx.read_text() == f.read()


@pytest.mark.parametrize("key, label, rid, payload", RECORDS, ids=[str(r[0]) for r in RECORDS])
def test_reads_mxnet_records(key, label, rid, payload):
    rec = mx.recordio.MXIndexedRecordIO(os.path.join(GOLDEN, "mxnet.idx"),
                                        os.path.join(GOLDEN, "mxnet.rec"), "r")
    header, data = mx.recordio.unpack(rec.read_idx(key))
    assert data == payload and header.id == rid
    np.testing.assert_array_equal(header.label, np.float32(label))
    assert header.flag == (len(label) if isinstance(label, list) else 0)
    rec.close()


def test_sequential_reader_sees_every_record_then_none():
    rec = mx.recordio.MXRecordIO(os.path.join(GOLDEN, "mxnet.rec"), "r")
    payloads = []
    while (raw := rec.read()) is not None:
        payloads.append(mx.recordio.unpack(raw)[1])
    assert payloads == [r[3] for r in RECORDS]
    rec.reset()
    assert mx.recordio.unpack(rec.read())[1] == RECORDS[0][3]


@pytest.mark.parametrize(
    "blob, match",
    [(b"\x00\x00\x00\x00\x04\x00\x00\x00abcd", "magic"),
     (b"\x0a\x23\xd7\xce\xff\x00\x00\x00ab", "past the end"),
     (b"\x0a\x23\xd7\xce", "truncated")],
    ids=["bad-magic", "length-past-end", "short-header"],
)
def test_corrupt_files_raise(tmp_path, blob, match):
    path = tmp_path / "bad.rec"
    path.write_bytes(blob)
    with pytest.raises(mx.MXNetError, match=match):
        mx.recordio.MXRecordIO(str(path), "r").read()


def test_mode_errors(tmp_path):
    with pytest.raises(ValueError, match="flag"):
        mx.recordio.MXRecordIO(str(tmp_path / "a.rec"), "a")
    w = mx.recordio.MXRecordIO(str(tmp_path / "a.rec"), "w")
    with pytest.raises(mx.MXNetError, match="writing"):
        w.read()
    with pytest.raises(TypeError, match="bytes"):
        w.write("text")


def test_unpack_rejects_short_records():
    with pytest.raises(mx.MXNetError, match="shorter"):
        mx.recordio.unpack(b"abc")


@pytest.mark.parametrize("fmt", [".png", ".jpg"])
def test_pack_img_round_trip_keeps_bgr(fmt):
    img = np.zeros((8, 6, 3), np.uint8)
    img[..., 0] = 200  # blue in OpenCV's BGR order
    header, out = mx.recordio.unpack_img(
        mx.recordio.pack_img(mx.recordio.IRHeader(0, 4.0, 1, 0), img, quality=95, img_fmt=fmt))
    assert header.label == 4.0 and out.shape == (8, 6, 3)
    tol = 0 if fmt == ".png" else 8
    assert np.abs(out.astype(int) - img).max() <= tol
    # mx.image decodes to RGB
    rgb = mx.image.imdecode(mx.recordio.unpack(mx.recordio.pack_img(
        mx.recordio.IRHeader(0, 0, 0, 0), img, img_fmt=".png"))[1])
    assert rgb.asnumpy()[0, 0].tolist() == [0, 0, 200]


def _png(arr):
    buf = io.BytesIO()
    PIL.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def test_image_functions():
    arr = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    img = mx.image.imdecode(_png(arr))
    np.testing.assert_array_equal(img.asnumpy(), arr)
    assert mx.image.imdecode(_png(arr), flag=0).shape == (4, 6, 1)
    np.testing.assert_array_equal(mx.image.imdecode(_png(arr), to_rgb=0).asnumpy(),
                                  arr[:, :, ::-1])
    assert mx.image.imresize(img, 3, 2).shape == (2, 3, 3)
    assert mx.image.resize_short(img, 8).shape == (8, 12, 3)
    crop, box = mx.image.center_crop(img, (2, 2))
    assert crop.shape == (2, 2, 3) and box == (2, 1, 2, 2)
    np.testing.assert_array_equal(mx.image.fixed_crop(img, 1, 1, 2, 2).asnumpy(),
                                  arr[1:3, 1:3])
    with pytest.raises(mx.MXNetError, match="decode"):
        mx.image.imdecode(b"not an image")
    with pytest.raises(ValueError, match="positive"):
        mx.image.imresize(img, 0, 2)


def test_image_iter_over_record_file(tmp_path):
    rec = mx.recordio.MXIndexedRecordIO(str(tmp_path / "i.idx"), str(tmp_path / "i.rec"), "w")
    for i in range(5):
        img = np.full((10, 12, 3), i * 40, np.uint8)
        rec.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, float(i), i, 0), img,
                                              img_fmt=".png"))
    rec.close()
    it = mx.image.ImageIter(2, (3, 8, 8), path_imgrec=str(tmp_path / "i.rec"),
                            path_imgidx=str(tmp_path / "i.idx"))
    batches = list(it)
    assert [b.pad for b in batches] == [0, 0, 1]
    assert batches[0].data[0].shape == (2, 3, 8, 8)
    np.testing.assert_array_equal(batches[1].label[0].asnumpy(), [2.0, 3.0])
    assert float(batches[1].data[0].asnumpy()[1].mean()) == 120.0
    rit = mx.io.ImageRecordIter(path_imgrec=str(tmp_path / "i.rec"), data_shape=(3, 8, 8),
                                batch_size=5, mean_r=10, mean_g=10, mean_b=10, scale=0.5)
    batch = next(iter(rit))
    np.testing.assert_allclose(batch.data[0].asnumpy()[2], np.full((3, 8, 8), (80 - 10) * 0.5))
