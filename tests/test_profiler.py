"""mx.profiler: per-operator timings of executors and mx.nd calls."""

import json

import pytest

import mxlite as mx


@pytest.fixture
def profiled(tmp_path):
    mx.profiler.set_config(profile_all=True, aggregate_stats=True,
                           filename=str(tmp_path / "trace.json"))
    mx.profiler.dumps(reset=True)
    yield tmp_path / "trace.json"
    mx.profiler.set_state("stop")
    mx.profiler.dumps(reset=True)


def test_symbolic_forward_backward_timed(profiled):
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3,
                                                     name="fc"), name="softmax")
    exe = net.simple_bind(mx.cpu(), data=(4, 5))
    mx.profiler.set_state("run")
    for _ in range(3):
        exe.forward(is_train=True)
        exe.backward()
    mx.profiler.set_state("stop")
    stats = json.loads(mx.profiler.dumps(format="json"))["Time"]["operator"]
    assert stats["FullyConnected"]["Count"] == 3
    assert stats["_backward_FullyConnected"]["Count"] == 3
    assert stats["SoftmaxOutput"]["Total"] >= stats["SoftmaxOutput"]["Max"] > 0
    table = mx.profiler.dumps(sort_by="count")
    assert "FullyConnected" in table and "Total Count" in table
    mx.profiler.dump()
    trace = json.loads(profiled.read_text())
    assert {e["name"] for e in trace["traceEvents"]} >= {"FullyConnected", "SoftmaxOutput"}


def test_stop_restores_operators_and_pause_skips(profiled):
    mx.profiler.set_state("run")
    mx.nd.Activation(mx.nd.ones(3), act_type="relu")
    mx.profiler.pause()
    mx.nd.Activation(mx.nd.ones(3), act_type="relu")
    mx.profiler.resume()
    mx.profiler.set_state("stop")
    mx.nd.Activation(mx.nd.ones(3), act_type="relu")  # not recorded after stop
    stats = json.loads(mx.profiler.dumps(format="json"))["Time"]["operator"]
    assert stats["Activation"]["Count"] == 1
    from mxlite.operator import registry

    assert "forward" not in vars(registry.get("Activation"))


def test_bad_arguments():
    with pytest.raises(mx.MXNetError, match="unknown options"):
        mx.profiler.set_config(profile_everything=True)
    with pytest.raises(ValueError, match="state"):
        mx.profiler.set_state("go")
    with pytest.raises(ValueError, match="format"):
        mx.profiler.dumps(format="xml")
