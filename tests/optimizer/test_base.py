"""The optimizer contract: registry, learning rate and multipliers, update counts, validation
messages, user-written optimizers, and the kernels' compiled signatures."""

from __future__ import annotations

import doctest
import importlib
import warnings

import numpy as np
import pytest

import mxlite as mx
from mxlite.kernels import optimizer as K

ALL_CLASSES = ["AdaDelta", "AdaGrad", "Adam", "AdamW", "Adamax", "DCASGD", "FTML", "Ftrl",
               "GroupAdaGrad", "LAMB",
               "LARS", "LBSGD", "NAG", "Nadam", "RMSProp", "SGD", "SGLD", "Signum", "Test",
               "ccSGD"]


class FakeSymbol:
    def __init__(self, attrs, args):
        self._attrs, self._args = attrs, args

    def attr_dict(self):
        return self._attrs

    def list_arguments(self):
        return self._args


class Param:
    def __init__(self, lr_mult=1.0, wd_mult=1.0):
        self.lr_mult, self.wd_mult = lr_mult, wd_mult


# --------------------------------------------------------------------------- namespace, registry
def test_namespace_exports_mxnet_names():
    for name in [*ALL_CLASSES, "Optimizer", "Updater", "get_updater", "register", "create",
                 "create_optimizer"]:
        assert hasattr(mx.optimizer, name), name
    assert mx.optimizer.create is mx.optimizer.Optimizer.create_optimizer


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=ALL_CLASSES)
def test_create_by_case_insensitive_name(cls):
    opt = mx.optimizer.create(cls.upper())
    assert type(opt).__name__ == cls
    assert isinstance(opt, mx.optimizer.Optimizer)
    assert cls.lower() in mx.optimizer.Optimizer.opt_registry


def test_create_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match=r"Cannot find optimizer 'nope'; known optimizers: .*adam"):
        mx.optimizer.create("nope")


def test_register_override_warns():
    @mx.optimizer.register
    class Dup(mx.optimizer.Optimizer):
        pass

    with pytest.warns(UserWarning, match="is overriding existing optimizer"):
        @mx.optimizer.Optimizer.register
        class Dup(mx.optimizer.Optimizer):  # the override is the point
            pass


def test_group_adagrad_rejects_weight_decay_and_1d():
    opt = mx.optimizer.create("groupadagrad", wd=0.1)
    w = mx.nd.ones((2, 3))
    with pytest.raises(ValueError, match=r"does not support weight decay, got wd=0\.1"):
        opt.update(0, w, mx.nd.ones((2, 3)), opt.create_state(0, w))
    with pytest.raises(ValueError, match=r"needs 2-D weights, got shape \(3,\)"):
        opt.create_state(0, mx.nd.ones(3))


def test_json_spec_creates():
    opt = mx.optimizer.create('["adam", {"learning_rate": 0.5, "beta1": 0.8}]')
    assert (type(opt).__name__, opt.lr, opt.beta1) == ("Adam", 0.5, 0.8)


# --------------------------------------------------------------------------- user optimizers
def test_user_optimizer_with_ndarray_ops_works_through_create_and_updater():
    @mx.optimizer.Optimizer.register
    class HeavyBall(mx.optimizer.Optimizer):
        def __init__(self, momentum=0.5, **kwargs):
            super().__init__(**kwargs)
            self.momentum = momentum

        def create_state(self, index, weight):
            return mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype)

        def update(self, index, weight, grad, state):
            self._update_count(index)
            lr, wd = self._get_lr(index), self._get_wd(index)
            mx.nd.sgd_mom_update(weight, grad, state, lr=lr, wd=wd, momentum=self.momentum,
                                 rescale_grad=self.rescale_grad, out=weight)
            weight[:] = weight - 0.0 * state  # plain NDArray arithmetic works as well

    opt = mx.optimizer.create("heavyball", learning_rate=0.1, momentum=0.5)
    upd = mx.optimizer.get_updater(opt)
    w, g = mx.nd.array([1.0, 2.0]), mx.nd.array([1.0, 1.0])
    upd(0, g, w)
    upd(0, g, w)
    # m1 = -0.1, w1 = w0 - 0.1; m2 = 0.5*m1 - 0.1 = -0.15, w2 = w1 - 0.15
    np.testing.assert_allclose(w.asnumpy(), [0.75, 1.75], rtol=1e-6)
    assert opt.num_update == 2
    # its states save and load through the safe format (it is registered)
    blob = upd.get_states(dump_optimizer=True)
    other = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    other.set_states(blob)
    assert type(other.optimizer).__name__ == "HeavyBall"
    np.testing.assert_allclose(other.states[0].asnumpy(), [-0.15, -0.15], rtol=1e-6)


