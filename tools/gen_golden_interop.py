"""Golden files for MXNet interop: files WRITTEN BY MXNet 1.9.1, and MXNet reading mxlite's files.

Three modes::

    /tmp/mxref/bin/python tools/gen_golden_interop.py
        regenerate tests/golden/interop/ with MXNet 1.9.1: NDArray files of every dtype and form,
        legacy-format samples, optimizer-state pickles, a small CNN checkpoint

    /tmp/mxref/bin/python tools/gen_golden_interop.py --check-mxlite [DIR]
        run mxlite (``--mxlite-python``, default .venv/bin/python) in ``--write-mxlite DIR`` mode,
        load everything it wrote with MXNet 1.9.1, compare with the golden values and commit the
        verdict to tests/golden/interop/mxnet_reads_mxlite.json

    .venv/bin/python tools/gen_golden_interop.py --write-mxlite DIR
        (mxlite side, called by the check mode) write files with mxlite into DIR

Golden layout (tests read only these):
    manifest.json   what each file holds: form (list/dict), names, the npz keys of its arrays
    values.npz      the expected arrays (as MXNet itself loads them), inputs and outputs
    *.params        NDArray files; *.states optimizer-state pickles (MXNet Updater.get_states)
    cnn/            model-symbol.json, model-0001.params, model-0001.states
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "tests", "golden", "interop")

DTYPES = ["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"]
SHAPES = [(5,), (2, 3), (2, 1, 3), (1, 2, 1, 2, 2), (0, 3), (2, 0), (1,), (3, 1, 1, 1, 1, 1, 2)]

# the CNN: 1x8x8 inputs, batch 4, 3 classes
CNN_BATCH = 4
CNN_TRAIN_BATCHES = 3
CNN_RESUME_BATCHES = 3
CNN_OPTIMIZER = {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.001}

# struct layout constants of MXNet's format (see src/mxlite/ndarray/utils.py for the description)
LIST_MAGIC, V1_MAGIC, V2_MAGIC = 0x112, 0xF993FAC8, 0xF993FAC9
TYPE_FLAG = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
             "int64": 6, "bool": 7}


def sample(dtype: str, shape, rng) -> np.ndarray:
    """Deterministic values covering each dtype's range (incl. nan, inf, -0.0 for floats)."""
    n = int(np.prod(shape))
    if dtype == "bool":
        return rng.randint(0, 2, size=shape).astype(bool)
    if dtype.startswith("float"):
        values = (rng.randn(n) * 100).astype(dtype)
        if n >= 6:
            values[:4] = [np.nan, np.inf, -np.inf, -0.0]
        return values.reshape(shape)
    info = np.iinfo(dtype)
    values = rng.randint(info.min, info.max, size=n, dtype=dtype)
    if n >= 2:
        values[0], values[1] = info.min, info.max
    return values.reshape(shape)


class Golden:
    """Collects expected arrays (npz) and the manifest while files are written."""

    def __init__(self):
        self.values: dict[str, np.ndarray] = {}
        self.manifest: dict = {"mxnet_version": None, "nd_files": {}, "states": {}, "cnn": {}}

    def add(self, key: str, value: np.ndarray) -> str:
        assert key not in self.values, key
        self.values[key] = np.array(value, order="C")
        return key


# ---------------------------------------------------------------------- MXNet side
def nd_file(g: Golden, mx, fname: str, data, *, identical: bool, note: str, np_shape=False):
    """Save ``data`` with MXNet, reload it with MXNet, record what MXNet reads back."""
    path = os.path.join(OUT, fname)
    with mx.util.np_shape(np_shape):
        mx.nd.save(path, data)
        record_loaded(g, fname, mx.nd.load(path), identical=identical, note=note,
                      np_shape=np_shape)


def dense(a) -> np.ndarray:
    return (a if a.stype == "default" else a.tostype("default")).asnumpy()


def record_loaded(g: Golden, fname, loaded, *, identical, note, np_shape=False):
    if isinstance(loaded, dict):
        names = list(loaded)
        arrays = list(loaded.values())
    else:
        names, arrays = None, list(loaded)
    keys = [g.add(f"{fname}#{i}", dense(a)) for i, a in enumerate(arrays)]
    g.manifest["nd_files"][fname] = {
        "form": "list" if names is None else "dict",
        "names": names,
        "keys": keys,
        "dtypes": [np.dtype(a.dtype).name for a in arrays],
        "byte_identical": identical,
        "np_shape": np_shape,
        "note": note,
    }


