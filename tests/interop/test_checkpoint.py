"""End to end: a small CNN checkpoint written by MXNet 1.9.1 Module loads, predicts and resumes.

The checkpoint (``tests/golden/interop/cnn/``: Convolution, BatchNorm, Pooling, FullyConnected,
SoftmaxOutput on 1x8x8 inputs) was trained by MXNet for a few batches with SGD + momentum and
saved with ``save_optimizer_states=True``; ``values.npz`` holds MXNet's predictions from it and
the parameters MXNet reaches after resuming for more fixed batches.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from _interop_golden import assert_same, manifest, path, values

import mxlite as mx

CNN = manifest()["cnn"]
TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture
def prefix(tmp_path):
    """A private copy of the MXNet checkpoint (tests must not touch the golden files)."""
    for name in ("model-symbol.json", "model-0001.params", "model-0001.states"):
        shutil.copy(path(f"cnn/{name}"), tmp_path / name)
    return str(tmp_path / "model")


def _batch(data, label=None):
    return mx.io.DataBatch(
        [mx.nd.array(data)], None if label is None else [mx.nd.array(label)]
    )


def _bind(mod, for_training=True):
    mod.bind(
        data_shapes=[("data", (CNN["batch"], 1, 8, 8))],
        label_shapes=[("softmax_label", (CNN["batch"],))] if for_training else None,
        for_training=for_training,
    )


def test_load_checkpoint_reads_mxnet_symbol_and_params(prefix):
    sym, arg, aux = mx.model.load_checkpoint(prefix, CNN["epoch"])
    assert sorted(arg) == sorted(CNN["arg_params"])
    assert sorted(aux) == sorted(CNN["aux_params"])
    for name, key in CNN["arg_params"].items():
        assert_same(arg[name], values()[key], name)
    for name, key in CNN["aux_params"].items():
        assert_same(aux[name], values()[key], name)
    assert sym.list_arguments() == ["data", *CNN["param_names"][:4], *CNN["param_names"][4:],
                                    "softmax_label"]
    assert sym.list_auxiliary_states() == CNN["aux_names"]
    assert sym.list_outputs() == ["softmax_output"]


def test_sym_load_reads_the_mxnet_graph(prefix):
    sym = mx.sym.load(prefix + "-symbol.json")
    with open(prefix + "-symbol.json") as f:
        theirs = json.loads(f.read())
    ours = json.loads(sym.tojson())
    for key in ("nodes", "arg_nodes", "heads", "attrs"):
        assert ours[key] == theirs[key], key


def test_tojson_is_byte_identical_to_mxnet_json(prefix):
    sym = mx.sym.load(prefix + "-symbol.json")
    with open(prefix + "-symbol.json") as f:
        assert sym.tojson() == f.read()


@pytest.mark.filterwarnings("ignore:Data provided by label_shapes:UserWarning")
def test_module_load_predicts_like_mxnet(prefix):
    mod = mx.mod.Module.load(prefix, CNN["epoch"], data_names=["data"],
                             label_names=["softmax_label"])
    _bind(mod, for_training=False)
    mod.forward(_batch(values()[CNN["probe"]]), is_train=False)
    np.testing.assert_allclose(
        mod.get_outputs()[0].asnumpy(), values()[CNN["probe_output"]], **TOL
    )


def _resumed_params(prefix, load_optimizer_states=True):
    mod = mx.mod.Module.load(prefix, CNN["epoch"], load_optimizer_states=load_optimizer_states,
                             data_names=["data"], label_names=["softmax_label"])
    _bind(mod)
    mod.init_optimizer(optimizer=CNN["optimizer"], optimizer_params=CNN["optimizer_params"])
    data, label = values()[CNN["resume_data"]], values()[CNN["resume_label"]]
    for i in range(len(data)):
        mod.forward(_batch(data[i], label[i]), is_train=True)
        mod.backward()
        mod.update()
    return mod.get_params()


def test_module_resumes_training_to_mxnet_parameters(prefix):
    arg, aux = _resumed_params(prefix)
    for name, key in CNN["resumed_arg_params"].items():  # bn_gamma (fix_gamma) included
        np.testing.assert_allclose(arg[name].asnumpy(), values()[key], err_msg=name, **TOL)
    for name, key in CNN["resumed_aux_params"].items():
        np.testing.assert_allclose(aux[name].asnumpy(), values()[key], err_msg=name, **TOL)


def test_resume_needs_the_states():
    """Control: without the momentum from ``.states`` training goes elsewhere, so the test
    above really exercises the loaded optimizer states."""
    arg, _ = _resumed_params(path("cnn/model"), load_optimizer_states=False)
    key = CNN["resumed_arg_params"]["fc_weight"]
    assert not np.allclose(arg["fc_weight"].asnumpy(), values()[key], **TOL)


def test_mxlite_checkpoint_round_trip_is_byte_identical(prefix, tmp_path):
    sym, arg, aux = mx.model.load_checkpoint(prefix, CNN["epoch"])
    out = str(tmp_path / "again")
    mx.model.save_checkpoint(out, CNN["epoch"], sym, arg, aux)
    with open(prefix + "-0001.params", "rb") as f, open(out + "-0001.params", "rb") as g:
        assert f.read() == g.read()


def test_mxnet_loads_mxlite_checkpoint():
    """Committed verdict of ``gen_golden_interop.py --check-mxlite``: MXNet 1.9.1 loaded the
    checkpoint mxlite wrote (``tojson`` symbol + params) and predicted MXNet's own outputs."""
    with open(path("mxnet_reads_mxlite.json")) as f:
        verdict = json.load(f)
    assert verdict["skipped"] == {}
    cp = verdict["checkpoint"]
    assert cp["loaded"] and cp["params_identical"] and cp["same_graph"], cp
    assert cp["predictions_match"] and cp["max_abs_diff"] <= 1e-6, cp


def test_mxnet_loads_checkpoint_of_mxlite_resumed_module():
    """Committed verdict: mxlite's Module resumed MXNet's checkpoint and saved it with
    ``Module.save_checkpoint``; MXNet 1.9.1 loaded it with the parameters MXNet itself reached
    (``bn_gamma`` of its ``fix_gamma`` BatchNorm included)."""
    with open(path("mxnet_reads_mxlite.json")) as f:
        verdict = json.load(f)["resumed"]
    assert verdict["loaded"] and verdict["same_names"], verdict
    diffs = verdict["max_abs_diff"]
    assert set(diffs) == set(CNN["resumed_arg_params"]) | set(CNN["resumed_aux_params"])
    for name, diff in diffs.items():
        assert diff <= 1e-5, (name, diff)
