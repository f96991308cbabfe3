"""Structure checks of MXNet symbol JSON, before a graph is built from it.

``check_graph`` checks the shape of the document (a JSON object with a ``nodes`` list of node
objects and a non-empty ``heads`` list); ``check_entry`` checks one ``[node, output, version]``
reference against the nodes built so far: the node must come earlier in the list (so a graph is
acyclic and built in one pass, without recursion) and have that output.
"""

from __future__ import annotations

from ..base import MXNetError

__all__ = ["check_entry", "check_graph"]

_ATTR_KEYS = ("attrs", "attr", "param")


def _short(x, n: int = 80) -> str:
    text = repr(x)
    return text if len(text) <= n else text[:n] + "..."


def check_graph(graph, source: str) -> None:
    """MXNetError naming ``source`` unless ``graph`` looks like a symbol JSON document."""
    if not isinstance(graph, dict):
        raise MXNetError(f"{source}: not a symbol JSON (a {type(graph).__name__}, not an object)")
    for key in ("nodes", "heads"):
        if not isinstance(graph.get(key), list):
            raise MXNetError(f"{source}: not a symbol JSON (no {key!r} list)")
    if not graph["heads"]:
        raise MXNetError(f"{source}: symbol JSON has no heads")
    attrs = graph.get("attrs")
    if attrs is not None and not isinstance(attrs, dict):
        raise MXNetError(f"{source}: symbol JSON 'attrs' is not an object")
    for i, node in enumerate(graph["nodes"]):
        if not isinstance(node, dict):
            raise MXNetError(f"{source}: node {i} is {_short(node)}, not a node object")
        for key in ("op", "name"):
            if not isinstance(node.get(key, ""), str):
                raise MXNetError(f"{source}: node {i} has {key} {_short(node[key])}, not a string")
        for key in _ATTR_KEYS:
            value = node.get(key)
            if value is None:
                continue
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, (str, int, float, bool))
                for k, v in value.items()
            ):
                raise MXNetError(
                    f"{source}: node {i} ({node.get('name', '')!r}) {key} must map names to "
                    f"strings, got {_short(value)}"
                )
        if not isinstance(node.get("inputs", []), list):
            raise MXNetError(f"{source}: node {i} inputs {_short(node['inputs'])} is not a list")


def check_entry(entry, built: list, source: str, what: str) -> bool:
    """True when ``entry`` is ``[node, output(, version)]`` naming an output of ``built``."""
    if (
        not isinstance(entry, list) or len(entry) not in (2, 3)
        or not all(type(v) is int for v in entry)
    ):
        raise MXNetError(f"{source}: {what} {_short(entry)} is not [node, output, version]")
    node, out = entry[0], entry[1]
    if not 0 <= node < len(built):
        raise MXNetError(
            f"{source}: {what} {entry} refers to node {node}, but only nodes 0..{len(built) - 1} "
            "come before it"
        )
    n_out = built[node].num_outputs()
    if not 0 <= out < n_out:
        raise MXNetError(
            f"{source}: {what} {entry} refers to output {out} of node {node} "
            f"({built[node].name!r}), which has {n_out} output{'s' if n_out != 1 else ''}"
        )
    return True
