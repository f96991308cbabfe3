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
