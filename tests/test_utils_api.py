"""mx.test_utils: the helpers users' own tests import."""

import gzip
import os
import struct

import numpy as np
import pytest

import mxlite as mx
from mxlite import test_utils as tu


@pytest.mark.parametrize(
    "a, b, kwargs, close",
    [([1.0, 2.0], [1.0, 2.0 + 1e-6], {}, True),
     ([1.0, 2.0], [1.0, 2.1], {}, False),
     ([1.0, 2.0], [1.0, 2.1], {"rtol": 0.1}, True),
     ([np.nan], [np.nan], {"equal_nan": True}, True),
     ([np.nan], [np.nan], {}, False),
     ([[1.0, 1.0]], [1.0], {}, True)],
    ids=["tiny-diff", "big-diff", "loose-rtol", "nan-equal", "nan-differs", "broadcast"],
)
def test_almost_equal_table(a, b, kwargs, close):
    na = mx.nd.array(a)
    assert tu.almost_equal(na, np.array(b, dtype=np.float32), **kwargs) is close
    if close:
        tu.assert_almost_equal(na, b, **kwargs)
    else:
        with pytest.raises(AssertionError, match="worst at"):
            tu.assert_almost_equal(na, b, names=("got", "want"), **kwargs)


def test_assert_almost_equal_names_values():
    with pytest.raises(AssertionError, match=r"got=.*3\.0.*want=.*4\.0"):
        tu.assert_almost_equal([1.0, 3.0], [1.0, 4.0], names=("got", "want"))


def test_same_same_array_and_assert_exception():
    a = mx.nd.arange(4)
    assert tu.same(a, np.arange(4)) and not tu.same(a, np.arange(5))
    assert tu.same_array(a, a.reshape(4)) and not tu.same_array(a, a.copy())
    tu.assert_exception(int, ValueError, "x")
    with pytest.raises(AssertionError, match="did not raise"):
        tu.assert_exception(int, ValueError, "3")


def test_random_helpers_shapes_and_bounds():
    np.random.seed(0)  # noqa: NPY002  (test_utils draws from the global generator)
    for n in range(5):
        shape = tu.rand_shape_nd(n, dim=4)
        assert len(shape) == n and all(1 <= s <= 4 for s in shape)
    assert all(0 <= s <= 3 for s in tu.rand_shape_nd(6, 3, allow_zero_size=True))
    assert len(tu.rand_shape_2d()) == 2 and len(tu.rand_shape_3d()) == 3
    x = tu.rand_ndarray((3, 2), dtype="float64")
    assert x.shape == (3, 2) and x.dtype == np.float64
    assert ((x.asnumpy() >= 0) & (x.asnumpy() < 1)).all()
    one, two = tu.random_arrays((2,), (3, 1))
    assert one.shape == (2,) and two.shape == (3, 1) and one.dtype == np.float32
    assert sorted(tu.random_sample(range(5), 5)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="stype"):
        tu.rand_ndarray((2,), stype="dense")


@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, True), ((0, 2), False)])
def test_np_reduce_matches_numpy(axis, keepdims):
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    np.testing.assert_allclose(tu.np_reduce(x, axis, keepdims, np.sum),
                               np.sum(x, axis=axis, keepdims=keepdims))


def test_environment_restores():
    os.environ.pop("MXLITE_TU_X", None)
    with tu.environment({"MXLITE_TU_X": "1"}):
        assert os.environ["MXLITE_TU_X"] == "1"
        with tu.environment("MXLITE_TU_X", None):
            assert "MXLITE_TU_X" not in os.environ
    assert "MXLITE_TU_X" not in os.environ


def _fc():
    return mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc")


def _loc(seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(2, 4)), "fc_weight": rng.normal(size=(3, 4)),
            "fc_bias": rng.normal(size=(3,))}


def test_check_numeric_gradient_passes_and_catches_a_wrong_gradient(monkeypatch):
    tu.check_numeric_gradient(_fc(), _loc(), numeric_eps=1e-5, rtol=1e-5, dtype=np.float64)
    tu.check_numeric_gradient(mx.sym.tanh(mx.sym.var("x")), [np.array([0.1, -0.4])],
                              numeric_eps=1e-5, rtol=1e-5, dtype=np.float64)
    from mxlite.operator import registry

    op = type(registry.get("tanh"))
    monkeypatch.setattr(op, "grad", lambda self, x, y, og: og * (1 - y))
    with pytest.raises(AssertionError, match="BACKWARD_x"):
        tu.check_numeric_gradient(mx.sym.tanh(mx.sym.var("x")), [np.array([0.1, -0.4])],
                                  numeric_eps=1e-5, rtol=1e-5, dtype=np.float64)


