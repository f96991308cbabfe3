"""The optimizer engine's contract: the documented extension points, specs passed by name,
generated kernel drivers (Numba cache intact), and the layering rules of issue 18."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mxlite as mx
from mxlite.kernels import optimizer as K
from mxlite.optimizer.engine import FusedOptimizer

SRC = os.path.join(os.path.dirname(mx.__file__))

#: what a built-in optimizer may define of the engine (FusedOptimizer's docstring lists them)
EXTENSION_POINTS = {
    "hyper", "prepare", "reference_update", "kernel_update", "state_arrays",
    "row_sparse_update", "create_state", "create_state_multi_precision", "spec", "kernel",
    "multi_kernels", "master_first", "zero_clip_disables", "count_chunk_first",
}


def _builtin_classes():
    return sorted({cls for cls in mx.optimizer.Optimizer.opt_registry.values()
                   if issubclass(cls, FusedOptimizer)
                   and cls.__module__.startswith("mxlite.optimizer.")}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _builtin_classes(), ids=lambda c: c.__name__)
def test_builtins_override_only_extension_points(cls):
    # (_engine_update and _default_prepare are set on every class by the engine itself)
    engine_names = {n for n in vars(FusedOptimizer) if not n.startswith("__")} - {
        "_engine_update", "_default_prepare"}
    for klass in cls.__mro__:
        if klass in (FusedOptimizer, mx.optimizer.Optimizer, object):
            break
        overridden = {n for n in vars(klass) if n in engine_names} - EXTENSION_POINTS
        assert not overridden, f"{klass.__name__} overrides engine internals {overridden}"


@pytest.mark.parametrize("cls", _builtin_classes(), ids=lambda c: c.__name__)
def test_every_builtin_has_a_spec_its_kernels_take(cls):
    assert cls.spec is not None and cls.spec.__name__ in K.SPECS
    if cls.kernel is not None:
        assert cls.kernel.spec is cls.spec


def test_no_positional_scalars_and_small_files():
    folder = os.path.join(SRC, "optimizer")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name)) as f:
            text = f.read()
        assert not re.search(r"\bsc\[", text), f"optimizer/{name} reads scalars by position"
        assert text.count("\n") <= 450, f"optimizer/{name} has more than 450 lines"


def test_ndarray_does_not_import_optimizer():
    folder = os.path.join(SRC, "ndarray")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert "optimizer" not in (node.module or ""), f"ndarray/{name} imports optimizer"


# --------------------------------------------------------------------------- specs by name
def test_spec_make_takes_names_only():
    hp = K.SGDSpec.make(lr=0.1, wd=0.0, rescale_grad=1.0, clip=-1.0, momentum=0.9)
    assert type(hp) is K.SGDSpec and hp.momentum == 0.9
    with pytest.raises(TypeError):
        K.SGDSpec.make(0.1, 0.0, 1.0, -1.0, 0.9)
    with pytest.raises(TypeError, match="momentum"):
        K.SGDSpec.make(lr=0.1, wd=0.0, rescale_grad=1.0, clip=-1.0)


def test_kernel_refuses_another_spec():
    w = np.ones(4, np.float32)
    hp = K.SGDSpec.make(lr=0.1, wd=0.0, rescale_grad=1.0, clip=-1.0, momentum=0.0)
    with pytest.raises(TypeError, match="kernel adam takes a AdamSpec, got SGDSpec"):
        K.adam.run(w, w.copy(), (w.copy(), w.copy()), K.EMPTY16, hp)


def test_generated_drivers_are_the_kernels():
    for name, kernel in K.KERNELS.items():
        for variant, dispatcher in zip(("ser", "par"), kernel.dispatchers, strict=True):
            qual = dispatcher.py_func.__qualname__
            assert qual.endswith(variant) or name in ("sumsq", "lamb_moments"), qual
    src = inspect.getsource(K)
    assert src.count("prange(w.size)") == 0  # no hand-written elementwise driver is left


def test_generated_drivers_load_from_numba_cache(tmp_path):
    """cache=True works for generated drivers: a second process loads them from the cache."""
    code = textwrap.dedent("""
        import numpy as np
        from mxlite.kernels import optimizer as K
        w = np.ones(8, np.float32)
        hp = K.AdamSpec.make(lr=0.1, wd=0.0, rescale_grad=1.0, clip=-1.0, beta1=0.9,
                             one_minus_beta1=0.1, beta2=0.99, one_minus_beta2=0.01,
                             epsilon=1e-8)
        K.adam.run(w, w.copy(), (w.copy(), w.copy()), K.EMPTY16, hp)
        stats = K.adam.serial.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path),
               PYTHONPATH=os.pathsep.join([os.path.dirname(SRC), os.environ.get("PYTHONPATH", "")]))
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           timeout=300, check=True).stdout.split() for _ in range(2)]
    assert runs[0] == ["0", "1"], runs  # compiled and saved
    assert runs[1] == ["1", "0"], runs  # loaded


