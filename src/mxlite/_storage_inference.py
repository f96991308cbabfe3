"""Storage-type inference: which operators give row_sparse / csr results, as MXNet 1.9.1.

MXNet gives every operator a storage-type function (``FInferStorageType``): from the storage
types of the inputs it picks the outputs' storage types and how the operator runs (its dense
kernel, a sparse kernel, or the *storage fallback*: sparse inputs densified, dense kernel,
dense outputs, with a logged warning).  mxlite keeps those rules in this module, one rule per
operator family (``RULES``, read by :meth:`Operator.infer_storage_type`), and the matching
rules for the storage types of gradients (``GRAD_RULES``, read by
:meth:`Operator.infer_grad_storage_type`; ``simple_bind`` allocates gradient arrays of these
types).  An operator class may override either hook (the scatter operators of
:mod:`mxlite.operator.sparse` do).

The executor (:mod:`mxlite.executor`) calls :func:`plan` at bind and :func:`forward_step` for the
operators whose inputs or outputs are sparse; ``mx.nd`` calls :func:`invoke_sparse` for
operators given sparse arrays.  Values of a sparse result are those of the dense computation:
operators with a sparse implementation (``SPARSE_IMPL``: elementwise arithmetic, ``dot``,
``retain``, ``cast_storage``, ...) build the sparse array directly, so its stored rows are
MXNet's (``rsp + rsp`` stores the union of the rows); the others are computed densely and then
cast to the inferred storage.

The rules (``d`` dense, ``r`` row_sparse, ``c`` csr), checked against MXNet 1.9.1 by
``tests/sparse/test_executor_stypes.py`` (fixture of ``tools/gen_golden_sparse_executor.py``):

* zero-preserving unary operators (``abs``, ``square``, ``sqrt``, ``sin``, ``relu``, ``_copy``,
  ``zeros_like``, ``*`` or ``/`` by a scalar, ``> scalar``, ...): ``r -> r``, ``c -> c``; the
  others (``exp``, ``sigmoid``, ``+ scalar``, ...) give dense results;
* ``elemwise_add`` / ``elemwise_sub`` / ``_maximum`` / ``_minimum`` / ``_hypot``: ``r, r -> r``,
  ``c, c -> c``, else dense; ``elemwise_mul`` also ``d, r -> r`` and ``d, c -> c`` (both
  orders), not ``r, c``; ``elemwise_div`` is always dense; ``add_n``: all ``r`` -> ``r``;
* ``dot``: ``dot(c, d)`` dense, ``dot(c.T, d | r)`` row_sparse, ``dot(d, c)`` csr;
* ``cast_storage`` its ``stype``, ``_sparse_retain`` row_sparse for row_sparse data,
  ``_square_sum`` row_sparse for row_sparse data with ``axis=1, keepdims=True``, ``clip`` of a
  sparse array keeps its storage when ``a_min <= 0 <= a_max``; ``BatchNorm(fix_gamma=True)``
  refuses sparse inputs (MXNet issue 11647).  Where MXNet refuses inputs that have a clear
  answer (csr <-> row_sparse casts, ``retain`` / ``_square_sum`` of dense data, ``clip`` moving
  the zeros of a sparse array) mxlite computes it;
* everything else: the storage fallback.

Gradients (``simple_bind``'s gradient arrays; head gradients take their output's storage):
row_sparse for ``Embedding(sparse_grad=True)``'s weight and ``dot(csr, rhs)``'s ``rhs``, the
output gradient's storage through identity-like backward passes (``_copy``, ``negative``,
``elemwise_add``, ``* scalar``, ``cast_storage``, ...), the input's storage for operators
whose gradient is zero (``sign``, ``round``, ``BlockGrad``, ``ones_like``, comparisons),
the common sparse storage of ``(output gradient, input)`` for ``square``, ``abs`` and ``relu``,
dense elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from .base import MXNetError, env_switch

__all__ = ["CSR", "DNS", "RSP", "forward_step", "infer_backward", "invoke_sparse", "plan"]

DNS, RSP, CSR = "default", "row_sparse", "csr"

#: how an operator runs: its dense kernel on dense inputs, a sparse kernel, or the fallback
DENSE, SPARSE, FALLBACK = "dense", "sparse", "fallback"

_log = logging.getLogger("mxlite.storage")
_logged: set[str] = set()


# ---------------------------------------------------------------------- forward rules
def _all(stypes, st) -> bool:
    return bool(stypes) and all(s == st for s in stypes)


def default_rule(p, in_stypes, n_out: int):
    """Dense outputs; the storage fallback when an input is sparse."""
    mode = DENSE if _all(in_stypes, DNS) or not in_stypes else FALLBACK
    return [DNS] * n_out, mode


def _same_sparse(rsp: bool = True, csr: bool = True, dense_ok: bool = False):
    """All inputs row_sparse -> row_sparse, all csr -> csr, otherwise dense (``dense_ok``:
    MXNet's sparse kernel takes a dense and a sparse input and writes a dense result, no
    fallback)."""

    def rule(p, ins, n_out):
        if _all(ins, DNS):
            return [DNS] * n_out, DENSE
        if rsp and _all(ins, RSP):
            return [RSP] * n_out, SPARSE
        if csr and _all(ins, CSR):
            return [CSR] * n_out, SPARSE
        return [DNS] * n_out, SPARSE if dense_ok and DNS in ins else FALLBACK

    return rule


def _sparse_dense_out(p, ins, n_out):
    """Dense result from a sparse kernel (``ones_like``, ``+ scalar``): never a fallback."""
    return [DNS] * n_out, DENSE if _all(ins, DNS) else SPARSE


def _elemwise_mul(p, ins, n_out):
    lhs, rhs = ins
    if lhs == rhs:
        return [lhs], DENSE if lhs == DNS else SPARSE
    if DNS in ins:  # dense times a sparse array keeps the sparse one's storage
        return [rhs if lhs == DNS else lhs], SPARSE
    return [DNS], FALLBACK  # row_sparse * csr


def _scatter_div(p, ins, n_out):
    if ins[0] == RSP:
        return [RSP], SPARSE
    return default_rule(p, ins, n_out)


def _broadcast_mul(p, ins, n_out):
    if ins == [CSR, DNS]:
        return [CSR], SPARSE
    return default_rule(p, ins, n_out)


def _dot(p, ins, n_out):
    lhs, rhs = ins
    if lhs == CSR and rhs in (DNS, RSP) and p.transpose_a and not p.transpose_b:
        return [RSP], SPARSE
    if lhs == CSR and rhs == DNS:
        return [DNS], SPARSE
    if lhs == DNS and rhs == CSR and not p.transpose_a:
        return [CSR], SPARSE
    return default_rule(p, ins, n_out)


def _cast_storage(p, ins, n_out):
    """The requested storage (MXNet refuses csr <-> row_sparse; mxlite converts)."""
    src, dst = ins[0], p.stype
    return [dst], DENSE if src == dst == DNS else SPARSE


def _retain(p, ins, n_out):
    """row_sparse data keeps its storage (MXNet refuses other data; mxlite zeroes the other
    rows of a dense array)."""
    if ins[0] == RSP:
        return [RSP], SPARSE
    return default_rule(p, ins, n_out)


def _square_sum(p, ins, n_out):
    """row_sparse data: row_sparse for ``axis=1, keepdims=True``, else dense (MXNet refuses
    other data; mxlite computes it densely)."""
    if ins[0] == RSP:
        return [RSP if p.axis % 2 == 1 and p.keepdims else DNS], SPARSE
    return default_rule(p, ins, n_out)


def _clip(p, ins, n_out):
    """Sparse data keeps its storage when zeros stay zero (MXNet refuses the other bounds;
    mxlite gives the dense result)."""
    if ins[0] == DNS:
        return [DNS], DENSE
    if not p.a_min <= 0 <= p.a_max:
        return [DNS], FALLBACK
    return [ins[0]], SPARSE


def _slice(p, ins, n_out):
    if ins[0] == CSR and all(s in (None, 1) for s in (p.step or ())):
        return [CSR], SPARSE
    return default_rule(p, ins, n_out)


def _concat(p, ins, n_out):
    if _all(ins, CSR) and p.dim == 0:
        return [CSR], SPARSE
    return default_rule(p, ins, n_out)


def _add_n(p, ins, n_out):
    if _all(ins, RSP):
        return [RSP], SPARSE
    return default_rule(p, ins, n_out)


def _batch_norm(p, ins, n_out):
    if not _all(ins, DNS) and p.fix_gamma:
        raise MXNetError("fix_gamma=True is not supported for sparse ndarrays (MXNet issue "
                         "11647); use fix_gamma=False or dense inputs")
    return default_rule(p, ins, n_out)


def _embedding(p, ins, n_out):
    if ins[0] == DNS:  # a row_sparse weight is read row by row, no fallback
        return [DNS] * n_out, DENSE if _all(ins, DNS) else SPARSE
    return default_rule(p, ins, n_out)


def _keep1(p, ins, n_out):
    """Zero-preserving unary operator: the input's storage."""
    return [ins[0]] * n_out, DENSE if ins[0] == DNS else SPARSE


