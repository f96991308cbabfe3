"""Parameter names of nested blocks equal MXNet 1.9.1's (collect_params, select, the
structural names of save_parameters)."""

from __future__ import annotations

import pytest

from ._golden import build_net, load

META, _ = load("naming")


@pytest.mark.parametrize("key", sorted(META["nets"]))
def test_parameter_names_match_mxnet(key):
    net = build_net(META["nets"][key])
    want = META["names"][key]
    assert net.prefix == want["prefix"]
    assert list(net.collect_params().keys()) == want["collect_params"]
    assert list(net.collect_params(".*weight").keys()) == want["select_weight"]
    assert sorted(net._collect_params_with_prefix().keys()) == want["structural"]


@pytest.mark.parametrize("key", sorted(META["summary"]))
def test_summary_prints_what_mxnet_prints(key, capsys):
    import mxlite as mx

    net = build_net(META["nets"][key])
    net.initialize()
    net.summary(mx.nd.ones(tuple(META["summary"][key]["shape"])))  # deferred init inside
    assert capsys.readouterr().out == META["summary"][key]["text"]
