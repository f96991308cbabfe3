"""Operator fusion (mxlite._fusion, issue 13): which patterns fuse, which must not, and a fused
executor gives the numbers of the same graph bound with ``MXLITE_FUSION=0`` (outputs, every
gradient, the BatchNorm moving statistics) over training and inference forwards on one
executor, for ``grad_req`` write / add / null and float32 / float64."""

import numpy as np
import pytest

import mxlite as mx

S = mx.sym


def _conv(x, name, nf=4, bias=False, **kw):
    return S.Convolution(x, num_filter=nf, kernel=(3, 3), pad=(1, 1), no_bias=not bias,
                         name=name, **kw)


def _bn(x, name, **kw):
    kw.setdefault("fix_gamma", False)
    return S.BatchNorm(x, eps=1e-3, momentum=0.8, name=name, **kw)


def _relu(x, name, act="relu"):
    return S.Activation(x, act_type=act, name=name)


def _head(h):
    return S.SoftmaxOutput(S.FullyConnected(S.Flatten(h), num_hidden=3, name="fc"),
                           name="softmax")


def bn_relu(**kw):
    b = _bn(S.Variable("data"), "bn", **kw)
    return _head(_relu(b[0] if kw.get("output_mean_var") else b, "r"))


def conv_act(act, bias=False):
    return lambda: _head(_relu(_conv(S.Variable("data"), "c", bias=bias), "a", act))


def conv_bn(relu=True, **kw):
    def make():
        h = _bn(_conv(S.Variable("data"), "c"), "bn", **kw)
        return _head(_relu(h, "r") if relu else h)
    return make


def conv_add(conv_on_left=True):
    def make():
        x = _relu(_conv(S.Variable("data"), "c0"), "r0")
        c = _conv(x, "c1")
        return _head(S.elemwise_add(c, x, name="add") if conv_on_left else
                     S.elemwise_add(x, c, name="add"))
    return make


def preact_unit():
    """Two pre-activation residual units (BN -> relu -> conv, conv + shortcut)."""
    h = _conv(S.Variable("data"), "c0")
    for u in range(2):
        a = _relu(_bn(h, f"u{u}_bn1"), f"u{u}_r1")
        c = _conv(a, f"u{u}_c1")
        a2 = _relu(_bn(c, f"u{u}_bn2"), f"u{u}_r2")
        h = S.elemwise_add(_conv(a2, f"u{u}_c2"), h, name=f"u{u}_add")
    return _head(_relu(_bn(h, "bnf"), "rf"))


def fc_act(act):
    return _head(_relu(S.FullyConnected(S.Variable("data"), num_hidden=5, name="fc0"), "a", act))


def fc_bn_relu():
    h = S.FullyConnected(S.Variable("data"), num_hidden=5, name="fc0")
    return _head(_relu(_bn(h, "bn"), "r"))


# --- near misses: must not fuse
def bn_used_twice():
    b = _bn(S.Variable("data"), "bn")
    return _head(_relu(b, "r") + b)


def bn_is_output():
    b = _bn(S.Variable("data"), "bn")
    return S.Group([_head(_relu(b, "r")), b])


def bn_sigmoid():
    return _head(_relu(_bn(S.Variable("data"), "bn"), "s", "sigmoid"))


def conv_softrelu():
    return _head(_relu(_conv(S.Variable("data"), "c"), "s", "softrelu"))


def conv_out_used_twice():
    c = _conv(S.Variable("data"), "c")
    return _head(_relu(_bn(c, "bn"), "r") + c)


def conv_used_twice():
    c = _conv(S.Variable("data"), "c")
    return _head(_relu(c, "r") + c)


