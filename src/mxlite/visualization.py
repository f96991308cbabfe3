"""``mx.viz``: ``print_summary`` (a Keras-style table of a network's layers, as MXNet 1.9.1
prints it) and ``plot_network`` (a graphviz drawing; ``pip install 'mxlite[viz]'``).

>>> import mxlite as mx
>>> net = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
>>> mx.viz.print_summary(net, shape={"data": (1, 3)}, line_length=64)
... # doctest: +NORMALIZE_WHITESPACE
________________________________________________________________
Layer (type)                Output ShapeParam #Previous Layer
================================================================
data(null)                  3           0
________________________________________________________________
fc(FullyConnected)          4           16     data
================================================================
Total params: 16
________________________________________________________________

MXNet 1.9.1 shows only the first input variable and counts an operator's parameters from its
first shown input, so a second data input and the layers fed by it show 0 parameters there;
mxlite shows every input given in ``shape`` and counts each layer's parameters from their
shapes.
"""

from __future__ import annotations

import json

import numpy as np

__all__ = ["plot_network", "print_summary"]


def _graph(symbol):
    conf = json.loads(symbol.tojson())
    return conf["nodes"], set(symbol.list_auxiliary_states())


def _shapes(symbol, shape):
    if not shape:
        return {}
    internals = symbol.get_internals()
    _, out_shapes, _ = internals.infer_shape_partial(**shape)
    return dict(zip(internals.list_outputs(), out_shapes, strict=True))


def _is_param(node, data_names, aux_names) -> bool:
    name = node["name"]
    return (node["op"] == "null" and name not in data_names and name not in aux_names
            and not name.endswith("label"))


def print_summary(symbol, shape=None, line_length=120, positions=(0.44, 0.64, 0.74, 1.0)):
    """Print each layer's name(type), output shape (batch axis dropped), parameter count and
    input layers, then the total parameter count.  ``shape``: input name -> shape."""
    if not hasattr(symbol, "tojson"):
        raise TypeError(f"print_summary: symbol must be a Symbol, got {type(symbol).__name__}")
    if shape is not None and not isinstance(shape, dict):
        raise TypeError(f"print_summary: shape must be a dict of input shapes, got {shape!r}")
    nodes, aux_names = _graph(symbol)
    shapes = _shapes(symbol, shape)
    data_names = set(shape or {})
    arg_shapes = {}
    if shape:
        args, _, _ = symbol.infer_shape_partial(**shape)
        arg_shapes = dict(zip(symbol.list_arguments(), args, strict=True))
    stops = [int(line_length * p) if p <= 1 else int(p) for p in positions]

    def row(fields):
        line = ""
        for text, stop in zip(fields, stops, strict=True):
            line = (line + str(text))[:stop]
            line += " " * (stop - len(line))
        print(line)

    print("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"])
    print("=" * line_length)
    total = 0
    shown = [i for i, n in enumerate(nodes)
             if n["op"] != "null" or n["name"] in data_names]
    for k, i in enumerate(shown):
        node = nodes[i]
        name, op = node["name"], node["op"]
        key = name if op == "null" else f"{name}_output"
        if op != "null" and key not in shapes:
            key = next((s for s in shapes if s.startswith(f"{name}_output")), key)
        out = shapes.get(key)
        out_text = "x".join(str(d) for d in out[1:]) if out else ""
        params, previous = 0, []
        for src, _, _ in node["inputs"]:
            child = nodes[src]
            if _is_param(child, data_names, aux_names):
                size = arg_shapes.get(child["name"])
                params += int(np.prod(size)) if size else 0
            elif child["op"] != "null" or child["name"] in data_names:
                previous.append(child["name"])
        total += params
        row([f"{name}({op})", out_text, params, previous[0] if previous else ""])
        for extra in previous[1:]:
            row(["", "", "", extra])
        print(("=" if k == len(shown) - 1 else "_") * line_length)
    print(f"Total params: {total}")
    print("_" * line_length)


def plot_network(symbol, title="plot", save_format="pdf", shape=None, dtype=None,
                 node_attrs=None, hide_weights=True):
    """A ``graphviz.Digraph`` of the network (operators as boxes, inputs as ovals; weights
    hidden unless ``hide_weights=False``); edges carry output shapes when ``shape`` is given."""
    try:
        from graphviz import Digraph
    except ImportError:
        raise ImportError("plot_network needs graphviz: pip install 'mxlite[viz]'") from None
    nodes, aux_names = _graph(symbol)
    shapes = _shapes(symbol, shape)
    data_names = set(shape or {}) | {n for n in symbol.list_inputs()
                                     if not n.endswith(("weight", "bias", "gamma", "beta"))}
    dot = Digraph(name=title, format=save_format)
    attrs = {"shape": "box", "fixedsize": "false", "style": "filled"}
    attrs.update(node_attrs or {})
    hidden = set()
    for i, node in enumerate(nodes):
        name, op = node["name"], node["op"]
        if op == "null":
            if hide_weights and (name not in data_names or name in aux_names):
                hidden.add(i)
                continue
            dot.node(str(i), name, shape="oval", style="filled", fillcolor="#8dd3c7")
        else:
            node_attrs_ = node.get("attrs", {})
            size = node_attrs_.get("num_filter", node_attrs_.get("num_hidden", ""))
            label = f"{op}\n{size}" if op in ("Convolution", "FullyConnected") else op
            dot.node(str(i), f"{name}\n{label}", **dict(attrs, fillcolor="#fb8072"))
    for i, node in enumerate(nodes):
        if node["op"] == "null":
            continue
        for src, _, _ in node["inputs"]:
            if src in hidden:
                continue
            child = nodes[src]
            key = child["name"] if child["op"] == "null" else f"{child['name']}_output"
            out = shapes.get(key)
            label = "x".join(str(d) for d in out[1:]) if out else ""
            dot.edge(str(src), str(i), label=label, dir="back")
    return dot
