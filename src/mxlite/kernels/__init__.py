"""Numba kernels: the numeric core of mxlite, kept together so it is easy to find and to port.

Every kernel works on flat, C-contiguous NumPy arrays and scalars and does one pass over memory.
Kernels come as a pair: a serial ``njit`` variant for small tensors and a ``parallel=True``
variant (``numba.prange`` over contiguous chunks) for large ones; :data:`PARALLEL_THRESHOLD`
elements decides which one runs.

Elementwise drivers are generated, not written by hand: :func:`elementwise` turns a per-element
function ``at(i, w, g, *states, w16, st, *flags, p)`` and its hyperparameter spec (a
``NamedTuple`` class) into the serial/parallel driver pair, and :func:`multi_tensor` into the
driver that updates a whole list of tensors in one call.  :func:`spec_unpacker` makes the
jitted function that turns a row of scalars into the spec, so that kernels read ``p.lr``, never
``sc[0]``: the order of a kernel's scalars is written once, in its spec.

Threads: :mod:`mxlite.kernels.threads` sets Numba's OpenMP threads to wait passively (so they
never fight OpenBLAS's GEMM threads) before any kernel runs; ``MXLITE_NUM_THREADS`` caps the threads
of the parallel kernels and of the BLAS (``OMP_NUM_THREADS`` caps Numba's when it is unset); by
default both use all cores.

On-disk cache: kernels are jitted with ``cache=True``; :mod:`mxlite.kernels._cache` decides where
the compiled code goes (beside the sources, or a user cache directory for a read-only install).
A module with ``cache=True`` kernels imports :mod:`mxlite.kernels` before jitting them.
"""

from __future__ import annotations

import sys
import types

from . import threads as _threads

_threads.prepare()  # before anything starts Numba's OpenMP runtime

import numba  # noqa: E402
from numba import types as nbtypes  # noqa: E402
from numba.extending import intrinsic  # noqa: E402

from . import _cache  # noqa: E402

_cache.install()  # before any kernel is jitted: read-only installs cache in a user directory

__all__ = [
    "MULTI_CHUNK", "PARALLEL_THRESHOLD", "configure_threads", "elementwise", "multi_chunks",
    "multi_tensor", "serial_parallel",
    "spec_maker", "spec_unpacker",
]

#: tensors with at least this many elements use the multi-threaded kernel variant.  Below it one
#: core streams the tensor about as fast as two (the kernels are memory-bound) and waking the
#: second thread costs more than it saves: microseconds on an idle machine, a scheduler time
#: slice on a busy one
PARALLEL_THRESHOLD = 2**18


def serial_parallel(loop, serial_opts: dict, parallel_opts: dict):
    """``(serial, parallel)`` dispatchers of one driver written with ``numba.prange``.

    Numba compiles ``prange`` as ``range`` without ``parallel=True``.  Each variant compiles a
    copy of ``loop`` with its own qualname (``<name>_ser`` / ``<name>_par``): the on-disk cache
    keys its files by qualname and line, not by the jit options, so one function object
    jitted twice would have both variants load each other's machine code.
    """
    def copy(suffix):
        fn = types.FunctionType(loop.__code__, loop.__globals__, loop.__name__ + suffix,
                                loop.__defaults__, loop.__closure__)
        fn.__qualname__ = loop.__qualname__ + suffix
        fn.__module__, fn.__doc__ = loop.__module__, loop.__doc__
        return fn

    return numba.njit(**serial_opts)(copy("_ser")), numba.njit(**parallel_opts)(copy("_par"))


# --------------------------------------------------------------------------- driver generator
def _source_file(fn) -> str:
    """The file a generated driver is attributed to: that of the per-element function it
    calls.  Numba's on-disk cache needs a real file (its stamp invalidates the cache when the
    kernels change); the generated code's own bytecode is part of every cache key."""
    fn = getattr(fn, "py_func", fn)
    return fn.__code__.co_filename


def _generate(name: str, source: str, namespace: dict, filename: str):
    """Compile the function ``name`` defined by ``source`` with ``namespace`` as globals."""
    code = compile(source, filename, "exec")
    exec(code, namespace)
    fn = namespace[name]
    fn.__module__ = namespace.get("__name__", __name__)
    return fn


_UNPACKERS: dict = {}


