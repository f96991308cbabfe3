"""Benchmark scenarios shared by every peer: tensor shapes, optimizer table, initializer table.

This module is imported by the mxlite/PyTorch side (``bench/run.py``) *and* by the MXNet side
(``bench/peers_mxnet.py``, run under MXNet's own interpreter with an old NumPy), so it needs only
the standard library and NumPy and never imports mxlite at module level.

Scenarios
---------
``big``         one tensor of 2**24 float32 elements (pure bandwidth);
``resnet50``    the 161 parameter tensors of ResNet-50 (25,557,032 elements);
``small-many``  1,000 tensors of 1,024 elements (per-call overhead).

Bytes per element
-----------------
Every optimizer step is memory-bound, so its floor is ``bytes_per_element * n / triad_GBps``.
``bytes32`` counts the float32 traffic of one fused pass: 4 bytes for each array read plus
4 bytes for each array written (weight and states are read-modify-write, the gradient is read
only).  ``bytes16`` counts float16 weights with ``multi_precision=True``: the float16 gradient is
read (2), the float32 master and the float32 states are read and written (8 each), the float16
weight is written (2).  Both counts happen to coincide for every built-in: the float16 gradient
read and weight write (2 + 2) replace the float32 weight read-modify-write (4 + 4) minus the
master's (8).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "BIG_N", "INITIALIZERS", "MAIN_OPTIMIZERS", "OPTIMIZERS", "RESNET50_TOTAL", "SCENARIOS",
    "OptSpec", "make_arrays", "resnet50_params", "scenario_names", "scenario_shapes",
]

BIG_N = 2**24
SMALL_COUNT = 1000
SMALL_N = 1024
RESNET50_TOTAL = 25_557_032


def resnet50_params() -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of ResNet-50's 161 trainable parameters, in torchvision's order.

    53 convolutions (no bias), 53 batch norms (gamma, beta) and the classifier (weight, bias);
    names follow MXNet's suffix rules (``_weight``, ``_gamma``, ``_beta``, ``_bias``) so that
    initializers dispatch on them as they would in a real network.
    """
    params: list[tuple[str, tuple[int, ...]]] = []

    def conv(name, cout, cin, k):
        params.append((f"{name}_weight", (cout, cin, k, k)))

    def bn(name, c):
        params.append((f"{name}_gamma", (c,)))
        params.append((f"{name}_beta", (c,)))

    conv("conv0", 64, 3, 7)
    bn("bn0", 64)
    inplanes = 64
    stages = zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)
    for stage, (planes, blocks) in enumerate(stages, start=1):
        for b in range(blocks):
            pre = f"stage{stage}_unit{b + 1}"
            conv(f"{pre}_conv1", planes, inplanes, 1)
            bn(f"{pre}_bn1", planes)
            conv(f"{pre}_conv2", planes, planes, 3)
            bn(f"{pre}_bn2", planes)
            conv(f"{pre}_conv3", planes * 4, planes, 1)
            bn(f"{pre}_bn3", planes * 4)
            if b == 0:
                conv(f"{pre}_sc", planes * 4, inplanes, 1)
                bn(f"{pre}_sc_bn", planes * 4)
            inplanes = planes * 4
    params.append(("fc1_weight", (1000, 2048)))
    params.append(("fc1_bias", (1000,)))
    return params


def _check_resnet50() -> None:
    params = resnet50_params()
    total = sum(int(np.prod(s)) for _, s in params)
    if len(params) != 161 or total != RESNET50_TOTAL:
        raise AssertionError(f"ResNet-50 table is wrong: {len(params)} tensors, {total} elements")


_check_resnet50()

SCENARIOS = ("big", "resnet50", "small-many")


def scenario_names(name: str, scale: float = 1.0) -> list[str]:
    """Parameter names of ``name`` (weights are ``*_weight``: they get weight decay)."""
    if name == "resnet50":
        return [n for n, _ in resnet50_params()]
    return [f"p{i}_weight" for i in range(len(scenario_shapes(name, scale)))]


def scenario_shapes(name: str, scale: float = 1.0) -> list[tuple[int, ...]]:
    """Shapes of scenario ``name``; ``scale < 1`` shrinks it (smoke tests)."""
    if name == "big":
        return [(max(1, int(BIG_N * scale)),)]
    if name == "resnet50":
        shapes = [s for _, s in resnet50_params()]
        if scale >= 1.0:
            return shapes
        # keep the count and the dimensions, shrink the leading axis
        return [(max(1, int(s[0] * scale)), *s[1:]) for s in shapes]
    if name == "small-many":
        count = max(2, int(SMALL_COUNT * min(1.0, scale * 100)))
        return [(SMALL_N,)] * count
    raise ValueError(f"scenario must be one of {SCENARIOS}, got {name!r}")


def make_arrays(shapes, dtype: str, seed: int = 0):
    """Weights and gradients (NumPy, ``dtype``) for ``shapes``, the same in every process."""
    rng = np.random.default_rng(seed)
    weights, grads = [], []
    for shape in shapes:
        n = int(np.prod(shape))
        w = (rng.standard_normal(n, dtype=np.float32) * np.float32(0.05)).reshape(shape)
        g = (rng.standard_normal(n, dtype=np.float32) * np.float32(0.01)).reshape(shape)
        weights.append(w.astype(dtype))
        grads.append(g.astype(dtype))
    return weights, grads


