"""Regenerate tests/golden/rnn.npz + rnn.json (the fused ``RNN`` operator) from MXNet 1.9.1.

Run with the MXNet reference interpreter:  /tmp/mxref/bin/python tools/gen_golden_rnn.py

For each mode x num_layers {1, 2} x {unidirectional, bidirectional} and two kinds of packed
parameters (``fused``: ``mx.init.FusedRNN(Xavier)``, ``random``: uniform), one case binds
``sym.RNN`` on float32 inputs, runs ``forward(is_train=True)`` and ``backward`` with random head
gradients, and records the inputs, outputs (with ``state_outputs``) and the gradients of data,
parameters and initial states.  A few cases without ``state_outputs`` check that the
single-output form back-propagates the same way.  ``layout_*`` entries record the vector
``mx.init.FusedRNN`` fills when its inner initializer writes a constant that depends on the
unpacked name, pinning MXNet's packed layout name by name.  ``forward_only`` cases: an LSTM
with ``projection_size`` (MXNet's CPU operator has its forward, no backward).  ``gluon`` cases:
``gluon.rnn.LSTM/GRU/RNN`` layers under autograd, with their parameter names, ``repr`` and a
``save_parameters`` file each (``tests/golden/rnn_gluon_*.params``).
"""

from __future__ import annotations

import json
import os
import zlib

import mxnet as mx
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
rng = np.random.default_rng(1915)
T, N, I, H = 3, 2, 3, 4
MODES = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def U(*shape, scale=1.0):
    return (rng.uniform(-scale, scale, size=shape)).astype(np.float32)


class NameConstant(mx.init.Initializer):
    """Fills each array with a constant derived from its name (CRC32), biases too."""

    def _value(self, name):
        return (zlib.crc32(str(name).encode()) % 1000) / 1000.0

    def _init_weight(self, name, arr):
        arr[:] = self._value(name)

    _init_bias = _init_weight
    _init_default = _init_weight


def run_case(cid, mode, layers, bi, kind, state_outputs, arrays, meta):
    params = dict(state_size=H, num_layers=layers, bidirectional=bi, mode=mode,
                  state_outputs=state_outputs)
    sym = mx.sym.RNN(data=mx.sym.var("data"), parameters=mx.sym.var("parameters"),
                     state=mx.sym.var("state"),
                     **({"state_cell": mx.sym.var("state_cell")} if mode == "lstm" else {}),
                     name="rnn", **params)
    exe = sym.simple_bind(mx.cpu(), data=(T, N, I), grad_req="write")
    names = sym.list_arguments()
    shapes = dict(zip(names, [a.shape for a in exe.arg_arrays], strict=True))
    d = 2 if bi else 1
    inputs = {
        "data": U(T, N, I),
        "state": U(layers * d, N, H, scale=0.5),
    }
    if mode == "lstm":
        inputs["state_cell"] = U(layers * d, N, H, scale=0.5)
    if kind == "fused":
        init = mx.init.FusedRNN(mx.init.Xavier(), num_hidden=H, num_layers=layers, mode=mode,
                                bidirectional=bi)
        pv = mx.nd.zeros(shapes["parameters"])
        init._init_weight(mx.init.InitDesc("rnn_parameters"), pv)
        inputs["parameters"] = pv.asnumpy()
    else:
        inputs["parameters"] = U(*shapes["parameters"], scale=0.4)
    for k, v in inputs.items():
        exe.arg_dict[k][:] = v
    outs = exe.forward(is_train=True)
    heads = [U(*o.shape) for o in outs]
    exe.backward([mx.nd.array(h) for h in heads])
    for k, v in inputs.items():
        arrays[f"{cid}/in/{k}"] = v
    for i, (o, hg) in enumerate(zip(outs, heads, strict=True)):
        arrays[f"{cid}/out/{i}"] = o.asnumpy()
        arrays[f"{cid}/head/{i}"] = hg
    for k in inputs:
        arrays[f"{cid}/grad/{k}"] = exe.grad_dict[k].asnumpy()
    meta["cases"].append({"id": cid, "params": params, "inputs": sorted(inputs),
                          "num_outputs": len(outs)})


def projection_case(cid, layers, bi, arrays, meta):
    """LSTM with a projection: forward only (MXNet 1.9.1's CPU operator cannot train it)."""
    params = dict(state_size=H, num_layers=layers, bidirectional=bi, mode="lstm",
                  projection_size=2, state_outputs=True)
    sym = mx.sym.RNN(data=mx.sym.var("data"), parameters=mx.sym.var("parameters"),
                     state=mx.sym.var("state"), state_cell=mx.sym.var("state_cell"),
                     name="rnn", **params)
    exe = sym.simple_bind(mx.cpu(), data=(T, N, I), grad_req="null")
    d = 2 if bi else 1
    inputs = {"data": U(T, N, I), "parameters": U(*exe.arg_dict["parameters"].shape, scale=0.4),
              "state": U(layers * d, N, 2, scale=0.5),
              "state_cell": U(layers * d, N, H, scale=0.5)}
    for k, v in inputs.items():
        exe.arg_dict[k][:] = v
        arrays[f"{cid}/in/{k}"] = v
    outs = exe.forward(is_train=False)
    for i, o in enumerate(outs):
        arrays[f"{cid}/out/{i}"] = o.asnumpy()
    meta["forward_only"].append({"id": cid, "params": params, "inputs": sorted(inputs),
                                 "num_outputs": len(outs)})


