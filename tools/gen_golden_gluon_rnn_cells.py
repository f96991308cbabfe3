"""Regenerate ``tests/golden/gluon_rnn_cells.{json,npz}`` from MXNet 1.9.1 (``mx.gluon.rnn``
cells).

Run with the reference interpreter (not mxlite's venv)::

    /tmp/mxref/bin/python tools/gen_golden_gluon_rnn_cells.py

The cells are built by :func:`make_cell` and run by :func:`run_case`, which take the ``mx``
module as an argument: ``tests/gluon/test_rnn_cells_golden.py`` imports this file and calls the
same functions with mxlite.  For each case of ``CASES`` it writes

* names: the parameter names (``collect_params`` and the ``save_parameters`` keys), the
  ``state_info`` at batch size ``BATCH``, and the ``list_arguments`` / ``list_outputs`` of the
  graph that unrolling on a ``Symbol`` builds (outputs, then final states);
* numbers (npz): the input, the weights (seeded normal draws, stored), the outputs (stacked on
  the time axis when a list), the final states and the gradients of the input and of every
  weight, under ``autograd.record(train_mode=False)`` with seeded head gradients -- once
  imperatively and once hybridized.
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden")

BATCH, LENGTH, FEATURES, HIDDEN = 3, 4, 5, 6
VALID_LENGTH = [2, 4, 1]


def make_cell(mx, kind):
    """The cell of case ``kind`` (explicit prefixes and input sizes, so names and shapes do
    not depend on what ran before)."""
    r = mx.gluon.rnn
    h, f = HIDDEN, FEATURES

    def stack(cls, prefix, *cells):
        s = cls(prefix=prefix)
        for c in cells:
            s.add(c)
        return s

    return {
        "rnn_tanh": lambda: r.RNNCell(h, input_size=f, prefix="rnn_"),
        "rnn_relu": lambda: r.RNNCell(h, activation="relu", input_size=f, prefix="relu_"),
        "rnn_softrelu": lambda: r.RNNCell(h, activation="softrelu", input_size=f, prefix="sr_"),
        "lstm": lambda: r.LSTMCell(h, input_size=f, prefix="lstm_"),
        "lstm_acts": lambda: r.LSTMCell(h, input_size=f, prefix="lacts_", activation="softsign",
                                        recurrent_activation="tanh"),
        "gru": lambda: r.GRUCell(h, input_size=f, prefix="gru_"),
        "stack": lambda: stack(r.SequentialRNNCell, "stack_",
                               r.LSTMCell(h, input_size=f, prefix="s0_"),
                               r.GRUCell(h, input_size=h, prefix="s1_")),
        "hybrid_stack": lambda: stack(r.HybridSequentialRNNCell, "hstack_",
                                      r.LSTMCell(h, input_size=f, prefix="h0_"),
                                      r.ResidualCell(r.GRUCell(h, input_size=h, prefix="h1_")),
                                      r.RNNCell(h, input_size=h, prefix="h2_")),
        "bidirectional": lambda: r.BidirectionalCell(r.LSTMCell(h, input_size=f, prefix="fw_"),
                                                     r.GRUCell(h, input_size=f, prefix="bw_"),
                                                     output_prefix="bi_"),
        "residual": lambda: r.ResidualCell(r.GRUCell(f, input_size=f, prefix="res_")),
        "dropout_stack": lambda: stack(r.SequentialRNNCell, "dstack_",
                                       r.LSTMCell(h, input_size=f, prefix="d0_"),
                                       r.DropoutCell(0.5, prefix="drop_"),
                                       r.RNNCell(h, input_size=h, prefix="d1_")),
        "zoneout": lambda: r.ZoneoutCell(r.RNNCell(h, input_size=f, prefix="zo_"),
                                         zoneout_outputs=0.5, zoneout_states=0.3),
    }[kind]()


# (case id, cell kind, layout, merge_outputs, valid_length given)
CASES = [
    ("rnn_tanh_ntc_merged", "rnn_tanh", "NTC", True, False),
    ("rnn_relu_tnc_list", "rnn_relu", "TNC", False, False),
    ("rnn_softrelu_ntc_list", "rnn_softrelu", "NTC", False, False),
    ("lstm_ntc_merged", "lstm", "NTC", True, False),
    ("lstm_tnc_merged", "lstm", "TNC", True, False),
    ("lstm_ntc_list", "lstm", "NTC", False, False),
    ("lstm_acts_tnc_list", "lstm_acts", "TNC", False, False),
    ("lstm_valid_length_ntc", "lstm", "NTC", True, True),
    ("gru_ntc_merged", "gru", "NTC", True, False),
    ("gru_tnc_list", "gru", "TNC", False, False),
    ("gru_valid_length_tnc", "gru", "TNC", False, True),
    ("stack_ntc_merged", "stack", "NTC", True, False),
    ("stack_tnc_list", "stack", "TNC", False, False),
    ("hybrid_stack_ntc_merged", "hybrid_stack", "NTC", True, False),
    ("hybrid_stack_valid_length", "hybrid_stack", "TNC", True, True),
    ("bidirectional_ntc_merged", "bidirectional", "NTC", True, False),
    ("bidirectional_tnc_list", "bidirectional", "TNC", False, False),
    ("bidirectional_valid_length", "bidirectional", "NTC", True, True),
    ("residual_ntc_merged", "residual", "NTC", True, False),
    ("residual_tnc_list", "residual", "TNC", False, False),
    ("dropout_stack_inference", "dropout_stack", "NTC", True, False),
    ("zoneout_inference", "zoneout", "TNC", False, False),
]


def _input_shape(layout):
    return (BATCH, LENGTH, FEATURES) if layout == "NTC" else (LENGTH, BATCH, FEATURES)


def build(mx, case, seed):
    """``(cell, input array, valid_length or None, weights by name)``: the cell with its
    weights set from a seeded draw."""
    _, kind, layout, _, valid = case
    cell = make_cell(mx, kind)
    cell.initialize()
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, _input_shape(layout)).astype(np.float32)
    weights = {}
    for name, p in sorted(cell.collect_params().items()):
        weights[name] = (rng.standard_normal(p.shape) * 0.4).astype(np.float32)
        p.set_data(mx.nd.array(weights[name]))
    vl = mx.nd.array(VALID_LENGTH) if valid else None
    return cell, x, vl, weights


def _flat(states):
    out = []
    for s in states:
        out.extend(_flat(s) if isinstance(s, (list, tuple)) else [s])
    return out


def _distinct(heads):
    """Each array once: imperatively the last step's output *is* the final hidden state, and
    MXNet 1.9.1's ``autograd.backward`` keeps only the last head gradient of an array listed
    twice (mxlite adds them up)."""
    seen, out = set(), []
    for h in heads:
        if id(h) not in seen:
            seen.add(id(h))
            out.append(h)
    return out


def run_case(mx, case, seed, hybridize=False):
    """Outputs, final states and gradients (input ``data`` and weights by name) of one
    unroll, with seeded head gradients, in inference mode."""
    _, _, layout, merge, _ = case
    cell, x, vl, _ = build(mx, case, seed)
    if hybridize:
        cell.hybridize()
    data = mx.nd.array(x)
    data.attach_grad()
    rng = np.random.RandomState(seed + 1)
    with mx.autograd.record(train_mode=False):
        outputs, states = cell.unroll(LENGTH, data, layout=layout, merge_outputs=merge,
                                      valid_length=vl)
        heads = _distinct((outputs if isinstance(outputs, list) else [outputs])
                          + _flat(states))
        head_grads = [mx.nd.array(rng.standard_normal(h.shape).astype(np.float32))
                      for h in heads]
    mx.autograd.backward(heads, head_grads)
    axis = layout.find("T")
    if isinstance(outputs, list):
        out = np.stack([o.asnumpy() for o in outputs], axis=axis)
    else:
        out = outputs.asnumpy()
    grads = {"data": data.grad.asnumpy()}
    for name, p in cell.collect_params().items():
        grads[name] = p.grad().asnumpy()
    return {"merged": not isinstance(outputs, list), "out": out,
            "states": [s.asnumpy() for s in _flat(states)], "grads": grads}


def names(mx, case):
    """The names a case shows: parameters, ``state_info``, and the symbolic unroll's graph."""
    _, kind, layout, merge, valid = case
    with mx.name.NameManager():
        cell = make_cell(mx, kind)
        inputs = mx.sym.var("data")
        vl = mx.sym.var("valid_length") if valid else None
        outputs, states = cell.unroll(LENGTH, inputs, layout=layout, merge_outputs=merge,
                                      valid_length=vl)
        heads = (outputs if isinstance(outputs, list) else [outputs]) + _flat(states)
        group = mx.sym.Group(heads)
    info = [{"shape": list(i["shape"]), "__layout__": i["__layout__"]}
            for i in cell.state_info(BATCH)]
    return {
        "params": sorted(cell.collect_params().keys()),
        "saved": sorted(cell._collect_params_with_prefix().keys()),
        "state_info": info,
        "list_arguments": group.list_arguments(),
        "list_outputs": group.list_outputs(),
    }


def main():
    sys.path.insert(0, HERE)
    import mxnet as mx

    from golden_json import write_json

    meta, arrays = {}, {}
    for k, case in enumerate(CASES):
        cid = case[0]
        seed = 100 + k
        meta[cid] = names(mx, case)
        _, x, _, weights = build(mx, case, seed)
        arrays[f"{cid}/data"] = x
        for name, w in weights.items():
            arrays[f"{cid}/weight/{name}"] = w
        for mode, hybrid in (("imperative", False), ("hybrid", True)):
            res = run_case(mx, case, seed, hybridize=hybrid)
            meta[cid]["merged"] = res["merged"]
            meta[cid]["num_states"] = len(res["states"])
            arrays[f"{cid}/{mode}/out"] = res["out"]
            for j, s in enumerate(res["states"]):
                arrays[f"{cid}/{mode}/state{j}"] = s
            for name, g in res["grads"].items():
                arrays[f"{cid}/{mode}/grad/{name}"] = g
    write_json(os.path.join(OUT, "gluon_rnn_cells.json"), meta)
    path = os.path.join(OUT, "gluon_rnn_cells.npz")
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    print("wrote", path)


if __name__ == "__main__":
    main()