# --------------------------------------------------------------------------- extension points
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "reference"])
def test_row_sparse_gradients_reach_row_sparse_update(fused):
    dense_opt = mx.optimizer.create("adam", learning_rate=0.1, use_fused_step=fused)
    w_dense = mx.nd.array([1.0, -2.0, 3.0])
    g = np.array([0.5, 0.0, -1.0], np.float32)
    dense_opt.update(0, w_dense, mx.nd.array(g), dense_opt.create_state(0, w_dense))

    class Spy(mx.optimizer.Adam):
        calls = []

        def row_sparse_update(self, index, weight, grad, state, hp, fused):
            self.calls.append((index, type(hp).__name__, fused))
            super().row_sparse_update(index, weight, grad, state, hp, fused)

    opt = Spy(learning_rate=0.1, use_fused_step=fused)
    w = mx.nd.array([1.0, -2.0, 3.0])
    rows = mx.nd.sparse.row_sparse_array((g[[0, 2]], [0, 2]), shape=(3,))
    opt.update(0, w, rows, opt.create_state(0, w))
    assert Spy.calls == [(0, "AdamSpec", fused)]
    # no weight decay, and the untouched row's gradient is 0: the lazy update equals the dense one
    np.testing.assert_allclose(w.asnumpy(), w_dense.asnumpy(), rtol=1e-6)


def test_updater_honours_an_instance_update():
    opt = mx.optimizer.create("sgd", learning_rate=0.1)
    calls = []
    opt.update_multi_precision = lambda i, w, g, s: calls.append(i)
    upd = mx.optimizer.get_updater(opt)
    upd(0, mx.nd.ones(2), mx.nd.ones(2))
    upd([1, 2], [mx.nd.ones(2)] * 2, [mx.nd.ones(2), mx.nd.ones(2)])
    assert calls == [[0], [1, 2]]  # SGD aggregates: lists, as MXNet's Updater hands them


def test_updater_honours_a_subclass_update():
    @mx.optimizer.register
    class HalfSGD(mx.optimizer.SGD):
        def update(self, index, weight, grad, state):
            super().update(index, weight, grad * 0.5, state)

    upd = mx.optimizer.get_updater(mx.optimizer.create("halfsgd", learning_rate=1.0))
    w = mx.nd.ones(2)
    upd(0, mx.nd.ones(2), w)
    upd([0], [mx.nd.ones(2)], [w])
    np.testing.assert_allclose(w.asnumpy(), [0.0, 0.0])


def test_prepare_is_the_group_hook():
    """A subclass overriding prepare() sees every chunk and decides what is applied."""
    seen = []

    class Halved(mx.optimizer.SGD):
        def prepare(self, indices, weights, grads, states, fused):
            seen.append(list(indices))
            steps = super().prepare(indices, weights, grads, states, fused)
            return [(g, s, hp._replace(lr=hp.lr / 2)) for g, s, hp in steps]

    opt = Halved(learning_rate=1.0)  # aggregate_num = 4: chunks of four
    ws = [mx.nd.ones(3) for _ in range(6)]
    opt.fused_step(list(range(6)), ws, [mx.nd.ones(3)] * 6, [None] * 6)
    opt.update(9, ws[0], mx.nd.ones(3), None)
    assert seen == [[0, 1, 2, 3, 4, 5], [9]]
    np.testing.assert_allclose(ws[0].asnumpy(), [0.0] * 3)
    np.testing.assert_allclose(ws[1].asnumpy(), [0.5] * 3)
    upd = mx.optimizer.get_updater(Halved(learning_rate=1.0))
    upd(list(range(6)), [mx.nd.ones(3)] * 6, [mx.nd.ones(3) for _ in range(6)])
    assert seen[-2:] == [[0, 1, 2, 3], [4, 5]]  # the Updater hands over aggregate_num at a time


def test_names_moved_out_of_optimizer_py_still_import():
    from mxlite.optimizer import engine, registry
    from mxlite.optimizer import optimizer as base

    assert base.FusedOptimizer is engine.FusedOptimizer
    assert base.create is registry.create and base._REGISTRY is registry._REGISTRY
    from mxlite.optimizer.updater import STATE_TYPES

    assert STATE_TYPES is registry.STATE_TYPES and "AdamState" in STATE_TYPES
    with pytest.raises(AttributeError, match="no attribute 'fused_call'"):
        base.fused_call  # noqa: B018 - replaced by mxlite.kernels.optimizer.call_flat