def handbuilt(records: list[bytes], names=None) -> bytes:
    out = struct.pack("<QQQ", LIST_MAGIC, 0, len(records)) + b"".join(records)
    names = names or []
    out += struct.pack("<Q", len(names))
    for n in names:
        raw = n.encode()
        out += struct.pack("<Q", len(raw)) + raw
    return out


def legacy_record(a: np.ndarray, version: str, dev=(1, 0)) -> bytes:
    flag = TYPE_FLAG[a.dtype.name]
    if version == "nomagic":  # u32 ndim, u32 dims
        head = struct.pack(f"<I{a.ndim}I", a.ndim, *a.shape)
    elif version == "v1":  # magic, i32 ndim, i64 dims
        head = struct.pack(f"<Ii{a.ndim}q", V1_MAGIC, a.ndim, *a.shape)
    else:  # v2 dense
        head = struct.pack(f"<Iii{a.ndim}q", V2_MAGIC, 0, a.ndim, *a.shape)
    body = a.astype(a.dtype.newbyteorder("<")).tobytes()
    return head + struct.pack("<iii", dev[0], dev[1], flag) + body


def gen_nd_files(g: Golden, mx):
    rng = np.random.RandomState(42)
    per_dtype = {d: [sample(d, s, rng) for s in SHAPES] for d in DTYPES}
    as_nd = lambda a: mx.nd.array(a, dtype=a.dtype)  # noqa: E731
    everything = [as_nd(a) for d in DTYPES for a in per_dtype[d]]
    nd_file(g, mx, "list_all_dtypes.params", everything, identical=True,
            note="mx.nd.save(list): every dtype x every shape, incl. 0-size and 7-d")
    named = {}
    for d in DTYPES:
        for i, a in enumerate(per_dtype[d]):
            named[f"{'aux' if i % 3 == 2 else 'arg'}:{d}_{i}"] = as_nd(a)
    named["arg:poids_\u00e9t\u00e9"] = as_nd(np.arange(4, dtype=np.float32))
    nd_file(g, mx, "dict_all_dtypes.params", named, identical=True,
            note="mx.nd.save(dict) with arg:/aux: names as Module writes them, one UTF-8 name")
    nd_file(g, mx, "single.params", as_nd(np.arange(6, dtype=np.float64).reshape(2, 3)),
            identical=True, note="mx.nd.save(fname, one NDArray) writes a 1-element list")
    nd_file(g, mx, "empty.params", [], identical=True, note="empty list")
    with mx.util.np_shape(True):
        np_arrays = [
            mx.nd.array(np.array(2.5, dtype=np.float32).reshape(())),
            mx.nd.array(np.array(-7, dtype=np.int64).reshape(()), dtype="int64"),
            mx.nd.array(np.zeros((0, 3), dtype=np.float32)),
            as_nd(per_dtype["float64"][1]),
        ]
    nd_file(g, mx, "np_shape.params", np_arrays, identical=True, np_shape=True,
            note="saved under mx.util.np_shape(True): V3 records, incl. 0-d arrays")
    dense = np.zeros((5, 3), dtype=np.float32)
    dense[1] = [1, 2, 3]
    dense[3] = [4, 5, 6]
    csr = np.array([[0, 1, 0, 2], [5, 0, 0, 0], [0, 0, 0, 0], [3, 0, 4, 0]], dtype=np.float64)
    sparse = {"rsp": mx.nd.array(dense).tostype("row_sparse"),
              "csr": mx.nd.array(csr, dtype="float64").tostype("csr")}
    nd_file(g, mx, "sparse.params", sparse, identical=False,
            note="row_sparse and csr records; mxlite loads them dense")

    # legacy layouts MXNet 1.9.1 no longer writes but still reads: built here per the C++ layout,
    # and the expected values are what MXNet 1.9.1 itself loads from them
    legacy = [np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5,
              np.array([7, -8, 9], dtype=np.int32),
              np.arange(8, dtype=np.float64).reshape(2, 2, 2) / 3]
    for version in ("v1", "nomagic"):
        for form, names in (("list", None), ("dict", ["arg:a", "arg:b", "aux:c"])):
            fname = f"legacy_{version}_{form}.params"
            with open(os.path.join(OUT, fname), "wb") as f:
                f.write(handbuilt([legacy_record(a, version) for a in legacy], names))
            record_loaded(g, fname, mx.nd.load(os.path.join(OUT, fname)), identical=False,
                          note=f"hand-built {version} layout, read back by MXNet 1.9.1")
    fname = "gpu_context.params"
    with open(os.path.join(OUT, fname), "wb") as f:
        f.write(handbuilt([legacy_record(legacy[0], "v2", dev=(2, 1))], ["arg:w"]))
    record_loaded(g, fname, mx.nd.load(os.path.join(OUT, fname)), identical=False,
                  note="V2 record of an array saved from gpu(1); loads onto the CPU")


