"""The networks of ``bench/fit.py``, written once for the symbol API and once for PyTorch.

:func:`symbol` builds a network with whichever symbol API it is handed (``mxlite`` or MXNet 1.9.1's
``mxnet``: the same calls work in both), so mxlite and MXNet run the very same graph.
:func:`torch_model` builds the PyTorch twin: the same layers, shapes and parameter count.

Networks (``MODELS``: input shape per sample, batch size, classes):

* ``mlp``: 784-512-256-10, ReLU.
* ``lenet``: MXNet's LeNet for MNIST: conv 5x5x20, tanh, max-pool 2/2, conv 5x5x50, tanh,
  max-pool 2/2, fc 500, tanh, fc 10.
* ``resnet20``: the pre-activation ResNet of MXNet's ``image-classification`` examples for
  CIFAR-10 (``--num-layers 20``): a BatchNorm on the data (``fix_gamma``), a 3x3x16 convolution,
  three stages of three residual units (16, 32, 64 filters; the first unit of each stage has a
  1x1 projection shortcut, stride 2 from the second stage on), BatchNorm + ReLU, global average
  pooling, fc 10.
* ``vgg``: a VGG-style stack on 3x64x64: two 3x3 convolutions + ReLU then 2x2 max-pooling, at 64,
  128 and 256 filters, then fc 512 + ReLU + Dropout(0.5) + fc 10.
"""

from __future__ import annotations

#: name -> (per-sample input shape, batch size, classes)
MODELS = {
    "mlp": ((784,), 128, 10),
    "lenet": ((1, 28, 28), 64, 10),
    "resnet20": ((3, 32, 32), 128, 10),
    "vgg": ((3, 64, 64), 32, 10),
}

BN_EPS = 2e-5
BN_MOMENTUM = 0.9  # MXNet's convention: running = m * running + (1 - m) * batch


# --------------------------------------------------------------------------- symbol API
def _mlp(mx, data):
    h = mx.sym.FullyConnected(data, num_hidden=512, name="fc1")
    h = mx.sym.Activation(h, act_type="relu", name="relu1")
    h = mx.sym.FullyConnected(h, num_hidden=256, name="fc2")
    h = mx.sym.Activation(h, act_type="relu", name="relu2")
    return mx.sym.FullyConnected(h, num_hidden=10, name="fc3")


def _lenet(mx, data):
    h = data
    for i, nf in enumerate((20, 50), 1):
        h = mx.sym.Convolution(h, kernel=(5, 5), num_filter=nf, name=f"conv{i}")
        h = mx.sym.Activation(h, act_type="tanh", name=f"tanh{i}")
        h = mx.sym.Pooling(h, pool_type="max", kernel=(2, 2), stride=(2, 2), name=f"pool{i}")
    h = mx.sym.Flatten(h)
    h = mx.sym.FullyConnected(h, num_hidden=500, name="fc1")
    h = mx.sym.Activation(h, act_type="tanh", name="tanh3")
    return mx.sym.FullyConnected(h, num_hidden=10, name="fc2")


def _bn(mx, x, name, fix_gamma=False):
    return mx.sym.BatchNorm(x, fix_gamma=fix_gamma, eps=BN_EPS, momentum=BN_MOMENTUM, name=name)


def _unit(mx, x, nf, stride, project, name):
    act1 = mx.sym.Activation(_bn(mx, x, name + "_bn1"), act_type="relu", name=name + "_relu1")
    c1 = mx.sym.Convolution(act1, num_filter=nf, kernel=(3, 3), stride=stride, pad=(1, 1),
                            no_bias=True, name=name + "_conv1")
    act2 = mx.sym.Activation(_bn(mx, c1, name + "_bn2"), act_type="relu", name=name + "_relu2")
    c2 = mx.sym.Convolution(act2, num_filter=nf, kernel=(3, 3), stride=(1, 1), pad=(1, 1),
                            no_bias=True, name=name + "_conv2")
    if project:
        short = mx.sym.Convolution(act1, num_filter=nf, kernel=(1, 1), stride=stride,
                                   no_bias=True, name=name + "_sc")
    else:
        short = x
    return c2 + short