#: unary operators with f(0) == 0 that MXNet runs on row_sparse and csr arrays
ZERO_PRESERVING = (
    "abs", "sign", "round", "rint", "ceil", "floor", "trunc", "fix", "square", "sqrt", "cbrt",
    "log1p", "expm1", "relu", "tanh", "sinh", "arcsinh", "arctanh", "sin", "tan", "arcsin",
    "arctan", "degrees", "radians", "negative", "_copy", "BlockGrad", "zeros_like", "MakeLoss",
    "_mul_scalar", "_div_scalar", "_greater_scalar",
)

RULES: dict[str, Callable] = {
    **dict.fromkeys(ZERO_PRESERVING, _keep1),
    **dict.fromkeys(("elemwise_add", "elemwise_sub"), _same_sparse(dense_ok=True)),
    **dict.fromkeys(("_maximum", "_minimum", "_hypot"), _same_sparse()),
    "elemwise_mul": _elemwise_mul,
    "_scatter_elemwise_div": _scatter_div,
    **dict.fromkeys(("broadcast_mul", "broadcast_div"), _broadcast_mul),
    **dict.fromkeys(("ones_like", "_plus_scalar", "_minus_scalar"), _sparse_dense_out),
    "dot": _dot,
    "cast_storage": _cast_storage,
    "_sparse_retain": _retain,
    "_square_sum": _square_sum,
    "clip": _clip,
    "slice": _slice,
    "Concat": _concat,
    "add_n": _add_n,
    "BatchNorm": _batch_norm,
    "Embedding": _embedding,
    "_contrib_SparseEmbedding": _embedding,
}


