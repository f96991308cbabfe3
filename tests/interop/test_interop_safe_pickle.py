"""safe_loads: MXNet's pickled optimizer states load; anything else is refused, never run."""

from __future__ import annotations

import os
import pickle
import pickletools
import struct

import numpy as np
import pytest
from _interop_golden import assert_same, manifest, nd, optimizer_kwargs, read, values

import mxlite as mx
from mxlite._safe_pickle import safe_loads
from mxlite.base import MXNetError

# the schedule case passes learning_rate and lr_scheduler, and MXNet warns about that too
pytestmark = pytest.mark.filterwarnings(
    "ignore:learning rate from ``lr_scheduler`` has been overwritten:UserWarning"
)

CASES = manifest()["states"]
FILES = sorted((case, fname) for case, e in CASES.items() for fname in e["files"])
FILE_IDS = [fname for _, fname in FILES]


def _check_state(actual, expected, what):
    if expected is None:
        assert actual is None, what
    elif "tuple" in expected:
        assert isinstance(actual, tuple) and len(actual) == len(expected["tuple"]), what
        for i, (a, e) in enumerate(zip(actual, expected["tuple"], strict=True)):
            _check_state(a, e, f"{what}.{i}")
    else:
        assert type(actual) is mx.nd.NDArray, what
        assert_same(actual, values()[expected["nd"]], what)


@pytest.mark.parametrize(("case", "fname"), FILES, ids=FILE_IDS)
def test_mxnet_states_pickle_loads(case, fname):
    entry = CASES[case]
    loaded = safe_loads(read(fname), fname)
    if entry["files"][fname]["dump_optimizer"]:
        assert isinstance(loaded, tuple) and len(loaded) == 2
        states, opt = loaded
        assert type(opt) is mx.optimizer.Optimizer.opt_registry[entry["optimizer"]]
        for key, value in entry["optimizer_dict"].items():
            if key in ("_all_index_update_counts", "_index_update_count", "lr_mult", "wd_mult",
                       "idx2name", "sym_info"):
                continue
            actual = getattr(opt, key)
            if isinstance(value, dict) and "__object__" in value:  # the lr_scheduler
                assert type(actual).__name__ == value["__object__"], key
                for attr, attr_value in value["attrs"].items():
                    assert getattr(actual, attr) == attr_value, (key, attr)
            else:
                assert actual == value, key
        assert opt._index_update_count == {0: 3, 1: 3, 2: 3}
        assert opt._all_index_update_counts[0] is opt._index_update_count  # aliasing kept
        assert opt.num_update == entry["optimizer_dict"]["num_update"]
    else:
        states = loaded
    assert sorted(states) == [int(k) for k in sorted(entry["states"])]
    for key, expected in entry["states"].items():
        _check_state(states[int(key)], expected, f"{fname}[{key}]")


def _resume(fname, entry, set_states):
    opt = mx.optimizer.create(entry["optimizer"], **optimizer_kwargs(entry["kwargs"]))
    upd = mx.optimizer.get_updater(opt)
    set_states(upd, read(fname))
    weights = [nd(k) for k in entry["weights_at_save"]]
    for step in entry["resume_grads"]:
        for i, key in enumerate(step):
            upd(i, nd(key), weights[i])
    for w, key in zip(weights, entry["files"][fname]["weights_after_resume"], strict=True):
        np.testing.assert_allclose(w.asnumpy(), values()[key], rtol=1e-6, atol=1e-7)


def _assign(upd, data):
    loaded = safe_loads(data)
    if isinstance(loaded, tuple):
        upd.states, upd.optimizer = loaded
    else:
        upd.states = loaded
    upd.states_synced = dict.fromkeys(upd.states, False)


@pytest.mark.parametrize(("case", "fname"), FILES, ids=FILE_IDS)
def test_resume_from_mxnet_states_reaches_mxnet_weights(case, fname):
    """A loaded MXNet state continues training exactly where MXNet goes (safe_loads result)."""
    _resume(fname, CASES[case], _assign)


@pytest.mark.parametrize(("case", "fname"), FILES, ids=FILE_IDS)
def test_updater_set_states_reads_mxnet_states(case, fname):
    _resume(fname, CASES[case], lambda upd, data: upd.set_states(data))


# ---------------------------------------------------------------------- refused globals
class _Evil:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _global_pickle(module: str, name: str, arg: str = "x") -> bytes:
    """protocol-2 pickle calling ``module.name(arg)``, written by hand."""
    return (
        b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n"
        + b"X" + struct.pack("<I", len(arg)) + arg.encode() + b"\x85R."
    )


def test_malicious_os_system_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Evil(os.system, f"touch {marker}"))
    with pytest.raises(MXNetError, match=r"refusing to unpickle global '(posix|os|nt)\.system'"):
        safe_loads(payload)
    assert not marker.exists()


def test_malicious_object_inside_states_dict_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({0: (None, 1.0), 7: _Evil(os.system, f"touch {marker}")}, protocol=4)
    with pytest.raises(MXNetError, match="system"):
        safe_loads(evil)
    assert not marker.exists()
    assert safe_loads(read("sgd_momentum.states"))  # a genuine file still loads


