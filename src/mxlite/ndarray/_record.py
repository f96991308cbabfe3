"""The autograd tape: recording state, graph nodes, the backward pass, and the routing of
``mx.nd`` calls onto registered operators while recording.

While :func:`mxlite.autograd.record` is active, every operator call on an NDArray that takes
part in a gradient computation (an input carries an autograd entry) runs through
:func:`mxlite.ndarray.op.invoke`, which records the operator, its parsed parameters, its
input and output arrays and whatever its ``forward`` saved.  Backward replays each node's
registered ``Operator.backward`` -- the same method the Symbol executor calls -- so the gradient
of every operator is written once.

The core NDArray functions (arithmetic, reductions, shape functions) compute with NumPy
directly when nothing is recorded; :func:`install` wraps them so that a recorded call goes
through the matching operator instead (``a + b`` is ``broadcast_add``, ``a * 2`` is
``_mul_scalar``, ``x.sum(axis=1)`` is ``sum``).  Outside a recording the wrappers cost one
attribute read.
"""

from __future__ import annotations

import functools
import numbers
import threading

import numpy as np

from ..base import MXNetError

__all__ = ["STATE", "Node", "Var", "backward", "install", "record_node"]


class _State(threading.local):
    """Per-thread flags, as MXNet's (``is_recording``, ``is_training``)."""

    recording = False
    training = False


STATE = _State()

# arrays a node's backward hands to the tape for reuse: id(array) -> the NDArray owning it
# (a bound executor's gradient buffer); the tape may swap such a buffer with a variable's
# gradient buffer instead of copying.  Cleared after every backward pass.
_DONATED: dict = {}


def donate(owner) -> np.ndarray:
    """Hand ``owner``'s buffer to the running backward pass (see ``_DONATED``)."""
    _DONATED[id(owner._data)] = owner
    return owner._data


class Var:
    """An array's autograd entry as a variable: its gradient buffer and ``grad_req``."""

    __slots__ = ("fresh", "grad", "req")

    def __init__(self, grad, req: str):
        self.grad = grad
        self.req = req
        self.fresh = False


class Node:
    """One recorded operator call.

    ``op`` has ``backward(p, out_grads, inputs, outputs, aux, saved)`` and ``is_loss(p)``;
    ``entries`` are the inputs' autograd entries (``None`` for constants).
    """

    __slots__ = ("aux", "entries", "freed", "in_arrays", "op", "out_arrays", "params", "saved")

    def __init__(self, op, params, entries, in_arrays, out_arrays, aux, saved):
        self.op = op
        self.params = params
        self.entries = entries
        self.in_arrays = in_arrays
        self.out_arrays = out_arrays
        self.aux = aux
        self.saved = saved
        self.freed = False


class Out:
    """An array's autograd entry as output ``index`` of ``node``."""

    __slots__ = ("index", "node")

    def __init__(self, node: Node, index: int):
        self.node = node
        self.index = index


def _live(e):
    """``e``, or None when it is the output of a graph already back-propagated and freed: as in
    MXNet, such an array is a constant in later recordings."""
    return None if type(e) is Out and e.node.freed else e


def tracked(xs) -> bool:
    """Whether any NDArray among ``xs`` takes part in a gradient computation."""
    for x in xs:
        e = getattr(x, "_ag", None)
        if e is not None and _live(e) is not None:
            return True
    return False


def record_node(op, params, inputs, in_arrays, outputs, aux=(), saved=None) -> None:
    """Record ``op`` called on NDArrays ``inputs`` giving NDArrays ``outputs`` (when any input
    is tracked): each output gets an entry pointing at the new node."""
    entries = [_live(x._ag) if x is not None else None for x in inputs]
    if all(e is None for e in entries):
        return
    node = Node(op, params, entries, list(in_arrays), [o._data for o in outputs], list(aux),
                saved)
    for i, o in enumerate(outputs):
        o._ag = Out(node, i)


def _topo(heads, stop=frozenset()) -> list[Node]:
    """Nodes reachable from the head entries, inputs before users; not through the entries
    whose id is in ``stop``."""
    order: list[Node] = []
    seen: set[int] = set()
    stack = [(e.node, False) for e in heads if isinstance(e, Out) and id(e) not in stop]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for e in node.entries:
            if isinstance(e, Out) and id(e) not in stop and id(e.node) not in seen:
                stack.append((e.node, False))
    return order