# ---------------------------------------------------------------------- gradient rules
def _grad_like_ograd(p, ins, outs, ogs):
    """Identity-like backward (``_copy``, ``negative``, ``* scalar``): the output gradient's
    storage for every input."""
    return [ogs[0]] * len(ins)


def _grad_like_input(p, ins, outs, ogs):
    """Zero gradient (``sign``, ``round``, comparisons): zeros of the input's storage."""
    return list(ins)


def _grad_common(p, ins, outs, ogs):
    """Backward kernel over ``(output gradient, input)``: their common sparse storage."""
    return [ogs[0] if ogs[0] == s and s != DNS else DNS for s in ins]


def _grad_dot(p, ins, outs, ogs):
    rsp = ins[0] == CSR and not p.transpose_a and not p.transpose_b
    return [DNS, RSP if rsp else DNS]


def _grad_embedding(p, ins, outs, ogs):
    sparse = getattr(p, "sparse_grad", True)
    return [DNS, RSP if sparse else DNS]


def _grad_square_sum(p, ins, outs, ogs):
    return [RSP]


GRAD_RULES: dict[str, Callable] = {
    **dict.fromkeys(("_copy", "negative", "_mul_scalar", "_div_scalar", "cast_storage",
                     "elemwise_add", "elemwise_sub", "add_n"), _grad_like_ograd),
    **dict.fromkeys(("sign", "round", "rint", "ceil", "floor", "trunc", "fix", "BlockGrad",
                     "zeros_like", "ones_like", "_greater_scalar"), _grad_like_input),
    **dict.fromkeys(("square", "abs", "relu"), _grad_common),
    "dot": _grad_dot,
    "Embedding": _grad_embedding,
    "_contrib_SparseEmbedding": _grad_embedding,
    "_square_sum": _grad_square_sum,
}


