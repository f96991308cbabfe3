"""Regenerate tests/golden/gluon_*.{json,npz} from MXNet 1.9.1.

Run with the MXNet reference interpreter:  /tmp/mxref/bin/python tools/gen_golden_gluon.py

Sections (each writes its own fixture so one can be regenerated without the others):

- ``autograd``: composite expressions and single operator calls, written as Python source
  over ``mx`` and the inputs ``a, b, c``; the fixture keeps the source, the inputs, the value
  and the gradient of every input, so the test evaluates the same text with mxlite.
- further sections (gluon naming, training, losses, hybridize, files) are added below.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["MXNET_MKLDNN_ENABLED"] = "0"
os.environ["MXNET_STORAGE_FALLBACK_LOG_VERBOSE"] = "0"

import mxnet as mx
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
rng = np.random.default_rng(1414)


def U(*shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def P(*shape):
    """Positive values (log, sqrt, division)."""
    return rng.uniform(0.5, 2.0, size=shape).astype(np.float32)


class Idx(np.ndarray):
    """Input that gets no gradient (class labels, rows, regression targets -- MXNet leaves
    the label gradient of its regression outputs unwritten)."""

    def __new__(cls, values):
        return np.asarray(values, dtype=np.float32).view(cls)


# ---------------------------------------------------------------------- autograd
# (id, source of an expression over a, b, c giving the head, inputs, head_grad shape or None)
AUTOGRAD = [
    ("poly", "(a * a + 2 * a - b / 3).sum()", [U(2, 3), U(2, 3)]),
    ("broadcast_ops", "((a + b) * (a - b) / (b * b + 1)).mean()", [U(2, 3), U(1, 3)]),
    ("scalar_left", "(1 - a) + (2 / (a * a + 1)) + 2 ** a", [U(3, 2)]),
    ("power", "a ** b + a ** 2", [P(2, 2), U(2, 2)]),
    ("unary_chain", "mx.nd.log(mx.nd.exp(a) + 1) * mx.nd.tanh(a) + mx.nd.sqrt(b) "
                    "+ mx.nd.sigmoid(a) * mx.nd.relu(a) - mx.nd.abs(a) + mx.nd.square(b) "
                    "+ mx.nd.rsqrt(b) + mx.nd.reciprocal(b) + mx.nd.expm1(a) + mx.nd.log1p(b)",
     [U(2, 3), P(2, 3)]),
    ("dot_tanh", "mx.nd.tanh(mx.nd.dot(a, b)).sum(axis=1)", [U(3, 4), U(4, 2)]),
    ("dot_transpose", "mx.nd.dot(a, b, transpose_b=True)", [U(2, 3), U(4, 3)]),
    ("batch_dot", "mx.nd.batch_dot(a, b)", [U(2, 3, 4), U(2, 4, 2)]),
    ("reshape_transpose", "(a.reshape((3, 4)).T * b).sum(axis=0)", [U(2, 6), U(4, 3)]),
    ("reduce_axes", "a.sum(axis=1, keepdims=True) * a.max(axis=0).reshape((1, 4)) + "
                    "a.mean(axis=(0, 1))",
     [U(3, 4)]),
    ("prod", "mx.nd.prod(a, axis=1) + a.prod() + mx.nd.prod(b, axis=0, keepdims=True).sum()",
     [U(3, 4), np.array([[1.5, 0.5], [2.0, -1.0], [0.7, 3.0]], "f4")]),
    ("norm", "mx.nd.norm(a) * mx.nd.norm(b, axis=1).sum()", [U(3, 4), U(2, 3)]),
    ("min_clip", "mx.nd.clip(a, -0.5, 0.5) + a.min(axis=1, keepdims=True)", [U(3, 4)]),
    ("maximum_minimum", "mx.nd.maximum(a, b) * mx.nd.minimum(a, 0.2) + mx.nd.maximum(a, 0.1)",
     [U(2, 3), U(2, 3)]),
    ("getitem", "a[1, 1:] * 2 + a[0:2, 1:3].sum() + a[:, 2] + a[2, :3]", [U(3, 4)]),
    ("concat_stack_split", "mx.nd.concat(a, b, dim=1).sum(axis=0) + "
                           "mx.nd.stack(a, b, axis=0).sum(axis=(0, 2)).sum() + "
                           "mx.nd.split(a, num_outputs=2, axis=1)[1].sum()", [U(2, 4), U(2, 4)]),
    ("shape_family", "mx.nd.expand_dims(a, axis=1).broadcast_to((3, 2, 4)).sum(axis=2) + "
                     "mx.nd.tile(mx.nd.flip(a, axis=1), reps=(1, 2)).sum(axis=1, keepdims=True)"
                     " * mx.nd.squeeze(mx.nd.slice_axis(a, axis=1, begin=1, end=2))"
                     ".reshape((3, 1))", [U(3, 4)]),
    ("softmax_pick", "mx.nd.pick(mx.nd.log_softmax(a, axis=-1), b, axis=-1).sum() + "
                     "(mx.nd.softmax(a) * a).sum()", [U(4, 5), Idx([0, 3, 1, 4])]),
    ("take_embedding", "mx.nd.take(a, b) * 2 + mx.nd.Embedding(b, a, input_dim=5, "
                       "output_dim=3)", [U(5, 3), Idx([4, 0, 2, 2])]),
    ("where_cast", "mx.nd.where(a > 0, a * 3, b) + a.astype('float64').astype('float32')",
     [U(3, 3), U(3, 3)]),
    ("inplace_add", "mx.nd.relu(a) + 0", [U(2, 2)]),
    ("fc_act", "mx.nd.Activation(mx.nd.FullyConnected(a, b, c, num_hidden=3), "
               "act_type='tanh')", [U(4, 5), U(3, 5), U(3)]),
    ("conv_pool", "mx.nd.Pooling(mx.nd.Convolution(a, b, c, kernel=(3, 3), num_filter=2, "
                  "pad=(1, 1)), kernel=(2, 2), stride=(2, 2), pool_type='max')",
     [U(2, 2, 4, 4), U(2, 2, 3, 3), U(2)]),
    ("deconv", "mx.nd.Deconvolution(a, b, kernel=(3, 3), num_filter=2, stride=(2, 2), "
               "no_bias=True)", [U(1, 3, 3, 3), U(3, 2, 3, 3)]),
    ("leaky_softrelu", "mx.nd.LeakyReLU(a, act_type='leaky', slope=0.2) + "
                       "mx.nd.Activation(a, act_type='softrelu') + "
                       "mx.nd.LeakyReLU(a, act_type='elu', slope=0.5)", [U(3, 4)]),
    ("softmax_output", "mx.nd.SoftmaxOutput(a, b)", [U(3, 4), Idx([0, 2, 3])]),
    ("make_loss", "mx.nd.make_loss(mx.nd.square(a - b).sum())", [U(2, 3), U(2, 3)]),
    ("block_grad", "a * mx.nd.BlockGrad(b * a) + mx.nd.stop_gradient(a)", [U(2, 3), U(2, 3)]),
    ("add_n_smooth_l1", "mx.nd.add_n(a, b, a * b) + mx.nd.smooth_l1(a, scalar=2.0)",
     [U(2, 3), U(2, 3)]),
    ("upsampling", "mx.nd.UpSampling(a, scale=2, sample_type='nearest')", [U(1, 2, 2, 2)]),
    ("pool_avg_sum", "mx.nd.Pooling(a, kernel=(2, 2), stride=(1, 1), pad=(1, 1), "
                     "pool_type='avg', count_include_pad=False) + "
                     "mx.nd.Pooling(a, kernel=(2, 2), stride=(1, 1), pad=(1, 1), pool_type='sum')",
     [U(1, 2, 4, 4)]),
    ("global_pool", "mx.nd.Pooling(a, global_pool=True, pool_type='avg', kernel=(1, 1)) * "
                    "mx.nd.Pooling(a, global_pool=True, pool_type='max', kernel=(1, 1))",
     [U(2, 3, 3, 3)]),
    ("regression_outputs", "mx.nd.LinearRegressionOutput(a, b) + "
                           "mx.nd.LogisticRegressionOutput(a, b) + "
                           "mx.nd.MAERegressionOutput(a, b)", [U(3, 2), Idx(U(3, 2))]),
    ("softmax_activation", "mx.nd.SoftmaxActivation(a) * b + "
                           "mx.nd.softmax(a, temperature=2.0) + "
                           "mx.nd.log_softmax(a, axis=0)", [U(3, 4), U(3, 4)]),
    ("shape_ops", "mx.nd.Reshape(a, shape=(0, -1, 2)).swapaxes(1, 2).reshape((2, -1)) * "
                  "mx.nd.reshape_like(b, mx.nd.zeros((2, 6))) + "
                  "mx.nd.repeat(mx.nd.slice(a, begin=(0, 0), end=(2, 6), step=(1, 2)), "
                  "repeats=2, axis=1)", [U(2, 6), U(3, 4)]),
    ("broadcast_like_axis", "mx.nd.broadcast_like(a, b) * b + "
                            "mx.nd.broadcast_axis(a, axis=1, size=4)", [U(3, 1), U(3, 4)]),
    ("trig_and_rounding", "mx.nd.sin(a) * mx.nd.cos(b) + mx.nd.floor(a) + mx.nd.sign(b) + "
                          "mx.nd.softsign(a) + mx.nd.cbrt(b + 2)", [U(2, 3), U(2, 3)]),
    ("batchnorm_global_stats", "mx.nd.BatchNorm(a, b, c, mx.nd.array([0.1, -0.2]), "
                               "mx.nd.array([1.5, 0.5]), use_global_stats=True, "
                               "fix_gamma=False)", [U(3, 2, 2), P(2), U(2)]),
    ("fc_no_flatten", "mx.nd.FullyConnected(a, b, num_hidden=2, no_bias=True, flatten=False)",
     [U(2, 3, 4), U(2, 4)]),
    ("layer_norm", "mx.nd.LayerNorm(a, b, c, axis=-1, eps=1e-5)", [U(3, 4), P(4), U(4)]),
    ("layer_norm_axis1", "mx.nd.LayerNorm(a, b, c, axis=1, eps=1e-3)",
     [U(2, 3, 4), P(3), U(3)]),
    ("instance_norm", "mx.nd.InstanceNorm(a, b, c, eps=1e-3)", [U(2, 3, 4, 2), P(3), U(3)]),
    ("group_norm", "mx.nd.GroupNorm(a, b, c, num_groups=2, eps=1e-5)",
     [U(2, 4, 3, 2), P(2), U(2)]),
    ("pad_reflect", "mx.nd.pad(a, mode='reflect', pad_width=(0, 0, 0, 0, 1, 2, 2, 1))",
     [U(1, 2, 3, 4)]),
    ("pad_edge", "mx.nd.pad(a, mode='edge', pad_width=(0, 0, 0, 0, 2, 1, 0, 3))",
     [U(1, 2, 3, 3)]),
    ("pad_constant", "mx.nd.pad(a, mode='constant', constant_value=0.5, "
                     "pad_width=(0, 0, 0, 0, 1, 1, 1, 1, 0, 1))", [U(1, 1, 2, 2, 2)]),
    ("ctc_first", "mx.nd.CTCLoss(a, b)", [U(5, 2, 4), Idx([[1, 2, 0], [3, 3, 1]])]),
    ("ctc_lengths", "mx.nd.CTCLoss(a, b, c, use_label_lengths=True, blank_label='last')",
     [U(6, 2, 4), Idx([[0, 1, 2], [2, 2, 1]]), Idx([2, 3])]),
]


def gen_autograd():
    cases, arrays = [], {}
    for cid, src, inputs in AUTOGRAD:
        names = "abc"[:len(inputs)]
        nds = [mx.nd.array(np.asarray(x)) for x in inputs]
        with_grad = [n for n, x in zip(names, inputs, strict=True) if not isinstance(x, Idx)]
        for n, x in zip(names, nds, strict=True):
            if n in with_grad:
                x.attach_grad()
        scope = {"mx": mx, **dict(zip(names, nds, strict=True))}
        with mx.autograd.record():
            y = eval(src, scope)
        head = U(*y.shape)
        y.backward(mx.nd.array(head))
        arrays[f"{cid}/head"] = head
        arrays[f"{cid}/out"] = y.asnumpy()
        for n, x, raw in zip(names, nds, inputs, strict=True):
            arrays[f"{cid}/in_{n}"] = np.asarray(raw)
            if n in with_grad:
                arrays[f"{cid}/grad_{n}"] = x.grad.asnumpy()
        cases.append({"id": cid, "src": src, "inputs": list(names), "with_grad": with_grad})
    # grad_req='add': two backward passes accumulate; 'write' overwrites
    x = mx.nd.array([1.0, -2.0, 3.0])
    x.attach_grad(grad_req="add")
    for _ in range(2):
        with mx.autograd.record():
            y = (x * x * x).sum()
        y.backward()
    arrays["req_add/grad"] = x.grad.asnumpy()
    # train/predict mode: dropout is identity in predict mode, BatchNorm uses batch stats
    d = mx.nd.array(U(4, 3))
    g, bt = mx.nd.array(P(3)), mx.nd.array(U(3))
    mm, mv = mx.nd.zeros(3), mx.nd.ones(3)
    for arr in (d, g, bt):
        arr.attach_grad()
    with mx.autograd.record():
        out = mx.nd.BatchNorm(d, g, bt, mm, mv, fix_gamma=False, momentum=0.8)
    head = U(4, 3)
    out.backward(mx.nd.array(head))
    arrays["batchnorm/head"] = head
    arrays["batchnorm/out"] = out.asnumpy()
    arrays["batchnorm/data"] = d.asnumpy()
    arrays["batchnorm/gamma"] = g.asnumpy()
    arrays["batchnorm/beta"] = bt.asnumpy()
    arrays["batchnorm/grad_data"] = d.grad.asnumpy()
    arrays["batchnorm/grad_gamma"] = g.grad.asnumpy()
    arrays["batchnorm/grad_beta"] = bt.grad.asnumpy()
    arrays["batchnorm/moving_mean"] = mm.asnumpy()
    arrays["batchnorm/moving_var"] = mv.asnumpy()
    return {"cases": cases}, arrays


# ---------------------------------------------------------------------- gluon nets
# source of a function building a net from ``nn`` (gluon.nn); evaluated by both engines
NETS = {
    "mlp": """
