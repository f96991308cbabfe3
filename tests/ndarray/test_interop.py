"""NumPy interplay (ufuncs, functions, comparisons), from_numpy, DLPack, MXNet's pickled state,
and the legacy functions onehot_encode / fill_element_0index / CachedOp."""

import pickle

import numpy as np
import pytest

import mxlite as mx
from mxlite.test_utils import assert_almost_equal


@pytest.mark.parametrize(
    "fn",
    [np.exp, np.sqrt, np.negative, lambda a: np.add(a, 1), lambda a: np.maximum(a, 2.0)],
    ids=["exp", "sqrt", "negative", "add-scalar", "maximum"],
)
def test_ufuncs_give_ndarrays(fn):
    x = np.array([[1.0, 4.0], [9.0, 16.0]], dtype=np.float32)
    got = fn(mx.nd.array(x))
    assert isinstance(got, mx.nd.NDArray)
    np.testing.assert_allclose(got.asnumpy(), fn(x))


@pytest.mark.parametrize(
    "fn, expected",
    [(lambda a: np.argmax(a, axis=1), [1, 0]), (np.sum, [11.6]), (np.round, [[1, 5], [3, 2]]),
     (lambda a: np.clip(a, 2, 4), [[2, 4], [3, 2.4]])],
    ids=["argmax", "sum", "round", "clip"],
)
def test_numpy_functions_call_methods(fn, expected):
    a = mx.nd.array([[1.2, 5.0], [3.0, 2.4]])
    got = fn(a)
    assert isinstance(got, mx.nd.NDArray)
    np.testing.assert_allclose(got.asnumpy(), expected, rtol=1e-6)


def test_ufunc_out_writes_into_ndarray():
    a, out = mx.nd.array([1.0, 2.0]), mx.nd.zeros((2,))
    assert np.multiply(a, 3, out=(out,)) is out
    np.testing.assert_allclose(out.asnumpy(), [3.0, 6.0])


@pytest.mark.parametrize("flip", [False, True], ids=["nd-left", "numpy-left"])
def test_comparison_with_numpy_array(flip):
    a, b = mx.nd.array([1, 2, 3]), np.array([1, 0, 3])
    got = (b == a) if flip else (a == b)
    assert isinstance(got, mx.nd.NDArray)
    np.testing.assert_array_equal(got.asnumpy(), [1, 0, 1])


def test_arithmetic_with_numpy_array_still_raises():
    with pytest.raises(TypeError, match="not supported"):
        mx.nd.ones(3) + np.ones(3)


def test_large_int_comparison_stays_exact():
    a = mx.nd.array([50000001], dtype="int32")
    assert np.all(a == 50000001)
    assert np.all(a.trunc() == 50000001)


def test_from_numpy_zero_copy_shares_and_locks():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    a = mx.nd.from_numpy(x)
    with pytest.raises(ValueError):
        x[0, 0] = 5
    a[2, 1] = 100
    assert x[2, 1] == 100
    b = mx.nd.from_numpy(x)  # lent again after being locked
    b[0, 0] = -1
    assert x[0, 0] == -1


def test_from_numpy_copy_and_errors():
    x = np.arange(4.0)
    a = mx.nd.from_numpy(x, zero_copy=False)
    a[0] = 9
    assert x[0] == 0
    with pytest.raises(ValueError, match="C-contiguous"):
        mx.nd.from_numpy(np.ones((2, 3)).T)
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        mx.nd.from_numpy([1, 2])


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_dlpack_round_trips_and_shares(dtype):
    a = mx.nd.array(np.arange(12).reshape(3, 4), dtype=dtype)
    b = mx.nd.from_dlpack(a.to_dlpack_for_write())
    b[0, 0] = 7
    assert a.asnumpy()[0, 0] == 7
    c = mx.nd.from_dlpack(mx.nd.to_dlpack_for_read(a))
    assert_almost_equal(c, a)
    np.testing.assert_array_equal(np.from_dlpack(a), a.asnumpy())


def test_dlpack_with_torch():
    torch = pytest.importorskip("torch")
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    a = mx.nd.from_dlpack(t)
    a[0, 0] = 42
    assert float(t[0, 0]) == 42
    back = torch.from_dlpack(a)
    assert back.shape == (2, 3)


def test_pickled_state_is_mxnets_raw_record():
    a = mx.nd.array([[1, 2], [3, 4]])
    state = a.__getstate__()
    assert set(state) == {"handle"}
    b = mx.nd.zeros((1,))
    b.__setstate__(state)
    assert_almost_equal(b, a)
    # MXNet 1.9.1's state of mx.nd.arange(1, ctx=mx.gpu()) loads on the CPU
    gpu_state = {"handle": bytearray(
        b"\xc9\xfa\x93\xf9\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"
        b"\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")}
    b.__setstate__(gpu_state)
    assert b.shape == (1,) and b.context == mx.cpu()
    assert_almost_equal(pickle.loads(pickle.dumps(a)), a)


