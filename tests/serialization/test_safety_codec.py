"""The optimizer-state codec and the limits: exact-name tables, complete restored optimizers,
bounds that can be raised, and the old import paths."""

from __future__ import annotations

import copy
import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import mxlite as mx
from mxlite import lr_scheduler as L
from mxlite.base import MXNetError
from mxlite.optimizer.optimizer import _REGISTRY
from mxlite.serialization import limits, state_npz
from mxlite.serialization.safe_pickle import safe_loads

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SCHEDULERS = {
    "none": None,
    "factor": L.FactorScheduler(2, 0.5, base_lr=0.1),
    "multifactor": L.MultiFactorScheduler([2, 4], 0.5, base_lr=0.1),
    "poly": L.PolyScheduler(10, 0.1, 2, warmup_steps=2),
    "cosine": L.CosineScheduler(10, 0.1),
    "sequential": L.SequentialScheduler([L.FactorScheduler(2, 0.5, base_lr=0.1),
                                         L.CosineScheduler(10, 0.1)], [3]),
}
OPTIMIZERS = sorted(n for n in _REGISTRY._classes if n != "sgld")  # sgld draws noise


def _trained(name, sched):
    opt = _REGISTRY._classes[name](lr_scheduler=copy.deepcopy(sched)) if sched else \
        _REGISTRY._classes[name]()
    upd = mx.optimizer.get_updater(opt)
    w = mx.nd.array(np.arange(6.0).reshape(2, 3))
    for _ in range(3):
        upd([0, 1], [mx.nd.ones((2, 3)), mx.nd.ones((2, 3))], [w, w.copy()])
    return upd, w


@pytest.mark.parametrize("sched", list(SCHEDULERS), ids=list(SCHEDULERS))
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_round_trip_restores_a_complete_optimizer(name, sched):
    upd, w = _trained(name, SCHEDULERS[sched])
    again = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    again.set_states(upd.get_states(dump_optimizer=True))
    opt, new = upd.optimizer, again.optimizer
    assert type(new) is type(opt)
    assert set(new.__getstate__()) == set(opt.__getstate__())
    assert new._index_update_count is new._all_index_update_counts[0]  # aliasing restored
    w2 = w.copy()
    upd(0, mx.nd.ones((2, 3)), w)
    again(0, mx.nd.ones((2, 3)), w2)
    np.testing.assert_array_equal(w.asnumpy(), w2.asnumpy())
    assert new.learning_rate == opt.learning_rate


def _doc(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        raw = zf.read("__header__.npy")
    return json.loads(raw[10 + struct.unpack_from("<H", raw, 8)[0]:])


def test_header_names_only_table_entries():
    upd, _ = _trained("adam", SCHEDULERS["sequential"])
    text = json.dumps(_doc(upd.get_states(dump_optimizer=True)))
    table = state_npz.scheduler_table()
    names = set(__import__("re").findall(r'"object": "([^"]+)"', text))
    assert names and names <= set(table)
    assert table["mxlite.lr_scheduler:FactorScheduler"] is L.FactorScheduler


def test_encoder_refuses_unregistered_scheduler():
    class Halving(L.LRScheduler):
        def __call__(self, n):
            return self.base_lr

    upd = mx.optimizer.get_updater(mx.optimizer.SGD(lr_scheduler=Halving(0.1)))
    with pytest.raises(TypeError, match="registered lr schedulers"):
        upd.get_states(dump_optimizer=True)


def test_restored_scheduler_is_built_by_its_constructor():
    upd, _ = _trained("sgd", SCHEDULERS["factor"])
    doc = _doc(upd.get_states(dump_optimizer=True))
    sched = dict(doc["optimizer"]["attrs"]["dict"])["lr_scheduler"]
    sched["attrs"]["dict"] = [kv if kv[0] != "step" else ["step", 0]
                              for kv in sched["attrs"]["dict"]]
    with pytest.raises(MXNetError, match="FactorScheduler has invalid hyperparameters: step"):
        state_npz._Decoder(state_npz._Archive(_rebuild(doc), "f"), doc).decode_optimizer(
            doc["optimizer"])


def _rebuild(doc):
    buf = io.BytesIO()
    np.savez(buf, __header__=np.frombuffer(json.dumps(
        {**doc, "states": {"dict": []}}).encode(), np.uint8))
    return buf.getvalue()


def test_compressed_archive_within_limits_loads(monkeypatch):
    upd, _ = _trained("adam", None)
    data = upd.get_states()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, raw in members.items():
            zf.writestr(n, raw)
    states = state_npz.decode(buf.getvalue(), "c")
    assert set(states) == {0, 1}
    monkeypatch.setattr(limits, "MAX_INFLATED_BYTES", 40)
    with pytest.raises(MXNetError, match="MAX_INFLATED_BYTES = 40"):
        state_npz.decode(buf.getvalue(), "c")


def _sparse_record(rows):
    rec = struct.pack("<Ii", 0xF993FAC9, 1)
    rec += struct.pack("<i", 2) + struct.pack("<qq", 0, 1)
    rec += struct.pack("<i", 2) + struct.pack("<qq", rows, 1)
    rec += struct.pack("<ii", 1, 0) + struct.pack("<i", 0)
    rec += struct.pack("<i", 6) + struct.pack("<i", 1) + struct.pack("<q", 0)
    return struct.pack("<QQQ", 0x112, 0, 1) + rec + struct.pack("<Q", 0)


def test_sparse_params_record_loads_as_sparse_whatever_its_declared_shape():
    loaded = mx.nd.load_frombuffer(_sparse_record(1 << 30))[0]  # declares 4 GiB dense
    assert loaded.stype == "row_sparse"
    assert loaded.shape == (1 << 30, 1)
    assert loaded.indices.shape == (0,)


def _pickled_sparse_state(rows: int) -> bytes:
    import hostile_corpus

    return hostile_corpus._pickle_with_handle(hostile_corpus._sparse_record(rows))


def test_densification_limit_can_be_raised(monkeypatch):
    data = _pickled_sparse_state(1000)  # 4000 dense bytes
    monkeypatch.setattr(limits, "MAX_DENSIFIED_BYTES", 3999)
    with pytest.raises(MXNetError, match=r"MAX_DENSIFIED_BYTES = 3999 .*raise the limit"):
        mx.optimizer.get_updater(mx.optimizer.create("sgd")).set_states(data)
    monkeypatch.setattr(limits, "MAX_DENSIFIED_BYTES", 4000)
    updater = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    updater.set_states(data)
    assert updater.states[0].stype == "default"
    assert updater.states[0].shape == (1000, 1)


def test_default_densification_refuses_a_4gib_pickled_state():
    with pytest.raises(MXNetError, match="4294967296 bytes"):
        mx.optimizer.get_updater(mx.optimizer.create("sgd")).set_states(
            _pickled_sparse_state(1 << 30))


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_HEADER_BYTES", 64 << 20), ("MAX_NESTING", 100), ("MAX_OBJECTS", 1_000_000),
     ("MAX_INFLATED_BYTES", 1 << 30), ("MAX_DENSIFIED_BYTES", 1 << 30),
     ("MAX_SYMBOL_JSON_BYTES", 256 << 20)],
)
def test_documented_defaults(name, value):
    out = subprocess.run(
        [sys.executable, "-c", f"from mxlite.serialization import limits; print(limits.{name})"],
        capture_output=True, text=True, check=True, env={"PYTHONPATH": ":".join(sys.path)})
    assert int(out.stdout) == value
    assert name in limits.__doc__


