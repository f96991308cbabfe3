"""Fixture for `.states` written by mxlite in MXNet's pickled format, and MXNet's verdict.

Step 1, with mxlite (writes tests/golden/states_mxnet/mxlite-*):
    PYTHONPATH=src python tools/gen_golden_states_mxnet.py write
Step 2, with MXNet 1.9.1 (loads them through Module.load(..., load_optimizer_states=True),
trains one more step and writes tests/golden/states_mxnet/verdict.json):
    /tmp/mxref/bin/python tools/gen_golden_states_mxnet.py verify

The net, data and optimizer are in setup() so both sides (and the test) use the same ones.
"""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden", "states_mxnet")
PREFIX = os.path.join(OUT, "mxlite")
OPT = ("adam", {"learning_rate": 0.1, "wd": 0.01})


def setup(mx):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("f4")
    y = rng.integers(0, 2, 8).astype("f4")
    data = mx.sym.var("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=4, name="fc1"), act_type="tanh")
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=2, name="fc2"), name="softmax")
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    return net, batch


def write():
    import mxlite as mx

    net, batch = setup(mx)
    mod = mx.mod.Module(net)
    mod.bind([("data", (8, 3))], [("softmax_label", (8,))])
    mod.init_params(mx.init.Constant(0.1))
    mod.init_optimizer(optimizer=OPT[0], optimizer_params=OPT[1])
    for _ in range(2):
        mod.forward_backward(batch)
        mod.update()
    os.makedirs(OUT, exist_ok=True)
    mod.save_checkpoint(PREFIX, 2, save_optimizer_states=True, mxnet_states=True)


def verify():
    import mxnet as mx

    _, batch = setup(mx)
    verdict = {"mxnet_version": mx.__version__}
    try:
        mod = mx.mod.Module.load(PREFIX, 2, load_optimizer_states=True)
        mod.bind([("data", (8, 3))], [("softmax_label", (8,))])
        mod.init_optimizer(optimizer=OPT[0], optimizer_params=OPT[1])
        states = mod._updater.states
        verdict["loaded"] = True
        verdict["states"] = {str(k): [s.asnumpy().ravel().tolist() for s in v]
                             for k, v in sorted(states.items())}
        # MXNet's update count restarts (the optimizer is not in the file): record the
        # parameters after one more step for the test to reproduce
        for i in range(len(mod._param_names)):
            mod._optimizer._index_update_count[i] = 2
        mod._optimizer.num_update = 2
        mod.forward_backward(batch)
        mod.update()
        arg, _ = mod.get_params()
        verdict["after_step"] = {k: v.asnumpy().ravel().tolist() for k, v in sorted(arg.items())}
    except Exception as err:
        verdict["loaded"] = False
        verdict["error"] = f"{type(err).__name__}: {err}"
    with open(os.path.join(OUT, "verdict.json"), "w") as f:
        json.dump(verdict, f, indent=1, sort_keys=True)
    print("loaded:", verdict["loaded"])


if __name__ == "__main__":
    {"write": write, "verify": verify}[sys.argv[1]]()