def _is_rsp(value) -> bool:
    return getattr(value, "stype", None) == "row_sparse"


def _add_var(store: dict, key, value, shape, dtype) -> None:
    """Accumulate a variable's gradient; row_sparse ones (Embedding(sparse_grad=True)) stay
    row_sparse while every contribution is."""
    old = store.get(key)
    if type(value) is np.ndarray and (old is None or type(old) is np.ndarray):
        _add(store, key, value, shape, dtype)  # dense (the usual case)
        return
    if _is_rsp(value) and (old is None or _is_rsp(old)):
        if value.dtype != dtype:
            value = value.astype(dtype)
        if old is not None:
            from .sparse import add

            value = add(old, value)
        store[key] = value
        return
    if _is_rsp(old):
        store[key] = old = old._dense()
    _add(store, key, value, shape, dtype)


def _dense_grad(g):
    return g._dense() if _is_rsp(g) else g


def _add(store: dict, key, value, shape, dtype) -> None:
    if type(value) is not np.ndarray:
        value = np.asarray(_dense_grad(value))
    if value.shape != shape:
        value = np.broadcast_to(value, shape)
    if value.dtype != dtype:
        value = value.astype(dtype)
    old = store.get(key)
    store[key] = value if old is None else old + value


def _owner(a):
    base = getattr(a, "base", None)
    return id(a if base is None else base)


def _direct_targets(order, heads) -> dict:
    """``id(Var) -> gradient buffer`` of the variables whose gradient an operator may write
    straight into their ``grad`` buffer (``writes_grads``), saving a copy per parameter: a
    dense buffer with ``grad_req='write'``, reached through exactly one node input (and not a
    head), whose memory no recorded array uses (a backward still to run may read those)."""
    counts: dict = {}
    vars_by_id: dict = {}
    for e in heads:
        if isinstance(e, Var):
            counts[id(e)] = 2
    used: set = set()
    for node in order:
        for e in node.entries:
            if isinstance(e, Var):
                counts[id(e)] = counts.get(id(e), 0) + 1
                vars_by_id[id(e)] = e
        for group in (node.in_arrays, node.out_arrays, node.aux):
            for a in group:
                used.add(_owner(a))
    direct = {}
    for key, n in counts.items():
        var = vars_by_id.get(key)
        if n != 1 or var is None or var.req != "write" or \
                getattr(var.grad, "stype", None) != "default":
            continue
        buf = getattr(var.grad, "_data", None)
        if type(buf) is np.ndarray and _owner(buf) not in used:
            direct[key] = buf
    return direct


def run_backward(heads, head_grads, retain_graph: bool, variables=None):
    """Back-propagate from NDArrays ``heads``.

    ``variables`` None: gradients go into the variables' ``grad`` buffers by their
    ``grad_req``; otherwise a list of NumPy gradients (zeros when unreached) for those NDArrays
    is returned and no buffer is touched.
    """
    entries = []
    for h in heads:
        e = h._ag
        if e is None:
            raise MXNetError(
                "cannot differentiate with respect to an array that is not the result of a "
                "recorded computation: call attach_grad() on the inputs and compute the head "
                "inside autograd.record()"
            )
        entries.append(e)
    grads: dict = {}  # id(node) -> {index: array}
    var_grads: dict = {}  # id(Var) -> array
    vars_seen: dict = {}
    for h, e, hg in zip(heads, entries, head_grads, strict=True):
        g = np.ones_like(h._data) if hg is None else np.asarray(
            hg._data if hasattr(hg, "_data") else hg, dtype=h._data.dtype)
        if isinstance(e, Var):
            vars_seen[id(e)] = e
            _add(var_grads, id(e), g, h.shape, h._data.dtype)
        else:
            _add(grads.setdefault(id(e.node), {}), e.index, g, h.shape, h._data.dtype)
    order = _topo(entries)
    for node in order:
        if node.freed:
            raise MXNetError(
                "the graph has already been back-propagated through and freed; pass "
                "retain_graph=True to the first backward to run backward twice"
            )
    direct = _direct_targets(order, entries) if variables is None and any(
        getattr(n.op, "writes_grads", False) for n in order) else {}
    for node in reversed(order):
        mine = grads.pop(id(node), None)
        loss = node.op.is_loss(node.params)
        if mine is None and not loss:
            continue
        mine = mine or {}
        out_grads = [mine[i] if i in mine else np.zeros_like(o)
                     for i, o in enumerate(node.out_arrays)]
        op = node.op
        kw = {}
        if getattr(op, "skips_grads", False):  # no GEMM for a constant input (a data batch)
            kw["need"] = [e is not None for e in node.entries]
        if direct and getattr(op, "writes_grads", False):
            gout = [direct.get(id(e)) for e in node.entries]
            if any(g is not None for g in gout):
                kw["gout"] = gout
        in_grads = op.backward(node.params, out_grads, node.in_arrays, node.out_arrays,
                               node.aux, node.saved, **kw)
        for e, g, x in zip(node.entries, in_grads, node.in_arrays, strict=False):
            if e is None or g is None:
                continue
            if isinstance(e, Var):
                vars_seen[id(e)] = e
                _add_var(var_grads, id(e), g, x.shape, x.dtype)
            else:
                _add(grads.setdefault(id(e.node), {}), e.index, g, x.shape, x.dtype)
    try:
        return _finish_backward(order, retain_graph, variables, vars_seen, var_grads)
    finally:
        _DONATED.clear()


