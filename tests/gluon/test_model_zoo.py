"""gluon.model_zoo.vision: every constructor builds MXNet 1.9.1's parameter names (so MXNet's
weight files load), small models run forward, pretrained=True explains itself."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.gluon.model_zoo import vision

from ._golden import load

META, _ = load("naming")


@pytest.mark.parametrize("name", sorted(META["zoo"]))
def test_model_parameter_names_match_mxnet(name):
    with mx.name.NameManager():
        net = vision.get_model(name, classes=7)
    want = META["zoo"][name]
    assert list(net.collect_params().keys()) == want["collect_params"]
    assert sorted(net._collect_params_with_prefix().keys()) == want["structural"]


@pytest.mark.parametrize(("name", "kwargs", "shape"), [
    ("resnet18_v1", {"thumbnail": True}, (2, 3, 16, 16)),
    ("resnet18_v2", {"thumbnail": True}, (1, 3, 16, 16)),
    ("mobilenetv2_0.25", {}, (1, 3, 32, 32)),
    ("mobilenet0.25", {}, (1, 3, 32, 32)),
], ids=["resnet18_v1", "resnet18_v2", "mobilenetv2", "mobilenet"])
def test_small_models_forward_and_hybridize(name, kwargs, shape):
    net = vision.get_model(name, classes=5, **kwargs)
    net.initialize(mx.init.Xavier())
    x = mx.nd.random.uniform(shape=shape)
    out = net(x)
    assert out.shape == (shape[0], 5)
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), out.asnumpy(), rtol=1e-4, atol=1e-5)


def test_pretrained_says_how_to_load():
    with pytest.raises(mx.MXNetError, match="load_parameters"):
        vision.resnet18_v1(pretrained=True)


def test_unknown_model():
    with pytest.raises(ValueError, match="not supported"):
        vision.get_model("resnet19_v1")
