"""Sparse kernels: CSR products and the row-sparse (lazy) updates of the optimizers.

A lazy update touches only the rows a row_sparse gradient stores.  It runs the optimizer's own
dense update on those rows: :func:`gather_rows` copies the touched rows of the weight and of
every state array into contiguous buffers, the dense fused kernel updates them (so each touched
row gets exactly the arithmetic of the dense kernel, weight decay included), and
:func:`scatter_rows` writes them back.  Memory traffic is proportional to the touched rows: a
1% gradient of a 2,000,000 x 64 embedding moves about 1% of what a dense step moves.

:func:`lazy_rows` is that driver for any update written as ``apply(weight, grad, state)``;
:func:`lazy_call` drives the ``mx.nd`` update operators with a row_sparse ``grad``.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from . import optimizer as KO
from . import serial_parallel, spec_unpacker
from .optimizer import AdamSpec, SGDSpec

__all__ = [
    "ROW_KERNELS", "adagrad_rows", "adagrad_update", "adagrad_update_rows", "csr_dot_dense",
    "csr_t_dot_dense", "dense_update", "gather_rows", "lazy_call", "lazy_rows", "lazy_update",
    "rows_in_place", "scatter_rows", "with_dense_weight",
]

_SER = {"cache": True, "error_model": "numpy"}
_PAR = {"cache": True, "error_model": "numpy", "parallel": True}
#: row blocks of at least this many elements go to the multi-threaded variants
_PARALLEL_ELEMS = 1 << 20


def _gather_loop(src, rows, out):
    for i in prange(rows.size):
        r = rows[i]
        for j in range(out.shape[1]):
            out[i, j] = src[r, j]


def _scatter_loop(dst, rows, src):
    for i in prange(rows.size):
        r = rows[i]
        for j in range(src.shape[1]):
            dst[r, j] = src[i, j]


_gather_ser, _gather_par = serial_parallel(_gather_loop, _SER, _PAR)
_scatter_ser, _scatter_par = serial_parallel(_scatter_loop, _SER, _PAR)


def _as2d(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], -1)


_BITS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _bits(a: np.ndarray) -> np.ndarray:
    """``a`` viewed as unsigned integers of its itemsize (copies need no arithmetic; Numba
    has no float16)."""
    return a.view(_BITS[a.dtype.itemsize]) if a.dtype.itemsize in _BITS else a


def gather_rows(src: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``src[rows]`` (a new C-contiguous array), rows of any trailing shape."""
    out = np.empty((rows.size, *src.shape[1:]), src.dtype)
    if rows.size and out.size:
        if not src.flags.c_contiguous:
            return np.ascontiguousarray(src[rows])
        s2, o2 = _as2d(_bits(src)), _as2d(_bits(out))
        (_gather_par if out.size >= _PARALLEL_ELEMS else _gather_ser)(s2, rows, o2)
    return out


def scatter_rows(dst: np.ndarray, rows: np.ndarray, src: np.ndarray) -> None:
    """``dst[rows] = src`` in place (``rows`` unique)."""
    if not rows.size or not src.size:
        return
    if not dst.flags.c_contiguous or dst.dtype != src.dtype:
        dst[rows] = src
        return
    (_scatter_par if src.size >= _PARALLEL_ELEMS else _scatter_ser)(
        _as2d(_bits(dst)), rows, _as2d(_bits(np.ascontiguousarray(src))))