def test_base_optimizer_update_is_abstract():
    opt = mx.optimizer.Optimizer()
    with pytest.raises(NotImplementedError):
        opt.update(0, mx.nd.ones(2), mx.nd.ones(2), None)


def test_user_optimizer_multi_precision_wrapper():
    @mx.optimizer.register
    class PlainStep(mx.optimizer.Optimizer):
        def update(self, index, weight, grad, state):
            weight[:] = weight - self._get_lr(index) * grad

    opt = mx.optimizer.create("plainstep", learning_rate=0.5, multi_precision=True)
    w = mx.nd.array([1.0, 2.0], dtype="float16")
    state = opt.create_state_multi_precision(0, w)
    master, inner = state
    assert master.dtype == np.float32 and inner is None
    opt.update_multi_precision(0, w, mx.nd.array([1.0, 1.0], dtype="float16"), state)
    np.testing.assert_allclose(master.asnumpy(), [0.5, 1.5])
    assert w.dtype == np.float16
    np.testing.assert_allclose(w.asnumpy(), [0.5, 1.5])


# --------------------------------------------------------------------------- learning rate
def test_default_learning_rate_and_property():
    opt = mx.optimizer.Optimizer()
    assert opt.lr == 0.01 and opt.learning_rate == 0.01
    opt.set_learning_rate(0.2)
    assert opt.learning_rate == 0.2


def test_scheduler_sets_learning_rate_and_blocks_set_learning_rate():
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    opt = mx.optimizer.Optimizer(lr_scheduler=sched)
    opt.num_update = 3
    assert opt.learning_rate == pytest.approx(0.25)
    with pytest.raises(UserWarning, match="LRScheduler of the optimizer has already been defined"):
        opt.set_learning_rate(0.1)


def test_learning_rate_overrides_scheduler_base_lr_with_warning():
    sched = mx.lr_scheduler.FactorScheduler(step=10, base_lr=1.0)
    with pytest.warns(UserWarning, match="overwritten by ``learning_rate``"):
        mx.optimizer.SGD(learning_rate=0.3, lr_scheduler=sched)
    assert sched.base_lr == 0.3


def test_optimizer_default_learning_rate_overrides_scheduler_as_mxnet():
    # Adam passes its default learning_rate=0.001 on, which then wins over the scheduler's
    sched = mx.lr_scheduler.FactorScheduler(step=10, base_lr=1.0)
    with pytest.warns(UserWarning):
        mx.optimizer.Adam(lr_scheduler=sched)
    assert sched.base_lr == 0.001


# --------------------------------------------------------------------------- multipliers
def test_wd_mult_defaults_to_zero_for_non_weights():
    names = {0: "fc_weight", 1: "fc_bias", 2: "bn_gamma", 3: "bn_beta"}
    opt = mx.optimizer.SGD(wd=0.1, param_idx2name=names)
    assert opt._get_wds([0, 1, 2, 3, 9]) == [0.1, 0.0, 0.1, 0.0, 0.1]
    assert opt.wd_mult == {"fc_bias": 0.0, "bn_beta": 0.0}


