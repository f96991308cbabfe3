"""``gluon.model_zoo.vision``: ResNet v1/v2, VGG, AlexNet, SqueezeNet, MobileNet v1/v2 and
DenseNet, built as in MXNet 1.9.1 so that MXNet's weight files load with ``load_parameters``.
``pretrained=True`` raises: mxlite downloads nothing (load the file yourself)."""

from .others import *  # noqa: F403
from .others import __all__ as _others
from .resnet import *  # noqa: F403
from .resnet import __all__ as _resnet

_MODELS = {
    **{f"resnet{d}_v{v}": f"resnet{d}_v{v}" for d in (18, 34, 50, 101, 152) for v in (1, 2)},
    **{f"vgg{d}{s}": f"vgg{d}{s}" for d in (11, 13, 16, 19) for s in ("", "_bn")},
    "alexnet": "alexnet",
    **{f"densenet{d}": f"densenet{d}" for d in (121, 161, 169, 201)},
    "squeezenet1.0": "squeezenet1_0", "squeezenet1.1": "squeezenet1_1",
    **{f"mobilenet{m}": f"mobilenet{m.replace('.', '_')}" for m in ("1.0", "0.75", "0.5",
                                                                     "0.25")},
    **{f"mobilenetv2_{m}": f"mobilenet_v2_{m.replace('.', '_')}"
       for m in ("1.0", "0.75", "0.5", "0.25")},
}


def get_model(name, **kwargs):
    """A model by its MXNet name (``'resnet18_v1'``, ``'mobilenetv2_0.5'``, ...); keyword
    arguments go to the constructor (``classes``, ``pretrained``, ...)."""
    key = name.lower()
    if key not in _MODELS:
        raise ValueError(f"Model {name} is not supported. Available options are\n\t"
                         + "\n\t".join(sorted(_MODELS)))
    return globals()[_MODELS[key]](**kwargs)


__all__ = ["get_model", *_others, *_resnet]
