"""mx.io: NDArrayIter batches equal MXNet 1.9.1's (golden), descriptions, shuffle, errors."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "module_io.json").read_text())


@pytest.mark.parametrize(
    "case", GOLDEN["cases"], ids=[f"{c['handle']}-bs{c['batch_size']}" for c in GOLDEN["cases"]]
)
def test_ndarrayiter_matches_mxnet(case):
    data = np.array(GOLDEN["data"], dtype=np.float32)
    label = np.array(GOLDEN["label"], dtype=np.float32)
    it = mx.io.NDArrayIter(data, label, batch_size=case["batch_size"],
                           last_batch_handle=case["handle"])
    for expected in case["epochs"]:
        got = []
        for b in it:
            got.append({"pad": int(b.pad), "data_col0": b.data[0].asnumpy()[:, 0].tolist(),
                        "label": b.label[0].asnumpy().tolist()})
        it.reset()
        assert got == expected


@pytest.mark.parametrize("kind", ["list", "dict"], ids=["list", "dict"])
def test_provide_data_matches_mxnet(kind):
    if kind == "list":
        it = mx.io.NDArrayIter([np.zeros((6, 3)), np.zeros((6, 2, 2))], [np.zeros(6)],
                               batch_size=4)
    else:
        it = mx.io.NDArrayIter({"b": np.zeros((6, 3)), "a": np.zeros((6, 5))},
                               {"lab": np.zeros((6, 1))}, batch_size=2)
    expected = GOLDEN["descs"][kind]
    assert [[d.name, list(d.shape)] for d in it.provide_data] == expected["data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == expected["label"]


def test_datadesc_is_a_tuple_with_dtype_and_layout():
    d = mx.io.DataDesc("data", (128, 20))
    name, shape = d
    assert (name, shape) == ("data", (128, 20))
    assert d.dtype is np.float32 and d.layout == "NCHW"
    assert repr(d) == "DataDesc[data,(128, 20),<class 'numpy.float32'>,NCHW]"
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([("a", (2, 3))], [("a", np.float64)])
    assert descs[0].dtype is np.float64


@pytest.mark.parametrize(
    "source",
    [np.arange(12.0).reshape(6, 2), mx.nd.arange(12).reshape((6, 2)),
     [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]],
    ids=["numpy", "ndarray", "nested-list-in-dict"],
)
def test_input_kinds(source):
    if isinstance(source, list):
        source = {"data": source}
    it = mx.io.NDArrayIter(source, batch_size=4)
    batches = list(it)
    assert len(batches) == 2
    assert batches[1].pad == 2
    assert batches[1].data[0].asnumpy().tolist() == [[8, 9], [10, 11], [0, 1], [2, 3]]
    assert batches[0].label == []


def test_multiple_inputs_are_named_and_sorted():
    it = mx.io.NDArrayIter([np.zeros((4, 1)), np.ones((4, 1))], batch_size=2)
    assert [d.name for d in it.provide_data] == ["_0_data", "_1_data"]
    it = mx.io.NDArrayIter({"z": np.zeros((4, 1)), "a": np.ones((4, 1))}, batch_size=2)
    b = next(iter(it))
    assert [d.name for d in it.provide_data] == ["a", "z"]
    assert b.data[0].asnumpy()[0, 0] == 1


def test_shuffle_uses_mxlite_random_and_keeps_pairs():
    data = np.arange(20, dtype=np.float32)
    mx.random.seed(3)
    it = mx.io.NDArrayIter(data, data * 10, batch_size=5, shuffle=True)
    first = np.concatenate([b.data[0].asnumpy() for b in it])
    mx.random.seed(3)
    it2 = mx.io.NDArrayIter(data, data * 10, batch_size=5, shuffle=True)
    again = np.concatenate([b.data[0].asnumpy() for b in it2])
    np.testing.assert_array_equal(first, again)
    assert sorted(first.tolist()) == data.tolist()
    assert first.tolist() != data.tolist()
    it.reset()
    for b in it:
        np.testing.assert_array_equal(b.label[0].asnumpy(), b.data[0].asnumpy() * 10)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), bs=st.integers(1, 12))
def test_pad_covers_every_example_once(n, bs):
    it = mx.io.NDArrayIter(np.arange(n, dtype=np.float32), batch_size=bs)
    seen = []
    for b in it:
        assert b.data[0].shape == (bs,)
        seen.extend(b.data[0].asnumpy()[: bs - b.pad].tolist())
    assert seen == list(range(n))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), bs=st.integers(1, 12))
def test_discard_yields_full_batches_only(n, bs):
    it = mx.io.NDArrayIter(np.arange(n, dtype=np.float32), batch_size=bs,
                           last_batch_handle="discard")
    batches = list(it)
    assert len(batches) == n // bs
    assert all(b.pad == 0 and b.data[0].shape == (bs,) for b in batches)


def test_getpad_and_iteration_protocol():
    it = mx.io.NDArrayIter(np.arange(5.0), batch_size=2)
    assert it.iter_next() and it.getpad() == 0
    assert it.iter_next() and it.iter_next()
    assert it.getpad() == 1
    assert not it.iter_next()
    it.reset()
    assert [b.pad for b in it] == [0, 0, 1]
    with pytest.raises(StopIteration):
        it.next()


def test_resize_iter():
    base = mx.io.NDArrayIter(np.arange(10.0), batch_size=4)
    it = mx.io.ResizeIter(base, 5)
    firsts = [b.data[0].asnumpy()[0] for b in it]
    assert firsts == [0, 4, 8, 0, 4]
    it.reset()
    assert len(list(it)) == 5
    assert it.provide_data == base.provide_data


def test_prefetching_iter_merges_and_renames():
    a = mx.io.NDArrayIter({"data": np.arange(8.0)}, batch_size=4)
    b = mx.io.NDArrayIter({"data": np.arange(8.0) * 2}, batch_size=4)
    it = mx.io.PrefetchingIter([a, b], rename_data=[{"data": "x"}, {"data": "y"}])
    assert [d.name for d in it.provide_data] == ["x", "y"]
    for _ in range(2):
        batches = list(it)
        assert len(batches) == 2
        np.testing.assert_array_equal(batches[1].data[1].asnumpy(), [8, 10, 12, 14])
        it.reset()


def test_databatch_str():
    b = mx.io.DataBatch([mx.nd.zeros((2, 3))], [mx.nd.zeros((2,))], pad=0)
    assert str(b) == "DataBatch: data shapes: [(2, 3)] label shapes: [(2,)]"


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"data": np.zeros((4, 2)), "batch_size": 0}, ValueError, "batch_size"),
        ({"data": np.zeros((4, 2)), "last_batch_handle": "wrap"}, ValueError,
         "last_batch_handle"),
        ({"data": None}, ValueError, "data"),
        ({"data": "abc"}, TypeError, "data"),
        ({"data": np.zeros((4, 2)), "label": np.zeros(3)}, ValueError, "as many examples"),
        ({"data": [object()]}, TypeError, "invalid type"),
    ],
    ids=["batch-size-0", "bad-handle", "no-data", "string-data", "label-length", "bad-type"],
)
def test_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mx.io.NDArrayIter(**kwargs)


def test_longer_labels_than_data_are_accepted_as_mxnet():
    # MXNet 1.9.1 counts the first data array's examples; the label's extra ones go unused
    it = mx.io.NDArrayIter(np.arange(4.0).reshape(4, 1), {"label": np.arange(8.0)}, batch_size=2)
    labels = [b.label[0].asnumpy().tolist() for b in it]
    assert labels == [[0.0, 1.0], [2.0, 3.0]]


def test_databatch_rejects_non_list():
    with pytest.raises(TypeError, match="list of NDArrays"):
        mx.io.DataBatch(mx.nd.zeros((2, 2)))