def _head_entries(heads) -> list:
    entries = []
    for h in heads:
        if h._ag is None:
            raise MXNetError(
                "cannot differentiate with respect to an array that is not the result of a "
                "recorded computation: call attach_grad() on the inputs and compute the head "
                "inside autograd.record()"
            )
        entries.append(h._ag)
    return entries


def _accumulate(store: dict, key, g, shape):
    """Add NDArray gradient ``g`` into ``store[key]`` with a recorded addition."""
    if g.shape != tuple(shape):
        from .op import invoke

        g = invoke("broadcast_to", (g,), {"shape": tuple(shape)})
    old = store.get(key)
    store[key] = g if old is None else old + g


def graph_pass(entries, head_grads, ctx, stop=frozenset()) -> dict:
    """The recorded backward pass from autograd ``entries`` with NDArray ``head_grads``:
    ``{id(entry): NDArray gradient}`` for the variables reached and for the entries in
    ``stop`` (ids), which are not gone through.  Recording must be on."""
    from ..operator._higher_order import input_grads
    from .ndarray import NDArray

    grads: dict = {}  # id(node) -> {index: NDArray}
    leaf: dict = {}  # id(Var or stop entry) -> NDArray

    def add(e, g, shape):
        if isinstance(e, Var) or id(e) in stop:
            _accumulate(leaf, id(e), g, shape)
        else:
            _accumulate(grads.setdefault(id(e.node), {}), e.index, g, shape)

    for e, g in zip(entries, head_grads, strict=True):
        add(e, g, g.shape)
    order = _topo(entries, stop)
    for node in order:
        if node.freed:
            raise MXNetError(
                "the graph has already been back-propagated through and freed; pass "
                "retain_graph=True to the first backward to run backward twice")
    for node in reversed(order):
        mine = grads.pop(id(node), None)
        if mine is None and not node.op.is_loss(node.params):
            continue
        mine = mine or {}
        out_grads = [mine[i] if i in mine else NDArray(np.zeros_like(o), ctx)
                     for i, o in enumerate(node.out_arrays)]
        in_grads = input_grads(node, out_grads, ctx)
        for e, g, x in zip(node.entries, in_grads, node.in_arrays, strict=False):
            if e is not None and g is not None:
                add(e, g, x.shape)
    return leaf


