"""Contexts (cpu, gpu, with-blocks, current_context) and error behaviour, including the
places where mxlite deliberately differs from MXNet 1.9.1."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError
from mxlite.context import Context


def test_cpu_and_context_class():
    assert mx.cpu() == mx.cpu(0) == Context("cpu", 0) == Context(1, 0)
    assert mx.cpu(1) != mx.cpu(0)
    assert str(mx.cpu(2)) == repr(mx.cpu(2)) == "cpu(2)"
    assert mx.cpu().device_type == "cpu" and mx.cpu().device_typeid == 1
    assert Context(mx.cpu(3)) == mx.cpu(3)
    assert mx.context.Context is Context
    assert hash(mx.cpu(1)) == hash(Context("cpu", 1))
    assert mx.cpu_pinned(0).device_type == "cpu_pinned"


@pytest.mark.parametrize(
    "args, match",
    [(("tpu", 0), "device_type"), (("cpu", -1), "device_id"), ((9, 0), "device_type"),
     (("cpu", 1.5), "device_id")],
    ids=["unknown-type", "negative-id", "unknown-typeid", "float-id"],
)
def test_context_validation(args, match):
    with pytest.raises(ValueError, match=match):
        Context(*args)


def test_gpu_exists_but_arrays_cannot_live_there():
    g = mx.gpu(1)
    assert str(g) == "gpu(1)" and g.device_typeid == 2
    assert mx.num_gpus() == 0
    calls = [
        lambda: mx.nd.zeros((2,), ctx=mx.gpu()),
        lambda: mx.nd.array([1, 2], ctx=mx.gpu()),
        lambda: mx.nd.ones((2,)).copyto(mx.gpu()),
        lambda: mx.nd.ones((2,)).as_in_context(mx.gpu()),
        lambda: mx.nd.arange(3, ctx=mx.gpu()),
        lambda: mx.nd.random.normal(shape=(2,), ctx=mx.gpu()),
    ]
    for call in calls:
        with pytest.raises(MXNetError, match=r"gpu\(0\).*mx\.cpu\(\)"):
            call()


def test_with_sets_current_context():
    assert mx.current_context() == mx.cpu(0)
    with mx.cpu(1) as ctx:
        assert ctx == mx.cpu(1)
        assert mx.current_context() == mx.cpu(1)
        for arr in (mx.nd.zeros(2), mx.nd.array([1]), mx.nd.arange(3), mx.nd.full((1,), 2),
                    mx.nd.random.uniform(shape=(2,))):
            assert arr.context == mx.cpu(1)
        with mx.cpu(2):
            assert mx.current_context() == mx.cpu(2)
        assert mx.current_context() == mx.cpu(1)
    assert mx.current_context() == mx.cpu(0)


def test_with_same_context_object_nested():
    ctx = mx.cpu(5)
    with ctx:
        with ctx:
            pass
        assert mx.current_context() == ctx
    assert mx.current_context() == mx.cpu(0)


def test_with_restores_after_exception():
    with pytest.raises(RuntimeError), mx.cpu(3):
        raise RuntimeError("boom")
    assert mx.current_context() == mx.cpu(0)


def test_with_gpu_sets_context_and_arrays_fail():
    with mx.gpu(0):
        assert mx.current_context() == mx.gpu(0)
        with pytest.raises(MXNetError, match="gpu"):
            mx.nd.zeros(2)


def test_context_is_per_thread():
    seen = []
    with mx.cpu(4):
        t = threading.Thread(target=lambda: seen.append(mx.current_context()))
        t.start()
        t.join()
    assert seen == [mx.cpu(0)]


def test_ctx_as_string():
    assert mx.nd.zeros((1,), ctx="cpu(2)").context == mx.cpu(2)
    with pytest.raises(ValueError, match="ctx"):
        mx.nd.zeros((1,), ctx="tpu(1)")
    with pytest.raises(TypeError, match="ctx"):
        mx.nd.zeros((1,), ctx=3)


def test_mxnet_error_is_runtime_error():
    assert issubclass(MXNetError, RuntimeError)
    assert mx.MXNetError is MXNetError


@pytest.mark.parametrize(
    "call, error, match",
    [(lambda: mx.nd.ones((2, 3)) + mx.nd.ones((3, 2)), MXNetError, r"\[2,3\] \[3,2\]"),
     (lambda: mx.nd.ones((2,)) * mx.nd.ones((2,), dtype="int32"), MXNetError, "int32"),
     (lambda: mx.nd.ones((2, 3)).reshape((4, -1)), MXNetError, "infer"),
     (lambda: mx.nd.ones((2,)).asscalar(), ValueError, "scalar"),
     (lambda: mx.nd.ones((2,))[2], IndexError, "out of bounds"),
     (lambda: mx.nd.sum(mx.nd.ones((2,)), axis=1), MXNetError, "axis 1"),
     (lambda: mx.nd.sqrt([1, 2]), TypeError, "NDArray")],
    ids=["broadcast", "dtype", "reshape", "asscalar", "index", "axis", "not-ndarray"],
)
def test_error_types_and_messages(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------------- documented differences
@pytest.mark.parametrize("np_shape", [False, True], ids=["legacy", "np_shape"])
def test_difference_scalar_array_is_0d_and_computes(np_shape):
    # MXNet 1.9.1 makes a 0-d array (as mxlite) that, outside np_shape, its operators then
    # reject as of unknown shape; mxlite's compute with it as NumPy does
    with mx.util.np_shape(np_shape):
        a = mx.nd.array(5)
        assert a.shape == ()
        assert (a + 1).shape == ()
        assert (a + 1).asscalar() == 6


def test_difference_integer_division_by_zero_is_zero():
    # MXNet 1.9.1 dies with SIGFPE; mxlite returns 0, as it does for x % 0
    i = mx.nd.array([3, -3], dtype="int32")
    assert (i / 0).asnumpy().tolist() == [0, 0]
    assert (7 / mx.nd.array([0], dtype="int32")).asnumpy().tolist() == [0]


def test_difference_int_dot_supported():
    # MXNet 1.9.1 rejects dot for integer dtypes; mxlite computes it exactly
    i = mx.nd.array([[1, 2], [3, 4]], dtype="int32")
    res = mx.nd.dot(i, i)
    assert res.dtype is np.int32 and res.asnumpy().tolist() == [[7, 10], [15, 22]]


def test_difference_empty_reductions():
    # MXNet 1.9.1 raises for any reduction of a zero-size array; mxlite follows NumPy for sum
    assert mx.nd.zeros((0, 2)).sum(axis=0).asnumpy().tolist() == [0, 0]


def test_difference_zero_size_repr():
    # MXNet 1.9.1 cannot print a zero-size array
    assert repr(mx.nd.zeros((0, 3))).endswith("<NDArray 0x3 @cpu(0)>")


def test_difference_pickle_keeps_context():
    import pickle

    a = mx.nd.ones((2,), ctx=mx.cpu(1))
    assert pickle.loads(pickle.dumps(a)).context == mx.cpu(1)


def test_difference_unary_plus_and_numpy_protocol():
    a = mx.nd.array([1, 2])
    assert +a is a
    assert np.asarray(a).dtype == np.float32


def test_difference_int_norm_is_exact():
    # MXNet 1.9.1 gives 4 for the norm of int32 [3, 4]; mxlite computes 5 in float64
    assert mx.nd.norm(mx.nd.array([3, 4], dtype="int32")).asnumpy().tolist() == [5]


def test_difference_overlapping_setitem_is_exact():
    # MXNet 1.9.1 copies element by element and smears c[0] over the overlap
    c = mx.nd.array([1, 2, 3])
    c[1:] = c[:-1]
    assert c.asnumpy().tolist() == [1, 1, 2]


def test_difference_asscalar_of_1x1_is_a_scalar():
    # MXNet 1.9.1 returns a 1-element numpy array for shapes other than (1,)
    s = mx.nd.ones((1, 1)).asscalar()
    assert s == 1 and np.ndim(s) == 0


def test_context_accepts_numpy_ints():
    ctx = Context("cpu", np.int64(2))
    assert ctx == mx.cpu(2) and type(ctx.device_id) is int
    assert Context(np.int32(2), 0) == mx.gpu(0)