def spec_unpacker(spec: type, opts: dict):
    """A jitted ``unpack(sc) -> spec(sc[0], sc[1], ...)`` for the ``NamedTuple`` class ``spec``.

    Kernels receive their scalars as one small array (a cheap argument to type-check for
    Numba's dispatcher, and in the weight's dtype so the arithmetic is the weight's); the
    unpacker, generated from ``spec._fields``, names them.  One unpacker per spec class.
    """
    hit = _UNPACKERS.get(spec)
    if hit is not None:
        return hit
    fields = spec._fields
    if not fields or not all(f.isidentifier() for f in (*fields, spec.__name__)):
        raise ValueError(f"spec {spec.__name__} must be a NamedTuple with fields, got {fields!r}")
    qual = f"_unpack_{spec.__name__}"
    args = ", ".join(f"sc[{k}]" for k in range(len(fields)))
    # the spec under its own name: parfor lowering looks the class up by the global's name
    source = f"def {qual}(sc):\n    return {spec.__name__}({args})\n"
    module = sys.modules.get(spec.__module__)
    filename = getattr(module, "__file__", None) or __file__
    namespace = {spec.__name__: spec, "__name__": spec.__module__}
    fn = _generate(qual, source, namespace, filename)
    fn.__qualname__ = qual
    jitted = numba.njit(**opts)(fn)
    _UNPACKERS[spec] = jitted
    return jitted


def spec_maker(spec: type):
    """A keyword-only constructor of the ``NamedTuple`` class ``spec``:
    ``make(lr=..., wd=..., ...)`` -> ``spec(...)``.

    Every field must be given by name (a positional call is a TypeError), and it is faster than
    calling the class with keywords (which goes through a keyword dict): it runs once per
    tensor and step.
    """
    fields = spec._fields
    if not all(f.isidentifier() for f in fields):
        raise ValueError(f"spec {spec.__name__} has bad field names {fields!r}")
    qual = f"make_{spec.__name__}"
    args = ", ".join(fields)
    body = "".join(f"{f}, " for f in fields)
    source = f"def {qual}(*, {args}):\n    return _NEW(_SPEC, ({body}))\n"
    module = sys.modules.get(spec.__module__)
    filename = getattr(module, "__file__", None) or __file__
    fn = _generate(qual, source, {"_NEW": tuple.__new__, "_SPEC": spec,
                                  "__name__": spec.__module__}, filename)
    fn.__qualname__ = f"{spec.__qualname__}.make"
    fn.__doc__ = f"{spec.__name__} from keyword arguments: {', '.join(fields)}."
    return fn


def _case_loops(call: str, flags: list[tuple[str, str]], indent: str) -> str:
    """Nested ``if``/``else`` over the flags (name, test), each leaf one ``prange`` loop whose
    body calls ``call`` with the flags as constants: no branch on them inside the loop body,
    so LLVM can vectorize it."""
    if not flags:
        return (f"{indent}for i in prange(w.size):\n"
                f"{indent}    {call}\n")
    (flag, test), rest = flags[0], flags[1:]
    out = f"{indent}if {test}:\n"
    out += _case_loops(call.replace(f"<{flag}>", "True"), rest, indent + "    ")
    out += f"{indent}else:\n"
    out += _case_loops(call.replace(f"<{flag}>", "False"), rest, indent + "    ")
    return out


def elementwise(name: str, at, spec: type, states=(), optional=(), *, grad: bool = True,
                inline_opts: dict, serial_opts: dict, parallel_opts: dict):
    """``(serial, parallel)`` dispatchers of the elementwise driver of ``at``.

    The driver is ``loop(w, g, *states, w16, sc)``: it unpacks ``sc`` into ``spec`` (see
    :func:`spec_unpacker`) and runs ``at(i, w, g, *states, w16, st, *flags, p)`` for every
    ``i`` in ``prange(w.size)`` (without ``g`` in both when ``grad`` is false).  ``st`` says
    whether to also write the float16 weight ``w16`` (it is non-empty); each name in
    ``optional`` (a subset of ``states``) adds a flag saying whether that state array is
    non-empty.  Every combination of the flags gets its own
    loop with the flags as constants, so the loop bodies have no branches on them.

    Serial and parallel variants are compiled from two copies of the generated function with
    their own qualnames (see :func:`serial_parallel`), attributed to ``at``'s source file so
    that Numba's ``cache=True`` works for them.
    """
    states = tuple(states)
    for s in (*states, *optional):
        if not s.isidentifier() or s in ("w", "g", "w16", "sc", "p", "i", "st"):
            raise ValueError(f"elementwise {name}: bad state name {s!r}")
    if not set(optional) <= set(states):
        raise ValueError(f"elementwise {name}: optional {optional!r} not among states {states!r}")
    unpack = spec_unpacker(spec, inline_opts)
    inputs = ("w", "g") if grad else ("w",)
    params = ", ".join((*inputs, *states, "w16", "sc"))
    flag_args = "".join(f", <{s}>" for s in optional)
    call = f"AT(i, {', '.join((*inputs, *states))}, w16, <st>{flag_args}, p)"
    flags = [("st", "w16.size > 0"), *((s, f"{s}.size > 0") for s in optional)]
    qual = f"_{name}_loop"
    source = (f"def {qual}({params}):\n"
              f"    p = UNPACK(sc)\n"
              + _case_loops(call, flags, "    "))
    # parfor lowering rebuilds the loop body from source and looks the spec up by its name
    namespace = {"AT": at, "UNPACK": unpack, "prange": numba.prange, spec.__name__: spec,
                 "__name__": getattr(at, "__module__", __name__)}
    fn = _generate(qual, source, namespace, _source_file(at))
    fn.__qualname__ = qual
    return serial_parallel(fn, serial_opts, parallel_opts)


