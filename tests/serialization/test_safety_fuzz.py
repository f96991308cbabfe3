"""Fuzzing every reader with mutated valid files: a result, an MXNetError or a ValueError,
nothing else (no TypeError, KeyError, RecursionError, MemoryError, ...)."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite.base import MXNetError

FUZZ = settings(
    max_examples=int(os.environ.get("MXLITE_FUZZ_EXAMPLES", "120")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ALLOWED = (MXNetError, ValueError)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _valid_states() -> bytes:
    opt = mx.optimizer.create("adam", learning_rate=0.1,
                              lr_scheduler=mx.lr_scheduler.FactorScheduler(2, 0.5, base_lr=0.1))
    upd = mx.optimizer.get_updater(opt)
    upd([0, 1], [mx.nd.ones((3,)), mx.nd.ones((2, 2))], [mx.nd.ones((3,)), mx.nd.ones((2, 2))])
    return upd.get_states(dump_optimizer=True)


def _net():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    return mx.sym.SoftmaxOutput(mx.sym.relu(fc), name="softmax")


STATES = _valid_states()
SYMBOL = _net().tojson()
PARAMS = mx.nd.save_to_bytes({"arg:fc_weight": mx.nd.ones((2, 3)), "arg:fc_bias": mx.nd.ones(2)})


def _header_doc(data: bytes):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n[:-4]: zf.read(n) for n in zf.namelist()}
    raw = members.pop("__header__")
    hlen = struct.unpack_from("<H", raw, 8)[0]
    return json.loads(raw[10 + hlen:]), members


def _with_header(doc, members) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    text = json.dumps(doc).encode()
    arrays = {"__header__": np.frombuffer(text, dtype=np.uint8)}
    for key, raw in members.items():
        arrays[key] = np.load(io.BytesIO(raw), allow_pickle=False)
    np.savez(buf, **arrays)
    return buf.getvalue()


@st.composite
def byte_mutations(draw, data: bytes):
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        pos = draw(st.integers(0, max(len(buf) - 1, 0)))
        if kind == "flip" and buf:
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif buf:
            del buf[pos:pos + draw(st.integers(1, 16))]
    return bytes(buf)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["a0", "a1", "nd", "dict", "tuple", "AdamState",
                                             "mxlite.lr_scheduler:FactorScheduler", "adam"]),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
        st.sampled_from(["nd", "np", "tuple", "list", "dict", "named", "attrs", "object",
                         "optimizer", "float", "context", "ctx", "x"]), kids, max_size=3),
    max_leaves=12,
)


@st.composite
def tree_mutations(draw, doc):
    """``doc`` with one random subtree replaced by random JSON."""
    doc = json.loads(json.dumps(doc))
    paths = []
    stack = [((), doc)]
    while stack:
        path, node = stack.pop()
        paths.append(path)
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else ()
        for k, v in items:
            stack.append(((*path, k), v))
    path = draw(st.sampled_from(sorted(paths, key=repr)))
    value = draw(JSON_VALUES)
    if not path:
        return value
    target = doc
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return doc


def _set_states(data: bytes):
    upd = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    try:
        upd.set_states(data)
    except ALLOWED:
        return
    w = mx.nd.ones((3,))
    if 0 in upd.states:
        try:
            upd(0, mx.nd.ones((3,)), w)
        except ALLOWED:
            pass


@FUZZ
@given(byte_mutations(STATES))
def test_fuzz_states_npz_bytes(data):
    _set_states(data)


HEADER, MEMBERS = _header_doc(STATES)


@FUZZ
@given(tree_mutations(HEADER))
def test_fuzz_states_npz_header(doc):
    _set_states(_with_header(doc, MEMBERS))


def _load_json(text):
    try:
        sym = mx.sym.load_json(text)
    except ALLOWED:
        return
    sym.list_arguments()


@FUZZ
@given(byte_mutations(SYMBOL.encode()))
def test_fuzz_symbol_json_text(raw):
    _load_json(raw.decode("utf-8", "replace"))


@FUZZ
@given(tree_mutations(json.loads(SYMBOL)))
def test_fuzz_symbol_json_tree(doc):
    _load_json(json.dumps(doc))


@FUZZ
@given(byte_mutations(SYMBOL.encode()), byte_mutations(PARAMS), st.booleans())
def test_fuzz_checkpoint_and_module_load(tmp_path, sym_raw, params_raw, module):
    prefix = str(tmp_path / "m")
    with open(prefix + "-symbol.json", "wb") as f:
        f.write(sym_raw)
    with open(prefix + "-0001.params", "wb") as f:
        f.write(params_raw)
    try:
        if module:
            mx.mod.Module.load(prefix, 1)
        else:
            mx.model.load_checkpoint(prefix, 1)
    except ALLOWED:
        pass


@FUZZ
@given(byte_mutations(STATES))
def test_fuzz_module_load_states(tmp_path, states_raw):
    prefix = str(tmp_path / "m")
    mx.model.save_checkpoint(prefix, 1, _net(), {
        "fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.ones(2)}, {})
    with open(prefix + "-0001.states", "wb") as f:
        f.write(states_raw)
    mod = mx.mod.Module.load(prefix, 1, load_optimizer_states=True)
    mod.bind(data_shapes=[("data", (1, 3))], label_shapes=[("softmax_label", (1,))])
    try:
        mod.init_optimizer(optimizer="adam")
    except ALLOWED:
        pass