def test_multipliers_from_symbol_attributes_and_explicit():
    sym = FakeSymbol({"fc_weight": {"__lr_mult__": "2.0"}, "fc_bias": {"__wd_mult__": "0.5"}},
                     ["fc_weight", "fc_bias", "bn_gamma"])
    names = {0: "fc_weight", 1: "fc_bias", 2: "bn_gamma"}
    opt = mx.optimizer.SGD(learning_rate=0.1, wd=0.2, sym=sym, param_idx2name=names)
    assert opt._get_lrs([0, 1, 2]) == pytest.approx([0.2, 0.1, 0.1])
    assert opt._get_wds([0, 1, 2]) == pytest.approx([0.2, 0.1, 0.2])
    opt.set_lr_mult({"bn_gamma": 0.3, 1: 5.0})  # by name and by index; sym attrs kept
    assert opt._get_lrs([0, 1, 2]) == pytest.approx([0.2, 0.5, 0.03])
    opt.set_wd_mult({"fc_weight": 0.0})
    assert opt._get_wd(0) == 0.0 and opt._get_wd(1) == pytest.approx(0.1)


def test_param_dict_multipliers_win():
    opt = mx.optimizer.SGD(learning_rate=0.1, wd=0.2, param_dict={0: Param(3.0, 0.5)},
                           param_idx2name={0: "x_bias"})
    opt.set_lr_mult({0: 100.0})
    assert opt._get_lr(0) == pytest.approx(0.3)
    assert opt._get_wd(0) == pytest.approx(0.1)
    assert "param_dict" not in opt.__getstate__()


def test_lars_keeps_wd_only_for_weights():
    opt = mx.optimizer.LARS(wd=0.1, param_idx2name={0: "a_weight", 1: "b_gamma"})
    assert opt._get_wds([0, 1]) == [0.1, 0.0]


# --------------------------------------------------------------------------- update counts
def test_update_counts_and_begin_num_update():
    opt = mx.optimizer.SGD(begin_num_update=5)
    opt._update_count(0)
    opt._update_count([0, 1])
    assert opt._index_update_count == {0: 7, 1: 6}
    assert opt.num_update == 7
    opt._set_current_context(1)
    opt._update_count(0)
    assert opt._index_update_count == {0: 6}
    assert opt._all_index_update_counts[0] == {0: 7, 1: 6}


def test_adam_bias_correction_uses_per_index_count():
    opt = mx.optimizer.Adam(learning_rate=1.0)
    w0, w1 = mx.nd.zeros(1), mx.nd.zeros(1)
    s0, s1 = opt.create_state(0, w0), opt.create_state(1, w1)
    g = mx.nd.ones(1)
    opt.update(0, w0, g, s0)
    opt.update(0, w0, g, s0)
    opt.update(1, w1, g, s1)  # first step of index 1: same as index 0's first step
    assert opt._index_update_count == {0: 2, 1: 1}
    np.testing.assert_allclose(w1.asnumpy(), [-1.0], rtol=1e-6)


