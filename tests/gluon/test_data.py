"""gluon.data against MXNet 1.9.1's DataLoader batches, plus worker processes, datasets read
from local files, transforms and gluon.utils."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import mxlite as mx
from mxlite import gluon

from ._golden import load

META, _ = load("data")
X = np.asarray(META["X"], dtype=np.float32)
Y = np.asarray(META["Y"], dtype=np.int32)


def _batches(loader, epochs):
    out = []
    for _ in range(epochs):
        for b in loader:
            parts = b if isinstance(b, list) else [b]
            out.append([{"values": p.asnumpy().tolist(), "dtype": np.dtype(p.dtype).name}
                        for p in parts])
    return out


@pytest.mark.parametrize("case", META["cases"], ids=[c["id"] for c in META["cases"]])
def test_dataloader_batches_match_mxnet(case):
    loader = eval(case["src"], {"gluon": gluon, "mx": mx, "X": X, "Y": Y})
    assert _batches(loader, case["epochs"]) == case["batches"]
    assert len(loader) == case["len"]


def test_worker_processes_give_the_same_batches():
    ds = gluon.data.ArrayDataset(X, Y)
    ref = _batches(gluon.data.DataLoader(ds, batch_size=3), 1)
    loader = gluon.data.DataLoader(ds, batch_size=3, num_workers=2, prefetch=1)
    try:
        assert _batches(loader, 2) == ref + ref
    finally:
        loader.close()
    threads = gluon.data.DataLoader(ds, batch_size=3, num_workers=2, thread_pool=True)
    try:
        assert _batches(threads, 1) == ref
    finally:
        threads.close()


def test_shuffle_is_a_permutation_seeded_by_numpy():
    ds = gluon.data.SimpleDataset(list(range(10)))
    np.random.seed(3)  # noqa: NPY002  (the generator the sampler uses)
    a = [b.asnumpy().tolist() for b in gluon.data.DataLoader(ds, batch_size=10, shuffle=True)]
    np.random.seed(3)  # noqa: NPY002  (the generator the sampler uses)
    b = [b.asnumpy().tolist() for b in gluon.data.DataLoader(ds, batch_size=10, shuffle=True)]
    assert a == b and sorted(a[0]) == list(range(10))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, "batch_size must be specified"),
    ({"batch_size": 2, "shuffle": True, "sampler": gluon.data.SequentialSampler(3)},
     "shuffle must not be specified"),
    ({"batch_size": 2, "batch_sampler": gluon.data.BatchSampler(
        gluon.data.SequentialSampler(3), 2)}, "must not be specified"),
    ({"batch_size": 2, "last_batch": "sometimes"}, "last_batch must be one of"),
], ids=["no_batch_size", "shuffle_and_sampler", "batch_sampler_and_size", "bad_last_batch"])
def test_dataloader_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gluon.data.DataLoader(gluon.data.SimpleDataset([1, 2, 3]), **kwargs)


def test_dataset_helpers():
    ds = gluon.data.SimpleDataset(list(range(10)))
    assert list(ds.take(3)[i] for i in range(3)) == [0, 1, 2]
    assert [ds.filter(lambda v: v % 4 == 0)[i] for i in range(3)] == [0, 4, 8]
    assert [ds.shard(3, 0)[i] for i in range(4)] == [0, 1, 2, 3]
    assert len(ds.shard(3, 2)) == 3
    assert ds.transform(lambda v: v * 10, lazy=False)[2] == 20
    with pytest.raises(ValueError, match="same length"):
        gluon.data.ArrayDataset([1, 2], [1])


def _idx(path, magic, arr):
    head = struct.pack(f">{1 + arr.ndim}I", magic, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.astype(np.uint8).tobytes())


def test_mnist_reads_local_files(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, size=(5, 28, 28))
    labels = np.array([3, 1, 4, 1, 5])
    _idx(tmp_path / "train-images-idx3-ubyte.gz", 2051, images)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", 2049, labels)
    ds = gluon.data.vision.MNIST(root=str(tmp_path))
    img, lab = ds[2]
    assert len(ds) == 5 and lab == 4 and img.shape == (28, 28, 1) and img.dtype == np.uint8
    np.testing.assert_array_equal(img.asnumpy()[..., 0], images[2])
    tensor = ds.transform_first(gluon.data.vision.transforms.ToTensor())[0][0]
    assert tensor.shape == (1, 28, 28) and float(tensor.max().asscalar()) <= 1.0


def test_mnist_missing_files_named(tmp_path):
    with pytest.raises(mx.MXNetError, match=r"t10k-images-idx3-ubyte\.gz"):
        gluon.data.vision.FashionMNIST(root=str(tmp_path), train=False)


def test_mnist_rejects_bad_header(tmp_path):
    _idx(tmp_path / "train-images-idx3-ubyte.gz", 1234, np.zeros((1, 28, 28)))
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", 2049, np.zeros(1))
    with pytest.raises(mx.MXNetError, match="magic"):
        gluon.data.vision.MNIST(root=str(tmp_path))


def test_cifar10_reads_local_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rec = np.zeros((2, 3073), np.uint8)
    rec[:, 0] = [7, 2]
    rec[1, 1:1025] = 9  # red plane of image 1
    (folder / "test_batch.bin").write_bytes(rec.tobytes())
    ds = gluon.data.vision.CIFAR10(root=str(tmp_path), train=False)
    img, lab = ds[1]
    assert lab == 2 and img.shape == (32, 32, 3)
    assert img.asnumpy()[..., 0].min() == 9 and img.asnumpy()[..., 1].max() == 0


def test_transforms():
    t = gluon.data.vision.transforms
    img = mx.nd.array(np.arange(2 * 4 * 3).reshape(2, 4, 3), dtype="uint8")
    x = t.Compose([t.ToTensor(), t.Normalize(mean=(0.1, 0.2, 0.3), std=(2, 2, 2))])(img)
    want = (np.moveaxis(img.asnumpy(), -1, 0) / 255.0 - np.array([0.1, 0.2, 0.3])[:, None,
                                                                                    None]) / 2
    np.testing.assert_allclose(x.asnumpy(), want, rtol=1e-6)
    assert t.Cast("float64")(img).dtype == np.float64
    assert t.Resize((8, 4))(img).shape == (4, 8, 3)
    same = t.Resize((4, 2))(img.astype("float32"))
    np.testing.assert_allclose(same.asnumpy(), img.asnumpy())
    flipped = {tuple(t.RandomFlipLeftRight()(img).asnumpy()[0, 0]) for _ in range(20)}
    assert flipped == {(0, 1, 2), (9, 10, 11)}


def test_split_and_load_and_split_data():
    data = mx.nd.arange(12).reshape((6, 2))
    parts = gluon.utils.split_and_load(data, [mx.cpu(0), mx.cpu(1)])
    assert [p.shape for p in parts] == [(3, 2), (3, 2)] and parts[1].context == mx.cpu(1)
    with pytest.raises(ValueError, match="evenly split"):
        gluon.utils.split_data(data, 4)
    uneven = gluon.utils.split_data(data, 4, even_split=False)
    assert [p.shape[0] for p in uneven] == [2, 2, 1, 1]


def test_clip_global_norm():
    a, b = mx.nd.array([3.0]), mx.nd.array([4.0])
    norm = gluon.utils.clip_global_norm([a, b], 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose([a.asscalar(), b.asscalar()], [0.6, 0.8], rtol=1e-6)


def test_check_sha1_and_download(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"mxlite")
    import hashlib

    digest = hashlib.sha1(b"mxlite").hexdigest()
    assert gluon.utils.check_sha1(str(src), digest)
    got = gluon.utils.download(src.as_uri(), path=str(tmp_path / "copy.bin"), sha1_hash=digest)
    assert open(got, "rb").read() == b"mxlite"
    with pytest.raises(mx.MXNetError, match="place it at"):
        gluon.utils.download((tmp_path / "absent.bin").as_uri(), path=str(tmp_path / "x"),
                             retries=1)


def test_record_file_dataset_reads_mxnet_recordio():
    from ._golden import GOLDEN

    ds = gluon.data.RecordFileDataset(str(GOLDEN / "gluon_records.rec"))
    assert [ds[i] for i in range(len(ds))] == [bytes.fromhex(h) for h in META["records"]]


def test_record_file_dataset_errors(tmp_path):
    with pytest.raises(mx.MXNetError, match="idx"):
        gluon.data.RecordFileDataset(str(tmp_path / "none.rec"))
    (tmp_path / "bad.rec").write_bytes(b"\x00" * 16)
    (tmp_path / "bad.idx").write_text("0\t0\n")
    with pytest.raises(mx.MXNetError, match="magic"):
        gluon.data.RecordFileDataset(str(tmp_path / "bad.rec"))[0]
    (tmp_path / "bad.idx").write_text("0\t99\n")
    with pytest.raises(mx.MXNetError, match="outside"):
        gluon.data.RecordFileDataset(str(tmp_path / "bad.rec"))


_, DATA_ARR = load("data")


@pytest.mark.parametrize("case", META["resize"], ids=[c["id"] for c in META["resize"]])
def test_resize_matches_mxnet(case):
    t = gluon.data.vision.transforms
    size = case["size"] if isinstance(case["size"], int) else tuple(case["size"])
    img = DATA_ARR["img"]
    got = t.Resize(size, keep_ratio=case["keep_ratio"])(mx.nd.array(img, dtype="uint8"))
    want = DATA_ARR[case["id"]]
    assert got.shape == want.shape and got.dtype == np.uint8
    diff = np.abs(got.asnumpy().astype(int) - want.astype(int))
    shrinking = want.shape[0] <= img.shape[0] and want.shape[1] <= img.shape[1]
    assert diff.max() <= (0 if shrinking else 1)
    got_f = t.Resize(size, keep_ratio=case["keep_ratio"])(mx.nd.array(img, dtype="float32"))
    np.testing.assert_allclose(got_f.asnumpy(), DATA_ARR[case["id"] + "_float"], rtol=1e-5,
                               atol=1e-3)


def test_to_tensor_normalize_match_mxnet():
    t = gluon.data.vision.transforms
    out = t.Compose([t.ToTensor(), t.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))])(
        mx.nd.array(DATA_ARR["img"], dtype="uint8"))
    np.testing.assert_allclose(out.asnumpy(), DATA_ARR["to_tensor_normalize"], rtol=1e-6,
                               atol=1e-7)