# id, symbol, the fused groups expected (names of their steps joined by '+')
CASES = [
    ("bn_relu", bn_relu, {"bn+r"}),
    ("bn_relu_fix_gamma", lambda: bn_relu(fix_gamma=True), {"bn+r"}),
    ("bn_relu_global_stats", lambda: bn_relu(use_global_stats=True), {"bn+r"}),
    ("bn_relu_output_mean_var", lambda: bn_relu(output_mean_var=True), {"bn+r"}),
    ("conv_relu", conv_act("relu"), {"c+a"}),
    ("conv_relu_bias", conv_act("relu", bias=True), {"c+a"}),
    ("conv_sigmoid", conv_act("sigmoid"), {"c+a"}),
    ("conv_tanh_bias", conv_act("tanh", bias=True), {"c+a"}),
    ("conv_bn_relu", conv_bn(), {"c+bn+r"}),
    ("conv_bn", conv_bn(relu=False), {"c+bn"}),
    ("conv_bn_relu_fix_gamma", conv_bn(fix_gamma=True), {"c+bn+r"}),
    ("conv_bn_relu_global_stats", conv_bn(use_global_stats=True), {"c+bn+r"}),
    ("conv_add_left", conv_add(True), {"c0+r0", "c1+add"}),
    ("conv_add_right", conv_add(False), {"c0+r0", "c1+add"}),
    ("preact_units", preact_unit, {"u0_bn1+u0_r1"} | {f"u{u}_c1+u{u}_bn2+u{u}_r2"
                                                          for u in range(2)}
     | {"u0_c2+u0_add", "u1_c2+u1_add", "u1_bn1+u1_r1", "bnf+rf"}),
    ("fc_bn_relu_rows", fc_bn_relu, {"bn+r"}),
    ("fc_relu", lambda: fc_act("relu"), {"fc0+a"}),
    ("fc_tanh", lambda: fc_act("tanh"), {"fc0+a"}),
    ("fc_softrelu", lambda: fc_act("softrelu"), set()),
    # near misses
    ("bn_used_twice", bn_used_twice, set()),
    ("bn_is_output", bn_is_output, set()),
    ("bn_sigmoid", bn_sigmoid, set()),
    ("conv_out_used_twice", conv_out_used_twice, {"bn+r"}),
    ("conv_softrelu", conv_softrelu, set()),
    ("conv_used_twice", conv_used_twice, set()),
]


def _groups(exe, inference=False):
    """The names of the fused groups of the training plan (``inference``: the plan of
    inference forwards)."""
    plan = exe._fused_infer if inference and exe._fused_infer is not None else exe._fused
    return set() if plan is None else {st.name for st in plan[0] if st.parts}


def _bind(sym, fused, monkeypatch, dtype=np.float32, grad_req="write"):
    monkeypatch.setenv("MXLITE_FUSION", "1" if fused else "0")
    exe = sym.simple_bind(mx.cpu(), data=(4, 3, 6, 6) if "fc0_weight" not in
                          sym.list_arguments() else (4, 7),
                          type_dict={"data": dtype}, grad_req=grad_req)
    rng = np.random.default_rng(3)
    for name, arr in exe.arg_dict.items():
        if name == "softmax_label":
            arr[:] = rng.integers(0, 3, arr.shape[0])
        else:
            arr[:] = rng.standard_normal(arr.shape) * 0.5
    for name, arr in exe.aux_dict.items():
        arr[:] = rng.uniform(0.5, 1.5, arr.shape) if name.endswith("var") else \
            rng.standard_normal(arr.shape) * 0.1
    if grad_req == "add":
        for g in exe.grad_arrays:
            if g is not None:
                g[:] = rng.standard_normal(g.shape)
    return exe


def _bits(a):
    """The bit patterns of ``a`` (a -0.0 is not a +0.0)."""
    return np.ascontiguousarray(a).view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _close(a, b, dtype):
    tol = {np.float16: {"rtol": 1e-3, "atol": 1e-3}, np.float32: {"rtol": 1e-5, "atol": 1e-6},
           np.float64: {"rtol": 1e-12, "atol": 1e-13}}[dtype]
    np.testing.assert_allclose(a, b, **tol)


def _compare(fused, plain, dtype, schedule=(True, False, True, True)):
    rng = np.random.default_rng(7)
    for is_train in schedule:
        x = rng.standard_normal(fused.arg_dict["data"].shape)
        outs = []
        for exe in (fused, plain):
            exe.arg_dict["data"][:] = x
            exe.forward(is_train=is_train)
            if is_train:
                exe.backward()
            outs.append(exe)
        for of, op in zip(fused.outputs, plain.outputs, strict=True):
            _close(of.asnumpy(), op.asnumpy(), dtype)
        if is_train:
            for name, g in fused.grad_dict.items():
                if g is not None:
                    _close(g.asnumpy(), plain.grad_dict[name].asnumpy(), dtype)
        for name, a in fused.aux_dict.items():
            _close(a.asnumpy(), plain.aux_dict[name].asnumpy(), dtype)
        for name, a in fused.arg_dict.items():  # fix_gamma writes 1 into gamma
            _close(a.asnumpy(), plain.arg_dict[name].asnumpy(), dtype)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_groups(case, monkeypatch):
    _, make, expected = case
    exe = _bind(make(), True, monkeypatch)
    assert _groups(exe) == expected
    assert _groups(_bind(make(), False, monkeypatch)) == set()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fused_equals_unfused(case, dtype, monkeypatch):
    _, make, _ = case
    sym = make()
    _compare(_bind(sym, True, monkeypatch, dtype), _bind(sym, False, monkeypatch, dtype), dtype)


