"""Regenerate ``tests/golden/rnn_cells.{json,npz}`` from MXNet 1.9.1 (``mx.rnn``).

Run with the reference interpreter (not mxlite's venv)::

    /tmp/mxref/bin/python tools/gen_golden_rnn_cells.py

The cell graphs are built by the ``build_*`` functions below, which take the ``mx`` module as
an argument: the tests (``tests/rnn/``) import this file and call the same functions with
mxlite, so both sides build their graphs from one description.  Writes

* per cell case (``CELL_CASES``): ``list_arguments`` / ``list_outputs`` of the unrolled graph
  (outputs and final states grouped), the cell's parameter names, ``state_info``, and in the
  npz the input, the weights (seeded normal draws stored here), the forward outputs
  (``is_train=False``) and the gradients of every argument for an all-ones head gradient;
* ``FusedRNNCell`` cases: the names and values ``unpack_weights`` gives for a stored packed
  vector, the outputs of the fused graph, and those of its ``unfuse()``-d stack on the unpacked
  weights;
* ``encode_sentences`` results and ``BucketSentenceIter`` batches (``random`` and
  ``numpy.random`` seeded; two epochs; both layouts);
* a ``BucketingModule`` run of a two-layer LSTM language model (MXNet's
  ``example/rnn/bucketing/lstm_bucketing.py`` structure) on a tiny corpus from stored initial
  parameters: the parameters after training and the training perplexity.
"""

from __future__ import annotations

import json
import os
import random

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "golden")

BATCH, LENGTH, FEATURES, HIDDEN = 3, 4, 5, 6


# ------------------------------------------------------------------------- graph builders
def _stack(mx, *cells):
    stack = mx.rnn.SequentialRNNCell()
    for cell in cells:
        stack.add(cell)
    return stack


def make_cell(mx, kind):
    """The cell of case ``kind``."""
    r = mx.rnn
    return {
        "rnn_tanh": lambda: r.RNNCell(HIDDEN, prefix="rnn_"),
        "rnn_relu": lambda: r.RNNCell(HIDDEN, activation="relu", prefix="relu_"),
        "lstm": lambda: r.LSTMCell(HIDDEN, prefix="lstm_", forget_bias=2.0),
        "gru": lambda: r.GRUCell(HIDDEN, prefix="gru_"),
        "stack": lambda: _stack(mx, r.LSTMCell(HIDDEN, prefix="l0_"),
                                r.GRUCell(HIDDEN, prefix="l1_")),
        "bidirectional": lambda: r.BidirectionalCell(r.LSTMCell(HIDDEN, prefix="fw_"),
                                                     r.GRUCell(HIDDEN, prefix="bw_"),
                                                     output_prefix="bi_"),
        "residual": lambda: r.ResidualCell(r.GRUCell(FEATURES, prefix="res_")),
        "dropout_stack": lambda: _stack(mx, r.LSTMCell(HIDDEN, prefix="d0_"),
                                        r.DropoutCell(0.5, prefix="drop_"),
                                        r.RNNCell(HIDDEN, prefix="d1_")),
        "zoneout": lambda: r.ZoneoutCell(r.RNNCell(HIDDEN, prefix="zo_"), zoneout_outputs=0.5,
                                         zoneout_states=0.3),
        "residual_stack": lambda: _stack(mx, r.ResidualCell(r.LSTMCell(FEATURES, prefix="a_")),
                                         r.GRUCell(HIDDEN, prefix="b_")),
    }[kind]()


# (case id, cell kind, layout, merge_outputs, begin_state: None (zeros) or 'var')
CELL_CASES = [
    ("rnn_tanh_ntc_merged", "rnn_tanh", "NTC", True, None),
    ("rnn_relu_tnc_list", "rnn_relu", "TNC", False, None),
    ("lstm_ntc_merged", "lstm", "NTC", True, None),
    ("lstm_tnc_list", "lstm", "TNC", False, None),
    ("lstm_states_as_inputs", "lstm", "NTC", None, "var"),
    ("gru_ntc_merged", "gru", "NTC", True, None),
    ("gru_list_inputs", "gru", "NTC", None, None),
    ("stack_ntc_merged", "stack", "NTC", True, None),
    ("bidirectional_merged", "bidirectional", "NTC", True, None),
    ("bidirectional_tnc_list", "bidirectional", "TNC", False, None),
    ("residual_merged", "residual", "NTC", True, None),
    ("residual_list", "residual", "NTC", False, None),
    ("dropout_stack_inference", "dropout_stack", "NTC", True, None),
    ("zoneout_inference", "zoneout", "NTC", True, None),
    ("residual_stack", "residual_stack", "TNC", True, None),
]