def run_backward_graph(heads, head_grads, variables) -> list:
    """Back-propagate from NDArrays ``heads`` recording the backward pass itself
    (``create_graph=True``): each node's gradient comes from
    :func:`mxlite.operator._higher_order.input_grads` as recorded NDArray operations.  Returns
    one NDArray per variable (zeros where unreached) that can be differentiated again."""
    from ..operator._higher_order import connect
    from .ndarray import NDArray

    entries = _head_entries(heads)
    ctx = heads[0].context
    prev = STATE.recording
    STATE.recording = True
    try:
        hgs = []
        for h, hg in zip(heads, head_grads, strict=True):
            if hg is None:
                hg = NDArray(np.ones_like(h._data), ctx)
            elif not isinstance(hg, NDArray):
                hg = NDArray(np.asarray(hg, dtype=h._data.dtype), ctx)
            elif hg.shape != h.shape:
                raise ValueError(f"head gradient of shape {hg.shape} for a head of shape "
                                 f"{h.shape}")
            hgs.append(hg)
        var_grads = graph_pass(entries, hgs, ctx)
    finally:
        STATE.recording = prev
        _DONATED.clear()
    # the recorded gradients refer to the nodes they came from (``tanh``'s to its output), so
    # the graph stays alive even without retain_graph, as in MXNet
    out = []
    for v in variables:
        g = var_grads.get(id(v._ag))
        if g is None:
            g = NDArray(np.zeros_like(v._data), v.context)
        elif g.dtype != v._data.dtype:
            g = g.astype(v._data.dtype)
        elif any(g is hg for hg in head_grads):
            g = g.copy()  # a new array, never the caller's head gradient itself
        if g._ag is None and v._ag is not None:
            g = connect(g, v)  # constant in v: its own gradient is zero
        out.append(g)
    return out


def _finish_backward(order, retain_graph, variables, vars_seen, var_grads):
    if not retain_graph:
        for node in order:
            node.freed = True
            node.in_arrays = node.out_arrays = node.aux = node.saved = None
    if variables is not None:
        out = []
        for v in variables:
            e = v._ag
            g = _dense_grad(var_grads.get(id(e))) if isinstance(e, Var) else None
            # a copy: g may be a buffer an executor writes into again next time
            out.append(np.zeros_like(v._data) if g is None else np.array(g, copy=True))
        return out
    for key, var in vars_seen.items():
        g = var_grads.get(key)
        if var.req == "null" or var.grad is None:
            continue
        if _is_rsp(var.grad):
            _write_rsp(var, g)
            var.fresh = True
            continue
        g = _dense_grad(g)
        buf = var.grad._data
        if var.req == "add":
            if g is not None:
                buf += g
        elif g is None:
            buf[...] = 0
        elif g is buf:
            pass  # the operator wrote it there (see _direct_targets)
        else:
            owner = _DONATED.pop(id(g), None)
            if owner is not None and owner._data is g and g.shape == buf.shape and \
                    g.dtype == buf.dtype and g.flags.c_contiguous:
                owner._data = buf  # swap, no copy: the executor writes next into the old one
                var.grad._data = g
            else:
                np.copyto(buf, g, casting="unsafe")
        var.fresh = True
    return None


def _write_rsp(var, g) -> None:
    """Store gradient ``g`` (row_sparse, dense or None) in the row_sparse buffer of ``var``."""
    from . import sparse

    buf = var.grad
    if g is None:
        g = sparse.zeros("row_sparse", buf.shape, buf.context, buf.dtype)
    elif not _is_rsp(g):
        from .ndarray import NDArray

        g = sparse.cast_storage(NDArray(np.asarray(g, dtype=buf.dtype), buf.context),
                                "row_sparse")
    if g.dtype != buf.dtype:
        g = g.astype(buf.dtype)
    buf._assign(sparse.add(buf, g) if var.req == "add" else g)


def backward(heads, head_grads=None, retain_graph: bool = False, train_mode: bool = True):
    """Gradients of ``heads`` into the attached gradient buffers (see ``mx.autograd``)."""
    from .ndarray import NDArray

    if isinstance(heads, NDArray):
        heads = [heads]
        head_grads = [head_grads] if head_grads is not None else None
    heads = list(heads)
    if head_grads is None:
        head_grads = [None] * len(heads)
    elif isinstance(head_grads, NDArray):
        head_grads = [head_grads]
    if len(head_grads) != len(heads):
        raise ValueError(f"head_grads has {len(head_grads)} arrays for {len(heads)} heads")
    old = STATE.training
    STATE.training = bool(train_mode)
    try:
        run_backward(heads, list(head_grads), retain_graph)
    finally:
        STATE.training = old


# ---------------------------------------------------------------------- python-level nodes
class PyOp:
    """A node operator whose backward is a Python function ``fn(out_grads, saved)``."""

    def __init__(self, name: str, fn):
        self.name = name
        self.fn = fn

    def is_loss(self, p) -> bool:
        return False

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        return self.fn(out_grads, inputs, saved)


