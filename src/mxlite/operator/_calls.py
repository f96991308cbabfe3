"""How a front-end call of an operator is split: shared by ``mx.nd.<op>`` (NDArray inputs) and
``mx.sym.<op>`` (Symbol inputs)."""

from __future__ import annotations


def split_call(op, opname: str, args: tuple, kwargs: dict, kind: type):
    """Split the call ``opname(*args, **kwargs)`` of ``op`` into
    ``(inputs, keyword_inputs, raw_params)``.

    Values of class ``kind`` are inputs: positional ones (for a variadic operator also a
    non-empty list or tuple of them) come first, keyword ones by slot name.  Other positional
    values fill the parameters not given by keyword, in the operator's order.  A keyword
    ``None`` means "the default" and is dropped, except for parameters where None is a value
    (``slice_axis``'s ``end``).  A variadic operator takes its inputs positionally only.
    """
    inputs: list = []
    params_pos: list = []
    for a in args:
        if isinstance(a, kind):
            if params_pos:
                raise TypeError(
                    f"{opname}: input {kind.__name__} given after positional parameters"
                )
            inputs.append(a)
        elif op.variadic and isinstance(a, (list, tuple)) and a and \
                all(isinstance(x, kind) for x in a) and not params_pos:
            inputs.extend(a)
        else:
            params_pos.append(a)
    keyword_inputs = {k: v for k, v in kwargs.items() if isinstance(v, kind)}
    raw = {k: v for k, v in kwargs.items() if not isinstance(v, kind)
           and (v is not None or (k in op.params and op.params[k].optional))}
    if params_pos:
        free = [p for p in op.params if p not in raw and p != op.variadic]
        if len(params_pos) > len(free):
            raise TypeError(f"{opname}: too many positional arguments {params_pos!r}")
        raw.update(zip(free, params_pos, strict=False))
    if op.variadic and keyword_inputs:
        raise TypeError(f"{opname} takes its inputs positionally, got keyword inputs "
                        f"{sorted(keyword_inputs)}")
    return inputs, keyword_inputs, raw
