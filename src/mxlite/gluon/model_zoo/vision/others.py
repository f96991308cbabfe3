"""VGG, AlexNet, SqueezeNet, MobileNet v1/v2 and DenseNet in MXNet 1.9.1's layout (the same
children, so MXNet's weight files load with ``load_parameters``)."""

from __future__ import annotations

from .... import initializer, ndarray
from ... import nn
from ...block import HybridBlock
from ._common import Concurrent, Identity, no_pretrained, seq

__all__ = [
    "RELU6",
    "VGG",
    "AlexNet",
    "DenseNet",
    "LinearBottleneck",
    "MobileNet",
    "MobileNetV2",
    "SqueezeNet",
    "alexnet",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "get_mobilenet",
    "get_mobilenet_v2",
    "get_vgg",
    "mobilenet0_5",
    "mobilenet0_25",
    "mobilenet0_75",
    "mobilenet1_0",
    "mobilenet_v2_0_5",
    "mobilenet_v2_0_25",
    "mobilenet_v2_0_75",
    "mobilenet_v2_1_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]


class _Classifier(HybridBlock):
    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# ---------------------------------------------------------------------- VGG
class VGG(_Classifier):
    """VGG: 3x3 convolution stages with max pooling, two 4096-unit layers, classifier."""

    def __init__(self, layers, filters, classes=1000, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if len(layers) != len(filters):
            raise ValueError(f"layers and filters differ in length: {layers}, {filters}")
        with self.name_scope():
            self.features = seq()
            for n, f in zip(layers, filters, strict=True):
                for _ in range(n):
                    self.features.add(nn.Conv2D(
                        f, kernel_size=3, padding=1, bias_initializer="zeros",
                        weight_initializer=initializer.Xavier(rnd_type="gaussian",
                                                              factor_type="out", magnitude=2)))
                    if batch_norm:
                        self.features.add(nn.BatchNorm())
                    self.features.add(nn.Activation("relu"))
                self.features.add(nn.MaxPool2D(strides=2))
            for _ in range(2):
                self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                           bias_initializer="zeros"), nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal",
                                   bias_initializer="zeros")


_VGG = {11: [1, 1, 2, 2, 2], 13: [2, 2, 2, 2, 2], 16: [2, 2, 3, 3, 3], 19: [2, 2, 4, 4, 4]}


def get_vgg(num_layers, pretrained=False, ctx=None, root=None, **kwargs):
    """VGG with ``num_layers`` in 11, 13, 16, 19 (``batch_norm=True``: the ``_bn`` variant)."""
    if num_layers not in _VGG:
        raise ValueError(f"Invalid number of layers: {num_layers}. Options are {sorted(_VGG)}")
    no_pretrained(f"vgg{num_layers}{'_bn' if kwargs.get('batch_norm') else ''}", pretrained)
    return VGG(_VGG[num_layers], [64, 128, 256, 512, 512], **kwargs)


def _vgg(depth, bn):
    def ctor(**kwargs):
        if bn:
            kwargs["batch_norm"] = True
        return get_vgg(depth, **kwargs)

    ctor.__name__ = ctor.__qualname__ = f"vgg{depth}{'_bn' if bn else ''}"
    ctor.__doc__ = f"VGG-{depth}{' with BatchNorm' if bn else ''}."
    return ctor


vgg11, vgg13, vgg16, vgg19 = (_vgg(d, False) for d in (11, 13, 16, 19))
vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn = (_vgg(d, True) for d in (11, 13, 16, 19))