def _getitem_backward(out_grads, inputs, saved):
    key, _, view_shape = saved
    g = np.zeros(inputs[0].shape, dtype=inputs[0].dtype)
    np.add.at(g, key, out_grads[0].reshape(view_shape))
    return [g]


_GETITEM = PyOp("_getitem", _getitem_backward)


def _prod_backward(out_grads, inputs, saved):
    """``d x_i = d y * prod_{j != i} x_j`` from exclusive cumulative products of each reduction
    group (no division: exact where the input is zero)."""
    x = inputs[0]
    axes = saved
    keep = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, keep + list(axes))
    groups = moved.reshape(*moved.shape[:len(keep)], -1)
    ones = np.ones((*groups.shape[:-1], 1), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, groups[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, groups[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = np.transpose((left * right).reshape(moved.shape), np.argsort(keep + list(axes)))
    keep_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return [np.asarray(others * out_grads[0].reshape(keep_shape), dtype=x.dtype)]


_PROD = PyOp("prod", _prod_backward)


# ---------------------------------------------------------------------- routing
def _invoke(opname, inputs, out=None, **params):
    from .op import invoke

    return invoke(opname, tuple(inputs), params, out=out)


_SCALAR_TYPES = (numbers.Number, np.generic)

# dunder name -> (broadcast op, op with scalar on the right, op with scalar on the left)
_BINARY_ROUTES = {
    "add": ("broadcast_add", "_plus_scalar", "_plus_scalar"),
    "sub": ("broadcast_sub", "_minus_scalar", "_rminus_scalar"),
    "mul": ("broadcast_mul", "_mul_scalar", "_mul_scalar"),
    "div": ("broadcast_div", "_div_scalar", "_rdiv_scalar"),
    "mod": ("broadcast_mod", "_mod_scalar", "_rmod_scalar"),
    "power": ("broadcast_power", "_power_scalar", "_rpower_scalar"),
    "maximum": ("broadcast_maximum", "_maximum_scalar", "_maximum_scalar"),
    "minimum": ("broadcast_minimum", "_minimum_scalar", "_minimum_scalar"),
}


def _binary_route(kind):
    bop, right, left = _BINARY_ROUTES[kind]

    def route(lhs, rhs, out=None, name=None):
        from .ndarray import NDArray

        if isinstance(lhs, NDArray) and isinstance(rhs, NDArray):
            return _invoke(bop, [lhs, rhs], out)
        if isinstance(lhs, NDArray) and isinstance(rhs, _SCALAR_TYPES):
            return _invoke(right, [lhs], out, scalar=float(rhs))
        if isinstance(rhs, NDArray) and isinstance(lhs, _SCALAR_TYPES):
            return _invoke(left, [rhs], out, scalar=float(lhs))
        raise TypeError(f"{kind}: type {type(lhs)} and {type(rhs)} not supported")

    return route


def _simple(opname, names=()):
    """A route for ``fn(data, *params)`` onto ``opname`` with the given parameter names."""

    def route(data, *args, out=None, name=None, **kwargs):
        params = dict(zip(names, args, strict=False))
        params.update(kwargs)
        return _invoke(opname, [data], out, **{k: v for k, v in params.items() if v is not None})

    return route


def _two(opname, names=()):
    def route(a, b, *args, out=None, name=None, **kwargs):
        params = dict(zip(names, args, strict=False))
        params.update(kwargs)
        return _invoke(opname, [a, b], out, **{k: v for k, v in params.items() if v is not None})

    return route


def _reduce(opname):
    def route(data, axis=None, keepdims=False, exclude=False, out=None):
        params = {"keepdims": keepdims, "exclude": exclude}
        if axis is not None:
            params["axis"] = axis
        return _invoke(opname, [data], out, **params)

    return route


def _prod(data, axis=None, keepdims=False, exclude=False, out=None):
    """``prod`` has no registered operator: computed as usual, recorded with its gradient."""
    from ..operator.tensor._common import _axes
    from .ndarray import prod

    result = prod.__wrapped__(data, axis, keepdims, exclude, out)
    record_node(_PROD, None, [data], [data._data], [result],
                saved=_axes(axis, data.ndim, exclude, "prod"))
    return result


def _norm(data, ord=2, axis=None, keepdims=False, out=None):
    params = {"ord": ord, "keepdims": keepdims}
    if axis is not None:
        params["axis"] = axis
    return _invoke("norm", [data], out, **params)


def _transpose(data, axes=None, out=None):
    return _invoke("transpose", [data], out, axes=tuple(axes) if axes else ())


def _moveaxis(data, source, destination):
    order = [a for a in range(data.ndim) if a != source % data.ndim]
    order.insert(destination % data.ndim, source % data.ndim)
    return _transpose(data, order)


def _where(condition, x, y, out=None):
    return _invoke("where", [condition, x, y], out)


def _clip(data, a_min, a_max, out=None):
    return _invoke("clip", [data], out, a_min=a_min, a_max=a_max)


def _cast(data, dtype, out=None):
    return _invoke("Cast", [data], out, dtype=np.dtype(dtype).name)


def _concat(*data, dim=1, out=None):
    return _invoke("Concat", list(data), out, dim=dim)


def _stack(*data, axis=0, out=None):
    return _invoke("stack", list(data), out, axis=axis)


def _split(data, num_outputs, axis=1, squeeze_axis=False):
    return _invoke("SliceChannel", [data], None, num_outputs=num_outputs, axis=axis,
                   squeeze_axis=squeeze_axis)


def _topk(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32", out=None):
    """``topk`` (and through it ``sort`` / ``argsort``): the ``topk`` operator, whose values
    send their gradient back to where they were taken from."""
    return _invoke("topk", [data], out, axis=axis, k=k, ret_typ=ret_typ, is_ascend=is_ascend,
                   dtype=np.dtype(dtype).name)


def _reshape(data, shape, reverse=False, out=None):
    return _invoke("Reshape", [data], out, shape=tuple(shape), reverse=reverse)


def _take(a, indices, axis=0, mode="clip", out=None):
    return _invoke("take", [a, indices], out, axis=axis, mode=mode)


def _pick(data, index, axis=-1, keepdims=False, mode="clip", out=None):
    return _invoke("pick", [data, index], out, axis=axis, keepdims=keepdims, mode=mode)


def _softmax(opname):
    def route(data, axis=-1, temperature=None, out=None):
        params = {"axis": axis}
        if temperature is not None:
            params["temperature"] = temperature
        return _invoke(opname, [data], out, **params)

    return route


_UNARY = ("sqrt", "rsqrt", "square", "abs", "sign", "exp", "expm1", "log", "log1p", "sigmoid",
          "relu", "tanh", "negative", "reciprocal", "floor", "ceil", "round", "rint", "fix",
          "trunc")

_FUNCTION_ROUTES = {
    **{n: _simple(n) for n in _UNARY},
    **{f"broadcast_{k}": _two(f"broadcast_{k}") for k in
       ("add", "sub", "mul", "div", "mod", "power", "maximum", "minimum")},
    **{f"elemwise_{k}": _two(f"elemwise_{k}") for k in ("add", "sub", "mul", "div")},
    "maximum": _binary_route("maximum"),
    "minimum": _binary_route("minimum"),
    "power": _binary_route("power"),
    "modulo": _binary_route("mod"),
    "sum": _reduce("sum"),
    "mean": _reduce("mean"),
    "max": _reduce("max"),
    "min": _reduce("min"),
    "prod": _prod,
    "norm": _norm,
    "dot": _two("dot", ("transpose_a", "transpose_b")),
    "transpose": _transpose,
    "moveaxis": _moveaxis,
    "swapaxes": _simple("SwapAxis", ("dim1", "dim2")),
    "reshape": _reshape,
    "reshape_like": _two("reshape_like"),
    "flatten": _simple("Flatten"),
    "expand_dims": _simple("expand_dims", ("axis",)),
    "squeeze": _simple("squeeze", ("axis",)),
    "broadcast_to": _simple("broadcast_to", ("shape",)),
    "broadcast_axis": _simple("broadcast_axis", ("axis", "size")),
    "tile": _simple("tile", ("reps",)),
    "repeat": _simple("repeat", ("repeats", "axis")),
    "flip": _simple("flip", ("axis",)),
    "slice_axis": _simple("slice_axis", ("axis", "begin", "end")),
    "split": _split,
    "take": _take,
    "pick": _pick,
    "softmax": _softmax("softmax"),
    "log_softmax": _softmax("log_softmax"),
    "clip": _clip,
    "cast": _cast,
    "where": _where,
    "concat": _concat,
    "stack": _stack,
    "topk": _topk,
}


def _flat_args(args, kwargs):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a
    yield from kwargs.values()


def _wrap(orig, route):
    @functools.wraps(orig)
    def fn(*args, **kwargs):
        kwargs.pop("name", None)  # MXNet's nd functions take a node name and ignore it
        if STATE.recording and tracked(_flat_args(args, kwargs)):
            return route(*args, **kwargs)
        return orig(*args, **kwargs)

    fn.__wrapped_route__ = route
    return fn


def _method_routes(NDArray):
    def binary(kind, reflected=False):
        route = _binary_route(kind)
        if reflected:
            return lambda self, o: route(o, self)
        return lambda self, o: route(self, o)

    def inplace(kind):
        route = _binary_route(kind)

        def fn(self, o):
            if isinstance(self._ag, Var):
                raise MXNetError(
                    "in-place operations (+=, -=, *=, /=) on an array marked with attach_grad() "
                    "are not supported while recording; write y = x + ... instead")
            result = route(self, o)
            self._data = result._data  # a recorded array gets a new buffer: saved inputs stay
            self._ag = result._ag
            return self

        return fn

    def reshape(self, *shape, reverse=False, **kwargs):
        if "shape" in kwargs:
            shape = kwargs.pop("shape")
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _reshape(self, shape, reverse)

    def getitem(self, key):
        from .ndarray import _index_key, _last_int_as_slice

        plain = NDArray.__getitem__.__wrapped__(self, key)
        nkey, advanced = _index_key(key)
        if not advanced:
            region = self._data[nkey]
            if not isinstance(region, np.ndarray) or region.ndim == 0:
                nkey = _last_int_as_slice(nkey, self._data.shape)
        view_shape = np.shape(self._data[nkey])
        out = NDArray(plain._data.copy(), plain._ctx)
        record_node(_GETITEM, None, [self], [self._data], [out],
                    saved=(nkey, self.shape, view_shape))
        return out

    def setitem(self, key, value):
        raise MXNetError(
            "Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with "
            "autograd: assigning into an array that takes part in a recorded computation "
            "(x[...] = ...) is not recorded; build the value with operators (e.g. where, "
            "concat) instead, or assign outside autograd.record()")

    routes = {
        "__setitem__": setitem,
        "__add__": binary("add"), "__radd__": binary("add", True),
        "__sub__": binary("sub"), "__rsub__": binary("sub", True),
        "__mul__": binary("mul"), "__rmul__": binary("mul", True),
        "__truediv__": binary("div"), "__rtruediv__": binary("div", True),
        "__mod__": binary("mod"), "__rmod__": binary("mod", True),
        "__pow__": binary("power"), "__rpow__": binary("power", True),
        "__iadd__": inplace("add"), "__isub__": inplace("sub"), "__imul__": inplace("mul"),
        "__itruediv__": inplace("div"),
        "__neg__": lambda self: _invoke("negative", [self]),
        "reshape": reshape,
        "astype": lambda self, dtype, copy=True: _cast(self, dtype),
        "copy": lambda self: _invoke("_copy", [self]),
        "__getitem__": getitem,
    }
    return routes


def install(namespace: dict, NDArray) -> None:
    """Wrap the core functions in ``namespace`` and NDArray's methods so that recorded calls
    go through registered operators (see the module docstring)."""
    for name, route in _FUNCTION_ROUTES.items():
        if name in namespace and not hasattr(namespace[name], "__wrapped_route__"):
            namespace[name] = _wrap(namespace[name], route)
    for name, route in _method_routes(NDArray).items():
        orig = NDArray.__dict__[name]
        if hasattr(orig, "__wrapped_route__"):
            continue
        wrapped = _wrap(orig, route)
        setattr(NDArray, name, wrapped)
    NDArray.__div__ = NDArray.__truediv__
    NDArray.__rdiv__ = NDArray.__rtruediv__
    NDArray.__idiv__ = NDArray.__itruediv__
