"""The mxlite side of the benchmark, through the public API only.

Optimizers: ``upd = mx.optimizer.get_updater(mx.optimizer.create(name, **kwargs))`` then either
``upd(i, grad, weight)`` for every index (the per-index form) or ``upd(indices, grads, weights)``
(the list form).  Initializers: ``init(mx.init.InitDesc(name), arr)`` for every parameter.
"""

from __future__ import annotations

from scenarios import make_arrays

__all__ = ["available_optimizers", "make_init_step", "make_opt_step"]


def available_optimizers() -> set[str]:
    import mxlite as mx

    return set(mx.optimizer.Optimizer.opt_registry)


def make_opt_step(spec, shapes, dtype: str, form: str, seed: int = 0):
    """One optimizer step over all ``shapes`` in the ``form`` ``"index"`` or ``"list"``.

    float16 runs with ``multi_precision=True`` (float32 master copy and states).
    """
    import mxlite as mx

    if form not in ("index", "list"):
        raise ValueError(f"form must be 'index' or 'list', got {form!r}")
    kwargs = dict(spec.kwargs)
    if dtype == "float16":
        kwargs["multi_precision"] = True
    upd = mx.optimizer.get_updater(mx.optimizer.create(spec.name, **kwargs))
    weights, grads = make_arrays(shapes, dtype, seed)
    ws = [mx.nd.array(w, dtype=w.dtype) for w in weights]
    gs = [mx.nd.array(g, dtype=g.dtype) for g in grads]
    indices = list(range(len(ws)))
    if form == "list":

        def step():
            upd(indices, gs, ws)

    else:
        triples = list(zip(indices, gs, ws, strict=True))

        def step():
            for i, g, w in triples:
                upd(i, g, w)

    return step


def make_init_step(create_args, params):
    """Initialize every (name, shape) of ``params`` with ``mx.init.create(*create_args)``."""
    import mxlite as mx

    name, kwargs = create_args
    init = mx.init.create(name, **kwargs)
    items = [(mx.init.InitDesc(n), mx.nd.empty(shape)) for n, shape in params]

    def step():
        for desc, arr in items:
            init(desc, arr)

    return step