@intrinsic
def _as_ptr(typingctx, addr, like):
    """``CPointer(like.dtype)`` from an integer address."""
    sig = nbtypes.CPointer(like.dtype)(addr, like)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@numba.njit(cache=True, inline="always")
def view_from(table, t, start, n, like):
    """Array of ``n`` elements of ``like``'s dtype from element ``start`` of the array at
    address ``table[t]``."""
    return numba.carray(_as_ptr(table[t] + start * like.itemsize, like), n)


#: elements per piece of a multi-tensor update: a large tensor is cut into pieces of this size
#: so that the parallel driver spreads the whole group evenly over the threads (one piece is
#: 64 KB of float32 per array: big enough that a piece's own overhead does not show)
MULTI_CHUNK = 1 << 14


def multi_chunks(sizes, chunk: int = MULTI_CHUNK):
    """The pieces of a multi-tensor group: rows ``(tensor, start, stop)`` (int64) covering
    every tensor of ``sizes`` in order, each piece at most ``chunk`` elements."""
    import numpy as np

    if chunk < 1:
        raise ValueError(f"chunk must be positive, got {chunk}")
    rows = []
    for t, n in enumerate(int(n) for n in sizes):
        if n < 0:
            raise ValueError(f"tensor {t}: negative size {n}")
        rows.extend((t, lo, min(lo + chunk, n)) for lo in range(0, n, chunk))
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def multi_tensor(name: str, at, spec: type, states=(), *, inline_opts: dict, serial_opts: dict,
                 parallel_opts: dict):
    """``(serial, parallel)`` dispatchers of the multi-tensor driver of ``at``.

    The driver is ``loop(wp, gp, *state_tables, sizes, chunks, like, e16, sc)``: tensor ``t``
    of the group has ``sizes[t]`` elements at the addresses ``wp[t]``, ``gp[t]``, ...
    (C-contiguous arrays of ``like``'s dtype, kept alive by the caller) and its scalars in row
    ``sc[t]``.  ``prange`` runs over the pieces ``chunks`` (rows ``(t, start, stop)``, see
    :func:`multi_chunks`), so that one call updates a whole group, large and small tensors,
    evenly over the threads; each piece is one serial loop of ``at`` (no float16 output:
    ``e16`` is empty).
    """
    states = tuple(states)
    unpack = spec_unpacker(spec, inline_opts)
    tables = [f"{s}_t" for s in states]
    params = ", ".join(("wp", "gp", *tables, "sizes", "chunks", "like", "e16", "sc"))
    # each piece as arrays of its own, indexed from 0: LLVM vectorizes that loop (an index
    # from a start read at run time keeps Numba's negative-index wraparound in the loop)
    views = "".join(f"        {s} = VIEW({s}_t, t, lo, n, like)\n" for s in states)
    args = "".join(f", {s}" for s in states)
    qual = f"_{name}_multi_loop"
    source = (f"def {qual}({params}):\n"
              f"    for c in prange(chunks.shape[0]):\n"
              f"        t = chunks[c, 0]\n"
              f"        lo = chunks[c, 1]\n"
              f"        n = chunks[c, 2] - lo\n"
              f"        w = VIEW(wp, t, lo, n, like)\n"
              f"        g = VIEW(gp, t, lo, n, like)\n"
              f"{views}"
              f"        p = UNPACK(sc[t])\n"
              f"        for i in range(n):\n"
              f"            AT(i, w, g{args}, e16, False, p)\n")
    namespace = {"AT": at, "UNPACK": unpack, "VIEW": view_from, "prange": numba.prange,
                 spec.__name__: spec, "__name__": getattr(at, "__module__", __name__)}
    fn = _generate(qual, source, namespace, _source_file(at))
    fn.__qualname__ = qual
    return serial_parallel(fn, serial_opts, parallel_opts)


def configure_threads(num_threads: int | None = None) -> int:
    """Set the thread count of the parallel kernels and the BLAS; ``None`` reads the environment
    (see :func:`mxlite.kernels.threads.configure`).

    Returns the thread count in effect.  Raises ValueError for a non-positive count.
    """
    return _threads.configure(num_threads)


configure_threads()
