"""The NDArray quick tour given in the README runs and prints what it says."""

from __future__ import annotations

import contextlib
import io

TOUR = '''
import mxlite as mx

mx.random.seed(42)
a = mx.nd.array([[1, 2, 3], [4, 5, 6]])      # float32 by default, like MXNet
row = a[1]                                   # a[i] is a view: writes reach a
row[:] = 0
print(a.sum().shape, a.sum(axis=1).asnumpy())  # a full reduction has shape (1,)
print((a * 2 + 1).asnumpy().tolist())
i = mx.nd.array([-7, 7], dtype="int32")
print((i / 2).asnumpy(), (i % 3).asnumpy())    # C division, Python-style modulo
x = mx.nd.random.uniform(-1, 1, shape=(2, 3))
print(x.dtype.__name__, x.reshape((0, -1, 1)).shape, mx.nd.dot(x, x.T).shape)
print(a)
'''

EXPECTED = """(1,) [6. 0.]
[[3.0, 5.0, 7.0], [1.0, 1.0, 1.0]]
[-3  3] [2 1]
float32 (2, 3, 1) (2, 2)

[[1. 2. 3.]
 [0. 0. 0.]]
<NDArray 2x3 @cpu(0)>
"""


def test_tour_output():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(TOUR, {})
    assert buf.getvalue() == EXPECTED