CONV_CASES = [c for c in CASES if c[0].startswith("conv") or c[0] == "preact_units"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_convolution_epilogues_give_the_unfused_bits(case, dtype, monkeypatch):
    """Forward outputs and moving statistics of the convolution groups (bias, relu, sigmoid,
    tanh, BatchNorm, the residual add) are the unfused graph's bit patterns, training and
    inference forwards alike."""
    _, make, _ = case
    sym = make()
    fused, plain = _bind(sym, True, monkeypatch, dtype), _bind(sym, False, monkeypatch, dtype)
    rng = np.random.default_rng(4)
    for is_train in (True, False):
        x = rng.standard_normal(fused.arg_dict["data"].shape)
        for exe in (fused, plain):
            exe.arg_dict["data"][:] = x
            exe.forward(is_train=is_train)
        for a, b in zip(fused.outputs, plain.outputs, strict=True):
            np.testing.assert_array_equal(_bits(a.asnumpy()), _bits(b.asnumpy()))
        for name, a in fused.aux_dict.items():
            np.testing.assert_array_equal(_bits(a.asnumpy()),
                                          _bits(plain.aux_dict[name].asnumpy()))


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in (
    "bn_relu", "conv_tanh_bias", "conv_bn_relu", "conv_add_left")], ids=lambda c: c[0])
def test_float16_runs_the_parts_one_after_the_other(case, monkeypatch):
    """float16 data: no fused kernel (rounding to float16 between the parts is part of the
    result), the grouped operators run in turn and give the unfused numbers."""
    _, make, _ = case
    sym = make()
    fused = _bind(sym, True, monkeypatch, np.float16)
    _compare(fused, _bind(sym, False, monkeypatch, np.float16), np.float16)
    tags = [sv[0] for sv in fused._saved if isinstance(sv, tuple) and sv
            and isinstance(sv[0], str)]
    assert tags and set(tags) == {"chain"}


GRAD_CASES = [c for c in CASES if c[0] in ("bn_relu", "conv_bn_relu", "conv_add_left",
                                           "conv_tanh_bias", "preact_units")]


@pytest.mark.parametrize("grad_req", ["add", "null_data", "null_weights"])
@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grad_req(case, grad_req, monkeypatch):
    _, make, _ = case
    sym = make()
    names = sym.list_arguments()
    req = {"add": "add",
           "null_data": {n: "null" if n == "data" else "write" for n in names},
           "null_weights": {n: "null" if "weight" in n else "write" for n in names}}[grad_req]
    fused = _bind(sym, True, monkeypatch, grad_req=req)
    plain = _bind(sym, False, monkeypatch, grad_req=req)
    _compare(fused, plain, np.float32)


def test_inference_then_backward_recomputes_the_convolution(monkeypatch):
    """A backward after an inference forward (global statistics) needs the convolution's
    output, which the inference epilogue never wrote: it is recomputed."""
    sym = conv_bn()()
    fused, plain = _bind(sym, True, monkeypatch), _bind(sym, False, monkeypatch)
    for exe in (fused, plain):
        exe.forward(is_train=False)
        exe.backward()
    for name, g in fused.grad_dict.items():
        if g is not None:
            _close(g.asnumpy(), plain.grad_dict[name].asnumpy(), np.float32)


def test_monitor_runs_the_unfused_plan(monkeypatch):
    sym = preact_unit()
    exe = _bind(sym, True, monkeypatch)
    assert exe._fused is not None
    seen = []
    plain = _bind(sym, False, monkeypatch)
    exe.set_monitor_callback(lambda name, arr: seen.append(name))
    _compare(exe, plain, np.float32, schedule=(True,))
    assert exe._ran is None
    # every internal output is reported, the ones inside fused groups included
    assert {"u0_bn1_output", "u0_c1_output", "u0_bn2_output", "u0_add_output"} <= set(seen)
    exe.set_monitor_callback(None)
    _compare(exe, plain, np.float32, schedule=(True, False))
    assert exe._ran is not None