# ---------------------------------------------------------------------- AlexNet
class AlexNet(_Classifier):
    """AlexNet (Krizhevsky et al. 2012), single-tower."""

    def __init__(self, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = seq()
            with self.features.name_scope():
                f = self.features
                f.add(nn.Conv2D(64, kernel_size=11, strides=4, padding=2, activation="relu"),
                      nn.MaxPool2D(pool_size=3, strides=2),
                      nn.Conv2D(192, kernel_size=5, padding=2, activation="relu"),
                      nn.MaxPool2D(pool_size=3, strides=2))
                for c in (384, 256, 256):
                    f.add(nn.Conv2D(c, kernel_size=3, padding=1, activation="relu"))
                f.add(nn.MaxPool2D(pool_size=3, strides=2), nn.Flatten())
                for _ in range(2):
                    f.add(nn.Dense(4096, activation="relu"), nn.Dropout(0.5))
            self.output = nn.Dense(classes)


def alexnet(pretrained=False, ctx=None, root=None, **kwargs):
    """AlexNet."""
    no_pretrained("alexnet", pretrained)
    return AlexNet(**kwargs)


# ---------------------------------------------------------------------- SqueezeNet
def _fire_conv(channels, kernel_size, padding=0):
    out = seq()
    out.add(nn.Conv2D(channels, kernel_size, padding=padding), nn.Activation("relu"))
    return out


def _fire(squeeze, expand1, expand3):
    out = seq()
    out.add(_fire_conv(squeeze, 1))
    paths = Concurrent(axis=1, prefix="")
    paths.add(_fire_conv(expand1, 1), _fire_conv(expand3, 3, 1))
    out.add(paths)
    return out


class SqueezeNet(_Classifier):
    """SqueezeNet ``version`` '1.0' or '1.1' (fire modules)."""

    def __init__(self, version, classes=1000, **kwargs):
        super().__init__(**kwargs)
        if version not in ("1.0", "1.1"):
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1.0 or 1.1 expected")

        def pool():
            return nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)

        with self.name_scope():
            f = self.features = seq()
            if version == "1.0":
                f.add(nn.Conv2D(96, kernel_size=7, strides=2), nn.Activation("relu"), pool(),
                      _fire(16, 64, 64), _fire(16, 64, 64), _fire(32, 128, 128), pool(),
                      _fire(32, 128, 128), _fire(48, 192, 192), _fire(48, 192, 192),
                      _fire(64, 256, 256), pool(), _fire(64, 256, 256))
            else:
                f.add(nn.Conv2D(64, kernel_size=3, strides=2), nn.Activation("relu"), pool(),
                      _fire(16, 64, 64), _fire(16, 64, 64), pool(), _fire(32, 128, 128),
                      _fire(32, 128, 128), pool(), _fire(48, 192, 192), _fire(48, 192, 192),
                      _fire(64, 256, 256), _fire(64, 256, 256))
            f.add(nn.Dropout(0.5))
            self.output = seq()
            self.output.add(nn.Conv2D(classes, kernel_size=1), nn.Activation("relu"),
                            nn.AvgPool2D(13), nn.Flatten())


def squeezenet1_0(pretrained=False, ctx=None, root=None, **kwargs):
    """SqueezeNet 1.0."""
    no_pretrained("squeezenet1.0", pretrained)
    return SqueezeNet("1.0", **kwargs)


def squeezenet1_1(pretrained=False, ctx=None, root=None, **kwargs):
    """SqueezeNet 1.1."""
    no_pretrained("squeezenet1.1", pretrained)
    return SqueezeNet("1.1", **kwargs)


# ---------------------------------------------------------------------- MobileNet
class RELU6(HybridBlock):
    """``clip(x, 0, 6)``."""

    def hybrid_forward(self, F, x):
        if F is ndarray:
            return F.clip(x, 0, 6)
        return F.clip(x, 0, 6, name="relu6")


def _conv_bn(out, channels=1, kernel=1, stride=1, pad=0, num_group=1, active=True,
             relu6=False):
    out.add(nn.Conv2D(channels, kernel, stride, pad, groups=num_group, use_bias=False))
    out.add(nn.BatchNorm(scale=True))
    if active:
        out.add(RELU6() if relu6 else nn.Activation("relu"))


class LinearBottleneck(HybridBlock):
    """MobileNet v2's inverted residual: expand (1x1), depthwise 3x3, project (1x1)."""

    def __init__(self, in_channels, channels, t, stride, **kwargs):
        super().__init__(**kwargs)
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            self.out = nn.HybridSequential()
            _conv_bn(self.out, in_channels * t, relu6=True)
            _conv_bn(self.out, in_channels * t, kernel=3, stride=stride, pad=1,
                     num_group=in_channels * t, relu6=True)
            _conv_bn(self.out, channels, active=False, relu6=True)

    def hybrid_forward(self, F, x):
        out = self.out(x)
        return F.elemwise_add(out, x) if self.use_shortcut else out