def _flat(states):
    out = []
    for s in states:
        out.extend(_flat(s) if isinstance(s, list) else [s])
    return out


def unroll_case(mx, case):
    """``(cell, group symbol, input shape)`` of a ``CELL_CASES`` entry; the group holds the
    outputs (one or per step) then the final states not among them."""
    with mx.name.NameManager():  # automatic names (concat0, ...) counted from 0
        return _unroll_case(mx, case)


def _unroll_case(mx, case):
    _, kind, layout, merge, begin = case
    cell = make_cell(mx, kind)
    shape = (BATCH, LENGTH, FEATURES) if layout == "NTC" else (LENGTH, BATCH, FEATURES)
    if merge is None and kind == "gru":  # a list of step inputs
        inputs = [mx.sym.Variable(f"x{t}") for t in range(LENGTH)]
    else:
        inputs = mx.sym.Variable("data")
    begin_state = cell.begin_state(func=mx.sym.Variable) if begin == "var" else None
    outputs, states = cell.unroll(LENGTH, inputs, begin_state=begin_state, layout=layout,
                                  merge_outputs=merge)
    outs = outputs if isinstance(outputs, list) else [outputs]
    heads, seen = [], set()
    for head in outs + _flat(states):
        # a final state that is also an output appears once: MXNet 1.9.1 gives a head listed
        # twice in a Group one head gradient, not the sum of both
        if head.list_outputs()[0] not in seen:
            seen.add(head.list_outputs()[0])
            heads.append(head)
    return cell, mx.sym.Group(heads), shape


def input_shapes(group, shape):
    """Known shapes of the data inputs of an unrolled group."""
    names = group.list_arguments()
    if "data" in names:
        return {"data": shape}
    return {n: (BATCH, FEATURES) for n in names if n.startswith("x") and n[1:].isdigit()}


def fill_values(mx, group, shape, seed):
    """Seeded values for every argument: inputs uniform(-1, 1), weights normal(0, 0.4)."""
    known = input_shapes(group, shape)
    for name in group.list_arguments():
        if "begin_state" in name:
            known[name] = (BATCH, HIDDEN)
    arg_shapes, _, _ = group.infer_shape(**known)
    rng = np.random.RandomState(seed)
    values = {}
    for name, s in zip(group.list_arguments(), arg_shapes, strict=True):
        if name in known:
            values[name] = rng.uniform(-1, 1, s).astype(np.float32)
        else:
            values[name] = (rng.standard_normal(s) * 0.4).astype(np.float32)
    return values


def run_forward_backward(mx, group, values):
    """Outputs (``is_train=False``) and the gradients for all-ones head gradients."""
    names = group.list_arguments()
    args = {n: mx.nd.array(values[n]) for n in names}
    grads = {n: mx.nd.zeros(values[n].shape) for n in names}
    exe = group.bind(mx.cpu(), args=args, args_grad=grads, grad_req="write")
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    exe.backward([mx.nd.ones(o.shape) for o in outs])
    return outs, {n: grads[n].asnumpy() for n in names}


# (case id, mode, num_layers, bidirectional, layout)
FUSED_CASES = [
    ("fused_lstm_2layer_bi", "lstm", 2, True, "TNC"),
    ("fused_gru_1layer", "gru", 1, False, "NTC"),
    ("fused_rnn_tanh_2layer", "rnn_tanh", 2, False, "TNC"),
    ("fused_rnn_relu_bi", "rnn_relu", 1, True, "TNC"),
]


def fused_cell(mx, case):
    _, mode, layers, bi, _ = case
    return mx.rnn.FusedRNNCell(HIDDEN, num_layers=layers, mode=mode, bidirectional=bi,
                               prefix=f"{mode}_", get_next_state=True)


