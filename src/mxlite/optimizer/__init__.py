"""``mx.optimizer``: MXNet 1.9.1's optimizers on fused Numba kernels.

``create(name, **kwargs)`` builds an optimizer by name, ``get_updater(opt)`` wraps it for use by
index, ``Optimizer.register`` adds your own.  Every built-in has a readable NumPy reference
(``opt.step(indices, weights, grads, states)``) beside its fused kernel path
(``opt.fused_step(...)``); ``opt.use_fused_step`` (default True) chooses which one ``update``,
``update_multi_precision`` and the Updater run.

Layout: ``optimizer.py`` (the :class:`Optimizer` contract and its bookkeeping: learning rate,
schedule, multipliers, update counts), ``registry.py`` (``register``, ``create``, ``dumps()``'s
JSON form, :data:`~mxlite.optimizer.registry.STATE_TYPES`), ``engine.py`` (:class:`FusedOptimizer`:
the two paths, grouping, multi-precision, multi-tensor kernels, and the extension points listed in
its docstring), ``validation.py`` (argument checks), ``updater.py`` (the :class:`Updater`), then
one file per algorithm.  The kernels and their hyperparameter specs are in
:mod:`mxlite.kernels.optimizer`.

Adding an optimizer
-------------------
1. The kernel (``src/mxlite/kernels/optimizer.py``): a spec ``class FooSpec(NamedTuple)`` naming
   the scalars, a per-element ``_foo_at(i, w, g, *states, w16, st, p)`` that reads ``p.<field>``
   and ends with ``_store(w, w16, st, i, new_w)``, and ``foo = _kernel("foo", _foo_at, FooSpec,
   ("state1", ...))``; the driver loops are generated.
2. Its file ``src/mxlite/optimizer/foo.py``: ``@register class Foo(FusedOptimizer)`` with the
   update equations in the docstring, ``__init__`` checking its arguments with the helpers of
   :mod:`~mxlite.optimizer.validation`, ``create_state``, ``spec = K.FooSpec``, ``kernel = K.foo``,
   ``hyper(index)`` returning ``K.FooSpec(lr=..., ...)`` by name, and ``reference_update(index,
   w, g, states, hp)`` in NumPy.  A ``NamedTuple`` state class gets ``@register_state``.  Import
   it in this ``__init__``.
3. Its entry in the test table ``tests/optimizer/optim_db.py`` (constructor inputs, error inputs
   with their messages, configurations); every generic test then covers it, and a completeness
   test fails until the entry exists.
4. Its golden configurations in ``tools/gen_golden_optimizer.py`` (run with MXNet 1.9.1 to
   regenerate ``tests/golden/optimizer.*``).
"""

from __future__ import annotations

from .. import ndarray as _nd
from . import contrib, engine, optimizer, registry, updater, validation
from .adadelta import AdaDelta
from .adagrad import AdaGrad
from .adam import Adam, AdamState, AdamW
from .adamax import Adamax
from .contrib import GroupAdaGrad
from .dcasgd import DCASGD
from .engine import FusedOptimizer
from .ftml import FTML
from .ftrl import Ftrl
from .lamb import LAMB
from .lars import LARS
from .lbsgd import LBSGD
from .nadam import Nadam
from .nag import NAG
from .optimizer import Optimizer
from .rmsprop import RMSProp
from .sgd import SGD, ccSGD
from .sgld import SGLD
from .signum import Signum
from .test import Test
from .updater import Updater, get_updater

create = create_optimizer = Optimizer.create_optimizer
register = Optimizer.register
NDabs = _nd.abs  # MXNet's mxnet.optimizer re-exports ndarray.abs under this name

__all__ = [
    "DCASGD",
    "FTML",
    "LAMB",
    "LARS",
    "LBSGD",
    "NAG",
    "SGD",
    "SGLD",
    "AdaDelta",
    "AdaGrad",
    "Adam",
    "AdamState",
    "AdamW",
    "Adamax",
    "Ftrl",
    "FusedOptimizer",
    "GroupAdaGrad",
    "NDabs",
    "Nadam",
    "Optimizer",
    "RMSProp",
    "Signum",
    "Test",
    "Updater",
    "ccSGD",
    "contrib",
    "create",
    "create_optimizer",
    "engine",
    "get_updater",
    "optimizer",
    "register",
    "registry",
    "updater",
    "validation",
]
