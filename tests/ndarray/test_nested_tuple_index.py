"""A tuple inside an index tuple is an index array, as in NumPy and MXNet 1.9.1."""

import numpy as np
import pytest

import mxlite as mx


@pytest.mark.parametrize("key", [
    ([1, 2], slice(3, 5), (2, 3), [3, 4]),
    ((0, 1), Ellipsis),
    (slice(None), (1,), slice(0, 2)),
], ids=["mixed", "tuple_then_ellipsis", "one_element_tuple"])
def test_nested_tuple_indexes_like_numpy(key):
    data = np.arange(3 * 6 * 4 * 5).reshape(3, 6, 4, 5)
    np.testing.assert_array_equal(mx.nd.array(data)[key].asnumpy(), data[key])
    target = np.zeros_like(data)
    target[key] = 1
    arr = mx.nd.zeros(data.shape)
    arr[key] = 1
    np.testing.assert_array_equal(arr.asnumpy(), target)