# ---------------------------------------------------------------------- products
def _csr_dot_loop(indptr, indices, values, dense, out):
    for i in prange(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            v = values[p]
            c = indices[p]
            for j in range(dense.shape[1]):
                out[i, j] += v * dense[c, j]


_csr_dot_ser, _csr_dot_par = serial_parallel(_csr_dot_loop, _SER, _PAR)


def csr_dot_dense(indptr, indices, values, dense, out) -> None:
    """``out += csr @ dense`` (``out`` of shape ``(rows, dense.shape[1])``, zero on entry)."""
    work = values.size * dense.shape[1]
    (_csr_dot_par if work >= _PARALLEL_ELEMS else _csr_dot_ser)(indptr, indices, values,
                                                                 dense, out)


def _csr_t_dot_loop(indptr, indices, values, dense, slot, out):
    # out[slot[p]] += values[p] * dense[row(p)]: serial, rows of out are shared between rows
    for i in range(indptr.size - 1):
        for p in range(indptr[i], indptr[i + 1]):
            v = values[p]
            s = slot[p]
            for j in range(dense.shape[1]):
                out[s, j] += v * dense[i, j]


_csr_t_dot_ser = serial_parallel(_csr_t_dot_loop, _SER, _SER)[0]


def csr_t_dot_dense(indptr, indices, values, dense, slot, out) -> None:
    """``out[slot[p]] += values[p] * dense[row of p]``: the stored rows of ``csr.T @ dense``,
    ``slot`` mapping each entry's column to its row in ``out``."""
    _csr_t_dot_ser(indptr, indices, values, dense, slot.astype(np.int64), out)


# ---------------------------------------------------------------------- sparse AdaGrad
def _adagrad_rows_loop(w, rows, g, h, lr, eps, rescale, clip):
    for i in prange(rows.size):
        r = rows[i]
        for j in range(w.shape[1]):
            gr = g[i, j] * rescale
            if clip >= 0:
                if gr > clip:
                    gr = clip
                elif gr < -clip:
                    gr = -clip
            hv = h[r, j] + gr * gr
            h[r, j] = hv
            w[r, j] = w[r, j] - lr * gr / np.sqrt(hv + eps)


_adagrad_ser, _adagrad_par = serial_parallel(_adagrad_rows_loop, _SER, _PAR)


def adagrad_rows(w, rows, g, h, lr, eps, rescale, clip) -> None:
    """MXNet's sparse AdaGrad on the rows ``rows`` of ``w``/``h`` (in place), ``g`` the
    stored gradient rows: ``g' = clip(rescale * g)``, ``h += g'^2``,
    ``w -= lr * g' / sqrt(h + eps)``."""
    if not rows.size:
        return
    w2, h2, g2 = _as2d(w), _as2d(h), _as2d(np.ascontiguousarray(g))
    s = w.dtype.type
    fn = _adagrad_par if g2.size >= _PARALLEL_ELEMS else _adagrad_ser
    fn(w2, rows, g2, h2, s(lr), s(eps), s(rescale), s(clip))


# ---------------------------------------------------------------------- in-place row updates
# The hot lazy updates (SGD, SGD with momentum, Adam) also run in place: each touched row is
# updated where it lives by the dense kernel's own element function (the same arithmetic),
# without the gather / scatter copies.  ``w``, ``m``, ``v`` are 2-D (rows, width), ``g`` the
# stored gradient rows, ``sc`` the dense kernel's scalars.

_UNPACK_SGD = spec_unpacker(SGDSpec, KO._AT)
_UNPACK_ADAM = spec_unpacker(AdamSpec, KO._AT)


def _sgd_rows_loop(w, rows, g, sc):
    p = _UNPACK_SGD(sc)
    for k in prange(rows.size):
        wr, gr = w[rows[k]], g[k]
        for j in range(wr.size):
            KO._sgd_at(j, wr, gr, KO.EMPTY16, False, p)


def _sgd_mom_rows_loop(w, rows, g, m, sc):
    p = _UNPACK_SGD(sc)
    for k in prange(rows.size):
        r = rows[k]
        wr, gr, mr = w[r], g[k], m[r]
        for j in range(wr.size):
            KO._sgd_mom_at(j, wr, gr, mr, KO.EMPTY16, False, p)


def _adam_rows_loop(w, rows, g, m, v, sc):
    p = _UNPACK_ADAM(sc)
    for k in prange(rows.size):
        r = rows[k]
        wr, gr, mr, vr = w[r], g[k], m[r], v[r]
        for j in range(wr.size):
            KO._adam_at(j, wr, gr, mr, vr, KO.EMPTY16, False, p)


#: in-place row kernels by name: (serial, parallel), number of state arrays
ROW_KERNELS = {
    "sgd": (serial_parallel(_sgd_rows_loop, _SER, _PAR), 0),
    "sgd_mom": (serial_parallel(_sgd_mom_rows_loop, _SER, _PAR), 1),
    "adam": (serial_parallel(_adam_rows_loop, _SER, _PAR), 2),
}


def rows_in_place(name, weight, grad, arrays, hp) -> bool:
    """The row kernel ``name`` on the rows of ``grad`` (row_sparse), in place in ``weight`` and
    the state ``arrays``; False (nothing done) when the arrays do not allow it (float16,
    non-contiguous or mismatched arrays)."""
    (ser, par), nstates = ROW_KERNELS[name]
    w = weight._data
    if (len(arrays) != nstates or w.dtype not in (np.float32, np.float64)
            or not w.flags.c_contiguous or w.ndim < 1 or grad._values.dtype != w.dtype):
        return False
    for a in arrays:
        if a.dtype != w.dtype or a.shape != w.shape or not a.flags.c_contiguous:
            return False
    rows = grad._idx if grad._idx.dtype == np.int64 else grad._idx.astype(np.int64)
    width = w.size // w.shape[0] if w.shape[0] else 0
    g2 = np.ascontiguousarray(grad._values).reshape(rows.size, width)
    sc = np.array(hp, dtype=w.dtype)
    (par if g2.size >= _PARALLEL_ELEMS else ser)(_as2d(w), rows, g2,
                                                 *[_as2d(a) for a in arrays], sc)
    return True


# ---------------------------------------------------------------------- lazy driver
def _map_state(state, fn):
    """``state`` with every NDArray replaced by ``fn(array)`` (tuples and NamedTuples kept)."""
    from ..ndarray import NDArray

    if state is None:
        return None
    if isinstance(state, NDArray):
        return fn(state)
    if isinstance(state, tuple):
        items = [_map_state(s, fn) for s in state]
        return type(state)(*items) if hasattr(state, "_fields") else tuple(items)
    if isinstance(state, list):
        return [_map_state(s, fn) for s in state]
    return state


def lazy_rows(apply, weight, grad, state):
    """Run ``apply(weight_rows, grad_rows, state_rows)`` (a dense update) on the rows that the
    row_sparse ``grad`` stores, then write those rows back into ``weight`` and ``state``.

    ``state`` may be None, an NDArray or (nested) tuples / NamedTuples of them; every array in
    it must have the weight's first dimension.
    """
    from ..ndarray import NDArray

    rows = grad._idx
    if rows.dtype != np.int64:
        rows = rows.astype(np.int64)
    taken: list = []

    def take(arr):
        if arr.shape[:1] != weight.shape[:1]:
            raise ValueError(
                f"lazy update: state of shape {arr.shape} does not share the weight's first "
                f"dimension {weight.shape[0]}"
            )
        buf = gather_rows(arr._data, rows)
        taken.append((arr, buf))
        return NDArray(buf, arr.context)

    w_rows = take(weight)
    s_rows = _map_state(state, take)
    g_rows = NDArray(np.ascontiguousarray(grad._values), grad.context)
    apply(w_rows, g_rows, s_rows)
    for arr, buf in taken:
        scatter_rows(arr._data, rows, buf)


# ---------------------------------------------------------------------- mx.nd update ops
def lazy_call(call, op, kernel, weight, grad, states, scalars, out, weight32, lazy):
    """An ``mx.nd`` update operator (``call`` is :func:`mxlite.ndarray.update_ops._call`)
    with a sparse ``grad``: with ``lazy`` and a row_sparse ``grad`` only the stored rows of
    the weight, the states and ``weight32`` are updated; otherwise the standard update runs on
    the dense equivalent of ``grad``."""
    from ..base import MXNetError
    from ..ndarray import NDArray

    if not lazy or grad.stype != "row_sparse":
        return call(op, kernel, weight, NDArray(grad._data, grad.context), states, scalars,
                    out, weight32)
    if grad.shape != weight.shape:
        raise MXNetError(f"{op}: grad shape {grad.shape} differs from weight shape "
                         f"{weight.shape}")
    target = weight.copy() if out is None else out
    if out is not None and out is not weight:
        if out.shape != weight.shape:
            raise MXNetError(f"{op}: out shape {out.shape} differs from weight shape "
                             f"{weight.shape}")
        np.copyto(out._data, weight._data)
    extra = () if weight32 is None else (weight32,)

    def apply(w_rows, g_rows, s_rows):
        w32 = s_rows[0] if extra else None
        named = tuple((name, a) for (name, _), a in zip(states, s_rows[len(extra):],
                                                         strict=True))
        call(op, kernel, w_rows, g_rows, named, scalars, w_rows, w32)

    lazy_rows(apply, target, grad, (*extra, *(s for _, s in states)))
    return target


def adagrad_update(weight, grad, history, lr, epsilon, rescale_grad, clip_gradient, out):
    """MXNet's ``sparse.adagrad_update``: the stored rows of a row_sparse ``grad`` only."""
    from ..base import MXNetError
    from ..ndarray.sparse import cast_storage

    if grad.stype != "row_sparse":
        grad = cast_storage(grad, "row_sparse")
    for name, arr in (("grad", grad), ("history", history)):
        if arr.shape != weight.shape:
            raise MXNetError(f"adagrad_update: {name} shape {arr.shape} differs from weight "
                             f"shape {weight.shape}")
        if arr.dtype != weight.dtype:
            raise MXNetError(f"adagrad_update: {name} dtype {np.dtype(arr.dtype)} differs "
                             f"from weight dtype {np.dtype(weight.dtype)}")
    if out is None:
        target = weight.copy()
    else:
        target = out
        if out is not weight:
            np.copyto(out._data, weight._data)
    clip = -1.0 if clip_gradient is None else float(clip_gradient)
    adagrad_rows(target._data, grad._idx.astype(np.int64), grad._values, history._data,
                 lr, epsilon, rescale_grad, clip)
    return target


# ---------------------------------------------------------------------- optimizer dispatch
def lazy_update(opt, index, weight, grad, state, hp, fused, row_kernel=None) -> None:
    """The lazy update of a built-in optimizer (its ``row_sparse_update``): its own dense
    update (fused kernel or reference) on the rows a row_sparse ``grad`` stores, weight decay on
    those rows only.  ``row_kernel`` names an in-place row kernel (:data:`ROW_KERNELS`) for the
    fused path; otherwise the rows are gathered, updated and scattered back.  A csr gradient
    gets the dense update."""

    if _has_sparse(weight, state):  # row_sparse weight / states: on their dense equivalents
        with_dense_weight(weight, state, lambda w, s: lazy_update(opt, index, w, grad, s, hp,
                                                                  fused, row_kernel))
        return
    mp = opt._mp_of(weight)
    if grad.stype != "row_sparse":
        opt._apply(index, weight, grad.tostype("default"), state, hp, mp, fused)
        return
    if (fused and not mp and row_kernel is not None and grad._idx.size
            and rows_in_place(row_kernel, weight, grad, opt.state_arrays(state), hp)):
        return
    lazy_rows(lambda w, g, s: opt._apply(index, w, g, s, hp, mp, fused), weight, grad, state)


def dense_update(opt, index, weight, grad, state, hp, fused) -> None:
    """MXNet's standard update with a sparse gradient (and/or a row_sparse weight): the dense
    update on the dense equivalents."""
    from ..ndarray import NDArray

    if _has_sparse(weight, state):
        with_dense_weight(weight, state,
                          lambda w, s: dense_update(opt, index, w, grad, s, hp, fused))
        return
    g = grad if type(grad) is NDArray else NDArray(grad._dense(), grad.context)
    opt._apply(index, weight, g, state, hp, opt._mp_of(weight), fused)


def _has_sparse(weight, state) -> bool:
    from ..ndarray import NDArray

    found = [type(weight) is not NDArray]
    _map_state(state, lambda a: found.append(type(a) is not NDArray) or a)
    return any(found)


def with_dense_weight(weight, state, run) -> None:
    """``run(weight, state)`` on dense equivalents of a row_sparse weight and of the sparse
    arrays of ``state`` (a multi-precision master of a row_sparse weight is row_sparse too);
    each sparse array then holds its result's non-zero rows (MXNet's row_sparse weights hold
    every row)."""
    from ..ndarray import NDArray
    from ..ndarray.sparse import cast_storage

    back = []

    def dense(a):
        if type(a) is NDArray:
            return a
        d = NDArray(a._dense(), a.context)
        back.append((a, d))
        return d

    run(dense(weight), _map_state(state, dense))
    for a, d in back:
        a._assign(cast_storage(d, a.stype))


def adagrad_update_rows(opt, index, weight, grad, state, hp, fused) -> None:
    """MXNet's sparse AdaGrad (``sparse.adagrad_update``): the dense AdaGrad update on the
    stored rows of ``grad`` (``w -= lr g' / sqrt(h + eps)``), without weight decay (MXNetError
    when it is nonzero, as MXNet) and clipping only when ``clip_gradient`` is truthy (MXNet
    passes it to the sparse operator only then)."""
    from ..base import MXNetError
    from ..ndarray.sparse import cast_storage

    if hp.wd != 0:
        raise MXNetError(f"sparse adagrad_update does not support wd, got wd={hp.wd}")
    if grad.stype != "row_sparse":
        grad = cast_storage(grad, "row_sparse")
    if not opt.clip_gradient:
        hp = hp._replace(clip=-1.0)
    lazy_update(opt, index, weight, grad, state, hp, fused)