class MobileNet(_Classifier):
    """MobileNet v1 with width ``multiplier`` (depthwise-separable convolutions)."""

    def __init__(self, multiplier=1.0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = seq()
            with self.features.name_scope():
                _conv_bn(self.features, channels=int(32 * multiplier), kernel=3, pad=1,
                         stride=2)
                dw = [32, 64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024]
                out = [64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024] * 2
                strides = [1, 2] * 3 + [1] * 5 + [2, 1]
                for d, c, s in zip(dw, out, strides, strict=True):
                    d, c = int(d * multiplier), int(c * multiplier)
                    _conv_bn(self.features, channels=d, kernel=3, stride=s, pad=1,
                             num_group=d)
                    _conv_bn(self.features, channels=c)
                self.features.add(nn.GlobalAvgPool2D(), nn.Flatten())
            self.output = nn.Dense(classes)


class MobileNetV2(_Classifier):
    """MobileNet v2 with width ``multiplier`` (inverted residual bottlenecks, ReLU6)."""

    def __init__(self, multiplier=1.0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = seq("features_")
            with self.features.name_scope():
                _conv_bn(self.features, int(32 * multiplier), kernel=3, stride=2, pad=1,
                         relu6=True)
                ins = [32] + [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3
                outs = [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320]
                ts = [1] + [6] * 16
                strides = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3
                for i, c, t, s in zip(ins, outs, ts, strides, strict=True):
                    self.features.add(LinearBottleneck(int(i * multiplier),
                                                        int(c * multiplier), t, s))
                last = int(1280 * multiplier) if multiplier > 1.0 else 1280
                _conv_bn(self.features, last, relu6=True)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = seq("output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, use_bias=False, prefix="pred_"),
                                nn.Flatten())


def _suffix(multiplier):
    text = f"{multiplier:.2f}"
    return text[:-1] if text in ("1.00", "0.50") else text


def get_mobilenet(multiplier, pretrained=False, ctx=None, root=None, **kwargs):
    """MobileNet v1 of width ``multiplier``."""
    no_pretrained(f"mobilenet{_suffix(multiplier)}", pretrained)
    return MobileNet(multiplier, **kwargs)


def get_mobilenet_v2(multiplier, pretrained=False, ctx=None, root=None, **kwargs):
    """MobileNet v2 of width ``multiplier``."""
    no_pretrained(f"mobilenetv2_{_suffix(multiplier)}", pretrained)
    return MobileNetV2(multiplier, **kwargs)


def _mobile(v2, multiplier):
    def ctor(**kwargs):
        return (get_mobilenet_v2 if v2 else get_mobilenet)(multiplier, **kwargs)

    tag = str(multiplier).replace(".", "_")
    ctor.__name__ = ctor.__qualname__ = f"mobilenet_v2_{tag}" if v2 else f"mobilenet{tag}"
    ctor.__doc__ = f"MobileNet{' v2' if v2 else ''} with width multiplier {multiplier}."
    return ctor


mobilenet1_0, mobilenet0_75, mobilenet0_5, mobilenet0_25 = (
    _mobile(False, m) for m in (1.0, 0.75, 0.5, 0.25))
mobilenet_v2_1_0, mobilenet_v2_0_75, mobilenet_v2_0_5, mobilenet_v2_0_25 = (
    _mobile(True, m) for m in (1.0, 0.75, 0.5, 0.25))


# ---------------------------------------------------------------------- DenseNet
def _dense_layer(growth_rate, bn_size, dropout):
    new = seq()
    new.add(nn.BatchNorm(), nn.Activation("relu"),
            nn.Conv2D(bn_size * growth_rate, kernel_size=1, use_bias=False), nn.BatchNorm(),
            nn.Activation("relu"), nn.Conv2D(growth_rate, kernel_size=3, padding=1,
                                             use_bias=False))
    if dropout:
        new.add(nn.Dropout(dropout))
    out = Concurrent(axis=1, prefix="")
    out.add(Identity(), new)
    return out


def _dense_block(num_layers, bn_size, growth_rate, dropout, index):
    out = seq(f"stage{index}_")
    with out.name_scope():
        for _ in range(num_layers):
            out.add(_dense_layer(growth_rate, bn_size, dropout))
    return out


def _transition(channels):
    out = seq()
    out.add(nn.BatchNorm(), nn.Activation("relu"),
            nn.Conv2D(channels, kernel_size=1, use_bias=False),
            nn.AvgPool2D(pool_size=2, strides=2))
    return out


class DenseNet(_Classifier):
    """DenseNet (Huang et al. 2017): dense blocks joined by transitions."""

    def __init__(self, num_init_features, growth_rate, block_config, bn_size=4, dropout=0,
                 classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            f = self.features = seq()
            f.add(nn.Conv2D(num_init_features, kernel_size=7, strides=2, padding=3,
                            use_bias=False), nn.BatchNorm(), nn.Activation("relu"),
                  nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            n = num_init_features
            for i, layers in enumerate(block_config):
                f.add(_dense_block(layers, bn_size, growth_rate, dropout, i + 1))
                n += layers * growth_rate
                if i != len(block_config) - 1:
                    f.add(_transition(n // 2))
                    n //= 2
            f.add(nn.BatchNorm(), nn.Activation("relu"), nn.AvgPool2D(pool_size=7),
                  nn.Flatten())
            self.output = nn.Dense(classes)


_DENSE = {121: (64, 32, [6, 12, 24, 16]), 161: (96, 48, [6, 12, 36, 24]),
          169: (64, 32, [6, 12, 32, 32]), 201: (64, 32, [6, 12, 48, 32])}


def get_densenet(num_layers, pretrained=False, ctx=None, root=None, **kwargs):
    """DenseNet with ``num_layers`` in 121, 161, 169, 201."""
    if num_layers not in _DENSE:
        raise ValueError(f"Invalid number of layers: {num_layers}. Options are "
                         f"{sorted(_DENSE)}")
    no_pretrained(f"densenet{num_layers}", pretrained)
    return DenseNet(*_DENSE[num_layers], **kwargs)


def _dense(depth):
    def ctor(**kwargs):
        return get_densenet(depth, **kwargs)

    ctor.__name__ = ctor.__qualname__ = f"densenet{depth}"
    ctor.__doc__ = f"DenseNet-{depth}."
    return ctor


densenet121, densenet161, densenet169, densenet201 = (_dense(d) for d in (121, 161, 169, 201))
