"""Rules shared by every Module flavour, one implementation each (table tests over the single-
and multi-context executor groups, and over Module / BucketingModule / SequentialModule)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import MXNetError

CONTEXTS = {"one-context": [mx.cpu(0)], "two-contexts": [mx.cpu(0), mx.cpu(1)]}


def _state_module(contexts):
    data = mx.sym.var("data")
    state = mx.sym.var("state")
    out = mx.sym.elemwise_add(mx.sym.FullyConnected(data, num_hidden=2, name="fc"), state,
                              name="out")
    mod = mx.mod.Module(out, data_names=["data"], label_names=None, state_names=["state"],
                        context=contexts)
    mod.bind(data_shapes=[("data", (4, 3))], for_training=False)
    mod.init_params(mx.init.Zero())
    return mod


def _forward(mod):
    mod.forward(mx.io.DataBatch([mx.nd.zeros((4, 3))]), is_train=False)
    return mod.get_outputs()[0].asnumpy()


@pytest.mark.parametrize("ctx", sorted(CONTEXTS))
def test_set_states_value_fills_every_device(ctx):
    mod = _state_module(CONTEXTS[ctx])
    mod.set_states(value=2.5)
    np.testing.assert_array_equal(_forward(mod), np.full((4, 2), 2.5))
    for per_device in mod.get_states(merge_multi_context=False):
        assert len(per_device) == len(CONTEXTS[ctx])
        for arr in per_device:
            np.testing.assert_array_equal(arr.asnumpy(), np.full(arr.shape, 2.5))


@pytest.mark.parametrize("ctx", sorted(CONTEXTS))
def test_set_states_arrays(ctx):
    mod = _state_module(CONTEXTS[ctx])
    shape = mod.get_states(merge_multi_context=False)[0][0].shape
    mod.set_states(states=[mx.nd.full(shape, 7.0)])  # one array for every device
    np.testing.assert_array_equal(_forward(mod), np.full((4, 2), 7.0))
    per_device = [mx.nd.full(a.shape, float(k)) for k, a in
                  enumerate(mod.get_states(merge_multi_context=False)[0])]
    mod.set_states(states=[per_device])  # a list: one array per device
    got = [a.asnumpy() for a in mod.get_states(merge_multi_context=False)[0]]
    assert [float(g.flat[0]) for g in got] == [float(k) for k in range(len(per_device))]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [({}, ValueError, "exactly one of states and value"),
     ({"states": [mx.nd.zeros((4, 2))], "value": 1.0}, ValueError, "exactly one"),
     ({"states": []}, ValueError, "0 states given, the module has 1")],
    ids=["neither", "both", "wrong-count"],
)
@pytest.mark.parametrize("ctx", sorted(CONTEXTS))
def test_set_states_argument_check(ctx, kwargs, error, match):
    mod = _state_module(CONTEXTS[ctx])
    with pytest.raises(error, match=match):
        mod._exec_group.set_states(**kwargs)


@pytest.mark.parametrize("ctx", sorted(CONTEXTS))
def test_get_states_refuses_merge(ctx):
    mod = _state_module(CONTEXTS[ctx])
    with pytest.raises(ValueError, match="merge_multi_context=True is not supported"):
        mod._exec_group.get_states(merge_multi_context=True)


@pytest.mark.parametrize("ctx", sorted(CONTEXTS))
def test_output_shapes_report_the_whole_batch(ctx):
    mod = _state_module(CONTEXTS[ctx])
    assert mod.output_shapes == [("out_output", (4, 2))]


# ---------------------------------------------------------------------- shape properties
def _mlp(prefix="", num_hidden=3):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=num_hidden, name=f"{prefix}fc")
    return mx.sym.SoftmaxOutput(fc, name="softmax")


def _module():
    return mx.mod.Module(_mlp())


def _bucketing():
    return mx.mod.BucketingModule(lambda key: (_mlp(), ("data",), ("softmax_label",)),
                                  default_bucket_key=5)


def _sequential():
    first = mx.mod.Module(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="a"),
                          label_names=None)
    second = mx.mod.Module(_mlp("b"))
    seq = mx.mod.SequentialModule()
    seq.add(first).add(second, take_labels=True, auto_wiring=True)
    return seq


MODULES = {"Module": _module, "BucketingModule": _bucketing, "SequentialModule": _sequential}
SHAPES = ["data_shapes", "label_shapes", "output_shapes"]


@pytest.mark.parametrize("prop", SHAPES)
@pytest.mark.parametrize("kind", sorted(MODULES))
def test_shape_properties_need_a_bound_module(kind, prop):
    mod = MODULES[kind]()
    with pytest.raises(MXNetError, match=f"{prop}.*bind"):
        getattr(mod, prop)


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_shape_properties_after_bind(kind):
    def pairs(descs):  # DataDesc or (name, shape) as given (SequentialModule, as MXNet's)
        return [(d[0], tuple(d[1])) for d in descs]

    mod = MODULES[kind]()
    mod.bind(data_shapes=[("data", (2, 5))], label_shapes=[("softmax_label", (2,))])
    assert pairs(mod.data_shapes) == [("data", (2, 5))]
    assert pairs(mod.label_shapes) == [("softmax_label", (2,))]
    assert [(n, tuple(s)) for n, s in mod.output_shapes] == [("softmax_output", (2, 3))]


# ---------------------------------------------------------------------- init_optimizer
@pytest.mark.parametrize("kind", sorted(MODULES))
def test_init_optimizer_needs_params_and_a_second_call_is_ignored(kind, caplog):
    mod = MODULES[kind]()
    mod.bind(data_shapes=[("data", (2, 5))], label_shapes=[("softmax_label", (2,))])
    with pytest.raises(MXNetError, match=r"init_optimizer.*init_params"):
        mod.init_optimizer()
    mod.init_params()
    mod.init_optimizer(optimizer_params=(("learning_rate", 0.5),))
    with caplog.at_level("WARNING"):
        mod.init_optimizer(optimizer_params=(("learning_rate", 9.0),))
    assert "optimizer already initialized, ignoring." in caplog.text
    modules = getattr(mod, "_modules", None) or [getattr(mod, "_curr_module", mod)]
    assert all(m._optimizer.lr == 0.5 for m in modules)
    mod.init_optimizer(optimizer_params=(("learning_rate", 9.0),), force_init=True)
    assert all(m._optimizer.lr == 9.0 for m in modules)


# ---------------------------------------------------------------------- set_params checks
_W = {"fc_weight": np.ones((3, 5), "f4"), "fc_bias": np.zeros(3, "f4")}


@pytest.mark.parametrize(
    "given, allow_missing, allow_extra, error",
    [({"fc_weight": _W["fc_weight"]}, False, False, RuntimeError),
     ({"zz": np.ones(2, "f4")}, False, False, RuntimeError),  # missing is reported first
     ({"zz": np.ones(2, "f4")}, True, False, ValueError),
     ({**_W, "zz": np.ones(2, "f4")}, False, False, ValueError),
     ({**_W, "zz": np.ones(2, "f4")}, False, True, None),
     ({"fc_weight": _W["fc_weight"]}, True, False, None)],
    ids=["missing", "missing-and-extra", "extra-allowed-missing", "extra", "extra-allowed",
         "missing-allowed"],
)
@pytest.mark.parametrize("kind", ["Module", "BucketingModule"])
def test_set_params_checks_in_mxnets_order(kind, given, allow_missing, allow_extra, error):
    mod = MODULES[kind]()
    mod.bind(data_shapes=[("data", (2, 5))], label_shapes=[("softmax_label", (2,))])
    mod.init_params(mx.init.Zero())
    params = {k: mx.nd.array(v) for k, v in given.items()}
    kwargs = dict(allow_missing=allow_missing, allow_extra=allow_extra, force_init=True)
    if error is None:
        mod.set_params(params, {}, **kwargs)
        np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), 1.0)
        return
    match = "is not presented" if error is RuntimeError else "allow_extra=True"
    with pytest.raises(error, match=match):
        mod.set_params(params, {}, **kwargs)
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), 0.0)  # unchanged