def fused_packed(mx, case, seed):
    """A seeded packed parameter vector of the right size for FEATURES inputs."""
    _, mode, layers, bi, _ = case
    m = {"lstm": 4, "gru": 3}.get(mode, 1)
    d = 2 if bi else 1
    h = HIDDEN
    size = (FEATURES + h + 2) * h * m * d + (layers - 1) * m * h * (h + d * h + 2) * d
    return (np.random.RandomState(seed).standard_normal(size) * 0.3).astype(np.float32)


def unfused_group(mx, case):
    _, _, _, _, layout = case
    with mx.name.NameManager():
        stack = fused_cell(mx, case).unfuse()
        outputs, states = stack.unroll(LENGTH, mx.sym.Variable("data"), layout=layout,
                                       merge_outputs=True)
        return stack, mx.sym.Group([outputs, *_flat(states)])


def fused_group(mx, case):
    """``(cell, group of the fused outputs and final states)``."""
    layout = case[4]
    with mx.name.NameManager():
        cell = fused_cell(mx, case)
        outputs, states = cell.unroll(LENGTH, mx.sym.Variable("data"), layout=layout,
                                      merge_outputs=True)
        return cell, mx.sym.Group([outputs, *states])


# -------------------------------------------------------------------------- data helpers
SENTENCES = [
    "the cat sat on the mat".split(),
    "a dog ran".split(),
    "the dog sat".split(),
    "on the mat a cat ran fast".split(),
    "fast".split(),
    "a cat".split(),
    "the mat sat on a dog".split(),
    "dog ran on".split(),
    "cat sat".split(),
    "the fast dog ran on the mat".split(),
    "mat".split(),
    "a dog sat on the cat".split(),
    "ran fast".split(),
    "the cat ran".split(),
    "a fast cat sat on a mat today".split(),
    "the dog".split(),
]

ENCODE_CASES = [
    ("new_vocab_defaults", dict()),
    ("new_vocab_start1_invalid0", dict(start_label=1, invalid_label=0)),
    ("new_vocab_invalid_in_range", dict(start_label=0, invalid_label=2)),
]

ITER_CASES = [
    # (id, batch size, buckets, invalid label, layout, seed)
    ("nt_buckets", 2, [3, 6], 0, "NT", 7),
    ("tn_buckets", 3, [2, 4, 8], -1, "TN", 11),
    ("auto_buckets", 2, None, 0, "NT", 3),
    ("long_sentences_discarded", 2, [2, 3], 0, "NT", 5),
]


def lm_sym_gen(mx, vocab_size, fused=False, num_embed=6, num_hidden=8, num_layers=2):
    """The language model of MXNet's ``lstm_bucketing.py``, small; with ``fused`` the
    ``cudnn_rnn_bucketing.py`` one (a FusedRNNCell unrolled time-major)."""
    if fused:
        stack = mx.rnn.FusedRNNCell(num_hidden, num_layers=num_layers, mode="lstm")
    else:
        stack = mx.rnn.SequentialRNNCell()
        for i in range(num_layers):
            stack.add(mx.rnn.LSTMCell(num_hidden=num_hidden, prefix=f"lstm_l{i}_"))
    layout = "TNC" if fused else "NTC"

    def sym_gen(seq_len):
        data = mx.sym.Variable("data")
        label = mx.sym.Variable("softmax_label")
        embed = mx.sym.Embedding(data=data, input_dim=vocab_size, output_dim=num_embed,
                                 name="embed")
        stack.reset()
        outputs = stack.unroll(seq_len, inputs=embed, merge_outputs=True, layout=layout)[0]
        pred = mx.sym.Reshape(outputs, shape=(-1, num_hidden))
        pred = mx.sym.FullyConnected(data=pred, num_hidden=vocab_size, name="pred")
        label = mx.sym.Reshape(label, shape=(-1,))
        pred = mx.sym.SoftmaxOutput(data=pred, label=label, name="softmax")
        return pred, ("data",), ("softmax_label",)

    return stack, sym_gen


LM = dict(batch_size=4, buckets=[4, 8], invalid_label=0, start_label=1, seed=42, epochs=2,
          lr=0.5, momentum=0.9, wd=1e-5)


def lm_data(mx):
    sentences, vocab = mx.rnn.encode_sentences(SENTENCES, invalid_label=LM["invalid_label"],
                                               start_label=LM["start_label"])
    return sentences, vocab


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (BucketSentenceIter shuffles with it, as MXNet)