def test_check_symbolic_forward_and_backward():
    loc = _loc(1)
    out = loc["x"] @ loc["fc_weight"].T + loc["fc_bias"]
    tu.check_symbolic_forward(_fc(), loc, [out], rtol=1e-5, dtype=np.float64)
    with pytest.raises(AssertionError):
        tu.check_symbolic_forward(_fc(), loc, [out + 1], dtype=np.float64)
    og = np.ones_like(out)
    expected = {"x": og @ loc["fc_weight"], "fc_weight": og.T @ loc["x"],
                "fc_bias": og.sum(0)}
    tu.check_symbolic_backward(_fc(), loc, [og], expected, rtol=1e-5, dtype=np.float64)
    tu.check_symbolic_backward(_fc(), loc, [og], expected, rtol=1e-5, grad_req="add",
                               dtype=np.float64)
    with pytest.raises(AssertionError, match="BACKWARD_fc_bias"):
        tu.check_symbolic_backward(_fc(), loc, [og], dict(expected, fc_bias=og.sum(0) + 1),
                                   dtype=np.float64)


def test_simple_forward_and_check_consistency():
    sym = mx.sym.var("a") * 2 + 1
    np.testing.assert_allclose(tu.simple_forward(sym, a=np.array([1.0, 2.0])), [3.0, 5.0])
    ctx = {"ctx": mx.cpu(0), "a": (3, 2)}
    exes = tu.check_consistency(sym, [dict(ctx, type_dict={"a": np.float64}),
                                      dict(ctx, ctx=mx.cpu(1), type_dict={"a": np.float32})])
    assert len(exes) == 2
    with pytest.raises(AssertionError):
        tu.check_consistency([sym, sym + 1], [ctx, ctx])


def test_compare_optimizer_agrees_and_disagrees():
    tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9),
                         mx.optimizer.SGD(learning_rate=0.1, momentum=0.9), (3, 4), np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1),
                             mx.optimizer.SGD(learning_rate=0.2), (3, 4), np.float32)


def test_compare_optimizer_multi_tensor_against_single_tensor_reference():
    shapes = [(3, 2), (4,), (2, 2)]
    tu.compare_optimizer(mx.optimizer.LAMB(learning_rate=0.01),
                         mx.optimizer.LAMB(learning_rate=0.01), shapes, np.float32,
                         ntensors=len(shapes))
    with pytest.raises(AssertionError):
        tu.compare_optimizer(mx.optimizer.LAMB(learning_rate=0.01),
                             mx.optimizer.LAMB(learning_rate=0.02), shapes, np.float32,
                             ntensors=len(shapes))


def _write_idx(path, array, gz=False):
    head = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(head + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_home(tmp_path, monkeypatch):
    folder = tmp_path / "datasets" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 30), ("t10k", 10)):
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    return folder


def test_get_mnist_reads_local_files(mnist_home):
    data = tu.get_mnist()
    assert data["train_data"].shape == (30, 1, 28, 28) and data["test_label"].shape == (10,)
    assert data["train_data"].max() <= 1.0
    assert tu.get_mnist_ubyte() == str(mnist_home)
    train, _ = tu.get_mnist_iterator(10, (784,))
    assert next(iter(train)).data[0].shape == (10, 784)


def test_get_mnist_names_missing_files(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    with pytest.raises(mx.MXNetError, match=r"train-images-idx3-ubyte.*t10k-labels-idx1-ubyte"):
        tu.get_mnist()


def test_download_refuses_network(tmp_path):
    with pytest.raises(mx.MXNetError, match="does not fetch"):
        tu.download("http://example.com/data.bin", dirname=str(tmp_path))
    (tmp_path / "data.bin").write_bytes(b"x")
    assert tu.download("http://example.com/data.bin", dirname=str(tmp_path)).endswith("data.bin")


def test_default_context_roundtrip():
    assert tu.default_context() == mx.cpu()
    tu.set_default_context(mx.cpu(1))
    try:
        assert tu.default_context() == mx.cpu(1)
    finally:
        tu.set_default_context(None)


def test_compare_optimizer_gives_the_reference_dense_copies_of_sparse_inputs():
    """MXNet's rule: the optimizer under test gets the sparse arrays, the reference dense ones."""
    seen = {}

    class Recording(mx.optimizer.SGD):
        def __init__(self, tag, **kw):
            super().__init__(**kw)
            self.tag = tag

        def update_multi_precision(self, index, weight, grad, state):
            seen[self.tag] = (weight.stype, grad.stype)
            super().update_multi_precision(index, weight, grad, state)

    tu.compare_optimizer(Recording("ref", learning_rate=0.1), Recording("test", learning_rate=0.1),
                         (6, 3), np.float32, w_stype="row_sparse", g_stype="row_sparse")
    assert seen == {"ref": ("default", "default"), "test": ("row_sparse", "row_sparse")}
