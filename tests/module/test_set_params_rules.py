"""set_params rules every module shares (MXNet's): allow_missing=False is init_params; an
initialized module with allow_missing=True and force_init=False keeps its values and warns."""

import numpy as np
import pytest

import mxlite as mx


def _net():
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=2, name="fc")
    return mx.sym.SoftmaxOutput(fc, name="softmax")


def _module():
    mod = mx.mod.Module(_net())
    mod.bind([("data", (4, 3))], [("softmax_label", (4,))])
    return mod


def _bucketing():
    mod = mx.mod.BucketingModule(lambda key: (_net(), ("data",), ("softmax_label",)),
                                 default_bucket_key=3)
    mod.bind([("data", (4, 3))], [("softmax_label", (4,))])
    return mod


MODULES = [pytest.param(_module, id="Module"), pytest.param(_bucketing, id="BucketingModule")]


def _given():
    return {"fc_weight": mx.nd.ones((2, 3)) * 0.5, "fc_bias": mx.nd.ones((2,)) * 0.25}


@pytest.mark.parametrize("make", MODULES)
def test_force_init_false_keeps_values_and_warns(make):
    mod = make()
    mod.init_params(mx.init.Zero())
    with pytest.warns(UserWarning, match="set_params call ignored"):
        mod.set_params(_given(), {}, allow_missing=True, force_init=False)
    np.testing.assert_array_equal(mod.get_params()[0]["fc_weight"].asnumpy(), 0)


@pytest.mark.parametrize("make", MODULES)
@pytest.mark.parametrize("allow_missing", [False, True], ids=["init-path", "copy-path"])
def test_set_params_assigns(make, allow_missing):
    mod = make()
    mod.init_params(mx.init.Zero())
    mod.set_params(_given(), {}, allow_missing=allow_missing, force_init=True)
    got = mod.get_params()[0]
    np.testing.assert_array_equal(got["fc_weight"].asnumpy(), 0.5)
    np.testing.assert_array_equal(got["fc_bias"].asnumpy(), 0.25)