# ------------------------------------------------------------------------------ generate
def gen(mx):
    meta, arrays = {"cells": {}, "fused": {}}, {}
    for k, case in enumerate(CELL_CASES):
        cid = case[0]
        cell, group, shape = unroll_case(mx, case)
        values = fill_values(mx, group, shape, seed=100 + k)
        outs, grads = run_forward_backward(mx, group, values)
        meta["cells"][cid] = {
            "list_arguments": group.list_arguments(),
            "list_outputs": group.list_outputs(),
            "params": sorted(cell.params._params),
            "state_info": [dict(i, shape=list(i["shape"])) for i in cell.state_info],
            "num_outputs": len(outs),
        }
        for n, v in values.items():
            arrays[f"{cid}/arg/{n}"] = v
        for j, o in enumerate(outs):
            arrays[f"{cid}/out/{j}"] = o
        for n, g in grads.items():
            arrays[f"{cid}/grad/{n}"] = g
        if kind_has_gates(case[1]):
            unpacked = cell.unpack_weights({n: mx.nd.array(v) for n, v in values.items()})
            meta["cells"][cid]["unpacked"] = sorted(unpacked)
            for n, v in unpacked.items():
                arrays[f"{cid}/unpacked/{n}"] = v.asnumpy()
    for k, case in enumerate(FUSED_CASES):
        cid, _, _, _, layout = case
        cell, fused = fused_group(mx, case)
        packed = fused_packed(mx, case, seed=300 + k)
        pname = f"{case[1]}_parameters"
        unpacked = cell.unpack_weights({pname: mx.nd.array(packed)})
        shape = (BATCH, LENGTH, FEATURES) if layout == "NTC" else (LENGTH, BATCH, FEATURES)
        data = np.random.RandomState(400 + k).uniform(-1, 1, shape).astype(np.float32)
        fexe = fused.bind(mx.cpu(), {"data": mx.nd.array(data), pname: mx.nd.array(packed)})
        fouts = [o.asnumpy() for o in fexe.forward(is_train=False)]
        stack, ugroup = unfused_group(mx, case)
        plain = stack.pack_weights(unpacked)
        args = {n: mx.nd.array(data) if n == "data" else plain[n]
                for n in ugroup.list_arguments()}
        uexe = ugroup.bind(mx.cpu(), args)
        uouts = [o.asnumpy() for o in uexe.forward(is_train=False)]
        meta["fused"][cid] = {
            "list_arguments": fused.list_arguments(),
            "list_outputs": fused.list_outputs(),
            "state_info": [dict(i, shape=list(i["shape"])) for i in cell.state_info],
            "unpacked": sorted(unpacked),
            "unfused_arguments": ugroup.list_arguments(),
            "unfused_outputs": ugroup.list_outputs(),
            "num_fused_outputs": len(fouts),
            "num_unfused_outputs": len(uouts),
        }
        arrays[f"{cid}/packed"] = packed
        arrays[f"{cid}/data"] = data
        for n, v in unpacked.items():
            arrays[f"{cid}/unpacked/{n}"] = v.asnumpy()
        for j, o in enumerate(fouts):
            arrays[f"{cid}/fused_out/{j}"] = o
        for j, o in enumerate(uouts):
            arrays[f"{cid}/unfused_out/{j}"] = o
    meta["encode"] = gen_encode(mx)
    meta["iter"] = gen_iter(mx)
    lm_meta, lm_arrays = gen_lm(mx)
    meta.update(lm_meta)
    arrays.update(lm_arrays)
    return meta, arrays


def kind_has_gates(kind):
    return kind in ("rnn_tanh", "rnn_relu", "lstm", "gru", "stack", "bidirectional")


def gen_encode(mx):
    out = {}
    for cid, kwargs in ENCODE_CASES:
        res, vocab = mx.rnn.encode_sentences(SENTENCES, **kwargs)
        out[cid] = {"kwargs": kwargs, "encoded": res, "vocab": vocab}
    # a given vocabulary with one unknown word (MXNet's result is right for a single one)
    vocab = {"the": 1, "cat": 2, "sat": 3}
    res, vocab = mx.rnn.encode_sentences([["the", "cat"], ["cat", "dog", "sat"]], vocab=vocab,
                                         unknown_token="<unk>", start_label=4)
    out["given_vocab_one_unknown"] = {"encoded": res, "vocab": vocab}
    return out


