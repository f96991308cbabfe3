"""States loaded with set_states must fit their weights: an MXNetError, never a crash."""

import re

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError


def _saved_states(name, shape, **kwargs):
    updater = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    updater(0, mx.nd.ones(shape) * 0.1, mx.nd.ones(shape))
    return updater.get_states()


def _resume(name, blob, shape, dtype="float32", **kwargs):
    updater = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    updater.set_states(blob)
    weight = mx.nd.ones(shape, dtype=dtype)
    updater(0, mx.nd.ones(shape, dtype=dtype) * 0.1, weight)
    return weight


MISFITS = [
    pytest.param("adam", {}, (4,), (3,), "float32", "has shape (4,)", id="adam-smaller-weight"),
    pytest.param("adam", {}, (4,), (2, 2), "float32", "has shape (4,)", id="adam-reshaped-weight"),
    pytest.param("sgd", {"momentum": 0.9}, (5,), (50,), "float32", "has shape (5,)",
                 id="sgd-momentum-larger-weight"),
    pytest.param("adam", {}, (4,), (4,), "float64", "has dtype float32", id="adam-other-dtype"),
    pytest.param("sgd", {"momentum": 0.9, "multi_precision": True}, (4,), (4,), "float16",
                 "must hold 2 entries", id="sgd-plain-state-for-multi-precision"),
]


@pytest.mark.parametrize("name, kwargs, saved_shape, shape, dtype, message", MISFITS)
def test_misfitting_loaded_state_is_refused(name, kwargs, saved_shape, shape, dtype, message):
    blob = _saved_states(name, saved_shape, **{k: v for k, v in kwargs.items()
                                              if k != "multi_precision"})
    with pytest.raises(MXNetError, match=re.escape(message)):
        _resume(name, blob, shape, dtype, **kwargs)


@pytest.mark.parametrize("name", ["adam", "sgd", "rmsprop", "ftrl", "lamb"])
def test_fitting_loaded_state_resumes_exactly(name):
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    grad = mx.nd.array(np.linspace(-1, 1, 6))
    straight = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    weight = mx.nd.ones((6,))
    straight(0, grad, weight)
    blob, after_one = straight.get_states(), weight.asnumpy().copy()
    straight(0, grad, weight)

    resumed = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))
    resumed.set_states(blob)
    resumed.optimizer._index_update_count[0] = 1  # the count the straight run has reached
    resumed.optimizer.num_update = 1
    other = mx.nd.array(after_one)
    resumed(0, grad, other)
    np.testing.assert_array_equal(other.asnumpy(), weight.asnumpy())


def test_another_optimizers_state_tuple_is_refused_where_none_is_kept():
    """Adam's (mean, var) loaded into SGD without momentum (which keeps no state)."""
    blob = _saved_states("adam", (3,))
    with pytest.raises(MXNetError, match=re.escape("holds 2 entries")):
        _resume("sgd", blob, (3,))


@pytest.mark.parametrize("shape, message", [
    pytest.param((3,), None, id="fitting-momentum-buffer-used"),
    pytest.param((50,), "has shape (3,)", id="smaller-momentum-buffer-refused"),
])
def test_single_state_where_none_is_kept(shape, message):
    """SGD with momentum's buffer loaded into SGD without: used where it fits (as MXNet)."""
    blob = _saved_states("sgd", (3,), momentum=0.9)
    if message is None:
        weight = _resume("sgd", blob, shape)
        assert np.isfinite(weight.asnumpy()).all()
        return
    with pytest.raises(MXNetError, match=re.escape(message)):
        _resume("sgd", blob, shape)


@pytest.mark.parametrize("nstates", [0, 2], ids=["no-state", "two-states"])
def test_kernel_refuses_a_wrong_number_of_state_arrays(nstates):
    """The last guard before the compiled driver (which would read past its arguments)."""
    from mxlite.kernels import optimizer as kernels

    w = np.ones(3, np.float32)
    states = tuple(np.zeros(3, np.float32) for _ in range(nstates))
    hp = kernels.SGDSpec(lr=0.1, wd=0.0, rescale_grad=1.0, clip=-1.0, momentum=0.9)
    with pytest.raises(ValueError, match=f"takes 1 state arrays, got {nstates}"):
        kernels.sgd_mom.run(w, w.copy(), states, kernels.EMPTY16, hp)