def test_onehot_encode_and_fill_element_0index():
    idx = np.array([2, 0, 1])
    out = mx.nd.zeros((3, 4))
    mx.nd.onehot_encode(mx.nd.array(idx), out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.eye(4)[idx])
    base = np.arange(12.0).reshape(3, 4)
    got = mx.nd.fill_element_0index(mx.nd.array(base), mx.nd.array([-1, -2, -3]),
                                    mx.nd.array(idx))
    want = base.copy()
    want[np.arange(3), idx] = [-1, -2, -3]
    np.testing.assert_array_equal(got.asnumpy(), want)
    with pytest.raises(mx.MXNetError, match="indices"):
        mx.nd.onehot_encode(mx.nd.array([5, 0, 0]), out=out)


def test_cached_op_runs_symbol_and_rebinds_for_new_shapes():
    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=2, name="fc") + 1
    op = mx.nd.CachedOp(sym)
    x, w, b = mx.nd.ones((3, 4)), mx.nd.ones((2, 4)), mx.nd.zeros((2,))
    np.testing.assert_allclose(op(x, w, b).asnumpy(), np.full((3, 2), 5.0))
    b[:] = 1
    out = mx.nd.zeros((3, 2))
    op(x, w, b, out=out)
    np.testing.assert_allclose(out.asnumpy(), np.full((3, 2), 6.0))
    assert op(mx.nd.ones((5, 4)), w, b).shape == (5, 2)
    with pytest.raises(ValueError, match="3 inputs"):
        op(x)


def test_flatten_squeeze_expand_inplace_share_memory():
    t = mx.nd.arange(6).reshape(2, 3, 1)
    views = [t.flatten(inplace=True), t.squeeze(inplace=True), t.expand_dims(0, inplace=True)]
    copies = [t.flatten(), t.squeeze(), t.expand_dims(0)]
    t[:] = -1
    assert all((v.asnumpy() == -1).all() for v in views)
    assert not any((c.asnumpy() == -1).all() for c in copies)


def test_reshape_to_fewer_elements_is_value_error():
    with pytest.raises(ValueError, match="same size"):
        mx.nd.ones((2, 3, 5)).reshape((2, 3))
    with pytest.raises(mx.MXNetError):  # and still an MXNetError, as before
        mx.nd.ones((2, 3, 5)).reshape((2, 3))


@pytest.mark.parametrize("name, fn", [("isinf", np.isinf), ("isfinite", np.isfinite),
                                      ("isnan", np.isnan)])
def test_contrib_value_tests(name, fn):
    x = np.array([[np.inf, -np.inf], [np.nan, 5.0]], dtype=np.float32)
    got = getattr(mx.nd.contrib, name)(mx.nd.array(x))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.asnumpy(), fn(x).astype(np.float32))


def test_reshape_like_accepts_rhs():
    a = mx.nd.arange(6)
    assert a.reshape_like(rhs=mx.nd.zeros((2, 3))).shape == (2, 3)
    assert a.transpose(axes=(0,)).shape == (6,)


def test_broadcast_like_rejects_empty_axes():
    with pytest.raises(mx.MXNetError, match="empty axes"):
        mx.nd.broadcast_like(mx.nd.ones((1, 2)), mx.nd.ones((3, 2)), lhs_axes=(), rhs_axes=())


def test_internal_namespace_crop_assign():
    x = mx.nd.ones((2, 3, 4))
    mx.nd._internal._crop_assign(x, mx.nd.zeros((2, 1, 3)), begin=(0, 0, 0), end=(2, 1, 3),
                                 out=x)
    want = np.ones((2, 3, 4), np.float32)
    want[:, :1, :3] = 0
    np.testing.assert_array_equal(x.asnumpy(), want)
    mx.nd._internal._crop_assign_scalar(x, scalar=5, begin=(0, 0, 0), end=(2, 1, 3), out=x)
    want[:, :1, :3] = 5
    np.testing.assert_array_equal(x.asnumpy(), want)
    with pytest.raises(AttributeError):
        getattr(mx.nd._internal, "no_such_operator")  # noqa: B009


@pytest.mark.parametrize(
    "key", [(slice(None),), (slice(1, 3),), (slice(None), slice(1, 2)), (slice(None, None, 2),),
            (0, slice(None, None, -1))],
    ids=["all", "rows", "column", "step", "reversed"],
)
def test_basic_indexing_contiguity_helper(key):
    x = np.zeros((4, 5, 6))
    assert mx.nd.NDArray._basic_indexing_slice_is_contiguous(key, x.shape) == \
        x[key].flags.c_contiguous


def test_np_shape_save_writes_v3_and_v2_is_refused_under_np_shape(tmp_path):
    import struct

    from mxlite.ndarray import utils

    path = str(tmp_path / "a.nd")
    with mx.util.np_shape(True):
        mx.nd.save(path, [mx.nd.ones((2, 0, 1)), mx.nd.ones((2, 3))])
        assert [a.shape for a in mx.nd.load(path)] == [(2, 0, 1), (2, 3)]
    with open(path, "rb") as f:
        assert struct.unpack("<I", f.read()[24:28])[0] == utils.V3_MAGIC
    mx.nd.save(path, [mx.nd.ones((2, 3))])  # V2, as MXNet writes outside np_shape
    with mx.util.np_shape(True), pytest.raises(mx.MXNetError, match="without NumPy shape"):
        mx.nd.load(path)
    assert mx.nd.load(path)[0].shape == (2, 3)