GLUON = [
    # id, class, kwargs, layout
    ("gluon_lstm_l2_bi_ntc", "LSTM", {"num_layers": 2, "bidirectional": True}, "NTC"),
    ("gluon_gru_l2_tnc", "GRU", {"num_layers": 2}, "TNC"),
    ("gluon_rnn_tanh_l1_bi_tnc", "RNN", {"activation": "tanh", "bidirectional": True}, "TNC"),
    ("gluon_rnn_relu_l2_ntc", "RNN", {"num_layers": 2}, "NTC"),
]


def gluon_case(cid, cls, kwargs, layout, arrays, meta):
    """A gluon layer (deferred input size) on random inputs and states: outputs, new states
    and every gradient under autograd, its parameter names and its parameter file."""
    layer = getattr(mx.gluon.rnn, cls)(H, layout=layout, prefix="rnn_", **kwargs)
    layer.initialize(mx.init.Uniform(0.4))
    shape = (T, N, I) if layout == "TNC" else (N, T, I)
    x = mx.nd.array(U(*shape))
    states = [mx.nd.array(U(*info["shape"], scale=0.5))
              for info in layer.state_info(N)]
    x.attach_grad()
    for st in states:
        st.attach_grad()
    with mx.autograd.record():
        out, new_states = layer(x, states)
        heads = [U(*out.shape)] + [U(*st.shape) for st in new_states]
        loss = sum((o * mx.nd.array(h)).sum() for o, h in zip([out, *new_states], heads,
                                                                 strict=True))
    loss.backward()
    arrays[f"{cid}/x"] = x.asnumpy()
    arrays[f"{cid}/grad_x"] = x.grad.asnumpy()
    for i, (st, new, h) in enumerate(zip(states, new_states, heads[1:], strict=True)):
        arrays[f"{cid}/state/{i}"] = st.asnumpy()
        arrays[f"{cid}/grad_state/{i}"] = st.grad.asnumpy()
        arrays[f"{cid}/new_state/{i}"] = new.asnumpy()
        arrays[f"{cid}/head/{i + 1}"] = h
    arrays[f"{cid}/out"] = out.asnumpy()
    arrays[f"{cid}/head/0"] = heads[0]
    params = layer.collect_params()
    for name, p in params.items():
        arrays[f"{cid}/param/{name}"] = p.data().asnumpy()
        arrays[f"{cid}/grad_param/{name}"] = p.grad().asnumpy()
    layer.save_parameters(os.path.join(ROOT, f"rnn_{cid}.params"))
    meta["gluon"].append({"id": cid, "class": cls, "kwargs": kwargs, "layout": layout,
                          "params": list(params.keys()), "num_states": len(states),
                          "file_names": sorted(mx.nd.load(os.path.join(ROOT, f"rnn_{cid}.params"))),
                          "repr": repr(layer)})


def main():
    arrays, meta = {}, {"mxnet": mx.__version__, "T": T, "N": N, "I": I, "H": H, "cases": [],
                        "layouts": [], "forward_only": [], "gluon": []}
    for mode in MODES:
        for layers in (1, 2):
            for bi in (False, True):
                for kind in ("fused", "random"):
                    cid = f"{mode}_l{layers}_{'bi' if bi else 'uni'}_{kind}"
                    run_case(cid, mode, layers, bi, kind, True, arrays, meta)
                lid = f"layout_{mode}_l{layers}_{'bi' if bi else 'uni'}"
                init = mx.init.FusedRNN(NameConstant(), num_hidden=H, num_layers=layers,
                                        mode=mode, bidirectional=bi, forget_bias=0.25)
                size = mx.sym.RNN(mx.sym.var("data"), state_size=H, num_layers=layers,
                                  bidirectional=bi, mode=mode).infer_shape(
                                      data=(T, N, I))[0][1]
                pv = mx.nd.zeros(size)
                init._init_weight(mx.init.InitDesc("rnn_parameters"), pv)
                arrays[lid] = pv.asnumpy()
                meta["layouts"].append({"id": lid, "mode": mode, "num_layers": layers,
                                        "bidirectional": bi, "size": int(size[0])})
    for mode in MODES:
        run_case(f"{mode}_l2_bi_random_nostates", mode, 2, True, "random", False, arrays, meta)
    for layers in (1, 2):
        for bi in (False, True):
            projection_case(f"lstmp_l{layers}_{'bi' if bi else 'uni'}", layers, bi, arrays, meta)
    for cid, cls, kwargs, layout in GLUON:
        gluon_case(cid, cls, kwargs, layout, arrays, meta)
    np.savez_compressed(os.path.join(ROOT, "rnn.npz"), **arrays)
    with open(os.path.join(ROOT, "rnn.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(meta['cases'])} cases, {len(meta['layouts'])} layouts, "
          f"{len(meta['forward_only'])} forward-only, {len(meta['gluon'])} gluon")


if __name__ == "__main__":
    main()