def sum_grad_stypes(stypes: list[str]) -> str:
    """Storage of a gradient summed over several consumers (MXNet's ``ElementWiseSum``):
    row_sparse when all terms are, else dense (two csr terms give a dense sum too)."""
    if len(stypes) == 1:
        return stypes[0]
    return RSP if _all(stypes, RSP) else DNS


def infer_backward(symbol, arg_names: list[str], arg_stypes: dict, wants: set | None = None):
    """Storage types of the gradients of ``arg_names`` (dict name -> stype) for a symbol whose
    arguments have ``arg_stypes``, as MXNet's ``simple_bind`` allocates them."""
    fwd = _infer_nodes(symbol, arg_stypes)
    order = symbol._topo()
    grads: dict[tuple[int, int], list[str]] = {}
    for node, k in symbol._outputs:
        grads.setdefault((id(node), k), []).append(fwd[(id(node), k)])
    for node in reversed(order):
        if node.is_var:
            continue
        n_out = node.num_outputs()
        ogs = [sum_grad_stypes(grads[(id(node), k)]) if (id(node), k) in grads else None
               for k in range(n_out)]
        if all(g is None for g in ogs):
            continue
        outs = [fwd[(id(node), k)] for k in range(n_out)]
        ogs = [o if g is None else g for g, o in zip(ogs, outs, strict=True)]
        ins = [fwd[(id(c), k)] for c, k in node.inputs[:node.nargs]]
        in_grads = node.op.infer_grad_storage_type(node.params, ins, outs, ogs)
        for (child, k), g in zip(node.inputs[:node.nargs], in_grads, strict=False):
            grads.setdefault((id(child), k), []).append(g)
    out = {}
    for node in order:
        if node.is_var and node.name in arg_names:
            terms = grads.get((id(node), 0))
            out[node.name] = sum_grad_stypes(terms) if terms else DNS
    return out


# ---------------------------------------------------------------------- graph pass
def _infer_nodes(symbol, arg_stypes: dict) -> dict:
    """Storage type of every node output (``(id(node), k) -> stype``)."""
    st: dict[tuple[int, int], str] = {}
    for node in symbol._topo():
        if node.is_var:
            st[(id(node), 0)] = arg_stypes.get(node.name, DNS)
            continue
        ins = [st[(id(c), k)] for c, k in node.inputs[:node.nargs]]
        try:
            outs, _ = node.op.infer_storage_type(node.params, ins)
        except MXNetError as err:
            raise MXNetError(f"Error in operator {node.name}: {err}") from None
        for k, s in enumerate(outs):
            st[(id(node), k)] = s
    return st


#: operators that give sparse results (or gradients) from dense inputs; a graph of dense
#: arguments without them is dense throughout (its inference is skipped at bind)
SPARSE_FROM_DENSE = frozenset({"cast_storage", "Embedding", "_contrib_SparseEmbedding"})


def may_be_sparse(steps, arg_arrays) -> bool:
    """Whether a value of the plan can be sparse: a sparse argument or a ``cast_storage``."""
    from .ndarray.ndarray import NDArray

    return any(type(a) is not NDArray for a in arg_arrays) or any(
        s.op.name == "cast_storage" for s in steps)


def plan(steps, arg_slots, arg_arrays, nslots: int) -> list[str]:
    """At bind: the storage type of every value slot of an executor's plan, and on each step
    ``sparse`` (True where an input or output is sparse: the step runs through
    :func:`forward_step`), ``out_stypes`` and ``mode``.  Raises MXNetError for inputs an
    operator refuses (``BatchNorm(fix_gamma=True)`` with sparse inputs, ...)."""
    st = [DNS] * nslots
    for slot, arr in zip(arg_slots, arg_arrays, strict=False):
        st[slot] = arr.stype
    for step in steps:
        ins = [st[s] for s in step.in_slots]
        try:
            outs, mode = step.op.infer_storage_type(step.params, ins)
        except MXNetError as err:
            raise MXNetError(f"Error in operator {step.name}: {err}") from None
        for s, o in zip(step.out_slots, outs, strict=False):
            st[s] = o
        step.out_stypes = list(outs)
        step.mode = mode
        step.sparse = mode != DENSE or any(o != DNS for o in outs)
        if mode == FALLBACK:
            log_fallback(step.op.name, ins, outs, step.params)
    return st


