"""mx.io.CSVIter and MNISTIter on files written here."""

import struct

import numpy as np
import pytest

import mxlite as mx


@pytest.mark.parametrize(
    "dtype, entry", [("float32", "1.5"), ("int32", "200000001"), ("int64", "2147483648")]
)
def test_csv_iter_dtypes_are_exact(tmp_path, dtype, entry):
    data, label = tmp_path / "d.csv", tmp_path / "l.csv"
    data.write_text("\n".join(",".join([entry] * 6) for _ in range(10)) + "\n")
    label.write_text("\n".join(str(i) for i in range(10)) + "\n")
    it = mx.io.CSVIter(data_csv=str(data), data_shape=(2, 3), label_csv=str(label),
                       batch_size=4, dtype=dtype)
    batches = list(it)
    assert [b.pad for b in batches] == [0, 0, 2]
    got = batches[0].data[0]
    assert got.dtype == np.dtype(dtype) and got.shape == (4, 2, 3)
    np.testing.assert_array_equal(got.asnumpy(), np.full((4, 2, 3), np.dtype(dtype).type(entry)))
    np.testing.assert_array_equal(batches[2].label[0].asnumpy(), [8, 9, 0, 1])
    it.reset()
    assert it.iter_next() and isinstance(it.getdata(), mx.nd.NDArray)


def test_csv_iter_without_labels_and_errors(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("1,2\n3,4\n")
    it = mx.io.CSVIter(data_csv=str(data), data_shape=(2,), batch_size=2)
    np.testing.assert_array_equal(next(iter(it)).label[0].asnumpy(), [0, 0])
    with pytest.raises(mx.MXNetError, match="shape"):
        mx.io.CSVIter(data_csv=str(data), data_shape=(3,))
    with pytest.raises(mx.MXNetError, match="cannot open"):
        mx.io.CSVIter(data_csv=str(tmp_path / "missing.csv"), data_shape=(2,))
    with pytest.raises(ValueError, match="dtype"):
        mx.io.CSVIter(data_csv=str(data), data_shape=(2,), dtype="float16")


def _idx(path, arr):
    path.write_bytes(struct.pack(">I", 0x800 + arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
                     + arr.astype(np.uint8).tobytes())


@pytest.fixture
def mnist(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (25, 28, 28)), rng.integers(0, 10, 25)
    _idx(tmp_path / "img", images)
    _idx(tmp_path / "lab", labels)
    return tmp_path, images, labels


@pytest.mark.parametrize("flat", [False, True])
def test_mnist_iter(mnist, flat):
    path, images, labels = mnist
    it = mx.io.MNISTIter(image=str(path / "img"), label=str(path / "lab"), batch_size=10,
                         shuffle=False, flat=flat)
    batches = list(it)
    assert len(batches) == 2  # the incomplete tail is dropped
    shape = (10, 784) if flat else (10, 1, 28, 28)
    assert batches[0].data[0].shape == shape
    np.testing.assert_allclose(batches[0].data[0].asnumpy().reshape(10, 28, 28),
                               images[:10] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(batches[1].label[0].asnumpy(), labels[10:20])


def test_mnist_iter_shuffle_is_seeded_and_stable_over_reset(mnist):
    path, _, labels = mnist
    def first_labels(seed):
        it = mx.io.MNISTIter(image=str(path / "img"), label=str(path / "lab"), batch_size=5,
                             shuffle=True, seed=seed)
        it.iter_next()
        first = it.getlabel().asnumpy()
        it.iter_next()
        it.reset()
        it.iter_next()
        np.testing.assert_array_equal(it.getlabel().asnumpy(), first)
        return first

    # shuffled once at load with numpy's default_rng(seed), as documented
    order = np.random.default_rng(3).permutation(25)
    np.testing.assert_array_equal(first_labels(3), labels[order[:5]])


def test_mnist_iter_rejects_bad_files(tmp_path, mnist):
    path, _, _ = mnist
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(mx.MXNetError, match="IDX"):
        mx.io.MNISTIter(image=str(tmp_path / "junk"), label=str(path / "lab"))
    (tmp_path / "short").write_bytes(struct.pack(">IIII", 0x803, 100, 28, 28) + b"\0" * 10)
    with pytest.raises(mx.MXNetError, match=r"announces|truncated"):
        mx.io.MNISTIter(image=str(tmp_path / "short"), label=str(path / "lab"))
