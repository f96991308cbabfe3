"""Parameter, Constant, ParameterDict and Block behaviour (deferred init, grad_req, naming,
hybridize equal to imperative, hooks, errors)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import autograd, gluon
from mxlite.gluon import nn


def test_deferred_init_finishes_on_first_forward():
    net = nn.Dense(3)
    net.initialize()
    with pytest.raises(gluon.DeferredInitializationError):
        net.weight.data()
    net(mx.nd.ones((2, 5)))
    assert net.weight.shape == (3, 5)
    assert net.weight.data().shape == (3, 5)


def test_uninitialized_parameter_error():
    p = gluon.Parameter("w", shape=(2,))
    with pytest.raises(RuntimeError, match="has not been initialized"):
        p.data()
    with pytest.raises(ValueError, match="invalid shape"):
        gluon.Parameter("v", shape=(0, 2)).initialize()


def test_initialize_uses_param_init_then_default():
    net = nn.Dense(2, in_units=3, weight_initializer=mx.init.Constant(0.5))
    net.initialize(mx.init.One())
    np.testing.assert_array_equal(net.weight.data().asnumpy(), np.full((2, 3), 0.5))
    np.testing.assert_array_equal(net.bias.data().asnumpy(), [0, 0])
    other = gluon.Parameter("z", shape=(2,))
    other.initialize(mx.init.One())
    np.testing.assert_array_equal(other.data().asnumpy(), [1, 1])
    with pytest.warns(UserWarning, match="already initialized"):
        other.initialize()


@pytest.mark.parametrize(("req", "expected"), [("write", 2.0), ("add", 4.0)])
def test_parameter_grad_req(req, expected):
    p = gluon.Parameter("w", shape=(1,), grad_req=req)
    p.initialize(mx.init.One())
    for _ in range(2):
        with autograd.record():
            y = p.data() * 2
        y.backward()
    assert p.grad().asscalar() == expected
    p.zero_grad()
    assert p.grad().asscalar() == 0


def test_grad_req_null_has_no_grad():
    p = gluon.Parameter("w", shape=(1,), grad_req="null")
    p.initialize()
    with pytest.raises(RuntimeError, match="grad_req='null'"):
        p.grad()
    with pytest.raises(ValueError, match="grad_req"):
        p.grad_req = "maybe"


def test_set_data_cast_var():
    p = gluon.Parameter("w", shape=(2, 2), lr_mult=2.0)
    p.initialize()
    p.set_data(mx.nd.ones((2, 2)) * 3)
    np.testing.assert_array_equal(p.data().asnumpy(), np.full((2, 2), 3.0))
    p.cast("float64")
    assert p.data().dtype == np.float64 and p.grad().dtype == np.float64
    v = p.var()
    assert v.name == "w" and v.attr("__lr_mult__") == "2.0"


def test_constant():
    c = gluon.Constant("c", [[1.0, 2.0]])
    c.initialize()
    np.testing.assert_array_equal(c.data().asnumpy(), [[1.0, 2.0]])
    assert c.grad_req == "null"


def test_parameter_dict_get_shares_and_checks():
    pd = gluon.ParameterDict("net_")
    a = pd.get("w", shape=(2, 0))
    assert pd.get("w", shape=(2, 3)) is a and a.shape == (2, 3)
    with pytest.raises(AssertionError, match="does not match"):
        pd.get("w", shape=(4, 3))
    shared = gluon.ParameterDict("net_", shared=pd)
    assert shared.get("w") is a
    assert list(pd.keys()) == ["net_w"]


def test_parameter_dict_save_load_and_setattr(tmp_path):
    net = nn.Dense(2, in_units=3, prefix="fc_")
    net.initialize(mx.init.Uniform())
    params = net.collect_params()
    path = str(tmp_path / "p.params")
    params.save(path, strip_prefix="fc_")
    assert set(mx.nd.load(path)) == {"weight", "bias"}
    other = nn.Dense(2, in_units=3, prefix="fc_")
    other.collect_params().load(path, restore_prefix="fc_")
    np.testing.assert_array_equal(other.weight.data().asnumpy(), net.weight.data().asnumpy())
    params.setattr("lr_mult", 0.5)
    assert net.weight.lr_mult == 0.5 and net.bias.lr_mult == 0.5
    params.setattr("grad_req", "null")
    assert net.weight.grad_req == "null"


def test_block_naming_and_select():
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(2), nn.Dense(3))
        top = nn.Dense(1)
    assert net.prefix == "hybridsequential0_"
    assert list(net.collect_params("hybridsequential0_dense1_.*").keys()) == [
        "hybridsequential0_dense1_weight", "hybridsequential0_dense1_bias"]
    assert top.name == "dense0"


def test_hybrid_children_must_be_hybrid():
    seq = nn.HybridSequential()
    with pytest.raises(ValueError, match="HybridBlock"):
        seq.add(nn.Lambda(lambda x: x))


def _cnn():
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(3, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.AvgPool2D(2), nn.Conv2DTranspose(2, 2, strides=2), nn.MaxPool2D(2),
                nn.Flatten(), nn.Dropout(0.3), nn.Dense(4, activation="sigmoid"),
                nn.PReLU(), nn.ELU(), nn.Swish(), nn.HybridLambda("tanh"))
    return net


def test_hybridized_equals_imperative_forward_and_backward():
    x = mx.nd.random.uniform(shape=(2, 2, 6, 6))
    net = _cnn()
    net.initialize(mx.init.Xavier())
    grads = {}
    outs = {}
    for hyb in (False, True):
        if hyb:
            net.hybridize()
        with autograd.record(train_mode=False):
            out = net(x)
        out.backward()
        outs[hyb] = out.asnumpy()
        grads[hyb] = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()
                      if p.grad_req != "null"}
    np.testing.assert_allclose(outs[True], outs[False], rtol=1e-5, atol=1e-6)
    for k in grads[False]:
        np.testing.assert_allclose(grads[True][k], grads[False][k], rtol=1e-4, atol=1e-6,
                                   err_msg=k)


def test_hybridized_block_called_twice_before_backward():
    net = nn.Dense(2, in_units=2)
    net.initialize(mx.init.One())
    net.hybridize()
    a, b = mx.nd.array([[1.0, 2.0]]), mx.nd.array([[3.0, 5.0]])
    with autograd.record():
        loss = (net(a) * net(b)).sum()
    loss.backward()
    # d/dW sum_j (W a + c)_j (W b + c)_j with W = 1, c = 0: (W b) a^T + (W a) b^T
    np.testing.assert_allclose(net.weight.grad().asnumpy(), [[8 + 9, 16 + 15]] * 2)


def test_forward_hooks_and_summary(capsys):
    net = _cnn()
    net.initialize()
    seen = []
    h = net.register_forward_hook(lambda blk, inp, out: seen.append(out.shape))
    net(mx.nd.ones((1, 2, 6, 6)))
    h.detach()
    net(mx.nd.ones((1, 2, 6, 6)))
    assert seen == [(1, 4)]
    net.summary(mx.nd.ones((1, 2, 6, 6)))
    text = capsys.readouterr().out
    assert "Conv2D-1" in text and "Total params" in text


def test_sequential_indexing_and_repr():
    net = nn.Sequential()
    net.add(nn.Dense(2, in_units=3), nn.Dense(1, in_units=2))
    assert isinstance(net[1], nn.Dense) and len(net) == 2
    assert "Dense(3 -> 2, linear)" in repr(net)


def test_block_cast():
    net = nn.Dense(2, in_units=2)
    net.initialize()
    net.cast("float64")
    assert net(mx.nd.ones((1, 2), dtype="float64")).dtype == np.float64


LAYERS = [
    ("layer_norm", lambda: nn.LayerNorm(), (2, 3, 4)),
    ("instance_norm", lambda: nn.InstanceNorm(scale=True), (2, 3, 4, 4)),
    ("group_norm", lambda: nn.GroupNorm(num_groups=3), (2, 6, 3)),
    ("reflection_pad", lambda: nn.ReflectionPad2D(1), (1, 2, 3, 3)),
    ("conv1d_pool1d", lambda: _seq(nn.Conv1D(2, 3), nn.MaxPool1D(2), nn.GlobalAvgPool1D()),
     (2, 3, 9)),
    ("conv3d_transpose", lambda: _seq(nn.Conv3D(2, 2), nn.Conv3DTranspose(3, 2, strides=2),
                                      nn.AvgPool3D(2), nn.GlobalMaxPool3D()), (1, 1, 4, 4, 4)),
    ("conv1d_transpose", lambda: _seq(nn.Conv1DTranspose(2, 3, output_padding=0),
                                      nn.AvgPool1D(2, count_include_pad=False)), (2, 1, 5)),
    ("embedding", lambda: _seq(nn.Embedding(10, 4), nn.Dense(2, flatten=False)), (3, 2)),
    ("activations", lambda: _seq(nn.Dense(4), nn.LeakyReLU(0.1), nn.SELU(), nn.GELU(),
                                 nn.Activation("softsign")), (2, 3)),
]


def _seq(*blocks):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(*blocks)
    return net


@pytest.mark.parametrize(("make", "shape"), [c[1:] for c in LAYERS], ids=[c[0] for c in LAYERS])
def test_layer_hybridized_equals_imperative(make, shape):
    net = make()
    net.initialize(mx.init.Uniform(0.5))
    x = mx.nd.random.uniform(0, 9, shape=shape) if "embedding" in str(make) or shape == (3, 2) \
        else mx.nd.random.uniform(-1, 1, shape=shape)
    results = []
    for hyb in (False, True):
        if hyb:
            net.hybridize()
        x.attach_grad()
        with autograd.record():
            out = net(x)
        out.backward(mx.nd.ones(out.shape))
        grads = [p.grad().asnumpy().copy() for p in net.collect_params().values()
                 if p.grad_req != "null"]
        results.append((out.asnumpy(), grads))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(results[1][1], results[0][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_shared_parameters_accumulate_both_uses(hybridize):
    a = nn.Dense(2, in_units=2, use_bias=False, prefix="shared_")
    b = nn.Dense(2, in_units=2, use_bias=False, params=a.params)
    assert b.weight is a.weight
    a.initialize(mx.init.One())
    if hybridize:
        a.hybridize()
        b.hybridize()
    x = mx.nd.array([[1.0, 2.0]])
    with autograd.record():
        y = (a(x) + 2 * b(x)).sum()
    y.backward()
    np.testing.assert_allclose(a.weight.grad().asnumpy(), [[3.0, 6.0], [3.0, 6.0]])


def test_gradients_stay_valid_across_hybridized_backward_passes():
    """The tape hands the executor's gradient buffers over instead of copying: gradients read
    earlier (autograd.grad results) must not change when the block runs again."""
    net = nn.Dense(2, in_units=2, use_bias=False)
    net.initialize(mx.init.One())
    net.hybridize()
    w = net.weight.data()
    first = None
    for scale in (1.0, 10.0, 100.0, 1000.0):
        x = mx.nd.array([[scale, 2 * scale]])
        with autograd.record():
            y = net(x).sum()
        (g,) = autograd.grad(y, [w])
        if first is None:
            first = g
        with autograd.record():
            y = net(x).sum()
        y.backward()
        np.testing.assert_allclose(net.weight.grad().asnumpy(), [[scale, 2 * scale]] * 2)
    np.testing.assert_allclose(first.asnumpy(), [[1.0, 2.0]] * 2)