def gen_iter(mx):
    out = {}
    sentences, _ = mx.rnn.encode_sentences(SENTENCES, invalid_label=0, start_label=1)
    for cid, bs, buckets, invalid, layout, seed in ITER_CASES:
        seed_all(seed)
        it = mx.rnn.BucketSentenceIter(sentences, bs, buckets=list(buckets) if buckets else None,
                                       invalid_label=invalid, layout=layout)
        epochs = []
        for _ in range(2):
            batches = []
            for b in it:
                batches.append({
                    "bucket_key": int(b.bucket_key),
                    "data": b.data[0].asnumpy().tolist(),
                    "label": b.label[0].asnumpy().tolist(),
                    "provide_data": [[d.name, list(d.shape)] for d in b.provide_data],
                    "provide_label": [[d.name, list(d.shape)] for d in b.provide_label],
                    "pad": int(b.pad),
                })
            it.reset()
            epochs.append(batches)
        out[cid] = {
            "buckets": list(it.buckets),
            "default_bucket_key": int(it.default_bucket_key),
            "provide_data": [[d.name, list(d.shape)] for d in it.provide_data],
            "provide_label": [[d.name, list(d.shape)] for d in it.provide_label],
            "epochs": epochs,
        }
    return out


def lm_initial_params(mx, vocab_size, fused=False):
    """Seeded initial parameters of the language model (stored in the fixture)."""
    _, sym_gen = lm_sym_gen(mx, vocab_size, fused)
    net, _, _ = sym_gen(max(LM["buckets"]))
    shape = (LM["batch_size"], max(LM["buckets"]))
    shapes = {"data": shape[::-1] if fused else shape,
              "softmax_label": shape[::-1] if fused else shape}
    arg_shapes, _, _ = net.infer_shape(**shapes)
    rng = np.random.RandomState(LM["seed"])
    return {n: (rng.standard_normal(s) * 0.3).astype(np.float32)
            for n, s in zip(net.list_arguments(), arg_shapes, strict=True) if n not in shapes}


def gen_lm(mx):
    sentences, vocab = lm_data(mx)
    vocab_size = len(vocab) + 1
    meta, arrays = {}, {}
    for key, fused in (("lm", False), ("lm_fused", True)):
        init = lm_initial_params(mx, vocab_size, fused)
        params, metric = train_lm(mx, sentences, vocab_size, init, fused)
        arrays.update({f"{key}/init/{n}": v for n, v in init.items()})
        arrays.update({f"{key}/final/{n}": v for n, v in params.items()})
        meta[key] = {"vocab_size": vocab_size, "perplexity": metric,
                     "arg_names": sorted(params)}
    return meta, arrays


def train_lm(mx, sentences, vocab_size, init, fused=False):
    """Train the language model as ``lstm_bucketing.py`` (``cudnn_rnn_bucketing.py`` with
    ``fused``) does; ``(final params, perplexity)``."""
    seed_all(LM["seed"])
    train = mx.rnn.BucketSentenceIter(sentences, LM["batch_size"], buckets=list(LM["buckets"]),
                                      invalid_label=LM["invalid_label"],
                                      layout="TN" if fused else "NT")
    _, sym_gen = lm_sym_gen(mx, vocab_size, fused)
    model = mx.mod.BucketingModule(sym_gen=sym_gen, default_bucket_key=train.default_bucket_key,
                                   context=mx.cpu(0))
    metric = mx.metric.Perplexity(LM["invalid_label"])
    model.fit(train_data=train, eval_metric=metric, kvstore="local", optimizer="sgd",
              optimizer_params={"learning_rate": LM["lr"], "momentum": LM["momentum"],
                                "wd": LM["wd"]},
              arg_params={n: mx.nd.array(v) for n, v in init.items()}, aux_params={},
              num_epoch=LM["epochs"])
    args, _ = model.get_params()
    return {n: v.asnumpy() for n, v in args.items()}, float(metric.get()[1])


def main():
    import mxnet as mx

    meta, arrays = gen(mx)
    with open(os.path.join(OUT, "rnn_cells.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    np.savez_compressed(os.path.join(OUT, "rnn_cells.npz"), **arrays)
    print(f"wrote {len(arrays)} arrays")


if __name__ == "__main__":
    main()