def test_module_and_gluon_fuse(monkeypatch):
    monkeypatch.setenv("MXLITE_FUSION", "1")
    mod = mx.mod.Module(preact_unit(), context=mx.cpu())
    mod.bind(data_shapes=[("data", (4, 3, 6, 6))], label_shapes=[("softmax_label", (4,))])
    assert _groups(mod._exec_group.execs[0])

    from mxlite.gluon import nn

    def net():
        blk = nn.HybridSequential()
        blk.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.Conv2D(2, 3, padding=1, activation="tanh"))
        blk.initialize(mx.init.Xavier())
        blk.hybridize()
        return blk

    outs, grads = [], []
    x = mx.nd.array(np.random.default_rng(0).standard_normal((2, 3, 5, 5)))
    for flag in ("1", "0"):
        monkeypatch.setenv("MXLITE_FUSION", flag)
        mx.random.seed(0)
        blk = net()
        with mx.autograd.record():
            y = blk(x)
        y.backward()
        outs.append(y.asnumpy())
        grads.append([p.grad().asnumpy() for p in blk.collect_params().values()
                      if p.grad_req != "null"])
        (slot,) = next(iter(blk._cached_op.pool.values()))
        assert bool(_groups(slot[0])) == (flag == "1")
    _close(outs[0], outs[1], np.float32)
    for a, b in zip(*grads, strict=True):
        _close(a, b, np.float32)


def test_fused_steps_reuse_their_buffers(monkeypatch):
    """Under the memory plan the fused steps write into the arrays of the previous batch
    (outputs, the convolution output kept for training, the internal gradients)."""
    exe = _bind(preact_unit(), True, monkeypatch)
    plain = _bind(preact_unit(), False, monkeypatch)
    seen = None
    for _ in range(3):
        _compare(exe, plain, np.float32, schedule=(True,))
        now = [(st.name, id(st.obufs[0])) for st in exe._fused[0] if st.obufs]
        now += [(st.name, id(st.op._mid[0])) for st in exe._fused[0]
                if st.parts and st.op._mid is not None]
        assert seen is None or now == seen
        seen = now
    assert any("+u0_bn2+" in n for n, _ in seen)


@pytest.mark.parametrize("is_train", [True, False], ids=["train", "infer"])
def test_unfused_record_recomputes_the_values_inside_groups(is_train, monkeypatch):
    """Gluon's ``create_graph`` replay walks the unfused steps: after a fused forward the
    executor hands them over with the values and saved states an unfused forward has (the
    values inside fused groups recomputed), leaving the moving statistics alone."""
    sym = preact_unit()
    fused, plain = _bind(sym, True, monkeypatch), _bind(sym, False, monkeypatch)
    plain._reuse = False  # no in-place step: every internal value is its own array
    for exe in (fused, plain):
        exe.forward(is_train=is_train)
    aux = {n: a.asnumpy().copy() for n, a in fused.aux_dict.items()}
    steps, vals, saved = fused._unfused_record()
    assert steps is fused._steps and len(saved) == len(steps)
    inside = {s for st in fused._fused[0] if st.parts for p in st.parts[:-1]
              for s in p.out_slots[:1]}
    assert inside
    for slot, ref in enumerate(plain._values):
        if ref is not None:
            _close(vals[slot], ref, np.float32)
    for k, st in enumerate(steps):
        if st.op.name == "BatchNorm":
            for a, b in zip(saved[k][:3], plain._saved[k][:3], strict=True):
                _close(a, b, np.float64)
    for n, a in fused.aux_dict.items():
        np.testing.assert_array_equal(a.asnumpy(), aux[n])