def test_limit_from_environment():
    code = "from mxlite.serialization import limits; print(limits.MAX_NESTING)"
    env = {"PYTHONPATH": ":".join(sys.path), "MXLITE_MAX_NESTING": "7"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == "7"
    env["MXLITE_MAX_NESTING"] = "lots"
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "MXLITE_MAX_NESTING must be an integer" in bad.stderr


def test_nesting_limit_applies_to_symbol_json(monkeypatch):
    net = mx.sym.relu(mx.sym.var("x")).tojson()
    assert mx.sym.load_json(net).list_arguments() == ["x"]
    monkeypatch.setattr(limits, "MAX_NESTING", 3)
    with pytest.raises(MXNetError, match=r"load_json: symbol JSON nests deeper than .* = 3"):
        mx.sym.load_json(net)


def test_object_limit_applies_to_pickles(monkeypatch):
    shared = [1, 2, 3]
    data = pickle.dumps({0: [shared] * 4})  # the list of 4 references expands to 17
    assert safe_loads(data) == {0: [shared] * 4}
    monkeypatch.setattr(limits, "MAX_OBJECTS", 16)
    with pytest.raises(MXNetError, match="expands to 17 objects"):
        safe_loads(data)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"nodes": [{"op": "null", "name": "x"}], "heads": [[0, 1, 0]]}, "output 1 of node 0"),
        ({"nodes": [{"op": "null", "name": "x"}], "heads": []}, "no heads"),
        ({"nodes": [{"op": "null", "name": "x"}], "heads": [["0", 0]]}, "not \\[node, output"),
        ({"nodes": [{"op": "null", "name": 3}], "heads": [[0, 0]]}, "name 3, not a string"),
        ({"nodes": [{"op": "null", "name": "x", "attrs": {"a": [1]}}], "heads": [[0, 0]]},
         "attrs must map names to strings"),
        ({"nodes": [{"op": "null", "name": "x", "inputs": 4}], "heads": [[0, 0]]},
         "inputs 4 is not a list"),
        ({"nodes": [{"op": "null", "name": "x"}], "heads": [[0, 0]],
          "attrs": {"mxnet_version": ["int", "v"]}}, "malformed mxnet_version"),
        ([1, 2], "not a symbol JSON \\(a list"),
    ],
    ids=["head-output", "no-heads", "str-node", "int-name", "list-attr", "int-inputs",
         "bad-version", "list-doc"],
)
def test_symbol_json_structure_errors(doc, match):
    with pytest.raises(MXNetError, match="load_json: .*" + match):
        mx.sym.load_json(json.dumps(doc))


def test_symbol_file_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    mx.sym.var("x").save(str(path))
    monkeypatch.setattr(limits, "MAX_SYMBOL_JSON_BYTES", 10)
    with pytest.raises(MXNetError, match=f"{path}: symbol JSON is .* bytes, more than"):
        mx.sym.load(str(path))


def test_old_import_paths_still_work():
    import mxlite._safe_pickle as old
    from mxlite.base import atomic_write
    from mxlite.optimizer.updater import STATE_TYPES
    from mxlite.serialization import atomic_write as new_atomic

    assert old.safe_loads is safe_loads
    assert atomic_write is new_atomic
    assert STATE_TYPES["AdamState"]._fields == ("mean", "var")


def test_states_errors_name_the_file(tmp_path):
    mod = mx.mod.Module(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=1, name="fc"),
                        label_names=None)
    mod.bind(data_shapes=[("data", (1, 2))])
    mod.init_params()
    mod.init_optimizer()
    path = tmp_path / "bad.states"
    path.write_bytes(b"PK\x03\x04junk")
    with pytest.raises(MXNetError, match=f"{path}: cannot read states archive"):
        mod.load_optimizer_states(str(path))