def _resnet20(mx, data):
    h = _bn(mx, data, "bn_data", fix_gamma=True)
    h = mx.sym.Convolution(h, num_filter=16, kernel=(3, 3), stride=(1, 1), pad=(1, 1),
                           no_bias=True, name="conv0")
    for stage, nf in enumerate((16, 32, 64)):
        for unit in range(3):
            stride = (2, 2) if stage > 0 and unit == 0 else (1, 1)
            h = _unit(mx, h, nf, stride, unit == 0, f"stage{stage + 1}_unit{unit + 1}")
    h = mx.sym.Activation(_bn(mx, h, "bn1"), act_type="relu", name="relu1")
    h = mx.sym.Pooling(h, global_pool=True, kernel=(7, 7), pool_type="avg", name="pool1")
    h = mx.sym.Flatten(h)
    return mx.sym.FullyConnected(h, num_hidden=10, name="fc1")


def _vgg(mx, data):
    h = data
    for block, nf in enumerate((64, 128, 256), 1):
        for k in (1, 2):
            h = mx.sym.Convolution(h, kernel=(3, 3), pad=(1, 1), num_filter=nf,
                                   name=f"conv{block}_{k}")
            h = mx.sym.Activation(h, act_type="relu", name=f"relu{block}_{k}")
        h = mx.sym.Pooling(h, pool_type="max", kernel=(2, 2), stride=(2, 2), name=f"pool{block}")
    h = mx.sym.Flatten(h)
    h = mx.sym.FullyConnected(h, num_hidden=512, name="fc6")
    h = mx.sym.Activation(h, act_type="relu", name="relu6")
    h = mx.sym.Dropout(h, p=0.5, name="drop6")
    return mx.sym.FullyConnected(h, num_hidden=10, name="fc7")


_BUILDERS = {"mlp": _mlp, "lenet": _lenet, "resnet20": _resnet20, "vgg": _vgg}


def symbol(mx, name: str):
    """The network ``name`` as a symbol of ``mx`` (mxlite or mxnet), ending in SoftmaxOutput."""
    logits = _BUILDERS[name](mx, mx.sym.Variable("data"))
    return mx.sym.SoftmaxOutput(logits, name="softmax")


# --------------------------------------------------------------------------- PyTorch
def torch_model(name: str):
    """The PyTorch twin of :func:`symbol` (logits; the loss is cross-entropy)."""
    import torch
    from torch import nn

    mom = 1.0 - BN_MOMENTUM

    def bn(c, fix_gamma=False):
        layer = nn.BatchNorm2d(c, eps=BN_EPS, momentum=mom)
        if fix_gamma:
            layer.weight.requires_grad_(False)
        return layer

    class Unit(nn.Module):
        def __init__(self, cin, nf, stride, project):
            super().__init__()
            self.bn1, self.bn2 = bn(cin), bn(nf)
            self.conv1 = nn.Conv2d(cin, nf, 3, stride, 1, bias=False)
            self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1, bias=False)
            self.sc = nn.Conv2d(cin, nf, 1, stride, bias=False) if project else None

        def forward(self, x):
            act1 = torch.relu(self.bn1(x))
            h = self.conv2(torch.relu(self.bn2(self.conv1(act1))))
            return h + (self.sc(act1) if self.sc is not None else x)

    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
                             nn.Conv2d(20, 50, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Flatten(),
                             nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
    if name == "resnet20":
        layers = [bn(3, fix_gamma=True), nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
        cin = 16
        for stage, nf in enumerate((16, 32, 64)):
            for unit in range(3):
                stride = 2 if stage > 0 and unit == 0 else 1
                layers.append(Unit(cin, nf, stride, unit == 0))
                cin = nf
        layers += [bn(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
        return nn.Sequential(*layers)
    if name == "vgg":
        layers, cin = [], 3
        for nf in (64, 128, 256):
            layers += [nn.Conv2d(cin, nf, 3, 1, 1), nn.ReLU(), nn.Conv2d(nf, nf, 3, 1, 1),
                       nn.ReLU(), nn.MaxPool2d(2, 2)]
            cin = nf
        layers += [nn.Flatten(), nn.Linear(256 * 8 * 8, 512), nn.ReLU(), nn.Dropout(0.5),
                   nn.Linear(512, 10)]
        return nn.Sequential(*layers)
    raise KeyError(name)
