"""PyTorch peers: ``torch.optim`` (fused and foreach) steps and ``torch.nn.init`` fills.

Each ``make_*`` function builds its tensors once and returns a zero-argument callable doing one
step (or one full initialization), ready for timing.  The tensors hold the same numbers as the
mxlite side (``scenarios.make_arrays`` with the same seed).
"""

from __future__ import annotations

from scenarios import init_role, make_arrays

__all__ = ["available", "make_init_step", "make_opt_step", "set_threads", "version"]


def available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def version() -> str:
    import torch

    return torch.__version__


def set_threads(n: int) -> None:
    import torch

    torch.set_num_threads(n)


def make_opt_step(torch_spec, impl: str, shapes, dtype: str, seed: int = 0):
    """One ``opt.step()`` of ``torch.optim.<class>`` with ``fused=True`` or ``foreach=True``.

    Returns None when this PyTorch build refuses the combination (e.g. a fused kernel that does
    not exist for this optimizer or dtype on CPU).
    """
    import torch

    cls_name, kwargs, impls = torch_spec
    if impl not in impls:
        return None
    weights, grads = make_arrays(shapes, dtype, seed)
    params = []
    for w, g in zip(weights, grads, strict=True):
        p = torch.nn.Parameter(torch.from_numpy(w.copy()))
        p.grad = torch.from_numpy(g.copy())
        params.append(p)
    try:
        opt = getattr(torch.optim, cls_name)(params, **kwargs, **{impl: True})
        opt.step()  # creates the state; raises here if the implementation is unsupported
    except (RuntimeError, ValueError, TypeError):
        return None
    return opt.step


def make_init_step(torch_rule, params):
    """Initialize every (name, shape) in ``params`` as MXNet's dispatch by name would:
    ``*_weight`` with ``torch.nn.init.<rule>``, ``*_gamma`` with ones, the rest with zeros."""
    import torch

    fn_name, kwargs = torch_rule
    fn = getattr(torch.nn.init, fn_name)
    tensors = [(init_role(name), torch.empty(shape)) for name, shape in params]
    ones, zeros = torch.nn.init.ones_, torch.nn.init.zeros_

    def step():
        with torch.no_grad():
            for role, t in tensors:
                if role == "weight":
                    fn(t, **kwargs)
                elif role == "one":
                    ones(t)
                else:
                    zeros(t)

    return step