def log_fallback(opname: str, in_stypes, out_stypes, params) -> None:
    """MXNet's storage-fallback warning, logged once per distinct message unless
    ``MXNET_STORAGE_FALLBACK_LOG_VERBOSE=0``."""
    if not env_switch("MXNET_STORAGE_FALLBACK_LOG_VERBOSE"):
        return
    shown = dict(params)
    msg = ("\nStorage type fallback detected:\n"
           f"operator = {opname}\n"
           f"input storage types = [{', '.join(in_stypes)}, ]\n"
           f"output storage types = [{', '.join(out_stypes)}, ]\n"
           f"params = {shown}\n"
           "context.dev_mask = cpu\n"
           "The operator with default storage type will be dispatched for execution. You're "
           "seeing this warning message because the operator above is unable to process the "
           "given ndarrays with specified storage types, context and parameter. Temporary "
           "dense ndarrays are generated in order to execute the operator. This does not "
           "affect the correctness of the programme. You can set environment variable "
           "MXNET_STORAGE_FALLBACK_LOG_VERBOSE to 0 to suppress this warning.")
    if msg in _logged:
        return
    _logged.add(msg)
    _log.warning(msg)


# ---------------------------------------------------------------------- running
def _nd(x, ctx):
    from .ndarray.ndarray import NDArray

    return x if isinstance(x, NDArray) else NDArray(np.asarray(x), ctx)


def _dense(x):
    """NumPy values of ``x`` (NumPy, dense NDArray or sparse NDArray)."""
    return x if x is None or isinstance(x, np.ndarray) else x._data


def _to_stype(x, stype: str, ctx):
    """``x`` (NumPy or NDArray) as an NDArray of storage ``stype``."""
    from .ndarray.sparse import cast_storage

    arr = _nd(x, ctx)
    return arr if arr.stype == stype else cast_storage(arr, stype)


def _impl_elemwise(short):
    def run(p, xs):
        from .ndarray import sparse as sp

        return [getattr(sp, f"elemwise_{short}")(*xs)]

    return run


def _impl_unary(name):
    def run(p, xs):
        from .ndarray import ndarray as _ndm
        from .ndarray import sparse as sp

        return [sp._unary_sparse(_ndm.UNARY[name], xs[0])]

    return run


def _impl_scalar(fn):
    def run(p, xs):
        from .ndarray import sparse as sp

        x = xs[0]
        s = np.asarray(p.scalar).astype(x._values.dtype)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            values = np.asarray(fn(x._values, s)).astype(x._values.dtype, copy=False)
        if isinstance(x, sp.BaseSparseNDArray):
            return [x._like(values)]
        return [_nd(values, x.context)]

    return run


def _impl_dot(p, xs):
    from .ndarray import sparse as sp

    return [sp.dot(xs[0], xs[1], p.transpose_a, p.transpose_b)]


def _impl_retain(p, xs):
    from .ndarray import sparse as sp

    rows = xs[1]._data.astype(np.int64)  # float indices truncate, as MXNet's kernel
    return [sp.retain(xs[0], rows[(rows >= 0) & (rows < xs[0].shape[0])])]


def _impl_cast(p, xs):
    from .ndarray import sparse as sp

    return [sp.cast_storage(xs[0], p.stype)]


def _impl_square_sum(p, xs):
    from .ndarray import sparse as sp

    return [sp.square_sum(xs[0], axis=p.axis, keepdims=p.keepdims)]


def _impl_add_n(p, xs):
    from .ndarray import sparse as sp

    return [sp.add_n(*xs)]


def _impl_slice(p, xs):
    from .ndarray import sparse as sp

    return [sp.slice(xs[0], p.begin, p.end, p.step)]