class OptSpec:
    """One benchmarked optimizer configuration.

    ``name``/``kwargs``: ``create(name, **kwargs)`` in mxlite and MXNet; ``bytes32``/``bytes16``:
    bytes moved per element (see the module docstring); ``torch``: ``(class name, kwargs,
    implementations)`` of the PyTorch counterpart, or None; ``mxnet``: whether MXNet 1.9.1 has
    it; ``shape2d``: the optimizer needs 2-D weights (``big`` becomes 4096 x 4096).
    """

    __slots__ = ("bytes16", "bytes32", "key", "kwargs", "mxnet", "name", "shape2d", "torch")

    def __init__(self, key, name, kwargs, bytes32, torch=None, mxnet=True, bytes16=None,
                 shape2d=False):
        self.key = key
        self.name = name
        self.kwargs = kwargs
        self.bytes32 = bytes32
        self.bytes16 = bytes32 if bytes16 is None else bytes16
        self.torch = torch
        self.mxnet = mxnet
        self.shape2d = shape2d

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__slots__}


_FF = ("fused", "foreach")
_FE = ("foreach",)

#: the two headline optimizers: every scenario, both dtypes, both updater forms
MAIN_OPTIMIZERS = [
    OptSpec("sgd-momentum", "sgd", {"learning_rate": 0.01, "momentum": 0.9}, 20,
            torch=("SGD", {"lr": 0.01, "momentum": 0.9}, _FF)),
    OptSpec("adam", "adam", {"learning_rate": 0.001}, 28,
            torch=("Adam", {"lr": 0.001}, _FF)),
]

#: every other built-in: ``big`` only, compared with the triad-bound time for its bytes
OPTIMIZERS = [
    OptSpec("sgd", "sgd", {"learning_rate": 0.01}, 12,
            torch=("SGD", {"lr": 0.01}, _FF)),
    OptSpec("nag", "nag", {"learning_rate": 0.01, "momentum": 0.9}, 20,
            torch=("SGD", {"lr": 0.01, "momentum": 0.9, "nesterov": True}, _FF)),
    OptSpec("adamw", "adamw", {"learning_rate": 0.001, "wd": 0.01}, 28, mxnet=False,
            torch=("AdamW", {"lr": 0.001, "weight_decay": 0.01}, _FF)),
    OptSpec("rmsprop", "rmsprop", {"learning_rate": 0.001}, 20,
            torch=("RMSprop", {"lr": 0.001, "alpha": 0.9}, _FE)),
    OptSpec("rmsprop-centered", "rmsprop", {"learning_rate": 0.001, "centered": True}, 36,
            torch=("RMSprop", {"lr": 0.001, "alpha": 0.9, "centered": True}, _FE)),
    OptSpec("adagrad", "adagrad", {"learning_rate": 0.01}, 20,
            torch=("Adagrad", {"lr": 0.01}, _FF)),
    OptSpec("adadelta", "adadelta", {}, 28,
            torch=("Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-5}, _FE)),
    OptSpec("adamax", "adamax", {"learning_rate": 0.002}, 28,
            torch=("Adamax", {"lr": 0.002}, _FE)),
    OptSpec("nadam", "nadam", {"learning_rate": 0.001}, 28,
            torch=("NAdam", {"lr": 0.001}, _FE)),
    OptSpec("signsgd", "signum", {"learning_rate": 0.01, "momentum": 0.0}, 12),
    OptSpec("signum", "signum", {"learning_rate": 0.01, "momentum": 0.9}, 20),
    OptSpec("dcasgd", "dcasgd", {"learning_rate": 0.01, "momentum": 0.9}, 28),
    OptSpec("ftml", "ftml", {"learning_rate": 0.0025}, 36),
    OptSpec("ftrl", "ftrl", {"learning_rate": 0.1}, 28),
    # SGLD: weight and gradient (12) plus a normal draw per element, written and read back (8);
    # drawing the noise is compute, not memory, so this bound is optimistic
    OptSpec("sgld", "sgld", {"learning_rate": 0.001}, 20),
    # LAMB: pass 1 reads w, g, m, v and writes m, v (24); pass 2 reads w, m, v, writes w (16)
    OptSpec("lamb", "lamb", {"learning_rate": 0.001}, 40),
    # LARS: two norms (read w, g: 8) then the momentum step (20)
    OptSpec("lars", "lars", {"learning_rate": 0.01, "momentum": 0.9}, 28),
    OptSpec("lbsgd", "lbsgd", {"learning_rate": 0.01, "momentum": 0.9}, 20),
    # GroupAdaGrad: one history value per row; weight read-modify-write and gradient read
    # (12) dominate, the gradient is read twice (row reduction, then update): 16
    OptSpec("groupadagrad", "groupadagrad", {"learning_rate": 0.01}, 16, shape2d=True),
]

#: initializers over the ResNet-50 shapes: (key, mxlite/MXNet create args, torch rule)
INITIALIZERS = [
    ("xavier", ("xavier", {}), ("xavier_uniform_", {"gain": 1.0})),
    ("normal", ("normal", {"sigma": 0.01}), ("normal_", {"mean": 0.0, "std": 0.01})),
    ("uniform", ("uniform", {"scale": 0.07}), ("uniform_", {"a": -0.07, "b": 0.07})),
    ("orthogonal", ("orthogonal", {}), ("orthogonal_", {"gain": 1.414})),
]


def init_role(name: str) -> str:
    """What MXNet's initializer does with a parameter of this name: weight, one or zero."""
    if name.endswith("_weight"):
        return "weight"
    if name.endswith("_gamma"):
        return "one"
    return "zero"


def spec_shapes(spec: OptSpec, scenario: str, scale: float = 1.0) -> list[tuple[int, ...]]:
    shapes = scenario_shapes(scenario, scale)
    if spec.shape2d:
        out = []
        for s in shapes:
            n = int(np.prod(s))
            rows = 4096 if n % 4096 == 0 and n >= 4096 * 2 else 1
            out.append((rows, n // rows) if len(s) == 1 else (s[0], n // s[0]))
        return out
    return shapes