# --------------------------------------------------------------------------- bad input
BAD = [
    ("neg-lr", lambda: mx.optimizer.SGD(learning_rate=-0.1), ValueError,
     r"learning_rate must be >= 0, got -0\.1"),
    ("neg-wd", lambda: mx.optimizer.Adam(wd=-1), ValueError, "wd must be >= 0, got -1"),
    ("neg-momentum", lambda: mx.optimizer.SGD(momentum=-0.9), ValueError,
     r"momentum must be >= 0, got -0\.9"),
    ("beta1-one", lambda: mx.optimizer.Adam(beta1=1.0), ValueError,
     r"beta1 must be in \[0, 1\), got 1\.0"),
    ("beta2-neg", lambda: mx.optimizer.LAMB(beta2=-0.1), ValueError,
     r"beta2 must be in \[0, 1\), got -0\.1"),
    ("neg-eps", lambda: mx.optimizer.Adam(epsilon=-1e-8), ValueError,
     r"epsilon must be >= 0, got -1e-08"),
    ("adagrad-eps", lambda: mx.optimizer.AdaGrad(eps=-1.0), ValueError,
     r"eps must be >= 0, got -1\.0"),
    ("gamma1", lambda: mx.optimizer.RMSProp(gamma1=1.5), ValueError,
     r"gamma1 must be in \[0, 1\), got 1\.5"),
    ("rho", lambda: mx.optimizer.AdaDelta(rho=2), ValueError, r"rho must be in \[0, 1\), got 2"),
    ("lr-type", lambda: mx.optimizer.SGD(learning_rate="fast"), TypeError,
     "learning_rate must be a real number, got 'fast'"),
    ("nan-lr", lambda: mx.optimizer.SGD(learning_rate=float("nan")), ValueError,
     "learning_rate must be >= 0, got nan"),
    ("idx2name", lambda: mx.optimizer.SGD(param_idx2name=["a"]), TypeError,
     "param_idx2name must be a dict"),
    ("warmup", lambda: mx.optimizer.LBSGD(warmup_strategy="cubic"), ValueError,
     "warmup_strategy must be one of linear, power2, sqrt, lars, got 'cubic'"),
    ("batch-scale", lambda: mx.optimizer.LBSGD(batch_scale=0), ValueError,
     "batch_scale must be >= 1, got 0"),
    ("set-lr", lambda: mx.optimizer.SGD().set_learning_rate(-1), ValueError,
     "lr must be >= 0, got -1"),
    ("unknown", lambda: mx.optimizer.create("adamz"), ValueError,
     "Cannot find optimizer 'adamz'; known optimizers:"),
    ("unknown-kwarg", lambda: mx.optimizer.create("sgd", momentun=0.9), TypeError,
     "momentun"),
]