def _impl_clip(p, xs):
    from .ndarray import sparse as sp

    return [sp.clip_sparse(xs[0], p.a_min, p.a_max)]


def _impl_broadcast(fn):
    def run(p, xs):
        lhs, rhs = xs
        if lhs.stype != CSR:  # (only csr, dense reaches here with a sparse result)
            raise MXNetError(f"broadcast of {lhs.stype} and {rhs.stype} has no sparse kernel")
        other = np.broadcast_to(rhs._data, lhs.shape)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            values = fn(lhs._values, other[lhs._rows(), lhs._idx])
        return [lhs._like(np.asarray(values).astype(lhs._values.dtype, copy=False))]

    return run


#: operators computed on the sparse arrays themselves (their stored rows / entries are
#: MXNet's); keyed by operator name, called with the parameters and NDArray inputs
SPARSE_IMPL: dict[str, Callable] = {
    "elemwise_add": _impl_elemwise("add"),
    "elemwise_sub": _impl_elemwise("sub"),
    "elemwise_mul": _impl_elemwise("mul"),
    **{n: _impl_unary(n) for n in ("sqrt", "square", "abs", "sign", "expm1", "log1p", "relu",
                                   "tanh", "negative", "floor", "ceil", "round")},
    "_mul_scalar": _impl_scalar(np.multiply),
    "_div_scalar": _impl_scalar(np.divide),
    "dot": _impl_dot,
    "_sparse_retain": _impl_retain,
    "cast_storage": _impl_cast,
    "_square_sum": _impl_square_sum,
    "add_n": _impl_add_n,
    "slice": _impl_slice,
    "clip": _impl_clip,
    # csr (op) dense: only the stored entries (zeros stay zero, 0 / 0 included), as MXNet
    "broadcast_mul": _impl_broadcast(np.multiply),
    "broadcast_div": _impl_broadcast(np.divide),
}


def compute(op, p, inputs: list, aux: list, is_train: bool, out_stypes, mode, ctx):
    """Run ``op`` on ``inputs`` (NumPy arrays or NDArrays of any storage) and return
    ``(outputs, saved)`` with the outputs in ``out_stypes`` (NDArrays where sparse, NumPy where
    dense).  A sparse implementation (``forward_sparse`` or ``SPARSE_IMPL``) saves nothing: the
    operators listed there compute their gradients from inputs and outputs alone."""
    impl = getattr(op, "forward_sparse", None) or SPARSE_IMPL.get(op.name)
    if mode == SPARSE and impl is not None:
        results = impl(p, [_nd(x, ctx) for x in inputs])
        outs = [_to_stype(r, s, ctx) for r, s in zip(results, out_stypes, strict=True)]
        return [o if s != DNS else o._data for o, s in zip(outs, out_stypes, strict=True)], None
    dense_in = inputs if op.sparse_inputs else [_dense(x) for x in inputs]
    outs, saved = op.forward(p, dense_in, aux, is_train)
    outs = [o if s == DNS else _to_stype(o, s, ctx) for o, s in zip(outs, out_stypes,
                                                                      strict=False)]
    return [_dense(o) if s == DNS else o for o, s in zip(outs, out_stypes, strict=False)], saved


def forward_step(step, inputs, aux, is_train, ctx):
    """One executor step whose inputs or outputs are sparse (``step.sparse``)."""
    return compute(step.op, step.params, inputs, aux, is_train, step.out_stypes, step.mode, ctx)


def invoke_sparse(op, p, inputs: list, aux: list, is_train: bool, ctx) -> list:
    """``mx.nd.<op>`` with sparse inputs: NDArray results in the inferred storage types."""
    in_st = [x.stype for x in inputs]
    out_stypes, mode = op.infer_storage_type(p, in_st)
    if mode == FALLBACK:
        log_fallback(op.name, in_st, out_stypes, p)
    inputs = list(inputs)
    for pos in op.mutable_inputs(p):  # imperative calls never write into their inputs
        inputs[pos] = inputs[pos].copy()
    outs, _ = compute(op, p, inputs, [a._data for a in aux], is_train, out_stypes,
                      mode, ctx)
    return [_nd(o, ctx) for o in outs]
