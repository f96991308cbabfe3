"""LibSVMIter and NDArrayIter over CSR data, against MXNet 1.9.1's batches."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx

from ._golden import ARRAYS, META

ITERS = META["iters"]
LIBSVM_CASES = sorted(k[len("libsvm_"):] for k in ITERS if k.startswith("libsvm_"))


@pytest.fixture
def libsvm_path(tmp_path):
    path = tmp_path / "d.libsvm"
    path.write_text(ITERS["libsvm"])
    return str(path)


@pytest.mark.parametrize("case", LIBSVM_CASES, ids=LIBSVM_CASES)
def test_libsvm_batches_match_mxnet(case, libsvm_path):
    expected = ITERS[f"libsvm_{case}"]
    batch_size = int(case[1:])
    if isinstance(expected, dict):  # MXNet refuses: batch_size larger than the data
        with pytest.raises(mx.MXNetError, match="at least batch_size"):
            mx.io.LibSVMIter(data_libsvm=libsvm_path, data_shape=(5,), batch_size=batch_size)
        return
    it = mx.io.LibSVMIter(data_libsvm=libsvm_path, data_shape=(5,), batch_size=batch_size)
    got = []
    for epoch in range(3):
        for b in it:
            key = f"libsvm/{case}/{len(got)}"
            assert b.data[0].stype == "csr"
            np.testing.assert_array_equal(b.data[0].asnumpy(), ARRAYS[key + "/data"])
            np.testing.assert_array_equal(b.label[0].asnumpy(), ARRAYS[key + "/label"])
            got.append({"stype": "csr", "pad": b.pad, "epoch": epoch,
                        "provide_data": [list(d.shape) for d in it.provide_data]})
        it.reset()
    assert got == expected


def test_libsvm_errors_and_parts(tmp_path, libsvm_path):
    with pytest.raises(mx.MXNetError, match="out of range"):
        mx.io.LibSVMIter(data_libsvm=libsvm_path, data_shape=(4,), batch_size=1)
    bad = tmp_path / "bad.libsvm"
    bad.write_text("1 0:x\n")
    with pytest.raises(mx.MXNetError, match="malformed"):
        mx.io.LibSVMIter(data_libsvm=str(bad), data_shape=(4,))
    with pytest.raises(mx.MXNetError, match="round_batch"):
        mx.io.LibSVMIter(data_libsvm=libsvm_path, data_shape=(5,), round_batch=False)
    part = mx.io.LibSVMIter(data_libsvm=libsvm_path, data_shape=(5,), batch_size=1,
                            num_parts=2, part_index=1)
    assert [b.label[0].asnumpy().tolist() for b in part] == [[0.0], [1.0], [0.0], [1.0]][1:]


NDITER = sorted(k[len("nditer_"):] for k in ITERS if k.startswith("nditer_"))


@pytest.mark.parametrize("handle", NDITER, ids=NDITER)
def test_ndarrayiter_over_csr(handle):
    x = ARRAYS["nditer/x"]
    y = np.arange(5, dtype=np.float32)
    it = mx.io.NDArrayIter(mx.nd.array(x).tostype("csr"), y, batch_size=2,
                           last_batch_handle=handle)
    expected = ITERS[f"nditer_{handle}"]
    got = []
    for epoch in range(2):
        it.reset()
        for b in it:
            # MXNet 1.9.1 hands out dense batches (its own docstring promises CSRNDArray) and
            # refuses 'pad' / 'roll_over' with CSR data; mxlite keeps the batches CSR and
            # supports every last_batch_handle
            assert b.data[0].stype == "csr"
            if not isinstance(expected, dict):
                key = f"nditer/{handle}/{epoch}/{len(got)}"
                np.testing.assert_array_equal(b.data[0].asnumpy(), ARRAYS[key + "/data"])
                np.testing.assert_array_equal(b.label[0].asnumpy(), ARRAYS[key + "/label"])
            got.append(b)
    dense = mx.io.NDArrayIter(x, y, batch_size=2, last_batch_handle=handle)
    want = [b for epoch in range(2) for b in (dense.reset() or dense)]
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.data[0].asnumpy(), b.data[0].asnumpy())
        assert a.pad == b.pad


def test_ndarrayiter_csr_shuffle_and_scipy():
    sp = pytest.importorskip("scipy.sparse")
    x = np.arange(24, dtype=np.float32).reshape(6, 4) % 5
    mx.random.seed(3)
    it = mx.io.NDArrayIter(sp.csr_matrix(x), np.arange(6, dtype=np.float32), batch_size=3,
                           shuffle=True)
    rows = []
    for b in it:
        assert b.data[0].stype == "csr"
        for r, lab in zip(b.data[0].asnumpy(), b.label[0].asnumpy(), strict=True):
            np.testing.assert_array_equal(r, x[int(lab)])  # rows stay with their labels
            rows.append(int(lab))
    assert sorted(rows) == list(range(6))


def test_libsvm_label_file_and_comments(tmp_path):
    data = tmp_path / "x.libsvm"
    data.write_text("# a comment line\n1 0:1 2:2\n\n0 1:3  # trailing comment\n")
    labels = tmp_path / "y.libsvm"
    labels.write_text("0 1:1\n0 0:2 2:1\n")
    it = mx.io.LibSVMIter(data_libsvm=str(data), data_shape=(3,), label_libsvm=str(labels),
                          label_shape=(3,), batch_size=2)
    assert [d.shape for d in it.provide_label] == [(2, 3)]
    (batch,) = list(it)
    np.testing.assert_array_equal(batch.data[0].asnumpy(), [[1, 0, 2], [0, 3, 0]])
    assert batch.label[0].stype == "csr"
    np.testing.assert_array_equal(batch.label[0].asnumpy(), [[0, 1, 0], [2, 0, 1]])