def describe_state(g: Golden, prefix: str, state):
    """JSON description of an optimizer state, arrays stored in the npz."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return {"tuple": [describe_state(g, f"{prefix}.{i}", s) for i, s in enumerate(state)]}
    return {"nd": g.add(prefix, state.asnumpy()), "dtype": np.dtype(state.dtype).name}


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "__dict__"):
        return {"__object__": type(value).__name__, "attrs": jsonable(vars(value))}
    return repr(value)


def decode_kwargs(mx, kwargs: dict) -> dict:
    """Optimizer kwargs from the manifest: ``{"__scheduler__": [class name, kwargs]}`` values
    become lr_scheduler objects (the tests decode them the same way with mxlite)."""
    out = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "__scheduler__" in value:
            cls_name, sched_kwargs = value["__scheduler__"]
            value = getattr(mx.lr_scheduler, cls_name)(**sched_kwargs)
        out[key] = value
    return out


def gen_states(g: Golden, mx):
    """Updater pickles for several optimizers, plus where MXNet goes after resuming."""
    cases = {
        "sgd_momentum": ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01,
                                 "rescale_grad": 0.5}, "float32"),
        "sgd_plain": ("sgd", {"learning_rate": 0.1, "wd": 0.0}, "float32"),
        "sgd_mp_fp16": ("sgd", {"learning_rate": 0.1, "momentum": 0.9,
                                "multi_precision": True}, "float16"),
        "adam": ("adam", {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "wd": 0.001,
                          "clip_gradient": 1.0}, "float32"),
        # a stateful schedule travels inside the optimizer pickle and decays during the resume
        "sgd_factor_schedule": ("sgd", {
            "learning_rate": 0.1, "momentum": 0.9,
            "lr_scheduler": {"__scheduler__": ["FactorScheduler", {
                "step": 2, "factor": 0.5, "warmup_steps": 1, "warmup_begin_lr": 0.01}]},
        }, "float32"),
    }
    shapes = [(3,), (2, 3), (2, 2, 2)]
    for case, (name, kwargs, dtype) in cases.items():
        rng = np.random.RandomState(7)
        opt = mx.optimizer.create(name, **decode_kwargs(mx, kwargs))
        upd = mx.optimizer.get_updater(opt)
        weights = [mx.nd.array(rng.randn(*s), dtype=dtype) for s in shapes]
        for _step in range(3):
            for i, w in enumerate(weights):
                upd(i, mx.nd.array(rng.randn(*w.shape), dtype=dtype), w)
        entry = {"optimizer": name, "kwargs": kwargs, "dtype": dtype, "files": {}}
        entry["weights_at_save"] = [g.add(f"{case}/w{i}", w.asnumpy())
                                    for i, w in enumerate(weights)]
        entry["states"] = {str(i): describe_state(g, f"{case}/s{i}", s)
                           for i, s in upd.states.items()}
        for dump in (False, True):
            fname = f"{case}{'_with_optimizer' if dump else ''}.states"
            with open(os.path.join(OUT, fname), "wb") as f:
                f.write(upd.get_states(dump_optimizer=dump))
            entry["files"][fname] = {"dump_optimizer": dump, "protocol": pickle.DEFAULT_PROTOCOL}
        # what MXNet under Python 2 wrote (protocol 0 / 2), same content
        for protocol in (0, 2):
            fname = f"{case}_with_optimizer_p{protocol}.states"
            with open(os.path.join(OUT, fname), "wb") as f:
                f.write(pickle.dumps((upd.states, upd.optimizer), protocol=protocol))
            entry["files"][fname] = {"dump_optimizer": True, "protocol": protocol}
        pickled = dict(opt.__getstate__())
        entry["optimizer_dict"] = jsonable(
            {k: v for k, v in pickled.items() if k not in ("param_dict",)}
        )
        # resume: 2 more steps from each saved file into a fresh Updater of the same optimizer
        # (without the dumped optimizer MXNet restarts the update counts, e.g. Adam's t)
        grads = [[rng.randn(*s).astype(dtype) for s in shapes] for _ in range(2)]
        entry["resume_grads"] = [[g.add(f"{case}/g{t}_{i}", gr) for i, gr in enumerate(step)]
                                 for t, step in enumerate(grads)]
        for fname, info in entry["files"].items():
            upd2 = mx.optimizer.get_updater(mx.optimizer.create(name, **decode_kwargs(mx, kwargs)))
            upd2.set_states(open(os.path.join(OUT, fname), "rb").read())
            w2 = [w.copy() for w in weights]
            for step in grads:
                for i, w in enumerate(w2):
                    upd2(i, mx.nd.array(step[i], dtype=dtype), w)
            info["weights_after_resume"] = [g.add(f"{fname}/wr{i}", w.asnumpy())
                                            for i, w in enumerate(w2)]
        g.manifest["states"][case] = entry


def cnn_symbol(mx):
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=4, name="conv")
    net = mx.sym.BatchNorm(net, name="bn")
    net = mx.sym.Pooling(net, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool")
    net = mx.sym.FullyConnected(net, num_hidden=3, name="fc")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def gen_cnn(g: Golden, mx):
    rng = np.random.RandomState(3)
    n = CNN_TRAIN_BATCHES + CNN_RESUME_BATCHES
    data = rng.randn(n, CNN_BATCH, 1, 8, 8).astype(np.float32)
    label = rng.randint(0, 3, size=(n, CNN_BATCH)).astype(np.float32)
    probe = rng.randn(CNN_BATCH, 1, 8, 8).astype(np.float32)
    mx.random.seed(11)
    mod = mx.mod.Module(cnn_symbol(mx), data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (CNN_BATCH, 1, 8, 8))],
             label_shapes=[("softmax_label", (CNN_BATCH,))])
    mod.init_params(mx.init.Xavier(magnitude=2.0))
    mod.init_optimizer(optimizer="sgd", optimizer_params=CNN_OPTIMIZER)
    batch = lambda i: mx.io.DataBatch([mx.nd.array(data[i])], [mx.nd.array(label[i])])  # noqa: E731
    for i in range(CNN_TRAIN_BATCHES):
        mod.forward(batch(i), is_train=True)
        mod.backward()
        mod.update()
    os.makedirs(os.path.join(OUT, "cnn"), exist_ok=True)
    prefix = os.path.join(OUT, "cnn", "model")
    mod.save_checkpoint(prefix, 1, save_optimizer_states=True)
    arg, aux = mod.get_params()
    cnn = g.manifest["cnn"]
    cnn.update(
        prefix="cnn/model", epoch=1, batch=CNN_BATCH, optimizer="sgd",
        optimizer_params=CNN_OPTIMIZER, param_names=list(mod._param_names),
        aux_names=list(mod._aux_names),
        arg_params={k: g.add(f"cnn/arg:{k}", v.asnumpy()) for k, v in arg.items()},
        aux_params={k: g.add(f"cnn/aux:{k}", v.asnumpy()) for k, v in aux.items()},
        train_data=g.add("cnn/train_data", data[:CNN_TRAIN_BATCHES]),
        train_label=g.add("cnn/train_label", label[:CNN_TRAIN_BATCHES]),
        resume_data=g.add("cnn/resume_data", data[CNN_TRAIN_BATCHES:]),
        resume_label=g.add("cnn/resume_label", label[CNN_TRAIN_BATCHES:]),
        probe=g.add("cnn/probe", probe),
    )
    # what MXNet predicts from the checkpoint, and where resumed training takes it
    mod2 = mx.mod.Module.load(prefix, 1, load_optimizer_states=True, data_names=["data"],
                              label_names=["softmax_label"])
    mod2.bind(data_shapes=[("data", (CNN_BATCH, 1, 8, 8))],
              label_shapes=[("softmax_label", (CNN_BATCH,))])
    mod2.init_optimizer(optimizer="sgd", optimizer_params=CNN_OPTIMIZER)
    mod2.forward(mx.io.DataBatch([mx.nd.array(probe)], None), is_train=False)
    cnn["probe_output"] = g.add("cnn/probe_output", mod2.get_outputs()[0].asnumpy())
    for i in range(CNN_RESUME_BATCHES):
        mod2.forward(batch(CNN_TRAIN_BATCHES + i), is_train=True)
        mod2.backward()
        mod2.update()
    arg2, aux2 = mod2.get_params()
    cnn["resumed_arg_params"] = {k: g.add(f"cnn/resumed_arg:{k}", v.asnumpy())
                                 for k, v in arg2.items()}
    cnn["resumed_aux_params"] = {k: g.add(f"cnn/resumed_aux:{k}", v.asnumpy())
                                 for k, v in aux2.items()}
    record_loaded(g, "cnn/model-0001.params", mx.nd.load(prefix + "-0001.params"),
                  identical=True, note="Module.save_checkpoint parameters")


def generate():
    import mxnet as mx

    os.makedirs(OUT, exist_ok=True)
    g = Golden()
    g.manifest["mxnet_version"] = mx.__version__
    gen_nd_files(g, mx)
    gen_states(g, mx)
    gen_cnn(g, mx)
    np.savez_compressed(os.path.join(OUT, "values.npz"), **g.values)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(g.manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(dp, fn))
                for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"wrote {OUT} ({total} bytes)")


# ---------------------------------------------------------------------- mxlite side
def write_mxlite(out_dir: str):
    """Write with mxlite everything MXNet is asked to read (runs under mxlite's venv)."""
    import mxlite as mx

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(OUT, "manifest.json")) as f:
        manifest = json.load(f)
    values = np.load(os.path.join(OUT, "values.npz"), allow_pickle=False)
    written = {"nd_files": {}, "skipped": {}}
    for fname, entry in manifest["nd_files"].items():
        arrays = [mx.nd.NDArray(np.array(values[k])) for k in entry["keys"]]  # keeps 0-d
        data = arrays if entry["names"] is None else dict(zip(entry["names"], arrays, strict=True))
        target = fname.replace("/", "__")
        mx.nd.save(os.path.join(out_dir, target), data)
        written["nd_files"][target] = fname
    # a checkpoint: the symbol MXNet wrote, loaded and re-serialized by mxlite, and its parameters
    cnn = manifest["cnn"]
    try:
        sym = mx.sym.load(os.path.join(OUT, "cnn", "model-symbol.json"))
        arg = {k: mx.nd.array(values[v]) for k, v in cnn["arg_params"].items()}
        aux = {k: mx.nd.array(values[v]) for k, v in cnn["aux_params"].items()}
        mx.model.save_checkpoint(os.path.join(out_dir, "cnn"), 1, sym, arg, aux)
        written["checkpoint"] = "cnn"
    except Exception as err:  # recorded, and the committed verdict says what was not checked
        written["skipped"]["checkpoint"] = f"{type(err).__name__}: {err}"
    # resume MXNet's checkpoint in mxlite's Module and save it with Module.save_checkpoint
    try:
        mod = mx.mod.Module.load(os.path.join(OUT, "cnn", "model"), 1,
                                 load_optimizer_states=True, data_names=["data"],
                                 label_names=["softmax_label"])
        mod.bind(data_shapes=[("data", (cnn["batch"], 1, 8, 8))],
                 label_shapes=[("softmax_label", (cnn["batch"],))])
        mod.init_optimizer(optimizer=cnn["optimizer"], optimizer_params=cnn["optimizer_params"])
        data, label = values[cnn["resume_data"]], values[cnn["resume_label"]]
        for i in range(len(data)):
            mod.forward(mx.io.DataBatch([mx.nd.array(data[i])], [mx.nd.array(label[i])]),
                        is_train=True)
            mod.backward()
            mod.update()
        mod.save_checkpoint(os.path.join(out_dir, "resumed"), 2)
        written["resumed"] = "resumed"
    except Exception as err:
        written["skipped"]["resumed"] = f"{type(err).__name__}: {err}"
    with open(os.path.join(out_dir, "written.json"), "w") as f:
        json.dump(written, f, indent=1)


