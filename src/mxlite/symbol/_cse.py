"""Common-subexpression elimination of a bound graph, as MXNet 1.9.1's executor does at bind.

Two operator nodes are the same computation when they apply the same operator, with the same
attributes (the strings of ``Symbol.tojson``: ``scalar="1"`` and ``scalar="1.0"`` differ, as do
``__lr_mult__`` and other attributes) to the same inputs; every later one is replaced by the
first (in the graph's depth-first order), and the replacement repeats up the graph, so
``((a+b)+c) + ((a+b)+c)`` loses two nodes.  Never merged, as in MXNet 1.9.1:

* random operators (``Dropout``, samplers): two draws are not one;
* operators with auxiliary states or inputs they write (``BatchNorm``) and ``Custom``
  operators: they have state of their own;
* the operators MXNet 1.9.1 still runs as legacy stateful operators (:data:`NEVER_MERGED`,
  read from MXNet 1.9.1: ``SliceChannel``/``split``, ``Pad``, ``InstanceNorm``, ...).

When merging makes two graph outputs one array, each repeat becomes a ``_copy`` of the one
before it (``<name>_0_copy``, chained), so the outputs stay separate arrays, as MXNet's.
The numbers are those of the original graph; only work is saved.

``MXNET_ELIMINATE_COMMON_EXPR=0`` turns the pass off (it is on by default, as in MXNet).
"""

from __future__ import annotations

from ..base import env_switch

__all__ = ["NEVER_MERGED", "eliminate_common_expr", "enabled"]

#: operators MXNet 1.9.1 never merges although their inputs and attributes agree (legacy
#: OperatorProperty operators, which it treats as stateful; measured with MXNet 1.9.1)
NEVER_MERGED = frozenset({
    "SliceChannel", "split", "Pad", "pad", "InstanceNorm", "L2Normalization", "MakeLoss",
    "make_loss", "Crop", "SVMOutput", "SequenceLast", "SequenceReverse", "SequenceMask",
    "ROIPooling", "GridGenerator", "BilinearSampler", "SpatialTransformer", "Correlation",
    "IdentityAttachKLSparseReg", "RNN", "Dropout", "Custom",
})
_RANDOM_PREFIXES = ("_random_", "_sample_", "random_", "sample_", "_shuffle", "_npi_random")


def enabled() -> bool:
    """Whether ``MXNET_ELIMINATE_COMMON_EXPR`` leaves the pass on (default: on)."""
    return env_switch("MXNET_ELIMINATE_COMMON_EXPR")


def _mergeable(node) -> bool:
    op = node.op
    if op is None or op.name in NEVER_MERGED or op.name.startswith(_RANDOM_PREFIXES):
        return False
    return not op.aux_states(node.params) and not op.mutable_inputs(node.params)


def eliminate_common_expr(symbol):
    """``symbol`` with repeated computations merged (a new graph; ``symbol`` is unchanged).

    Returns ``symbol`` itself when nothing merges.
    """
    from .symbol import Symbol, _Node

    order = symbol._topo()
    canon: dict[int, object] = {}  # id(original node) -> node of the new graph
    seen: dict[tuple, object] = {}
    merged = False
    for node in order:
        if node.is_var:
            canon[id(node)] = node
            continue
        inputs = [(canon[id(child)], k) for child, k in node.inputs]
        key = None
        if _mergeable(node):
            key = (node.op.name, tuple(sorted(node.attrs.items())),
                   tuple((id(child), k) for child, k in inputs))
            first = seen.get(key)
            if first is not None:
                canon[id(node)] = first
                merged = True
                continue
        same = all(new is old for (new, _), (old, _) in zip(inputs, node.inputs, strict=True))
        new = node if same else _Node(node.op, node.name, node.attrs, inputs, node.params)
        canon[id(node)] = new
        if key is not None:
            seen[key] = new
    if not merged:
        return symbol
    from ..operator import registry

    copy_op = registry.get("_copy")
    outputs, latest = [], {}
    for node, k in symbol._outputs:
        entry = (canon[id(node)], k)
        ident = (id(entry[0]), k)
        if ident in latest:
            prev, pk = latest[ident]
            params = copy_op.parse_params({})
            entry = (_Node(copy_op, f"{prev.name}_0_copy", {}, [(prev, pk)], params), 0)
        latest[ident] = entry
        outputs.append(entry)
    optimized = Symbol(outputs)
    if (optimized.list_arguments() != symbol.list_arguments()
            or optimized.list_auxiliary_states() != symbol.list_auxiliary_states()):
        return symbol  # (never seen: merging kept the inputs' order; stay safe if not)
    return optimized