@pytest.mark.parametrize("is_train", [True, False], ids=["batch_stats", "global_stats"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_batchnorm_relu_mask_at_values_that_round_to_zero(dtype, is_train):
    """The fused backward recomputes relu's mask from ``x``: where ``x * scale + shift`` is a
    positive float64 that the forward's store rounds to 0 (float32) the unfused relu sees 0 and
    passes no gradient; the fused one must agree."""
    from mxlite.operator import registry

    bn = registry._OPERATORS["BatchNorm"]
    act = registry._OPERATORS["Activation"]
    p = bn.parse_params({"fix_gamma": False, "eps": 0.0, "use_global_stats": not is_train})
    pr = act.parse_params({"act_type": "relu"})
    # xhat = +-0.22, +-0.66, +-1.1, +-1.5 in every channel (batch or global statistics);
    # a subnormal gamma puts gamma * xhat around float32's rounding-to-zero point (2**-150)
    x = np.tile(np.linspace(-1, 1, 8).reshape(2, 1, 4), (1, 3, 1)).astype(dtype)
    gamma = np.array([1e-45, 3e-45, 1.0], np.float32).astype(dtype)
    beta = np.zeros(3, dtype)
    aux = [np.zeros(3, dtype), np.full(3, x[:, 0].var(), dtype)]
    dy = np.ones_like(x)
    (y,), saved = bn.forward(p, [x, gamma, beta], [a.copy() for a in aux], True, relu=True)
    (ref,), ref_saved = bn.forward(p, [x, gamma, beta], [a.copy() for a in aux], True)
    (yr,), _ = act.forward(pr, [ref], [], True)
    np.testing.assert_array_equal(y, yr)
    fused = bn.backward(p, [dy], [x, gamma, beta], [y], aux, saved, relu=True)
    dr = act.backward(pr, [dy], [ref], [yr], [], None)[0]
    plain = bn.backward(p, [dr], [x, gamma, beta], [ref], aux, ref_saved)
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_array_equal(a, b)
    if dtype == np.float32:  # the edge is there: positive float64 values stored as 0
        v = x.astype(np.float64) * saved[2].reshape(1, 3, 1)
        assert np.any((v > 0) & (y == 0)) and np.any((v > 0) & (y > 0))


def test_residual_gradient_sums_inside_batchnorm(monkeypatch):
    """A value read by BatchNorm + relu and by a residual add gets its gradient sum inside
    BatchNorm's backward pass (no separate sum), with the unfused numbers."""
    from mxlite.executor import Executor

    calls = []
    plain_sum = Executor._accumulate
    monkeypatch.setattr(Executor, "_accumulate",
                        lambda self, *a: calls.append(a[0]) or plain_sum(self, *a))
    sym = preact_unit()
    fused, plain = _bind(sym, True, monkeypatch), _bind(sym, False, monkeypatch)
    fused.forward(is_train=True)
    fused.backward()
    assert calls == [] and len(fused._accum) == 2
    plain.forward(is_train=True)
    plain.backward()
    assert len(calls) == 2
    _compare(fused, plain, np.float32, schedule=(True, True))


# every Convolution path runs the epilogue: (id, data shape, conv kwargs, the path's function)
CONV_PATHS = [
    ("winograd", (2, 64, 16, 16), {"num_filter": 64, "kernel": (3, 3), "pad": (1, 1)},
     "_winograd"),
    ("small_5x5", (3, 2, 12, 12), {"num_filter": 5, "kernel": (5, 5)}, "_small_forward"),
    ("direct", (3, 4, 6, 6), {"num_filter": 8, "kernel": (3, 3), "pad": (1, 1)}, "_direct"),
    ("winograd_thin", (2, 32, 16, 16), {"num_filter": 32, "kernel": (3, 3), "pad": (1, 1)},
     "_winograd_thin"),
    ("direct_s2", (3, 4, 7, 7), {"num_filter": 8, "kernel": (3, 3), "pad": (1, 1),
                                 "stride": (2, 2)}, "_direct"),
    ("im2col", (3, 4, 6, 6), {"num_filter": 6, "kernel": (3, 3), "pad": (1, 1)}, None),
]


@pytest.mark.parametrize("bias", [False, True], ids=["no_bias", "bias"])
@pytest.mark.parametrize("epilogue", ["relu", "bn", "bn_relu", "add", "residual"])
@pytest.mark.parametrize("path", CONV_PATHS, ids=[c[0] for c in CONV_PATHS])
def test_every_convolution_path_runs_the_epilogue(path, epilogue, bias, monkeypatch):
    """Bit for bit the unfused numbers (inference).  ``residual``: ``relu(BN(conv + x))``
    with the sum read once more after it (the inference plan: one group, two outputs)."""
    from mxlite.operator.nn import convolution

    _, shape, kw, func = path
    data = S.Variable("data")
    c = S.Convolution(data, no_bias=not bias, name="c", **kw)
    if epilogue == "relu":
        h = _relu(c, "a")
    elif epilogue in ("bn", "bn_relu"):
        h = _bn(c, "bn", use_global_stats=True)
        h = _relu(h, "r") if epilogue == "bn_relu" else h
    else:  # the residual: a second convolution of the same shape read once more
        other = S.Convolution(data, no_bias=True, name="o", **kw)
        h = S.elemwise_add(c, _relu(other, "ro"), name="add")
        if epilogue == "residual":
            h = S.elemwise_add(_relu(_bn(h, "bn"), "r"), h, name="again")
    sym = _head(h)
    taken = []
    if func is not None:
        real = getattr(convolution, func)
        # the epilogue: a hook (``post``) or, for the direct kernel's copy-out, ``epilogue``
        monkeypatch.setattr(convolution, func, lambda *a, **k: taken.append(
            k.get("epilogue") or k.get("post", a[-1])) or real(*a, **k))
    exes = []
    for fused in (True, False):
        monkeypatch.setenv("MXLITE_FUSION", "1" if fused else "0")
        exe = sym.simple_bind(mx.cpu(), data=shape)
        rng = np.random.default_rng(5)
        for name, arr in exe.arg_dict.items():
            if name == "softmax_label":
                arr[:] = rng.integers(0, 3, arr.shape[0])
            else:
                arr[:] = rng.standard_normal(arr.shape) * 0.3
        for name, arr in exe.aux_dict.items():
            arr[:] = rng.uniform(0.5, 1.5, arr.shape) if name.endswith("var") else \
                rng.standard_normal(arr.shape) * 0.1
        exes.append(exe)
    assert any(st.parts for st in exes[0]._fused[0])  # the epilogue was fused
    if epilogue == "residual":
        assert "c+add+bn+r" in _groups(exes[0], inference=True)
    for exe in exes:
        exe.forward(is_train=False)
    if func is not None:  # the fused forward handed the path an epilogue
        assert any(callable(t) for t in taken)
    np.testing.assert_array_equal(exes[0].outputs[0].asnumpy(), exes[1].outputs[0].asnumpy())


def preact_stack(nf=8, sum_is_head=False, early_reader=False, **bn):
    """Three pre-activation residual units on 8 channels (the direct kernel's sizes), every
    sum read by the next unit's BatchNorm and by its shortcut add; ``sum_is_head``: the
    first sum is an output too; ``early_reader``: the first sum is also read by an operator
    that runs before its BatchNorm + relu."""
    h = _conv(S.Variable("data"), "c0", nf=nf)
    sums = []
    for u in range(3):
        a = _relu(_bn(h, f"u{u}_bn1", **bn), f"u{u}_r1")
        a2 = _relu(_bn(_conv(a, f"u{u}_c1", nf=nf), f"u{u}_bn2", **bn), f"u{u}_r2")
        h = S.elemwise_add(_conv(a2, f"u{u}_c2", nf=nf), h, name=f"u{u}_add")
        sums.append(h)
    if early_reader:  # the first input of ``mix``: placed right after the first sum
        h = S.elemwise_add(S.Activation(sums[0], act_type="tanh", name="peek"), h, name="mix")
    out = _head(_relu(_bn(h, "bnf", **bn), "rf"))
    return S.Group([out, sums[0]]) if sum_is_head else out


RESIDUAL = {"u0_c2+u0_add+u1_bn1+u1_r1", "u1_c2+u1_add+u2_bn1+u2_r1",
            "u2_c2+u2_add+bnf+rf"}
#: the training plan of preact_stack
TRAINING = {"u0_bn1+u0_r1", "u1_bn1+u1_r1", "u2_bn1+u2_r1", "bnf+rf"} | {
    f"u{u}_c1+u{u}_bn2+u{u}_r2" for u in range(3)} | {f"u{u}_c2+u{u}_add" for u in range(3)}
# id, symbol, grad_req, the residual groups of the inference plan expected
RESIDUAL_CASES = [
    ("inference", lambda: preact_stack(), "null", RESIDUAL),
    ("inference_global_stats", lambda: preact_stack(use_global_stats=True), "null", RESIDUAL),
    ("inference_fix_gamma", lambda: preact_stack(fix_gamma=True), "null", RESIDUAL),
    ("training_executor", lambda: preact_stack(), "write", RESIDUAL),
    ("data_gradient_only", lambda: preact_stack(), {"data": "write"}, RESIDUAL),
    ("global_stats_training_executor", lambda: preact_stack(use_global_stats=True), "write",
     RESIDUAL),
    ("sum_is_a_head", lambda: preact_stack(sum_is_head=True), "null",
     RESIDUAL - {"u0_c2+u0_add+u1_bn1+u1_r1"}),
    # (the last sum goes to ``mix``, not to a BatchNorm)
    ("sum_read_before_its_bn", lambda: preact_stack(early_reader=True), "null",
     {"u1_c2+u1_add+u2_bn1+u2_r1"}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("case", RESIDUAL_CASES, ids=[c[0] for c in RESIDUAL_CASES])
def test_residual_sum_and_batchnorm_relu_in_one_step(case, dtype, monkeypatch):
    """``Convolution + x -> BatchNorm -> relu`` with the sum read again (pre-activation
    units) is one step writing the sum and the relu's output in the plan of inference
    forwards (the training plan keeps the parts apart: BatchNorm's batch statistics need the
    whole sum); outputs and moving statistics are bit for bit the unfused ones over inference
    and training forwards on one executor, and a backward after either gives the unfused
    gradients."""
    _, make, req, expected = case
    sym = make()
    exes = []
    for fused in (True, False):
        monkeypatch.setenv("MXLITE_FUSION", "1" if fused else "0")
        exe = sym.simple_bind(mx.cpu(), data=(5, 3, 8, 8), type_dict={"data": dtype},
                              grad_req=req)
        rng = np.random.default_rng(11)
        for name, arr in exe.arg_dict.items():
            arr[:] = rng.integers(0, 3, arr.shape[0]) if name == "softmax_label" else \
                rng.standard_normal(arr.shape) * 0.5
        for name, arr in exe.aux_dict.items():
            arr[:] = rng.uniform(0.5, 1.5, arr.shape) if name.endswith("var") else \
                rng.standard_normal(arr.shape) * 0.1
        exes.append(exe)
    assert {g for g in _groups(exes[0], inference=True) if "_add+" in g} == expected
    assert not any(g.count("+") > 1 and "_add" in g for g in _groups(exes[0]))
    if not case[0].startswith("sum"):
        assert _groups(exes[0]) == TRAINING  # the training plan is the plan without them
    rng = np.random.default_rng(2)
    for is_train in (False, True, False):
        x = rng.standard_normal((5, 3, 8, 8))
        for exe in exes:
            exe.arg_dict["data"][:] = x
            exe.forward(is_train=is_train)
        for a, b in zip(exes[0].outputs, exes[1].outputs, strict=True):
            np.testing.assert_array_equal(_bits(a.asnumpy()), _bits(b.asnumpy()))
        for name, a in exes[0].aux_dict.items():
            np.testing.assert_array_equal(_bits(a.asnumpy()),
                                          _bits(exes[1].aux_dict[name].asnumpy()))
        if req != "null":
            for exe in exes:
                exe.backward()
            for name, g in exes[0].grad_dict.items():
                if g is not None:
                    np.testing.assert_array_equal(g.asnumpy(),
                                                  exes[1].grad_dict[name].asnumpy())


@pytest.mark.parametrize("first", ["train_first", "infer_first"])
def test_residual_group_reuses_its_two_buffers(first, monkeypatch):
    """Under the memory plan the residual step writes the sum and the relu's output into
    the arrays of the previous batch, which are those of the training plan's ``conv + x`` and
    ``BatchNorm -> relu`` steps (whichever plan ran first)."""
    monkeypatch.setenv("MXLITE_FUSION", "1")
    exe = preact_stack().simple_bind(mx.cpu(), data=(2, 3, 8, 8))
    seen = None
    schedule = (False, True, False, False) if first == "infer_first" else (True, False, True)
    for is_train in schedule:
        exe.forward(is_train=is_train)
        now = [(st.name, [id(b) for b in st.obufs or ()]) for st in exe._fused_infer[0]
               if st.parts and len(st.parts) == 4]
        if seen is None and first == "train_first":  # not run yet
            seen = now
            continue
        assert len(now) == 3 and all(len(ids) == 2 for _, ids in now)
        assert seen is None or not seen[0][1] or now == seen
        seen = now
    train = {st.name: st for st in exe._fused[0]}
    for st in exe._fused_infer[0]:
        if st.parts and len(st.parts) == 4:
            conv, add, bn, act = (p.name for p in st.parts)
            assert st.obufs[0] is train[f"{conv}+{add}"].obufs[0]
            assert st.obufs[1] is train[f"{bn}+{act}"].obufs[0]
    # the plans share every step they have in common
    shared = [st for st in exe._fused_infer[0] if st is train.get(st.name)]
    assert len(shared) == len(exe._fused_infer[0]) - 3


def test_bad_fusion_switch_is_an_error_at_bind(monkeypatch):
    monkeypatch.setenv("MXLITE_FUSION", "sometimes")
    with pytest.raises(ValueError, match=r"MXLITE_FUSION.*sometimes"):
        bn_relu().simple_bind(mx.cpu(), data=(2, 3, 4, 4))


def test_gluon_inference_runs_the_residual_group(monkeypatch):
    """A hybridized pre-activation unit called outside ``autograd.record`` (an inference
    forward of an executor bound with parameter gradients) runs the residual group; the
    output is the unfused one bit for bit, and training calls still match."""
    from mxlite.gluon import nn

    class Unit(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.c0 = nn.Conv2D(8, 3, padding=1, use_bias=False)
            self.bn1, self.bn2, self.bn3 = nn.BatchNorm(), nn.BatchNorm(), nn.BatchNorm()
            self.c1 = nn.Conv2D(8, 3, padding=1, use_bias=False)
            self.c2 = nn.Conv2D(8, 3, padding=1, use_bias=False)

        def hybrid_forward(self, F, x):
            def relu(v):
                return F.Activation(v, act_type="relu")

            h = self.c0(x)
            s = self.c2(relu(self.bn1(self.c1(relu(self.bn2(h)))))) + h
            return relu(self.bn3(s)) + s

    x = mx.nd.array(np.random.default_rng(0).standard_normal((2, 3, 8, 8)))
    outs = []
    for flag in ("1", "0"):
        monkeypatch.setenv("MXLITE_FUSION", flag)
        mx.random.seed(0)
        blk = Unit()
        blk.initialize(mx.init.Xavier())
        blk.hybridize()
        got = [blk(x).asnumpy()]
        with mx.autograd.record():
            got.append(blk(x).asnumpy())
        got.append(blk(x).asnumpy())
        (slot,) = next(iter(blk._cached_op.pool.values()))
        outs.append(got)
        if flag == "1":
            assert any(g.count("+") == 3 for g in _groups(slot[0], inference=True)), \
                _groups(slot[0], inference=True)
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(_bits(a), _bits(b))


# id, a change between inference forwards: (executor) -> None
INFERENCE_CHANGES = [
    ("nothing", lambda exe: None),
    ("moving_var", lambda exe: exe.aux_dict["u1_bn2_moving_var"].__setitem__(
        slice(None), exe.aux_dict["u1_bn2_moving_var"] * 2)),
    ("gamma", lambda exe: exe.arg_dict["u0_bn2_gamma"].__setitem__(slice(None), -1.5)),
    ("conv_weight", lambda exe: exe.arg_dict["u1_c2_weight"].__setitem__(
        slice(None), exe.arg_dict["u1_c2_weight"] * 0.5)),
]


@pytest.mark.parametrize("change", INFERENCE_CHANGES, ids=[c[0] for c in INFERENCE_CHANGES])
def test_repeated_inference_keeps_epilogues_and_sees_changes(change, monkeypatch):
    """Inference forwards reuse each fused step's epilogue (and BatchNorm's affine) while
    their arrays are unchanged; after a change of a parameter or moving statistic in place
    the outputs are still the unfused graph's bits."""
    sym = preact_unit()
    fused, plain = _bind(sym, True, monkeypatch), _bind(sym, False, monkeypatch)
    x = np.random.default_rng(5).standard_normal(fused.arg_dict["data"].shape)
    for exe in (fused, plain):
        exe.arg_dict["data"][:] = x
    fused.forward(is_train=False)
    steps = [st for st in fused._fused_infer[0] if st.parts and st.op._epi is not None]
    assert steps  # the conv groups keep their epilogues
    kept = [st.op._epi[1] for st in steps]
    fused.forward(is_train=False)
    assert [st.op._epi[1] for st in steps] == kept
    for exe in (fused, plain):
        change[1](exe)
        exe.forward(is_train=False)
    for a, b in zip(fused.outputs, plain.outputs, strict=True):
        np.testing.assert_array_equal(_bits(a.asnumpy()), _bits(b.asnumpy()))
    renewed = sum(st.op._epi[1] is not k for st, k in zip(steps, kept, strict=True))
    assert renewed == (0 if change[0] in ("nothing", "conv_weight") else 1)