# ---------------------------------------------------------------------- MXNet reads mxlite
def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_mxlite(out_dir: str, mxlite_python: str):
    import mxnet as mx

    subprocess.run([mxlite_python, os.path.abspath(__file__), "--write-mxlite", out_dir],
                   check=True, cwd=ROOT)
    with open(os.path.join(OUT, "manifest.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(out_dir, "written.json")) as f:
        written = json.load(f)
    values = np.load(os.path.join(OUT, "values.npz"), allow_pickle=False)
    result = {"mxnet_version": mx.__version__, "nd_files": {}, "checkpoint": None,
              "skipped": written["skipped"]}
    for target, fname in sorted(written["nd_files"].items()):
        entry = manifest["nd_files"][fname]
        path = os.path.join(out_dir, target)
        verdict = {"golden": fname, "loaded": False, "identical": False}
        try:
            raw = open(path, "rb").read()
            has_v3 = struct.pack("<I", 0xF993FACA) in raw
            if has_v3:
                with mx.util.np_shape(True):
                    loaded = mx.nd.load(path)
            else:
                loaded = mx.nd.load(path)
            verdict["loaded"] = True
            verdict["np_shape"] = has_v3
            names = list(loaded) if isinstance(loaded, dict) else None
            arrays = list(loaded.values()) if names is not None else list(loaded)
            ok = names == entry["names"] and len(arrays) == len(entry["keys"])
            ok = ok and all(same(a.asnumpy(), values[k])
                            for a, k in zip(arrays, entry["keys"], strict=True))
            verdict["identical"] = bool(ok)
            golden_path = os.path.join(OUT, fname)
            verdict["bytes_equal_to_mxnet_file"] = raw == open(golden_path, "rb").read()
        except Exception as err:
            verdict["error"] = f"{type(err).__name__}: {err}"
        result["nd_files"][target] = verdict
    cnn = manifest["cnn"]
    if "checkpoint" in written:
        verdict = {"loaded": False, "params_identical": False, "predictions_match": False}
        try:
            prefix = os.path.join(out_dir, written["checkpoint"])
            sym, arg, aux = mx.model.load_checkpoint(prefix, 1)
            verdict["loaded"] = True
            verdict["params_identical"] = bool(
                sorted(arg) == sorted(cnn["arg_params"])
                and sorted(aux) == sorted(cnn["aux_params"])
                and all(same(arg[k].asnumpy(), values[v]) for k, v in cnn["arg_params"].items())
                and all(same(aux[k].asnumpy(), values[v]) for k, v in cnn["aux_params"].items())
            )
            mod = mx.mod.Module(sym, data_names=["data"], label_names=["softmax_label"])
            mod.bind(data_shapes=[("data", (cnn["batch"], 1, 8, 8))], for_training=False)
            mod.set_params(arg, aux)
            mod.forward(mx.io.DataBatch([mx.nd.array(values[cnn["probe"]])], None),
                        is_train=False)
            out = mod.get_outputs()[0].asnumpy()
            verdict["max_abs_diff"] = float(np.abs(out - values[cnn["probe_output"]]).max())
            verdict["predictions_match"] = bool(verdict["max_abs_diff"] <= 1e-6)
            mine = json.loads(open(os.path.join(OUT, "cnn", "model-symbol.json")).read())
            theirs = json.loads(sym.tojson())
            verdict["same_graph"] = [n["op"] for n in mine["nodes"]] == [
                n["op"] for n in theirs["nodes"]]
        except Exception as err:
            verdict["error"] = f"{type(err).__name__}: {err}"
        result["checkpoint"] = verdict
    if "resumed" in written:
        verdict = {"loaded": False}
        try:
            _sym, arg, aux = mx.model.load_checkpoint(os.path.join(out_dir, written["resumed"]), 2)
            verdict["loaded"] = True
            expected = {**cnn["resumed_arg_params"], **cnn["resumed_aux_params"]}
            got = {**arg, **aux}
            verdict["same_names"] = sorted(got) == sorted(expected)
            verdict["max_abs_diff"] = {
                k: float(np.abs(got[k].asnumpy() - values[v]).max()) for k, v in expected.items()
            }
        except Exception as err:
            verdict["error"] = f"{type(err).__name__}: {err}"
        result["resumed"] = verdict
    with open(os.path.join(OUT, "mxnet_reads_mxlite.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    bad = [k for k, v in result["nd_files"].items() if not (v["loaded"] and v["identical"])]
    print(f"checked {len(result['nd_files'])} files; failures: {bad}; "
          f"checkpoint: {result['checkpoint']}; resumed: {result.get('resumed')}; "
          f"skipped: {result['skipped']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-mxlite", nargs="?", const="", metavar="DIR")
    parser.add_argument("--write-mxlite", metavar="DIR")
    parser.add_argument("--mxlite-python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    args = parser.parse_args(argv)
    if args.write_mxlite:
        write_mxlite(args.write_mxlite)
    elif args.check_mxlite is not None:
        if args.check_mxlite:
            check_mxlite(args.check_mxlite, args.mxlite_python)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                check_mxlite(tmp, args.mxlite_python)
    else:
        generate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