def build(nn):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Dense(16, activation="relu"), nn.Dense(8, activation="tanh"), nn.Dense(3))
    return net
""",
    "cnn_bn": """
def build(nn):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, padding=1, use_bias=False), nn.BatchNorm(),
                nn.Activation("relu"), nn.MaxPool2D(2),
                nn.Conv2D(6, 3, in_channels=4, use_bias=False), nn.BatchNorm(in_channels=6),
                nn.Activation("relu"), nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(3))
    return net
""",
    "nested": """
def build(nn):
    class Block2(nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.body = nn.HybridSequential()
                self.body.add(nn.Dense(5), nn.BatchNorm())
                self.out = nn.Dense(2, use_bias=False)
                self.extra = self.params.get("scale", shape=(1,), init="ones")
        def hybrid_forward(self, F, x, extra):
            return F.broadcast_mul(self.out(self.body(x)), extra)
    net = nn.HybridSequential(prefix="model_")
    with net.name_scope():
        net.add(nn.Dense(4), Block2(), nn.Dense(3, in_units=2))
    seq = nn.Sequential()
    with seq.name_scope():
        seq.add(net, nn.Dense(2), nn.Embedding(10, 3), nn.Conv1D(2, 3), nn.Conv2DTranspose(2, 3),
                nn.PReLU(), nn.LeakyReLU(0.1), nn.ELU(), nn.SELU(), nn.Swish(), nn.GELU())
    return seq
""",
}

DATA = {
    "mlp": lambda: U(8, 10),
    "cnn_bn": lambda: U(8, 1, 8, 8),
}

OPTIMIZERS = [
    ("sgd_momentum_wd", "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-3}, None),
    ("adam_scheduler", "adam", {"learning_rate": 0.01, "wd": 1e-4},
     "mx.lr_scheduler.FactorScheduler(step=2, factor=0.5)"),
]
STEPS = 4


def build_net(key):
    scope = {}
    exec(NETS[key], scope)
    with mx.name.NameManager():
        return scope["build"](mx.gluon.nn)


def gen_naming():
    meta = {"nets": NETS, "names": {}}
    for key in NETS:
        net = build_net(key)
        meta["names"][key] = {
            "collect_params": list(net.collect_params().keys()),
            "structural": sorted(net._collect_params_with_prefix().keys()),
            "prefix": net.prefix,
            "select_weight": list(net.collect_params(".*weight").keys()),
        }
    import contextlib
    import io

    meta["summary"] = {}
    for key, shape in (("mlp", (2, 10)), ("cnn_bn", (1, 1, 8, 8))):
        net = build_net(key)
        net.initialize()
        net(mx.nd.ones(shape))  # shapes known: MXNet would also list its symbolic pass
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            net.summary(mx.nd.ones(shape))
        meta["summary"][key] = {"shape": list(shape), "text": text.getvalue()}

    from mxnet.gluon.model_zoo import vision

    meta["zoo"] = {}
    for name in ZOO:
        with mx.name.NameManager():
            net = vision.get_model(name, classes=7)
        meta["zoo"][name] = {
            "collect_params": list(net.collect_params().keys()),
            "structural": sorted(net._collect_params_with_prefix().keys()),
        }
    return meta, {"dummy": np.zeros(1, "f4")}


ZOO = ["resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
       "resnet18_v2", "resnet50_v2", "vgg11", "vgg16_bn", "alexnet", "squeezenet1.0",
       "squeezenet1.1", "mobilenet1.0", "mobilenet0.25", "mobilenetv2_1.0", "mobilenetv2_0.5",
       "densenet121", "densenet161"]


def gen_train():
    from mxnet import autograd, gluon

    meta = {"nets": NETS, "optimizers": OPTIMIZERS, "steps": STEPS, "cases": []}
    arrays = {}
    for key in DATA:
        x = DATA[key]()
        y = rng.integers(0, 3, size=(8,)).astype(np.float32)
        arrays[f"{key}/x"] = x
        arrays[f"{key}/y"] = y
        init_net = build_net(key)
        init_net.initialize(mx.init.Xavier(magnitude=2.0))
        init_net(mx.nd.array(x))
        for name, p in init_net._collect_params_with_prefix().items():
            arrays[f"{key}/init/{name}"] = p.data().asnumpy()
        with autograd.predict_mode():
            arrays[f"{key}/predict_out"] = init_net(mx.nd.array(x)).asnumpy()
        for oid, oname, oparams, sched in OPTIMIZERS:
            net = build_net(key)
            net.initialize()
            net(mx.nd.array(x))
            for name, p in net._collect_params_with_prefix().items():
                p.set_data(mx.nd.array(arrays[f"{key}/init/{name}"]))
            params = dict(oparams)
            if sched:
                params["lr_scheduler"] = eval(sched, {"mx": mx})
            trainer = gluon.Trainer(net.collect_params(), oname, params)
            loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
            losses = []
            for _ in range(STEPS):
                with autograd.record():
                    loss = loss_fn(net(mx.nd.array(x)), mx.nd.array(y))
                loss.backward()
                trainer.step(8)
                losses.append(float(loss.mean().asscalar()))
            cid = f"{key}/{oid}"
            arrays[f"{cid}/losses"] = np.array(losses, "f4")
            for name, p in net._collect_params_with_prefix().items():
                arrays[f"{cid}/final/{name}"] = p.data().asnumpy()
            if key == "mlp":  # MXNet's pickled trainer states, and the step after resuming
                trainer.save_states(os.path.join(ROOT, f"gluon_trainer_{oid}.states"))
                with autograd.record():
                    loss = loss_fn(net(mx.nd.array(x)), mx.nd.array(y))
                loss.backward()
                trainer.step(8)
                for name, p in net._collect_params_with_prefix().items():
                    arrays[f"{cid}/resumed/{name}"] = p.data().asnumpy()
            meta["cases"].append({"id": cid, "net": key, "optimizer": oid})
    return meta, arrays


# (id, loss constructor source, call arguments: list of (name, kind, shape))
LOSSES = [
    ("l2", "gluon.loss.L2Loss()", [("pred", "u", (4, 3)), ("label", "u", (4, 3))]),
    ("l2_weight_sw", "gluon.loss.L2Loss(weight=0.7)",
     [("pred", "u", (4, 3)), ("label", "u", (4, 3)), ("sample_weight", "p", (4, 1))]),
    ("l1", "gluon.loss.L1Loss()", [("pred", "u", (4, 3)), ("label", "u", (4, 3))]),
    ("sigmoid_bce", "gluon.loss.SigmoidBinaryCrossEntropyLoss()",
     [("pred", "u", (4, 3)), ("label", "b", (4, 3))]),
    ("sigmoid_bce_pos_weight", "gluon.loss.SigmoidBCELoss()",
     [("pred", "u", (4, 3)), ("label", "b", (4, 3)), (None, None, None),
      ("pos_weight", "p", (1, 3))]),
    ("sigmoid_bce_from_sigmoid", "gluon.loss.SigmoidBCELoss(from_sigmoid=True)",
     [("pred", "s", (4, 3)), ("label", "b", (4, 3))]),
    ("softmax_ce", "gluon.loss.SoftmaxCrossEntropyLoss()",
     [("pred", "u", (4, 5)), ("label", "i5", (4,))]),
    ("softmax_ce_dense", "gluon.loss.SoftmaxCELoss(sparse_label=False)",
     [("pred", "u", (4, 5)), ("label", "d", (4, 5))]),
    ("softmax_ce_logits_axis", "gluon.loss.SoftmaxCELoss(axis=1, from_logits=True)",
     [("pred", "u", (2, 4, 3)), ("label", "i4", (2, 1, 3))]),
    ("softmax_ce_weight_sw", "gluon.loss.SoftmaxCELoss(weight=2.0)",
     [("pred", "u", (4, 5)), ("label", "i5", (4,)), ("sample_weight", "p", (4, 1))]),
    ("kldiv", "gluon.loss.KLDivLoss()", [("pred", "u", (4, 5)), ("label", "d", (4, 5))]),
    ("kldiv_logits", "gluon.loss.KLDivLoss(from_logits=False)",
     [("pred", "u", (4, 5)), ("label", "d", (4, 5))]),
    ("huber", "gluon.loss.HuberLoss(rho=0.5)", [("pred", "u", (4, 3)), ("label", "u", (4, 3))]),
    ("hinge", "gluon.loss.HingeLoss()", [("pred", "u", (4, 3)), ("label", "pm", (4, 3))]),
    ("squared_hinge", "gluon.loss.SquaredHingeLoss(margin=0.5)",
     [("pred", "u", (4, 3)), ("label", "pm", (4, 3))]),
    ("logistic", "gluon.loss.LogisticLoss()", [("pred", "u", (4, 3)), ("label", "pm", (4, 3))]),
    ("logistic_binary", "gluon.loss.LogisticLoss(label_format='binary')",
     [("pred", "u", (4, 3)), ("label", "b", (4, 3))]),
    ("triplet", "gluon.loss.TripletLoss(margin=0.3)",
     [("pred", "u", (4, 3)), ("positive", "u", (4, 3)), ("negative", "u", (4, 3))]),
    ("poisson_nll", "gluon.loss.PoissonNLLLoss()",
     [("pred", "u", (4, 3)), ("target", "c", (4, 3))]),
    ("poisson_nll_full", "gluon.loss.PoissonNLLLoss(from_logits=False, compute_full=True)",
     [("pred", "p", (4, 3)), ("target", "c", (4, 3))]),
    ("cosine_embedding", "gluon.loss.CosineEmbeddingLoss(margin=0.1)",
     [("input1", "u", (4, 3)), ("input2", "u", (4, 3)), ("label", "pm", (4,))]),
    ("ctc", "gluon.loss.CTCLoss()", [("pred", "u", (2, 6, 4)), ("label", "ctc", (2, 3))]),
]


NO_GRAD_LOSSES = ("poisson_nll_full",)


def loss_input(kind, shape):
    if kind == "u":
        return U(*shape)
    if kind == "p":
        return P(*shape)
    if kind == "s":
        return rng.uniform(0.05, 0.95, size=shape).astype(np.float32)
    if kind == "b":
        return rng.integers(0, 2, size=shape).astype(np.float32)
    if kind == "pm":
        return (rng.integers(0, 2, size=shape) * 2 - 1).astype(np.float32)
    if kind == "c":
        return rng.integers(0, 5, size=shape).astype(np.float32)
    if kind == "d":
        d = rng.uniform(0.1, 1.0, size=shape)
        return (d / d.sum(axis=-1, keepdims=True)).astype(np.float32)
    if kind.startswith("i"):
        return rng.integers(0, int(kind[1:]), size=shape).astype(np.float32)
    if kind == "ctc":
        return np.array([[1, 2, -1], [2, 2, 1]], "f4")
    raise ValueError(kind)


def gen_loss():
    from mxnet import autograd, gluon

    meta = {"cases": []}
    arrays = {}
    for cid, src, args in LOSSES:
        loss_fn = eval(src, {"gluon": gluon})
        vals = []
        for name, kind, shape in args:
            if name is None:
                vals.append(None)
                continue
            v = loss_input(kind, shape)
            arrays[f"{cid}/{name}"] = v
            vals.append(mx.nd.array(v))
        # MXNet 1.9.1 bug: compute_full updates arrays in place, which record() rejects
        with_grad = cid not in NO_GRAD_LOSSES
        if with_grad:
            vals[0].attach_grad()
            with autograd.record():
                out = loss_fn(*vals)
            head = U(*out.shape)
            out.backward(mx.nd.array(head))
            arrays[f"{cid}/head"] = head
            arrays[f"{cid}/grad"] = vals[0].grad.asnumpy()
        else:
            out = loss_fn(*vals)
        arrays[f"{cid}/out"] = out.asnumpy()
        meta["cases"].append({"id": cid, "src": src, "args": [a[0] for a in args],
                              "with_grad": with_grad})
    return meta, arrays


# mxlite writes the same nets' files; MXNet must load them (the verdict is committed)
MXLITE_WRITER = """
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import mxlite as mx
out_dir, fixture = sys.argv[2], sys.argv[3]
arrays = np.load(fixture)
nets = {nets!r}
for key in ("mlp", "cnn_bn"):
    scope = {{}}
    exec(nets[key], scope)
    with mx.name.NameManager():
        net = scope["build"](mx.gluon.nn)
    net.initialize()
    net.hybridize()
    x = mx.nd.array(arrays[key + "/x"])
    net(x)
    for name, p in net._collect_params_with_prefix().items():
        p.set_data(mx.nd.array(arrays[key + "/init/" + name]))
    net.save_parameters(out_dir + "/mxlite_" + key + ".params")
    net(x)
    net.export(out_dir + "/mxlite_" + key)
"""


def gen_files():
    import subprocess
    import tempfile

    from mxnet import gluon

    _, train = gen_train_init_only()
    fixture = os.path.join(ROOT, "gluon_files_inputs.npz")
    np.savez_compressed(fixture, **train)
    meta = {"verdict": {}}
    arrays = {}
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([MXLITE_PYTHON, "-c", MXLITE_WRITER.format(nets=NETS), src, tmp,
                        fixture], check=True)
        for key in ("mlp", "cnn_bn"):
            x = mx.nd.array(train[f"{key}/x"])
            net = build_net(key)
            net.initialize()
            net(x)
            for name, p in net._collect_params_with_prefix().items():
                p.set_data(mx.nd.array(train[f"{key}/init/{name}"]))
            want = net(x).asnumpy()
            arrays[f"{key}/out"] = want
            arrays[f"{key}/x"] = train[f"{key}/x"]
            # MXNet's own files, committed for mxlite to read
            net.save_parameters(os.path.join(ROOT, f"gluon_{key}.params"))
            net.hybridize()
            net(x)
            net.export(os.path.join(ROOT, f"gluon_{key}"))
            # mxlite's files read by MXNet
            other = build_net(key)
            other.load_parameters(os.path.join(tmp, f"mxlite_{key}.params"))
            ok_params = bool(np.allclose(other(x).asnumpy(), want, rtol=1e-5, atol=1e-6))
            blk = gluon.SymbolBlock.imports(os.path.join(tmp, f"mxlite_{key}-symbol.json"),
                                            ["data"],
                                            os.path.join(tmp, f"mxlite_{key}-0000.params"))
            ok_export = bool(np.allclose(blk(x).asnumpy(), want, rtol=1e-5, atol=1e-6))
            sym, args, auxs = mx.model.load_checkpoint(os.path.join(tmp, f"mxlite_{key}"), 0)
            mod = mx.mod.Module(sym, data_names=["data"], label_names=None)
            mod.bind(data_shapes=[("data", x.shape)], for_training=False)
            mod.set_params(args, auxs)
            mod.forward(mx.io.DataBatch([x]), is_train=False)
            ok_module = bool(np.allclose(mod.get_outputs()[0].asnumpy(), want, rtol=1e-5,
                                         atol=1e-6))
            meta["verdict"][key] = {"save_parameters": ok_params, "export_imports": ok_export,
                                    "export_module": ok_module}
    os.remove(fixture)
    print("verdict", meta["verdict"])
    return meta, arrays


def gen_train_init_only():
    arrays = {}
    local = np.random.default_rng(77)
    for key, shape in (("mlp", (8, 10)), ("cnn_bn", (8, 1, 8, 8))):
        x = local.uniform(-1, 1, size=shape).astype(np.float32)
        arrays[f"{key}/x"] = x
        net = build_net(key)
        net.initialize(mx.init.Xavier(magnitude=2.0))
        net(mx.nd.array(x))
        for name, p in net._collect_params_with_prefix().items():
            v = p.data().asnumpy()
            if "running" in name:  # non-trivial moving statistics
                v = local.uniform(0.5, 1.5, size=v.shape).astype(np.float32)
            arrays[f"{key}/init/{name}"] = v
    return None, arrays


# DataLoader cases: (id, source building a loader from gluon, np/mx, epochs)
LOADERS = [
    ("keep", "gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y), batch_size=4)", 1),
    ("discard", "gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y), batch_size=4, "
                "last_batch='discard')", 1),
    ("rollover", "gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y), batch_size=4, "
                 "last_batch='rollover')", 3),
    ("filter", "gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y), batch_size=3, "
               "sampler=gluon.data.FilterSampler(lambda s: s[1] % 3 != 0, "
               "gluon.data.ArrayDataset(X, Y)))", 1),
    ("batch_sampler", "gluon.data.DataLoader(gluon.data.SimpleDataset(list(range(7))), "
                      "batch_sampler=gluon.data.BatchSampler("
                      "gluon.data.SequentialSampler(7), 2, 'keep'))", 1),
    ("transform_first", "gluon.data.DataLoader(gluon.data.ArrayDataset(X, Y)"
                        ".transform_first(lambda x: x * 2), batch_size=5)", 1),
    ("ndarray_dataset", "gluon.data.DataLoader(gluon.data.ArrayDataset(mx.nd.array(X), Y), "
                        "batch_size=6)", 1),
    ("take_shard", "gluon.data.DataLoader(gluon.data.SimpleDataset(list(range(10))).shard(3, 1)"
                   ", batch_size=2)", 1),
]


def gen_data():
    from mxnet import gluon

    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    Y = np.arange(10, dtype=np.int32)
    meta = {"cases": [], "X": X.tolist(), "Y": Y.tolist()}
    for cid, src, epochs in LOADERS:
        loader = eval(src, {"gluon": gluon, "mx": mx, "X": X, "Y": Y})
        batches = []
        for _ in range(epochs):
            for b in loader:
                parts = b if isinstance(b, list) else [b]
                batches.append([{"values": p.asnumpy().tolist(), "dtype": str(p.dtype.__name__
                                 if hasattr(p.dtype, "__name__") else p.dtype)} for p in parts])
        meta["cases"].append({"id": cid, "src": src, "epochs": epochs, "len": len(loader),
                              "batches": batches})
    # a RecordIO file written by MXNet; one payload contains the magic word (a split record)
    rec = mx.recordio.MXIndexedRecordIO(os.path.join(ROOT, "gluon_records.idx"),
                                        os.path.join(ROOT, "gluon_records.rec"), "w")
    payloads = [b"first", b"", b"abcd" + bytes.fromhex("0a23d7ce") + b"xyz!", bytes(range(37))]
    for i, payload in enumerate(payloads):
        rec.write_idx(i * 10, payload)
    rec.close()
    meta["records"] = [p.hex() for p in payloads]
    # transforms on one uint8 image
    from mxnet.gluon.data.vision import transforms as T

    img = rng.integers(0, 256, size=(5, 7, 3)).astype(np.uint8)
    arrays = {"img": img}
    meta["resize"] = []
    for size, keep in (((4, 3), False), (3, True), ((10, 8), False), (6, True)):
        cid = f"resize_{size}_{keep}".replace(" ", "")
        arrays[cid] = T.Resize(size, keep_ratio=keep)(mx.nd.array(img, dtype="uint8")).asnumpy()
        arrays[cid + "_float"] = T.Resize(size, keep_ratio=keep)(
            mx.nd.array(img, dtype="float32")).asnumpy()
        meta["resize"].append({"id": cid, "size": size, "keep_ratio": keep})
    arrays["to_tensor_normalize"] = T.Compose([
        T.ToTensor(), T.Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))])(
        mx.nd.array(img, dtype="uint8")).asnumpy()
    return meta, arrays


MXLITE_PYTHON = os.environ.get("MXLITE_PYTHON", "/work/main/.venv/bin/python")


def write(name, meta, arrays):
    with open(os.path.join(ROOT, f"gluon_{name}.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    np.savez_compressed(os.path.join(ROOT, f"gluon_{name}.npz"), **arrays)
    print(f"gluon_{name}: {len(arrays)} arrays")


SECTIONS = {"autograd": gen_autograd, "naming": gen_naming, "train": gen_train,
            "loss": gen_loss, "files": gen_files, "data": gen_data}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SECTIONS):
        # each section draws from its own seeded streams: regenerating one leaves the rest alone
        seed = 1414 + list(SECTIONS).index(name)
        rng = np.random.default_rng(seed)
        mx.random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002  (MXNet reads the global generator)
        meta, arrays = SECTIONS[name]()
        write(name, meta, arrays)
