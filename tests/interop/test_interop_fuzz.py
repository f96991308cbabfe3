"""Fuzzing the readers: random and mutated inputs give a result or MXNetError, nothing else."""

from __future__ import annotations

import os
import pickle

import numpy as np
from _interop_golden import manifest, read
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite._safe_pickle import safe_loads
from mxlite.base import MXNetError
from mxlite.ndarray import utils

ND_FILES = sorted(manifest()["nd_files"])
STATE_FILES = sorted(f for e in manifest()["states"].values() for f in e["files"])
FUZZ = settings(
    max_examples=int(os.environ.get("MXLITE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _check_nd_result(result):
    """A successful load must be a well-formed list/dict of NDArrays that round-trips."""
    assert isinstance(result, (list, dict))
    arrays = list(result.values()) if isinstance(result, dict) else result
    for a in arrays:
        if a.stype == "default":
            assert type(a) is mx.nd.NDArray
            assert a._data.dtype in utils.DTYPE_TO_FLAG
            assert a._data.flags.c_contiguous
        else:  # a sparse record loads as a consistent sparse array (never densified)
            assert isinstance(a, mx.nd.sparse.BaseSparseNDArray)
            a.check_format()
            assert a._values.dtype in utils.DTYPE_TO_FLAG
    if sum(p.nbytes for a in arrays for p in utils._payload(a)) < (1 << 24):
        again = mx.nd.load_frombuffer(mx.nd.save_to_bytes(result))
        assert len(again) == len(result)


def _load_nd(buf: bytes):
    try:
        result = mx.nd.load_frombuffer(buf)
    except MXNetError:
        return
    _check_nd_result(result)


# a list header followed by junk, so that the fuzzer reaches the record parser
_HEADER = (utils.LIST_MAGIC).to_bytes(8, "little") + bytes(8)


@FUZZ
@given(st.binary(max_size=512))
def test_fuzz_random_bytes(buf):
    _load_nd(buf)
    _load_nd(_HEADER + buf)


@st.composite
def mutated(draw, files):
    data = bytearray(read(draw(st.sampled_from(files))))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "word"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[i] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[i:]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[i:i + draw(st.integers(1, 16))]
        else:  # overwrite an aligned 4/8-byte word with an extreme value
            size = draw(st.sampled_from([4, 8]))
            value = draw(st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1]))
            data[i:i + size] = (value % 2 ** (8 * size)).to_bytes(size, "little")
    return bytes(data)


@FUZZ
@given(mutated(ND_FILES))
def test_fuzz_mutated_golden_ndarray_files(buf):
    _load_nd(buf)


def _load_states(buf: bytes):
    try:
        result = safe_loads(buf)
    except MXNetError:
        return
    # whatever came back is made only of admitted types
    stack = [result]
    allowed = (dict, list, tuple, set, frozenset, int, float, complex, bool, str, bytes,
               bytearray, type(None), np.generic, np.dtype, mx.nd.NDArray,
               mx.optimizer.Optimizer, object)
    seen = 0
    while stack and seen < 10_000:
        seen += 1
        obj = stack.pop()
        assert isinstance(obj, allowed), type(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)


@FUZZ
@given(st.binary(max_size=256))
def test_fuzz_safe_loads_random_bytes(buf):
    _load_states(buf)
    _load_states(b"\x80\x04" + buf)


@FUZZ
@given(mutated(STATE_FILES))
def test_fuzz_safe_loads_mutated_mxnet_states(buf):
    _load_states(buf)


@FUZZ
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
        | st.dictionaries(st.integers(), children, max_size=4),
        max_leaves=20,
    )
)
def test_plain_data_round_trips_through_safe_loads(value):
    for protocol in (0, 2, 4, 5):
        assert safe_loads(pickle.dumps(value, protocol=protocol)) == value