REFUSED = [
    ("builtins", "eval"), ("builtins", "exec"), ("builtins", "getattr"),
    ("builtins", "__import__"), ("builtins", "open"), ("subprocess", "Popen"),
    ("os", "system"), ("posix", "system"), ("shutil", "rmtree"), ("pickle", "loads"),
    ("numpy", "load"), ("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
    ("mxnet.optimizer.optimizer", "NoSuchOptimizer"), ("mxnet.ndarray.ndarray", "array"),
    ("mxnet.lr_scheduler", "os"), ("mxlite.base", "atomic_write"), ("copyreg", "__newobj__"),
    ("__builtin__", "eval"), ("types", "FunctionType"),
]


@pytest.mark.parametrize(("module", "name"), REFUSED, ids=[f"{m}.{n}" for m, n in REFUSED])
def test_refuses_globals_outside_the_allow_list(module, name):
    expected = {"__builtin__": "builtins"}.get(module, module)
    with pytest.raises(MXNetError, match=f"refusing to unpickle global '{expected}.{name}'"):
        safe_loads(_global_pickle(module, name))


def test_refuses_huge_allocations_from_sizes():
    for func in ("bytearray", "bytes"):
        payload = b"\x80\x02cbuiltins\n" + func.encode() + b"\nJ\x00\x00\x00\x7f\x85R."
        with pytest.raises(MXNetError, match=f"{func}\\(\\) from int is not allowed"):
            safe_loads(payload)


def test_refuses_persistent_ids():
    payload = b"\x80\x02X\x03\x00\x00\x00abcQ."
    with pytest.raises(MXNetError, match="persistent id"):
        safe_loads(payload)


def test_refuses_reconstructor_of_other_classes():
    payload = (
        b"\x80\x02ccopyreg\n_reconstructor\ncbuiltins\nlist\ncbuiltins\nobject\nN\x87R."
    )
    with pytest.raises(MXNetError, match="_reconstructor"):
        safe_loads(payload)


def test_refuses_object_dtype_scalars():
    payload = (
        b"\x80\x02cnumpy.core.multiarray\nscalar\ncnumpy\ndtype\nX\x02\x00\x00\x00O8\x85R"
        b"C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x86R."
    )
    with pytest.raises(MXNetError, match="numpy dtype 'O8' is not allowed"):
        safe_loads(payload)


def test_numpy_scalars_and_dtypes_load():
    data = pickle.dumps({"lr": np.float32(0.25), "n": np.int64(7), "dt": np.dtype("float16")})
    loaded = safe_loads(data)
    assert loaded["lr"] == np.float32(0.25) and loaded["lr"].dtype == np.float32
    assert loaded["n"] == 7 and loaded["n"].dtype == np.int64
    assert loaded["dt"] == np.dtype("float16")


def test_ndarray_without_state_is_an_error():
    payload = b"\x80\x02cmxnet.ndarray.ndarray\nNDArray\nN\x85R."
    with pytest.raises(MXNetError, match="never received its state"):
        safe_loads(payload)


def _ndarray_pickle(handle: bytes) -> bytes:
    return (
        b"\x80\x02}q\x00K\x00cmxnet.ndarray.ndarray\nNDArray\nN\x85R}X\x06\x00\x00\x00handle"
        + b"C" + bytes([len(handle)]) + handle + b"sbs."
    )


def test_handcrafted_ndarray_pickle_round_trip():
    from mxlite.ndarray.utils import array_to_raw_bytes

    raw = array_to_raw_bytes(mx.nd.array([1.5, -2.0]))
    loaded = safe_loads(_ndarray_pickle(raw))
    assert type(loaded[0]) is mx.nd.NDArray
    assert loaded[0].asnumpy().tolist() == [1.5, -2.0]


@pytest.mark.parametrize(
    ("handle", "match"),
    [
        (b"\x00" * 8, "unknown magic|uninitialised|truncated"),
        (b"\xc9\xfa\x93\xf9\x00\x00\x00\x00\x01\x00\x00\x00", "truncated"),
    ],
    ids=["garbage", "truncated-record"],
)
def test_corrupt_ndarray_handle_is_an_error(handle, match):
    with pytest.raises(MXNetError, match=match):
        safe_loads(_ndarray_pickle(handle))


def test_every_truncation_of_a_states_file_is_an_error():
    data = read("adam_with_optimizer.states")
    for end in range(len(data)):
        with pytest.raises(MXNetError):
            safe_loads(data[:end])


def test_safe_loads_needs_bytes():
    with pytest.raises(TypeError, match="data must be bytes"):
        safe_loads("not bytes")


def test_error_names_the_source():
    with pytest.raises(MXNetError, match=r"^model-0001\.states: refusing"):
        safe_loads(_global_pickle("os", "system"), "model-0001.states")


def test_python2_pickle_names_copy_reg():
    """MXNet under Python 2 wrote protocol 0: ``copy_reg._reconstructor`` builds the optimizer."""
    ops = list(pickletools.genops(read("adam_with_optimizer_p0.states")))
    names = {arg.replace(" ", ".") for op, arg, _ in ops if op.name == "GLOBAL"}
    assert {"copy_reg._reconstructor", "mxnet.optimizer.optimizer.Adam"} <= names
    states, opt = safe_loads(read("adam_with_optimizer_p0.states"))
    assert type(opt) is mx.optimizer.Adam and opt.beta1 == 0.8
    assert set(states) == {0, 1, 2}