@pytest.mark.parametrize(("call", "exc", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_hyperparameters(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


@pytest.mark.parametrize(
    ("grad", "exc", "message"),
    [
        (mx.nd.ones((3,)), ValueError,
         r"weight and grad shapes differ: weight \(2,\), grad \(3,\)"),
        (mx.nd.ones((2,), dtype="float64"), TypeError,
         "weight and grad dtypes differ: weight float32, grad float64"),
        (np.ones(2, np.float32), TypeError, "grad must be an NDArray, got ndarray"),
    ],
    ids=["shape", "dtype", "numpy"],
)
@pytest.mark.parametrize("name", ["sgd", "adam", "lamb", "lars", "lbsgd"])
def test_bad_arrays(name, grad, exc, message):
    opt = mx.optimizer.create(name)
    w = mx.nd.ones((2,))
    upd = mx.optimizer.get_updater(opt)
    with pytest.raises(exc, match=message):
        upd(0, grad, w)
    with pytest.raises(exc, match=message):
        opt.update(0, w, grad, opt.create_state(0, w))


def test_updater_rejects_numpy_weight():
    upd = mx.optimizer.get_updater(mx.optimizer.create("adam"))
    with pytest.raises(TypeError, match="weight must be an NDArray, got ndarray"):
        upd(0, mx.nd.ones(2), np.ones(2, np.float32))


def test_updater_list_length_mismatch():
    upd = mx.optimizer.get_updater(mx.optimizer.create("sgd"))
    with pytest.raises(ValueError, match="lists differ in length: 2, 1, 2"):
        upd([0, 1], [mx.nd.ones(1)], [mx.nd.ones(1), mx.nd.ones(1)])


def test_updater_requires_optimizer():
    with pytest.raises(TypeError, match="optimizer must be an Optimizer"):
        mx.optimizer.get_updater("sgd")


def test_values_mxnet_accepts_stay_accepted():
    # zero everything, a large momentum (>= 1 is refused since issue 12: it diverges),
    # negative rescale, clip 0
    mx.optimizer.SGD(learning_rate=0.0, momentum=0.999, wd=0.0, rescale_grad=-1.0,
                     clip_gradient=0.0)
    mx.optimizer.Adam(beta1=0.0, beta2=0.0, epsilon=0.0)
    mx.optimizer.Signum(momentum=0.0, wd_lh=0.0)
    mx.optimizer.Ftrl(lamda1=0.0, beta=0)
    opt = mx.optimizer.SGD(clip_gradient=-1.0)  # negative: no clipping, as the operators
    w = mx.nd.zeros(1)
    opt.update(0, w, mx.nd.array([100.0]), None)
    assert w.asscalar() == pytest.approx(-1.0)


def test_bytes_index_is_decoded():
    upd = mx.optimizer.get_updater(mx.optimizer.create("sgd", momentum=0.9))
    upd([b"fc_weight"], [mx.nd.ones(2)], [mx.nd.ones(2)])
    assert list(upd.states) == ["fc_weight"]


def test_sync_state_context_keeps_structure():
    upd = mx.optimizer.get_updater(mx.optimizer.create("adam"))
    w = mx.nd.ones(2)
    upd(0, mx.nd.ones(2), w)
    synced = upd.sync_state_context(upd.states[0], mx.cpu(0))
    assert isinstance(synced, mx.optimizer.AdamState)
    assert upd.sync_state_context([None, w], mx.cpu())[1] is w


# --------------------------------------------------------------------------- kernels
SIGNATURE_LIMIT = 3  # float32, float64, and float32 master with float16 (uint16) data


def _kernel_inputs(name, dtype, mp):
    n = 5
    w = np.linspace(-1, 1, n).astype(dtype)
    g = np.linspace(0.5, -0.5, n).astype(np.float16 if mp else dtype)
    if mp:
        g = g.view(np.uint16)
    states = {"sgd": 0, "sgd_mom": 1, "nag_mom": 1, "adam": 2, "adamw": 2, "rmsprop": 1,
              "rmspropalex": 3, "adagrad": 1, "adadelta": 2, "adamax": 2, "nadam": 2,
              "dcasgd": 2, "sgld": 1, "signsgd": 0, "signum": 1, "ftml": 3, "ftrl": 2,
              "test_update": 1, "group_adagrad": 1}[name]
    fields = K.KERNELS[name].spec._fields  # the kernel's scalars, in its spec's order
    arrays = [np.full(n, 0.5, dtype) for _ in range(states)]
    w16 = np.empty(n, np.uint16) if mp else np.empty(0, np.uint16)
    sc = np.full(len(fields), 0.5, dtype)
    sc[fields.index("rescale_grad" if name == "test_update" else "clip")] = -1.0
    return (w, g, *arrays, w16, sc)


UPDATE_KERNELS = sorted(set(K.KERNELS) - {"sumsq", "lamb_moments", "lamb_apply", "lamb_phase1"})


@pytest.mark.parametrize("name", UPDATE_KERNELS, ids=UPDATE_KERNELS)
def test_each_kernel_runs_and_compiles_few_signatures(name):
    kernel = K.KERNELS[name]
    for dtype, mp in ((np.float32, False), (np.float64, False), (np.float32, True)):
        args = _kernel_inputs(name, dtype, mp)
        w_before = args[0].copy()
        kernel(*args)
        kernel(*_kernel_inputs(name, dtype, mp))  # same types: no new compilation
        assert not np.array_equal(args[0], w_before) or name == "sgld"
        if mp:
            np.testing.assert_array_equal(args[-2].view(np.float16), args[0].astype(np.float16))
    for dispatcher in kernel.dispatchers:
        assert len(dispatcher.signatures) <= SIGNATURE_LIMIT, dispatcher.signatures


def test_reduction_and_lamb_kernels_signatures():
    for dtype in (np.float32, np.float64):
        x = np.linspace(-1, 1, 7).astype(dtype)
        assert K.sumsq(x) == pytest.approx(float(np.sum(x.astype(np.float64) ** 2)))
        sc = np.array([0.0, 1.0, -1.0, 0.9, 0.1, 0.99, 0.01, 1e-6, 1.0, 1.0, 0.1], dtype)
        K.lamb_moments(x.copy(), x, np.zeros_like(x), np.zeros_like(x), sc)
        u = np.zeros_like(x)
        K.lamb_phase1(x.copy(), x, np.zeros_like(x), np.zeros_like(x), u, K.EMPTY16, sc)
        assert np.all(np.isfinite(u)) and np.any(u != 0)
    x16 = np.linspace(-1, 1, 7).astype(np.float16)
    assert K.sumsq(x16.view(np.uint16)) == pytest.approx(
        float(np.sum(x16.astype(np.float64) ** 2)))
    for name in ("sumsq", "lamb_moments", "lamb_apply", "lamb_phase1"):
        for dispatcher in K.KERNELS[name].dispatchers:
            assert len(dispatcher.signatures) <= SIGNATURE_LIMIT


def test_optimizers_do_not_recompile_per_call():
    opt = mx.optimizer.create("adam")
    w = mx.nd.ones((10,))
    s = opt.create_state(0, w)
    opt.update(0, w, mx.nd.ones((10,)), s)
    before = len(K.adam.serial.signatures)
    for lr in (0.1, 1, np.float32(0.5), 2**-3):  # scalars of every Python/NumPy type
        opt.lr = lr
        opt.update(0, w, mx.nd.ones((10,)), s)
    assert len(K.adam.serial.signatures) == before


def test_thread_configuration(monkeypatch):
    from mxlite import kernels

    monkeypatch.setenv("MXLITE_NUM_THREADS", "1")
    assert kernels.configure_threads() == 1
    monkeypatch.setenv("MXLITE_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="MXLITE_NUM_THREADS must be an integer, got 'zero'"):
        kernels.configure_threads()
    with pytest.raises(ValueError, match="num_threads must be >= 1, got 0"):
        kernels.configure_threads(0)
    monkeypatch.delenv("MXLITE_NUM_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    import numba

    kernels.configure_threads(numba.config.NUMBA_NUM_THREADS)


# --------------------------------------------------------------------------- docstrings
MODULES = ["optimizer", "contrib", "sgd", "nag", "adam", "rmsprop", "adagrad", "adadelta", "adamax",
           "nadam", "dcasgd", "sgld", "signum", "ftml", "ftrl", "test"]


@pytest.mark.parametrize("module", MODULES, ids=MODULES)
def test_docstring_examples(module):
    mod = importlib.import_module(f"mxlite.optimizer.{module}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_update_ops_docstring_examples():
    mod = importlib.import_module("mxlite.ndarray.update_ops")
    assert doctest.testmod(mod).failed == 0


@pytest.mark.skipif(__import__("platform").machine() not in ("x86_64", "AMD64"),
                    reason="checks x86 SIMD instructions")
@pytest.mark.parametrize("name", ["sgd_mom", "adam", "rmsprop", "lamb_apply"])
def test_kernel_loops_vectorize(name):
    """The hot loops must compile to SIMD code (issue 9's bandwidth target depends on it):
    inspect a fresh, uncached compilation of the serial loop."""
    import re

    import numba

    serial = K.KERNELS[name].serial
    fresh = numba.njit(error_model="numpy")(serial.py_func)
    if name == "lamb_apply":
        x = np.ones(8, np.float32)
        args = (x, x.copy(), x.copy(), np.empty(0, np.uint16), np.ones(11, np.float32))
    else:
        args = _kernel_inputs(name, np.float32, False)
    fresh(*args)
    asm = fresh.inspect_asm(fresh.signatures[0])
    assert len(re.findall(r"v(?:mul|add|sub|div|sqrt|fmadd\w*)ps\s", asm)) > 4
