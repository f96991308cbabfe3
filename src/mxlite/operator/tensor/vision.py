"""``LRN``, ``SVMOutput`` and ``Crop`` (MXNet 1.9.1)."""

from __future__ import annotations

import numpy as np

from ...base import MXNetError
from ..registry import Operator, Param, register

__all__: list[str] = []


def _window_sum(sq: np.ndarray, nsize: int) -> np.ndarray:
    """Sum of ``sq`` over a window of ``nsize`` channels centred on each channel (axis 1)."""
    half = nsize // 2
    c = sq.shape[1]
    csum = np.cumsum(np.pad(sq, [(0, 0), (half + 1, half)] + [(0, 0)] * (sq.ndim - 2)), axis=1)
    return csum[:, nsize:nsize + c] - csum[:, :c]


@register
class LRN(Operator):
    """Local response normalization across channels:
    ``y = x / (knorm + alpha / nsize * sum_window x**2) ** beta``."""

    name = "LRN"
    params = {"alpha": Param("float", 1e-4), "beta": Param("float", 0.75),
              "knorm": Param("float", 2.0), "nsize": Param("int")}

    def num_outputs(self, p):
        return 2

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        if x.ndim < 3:
            raise MXNetError(f"LRN: data must have 3+ dims (N, C, ...), got {x.shape}")
        if p.nsize % 2 == 0 or p.nsize < 1:
            raise MXNetError(f"LRN: nsize must be odd and positive, got {p.nsize}")
        xd = x.astype(np.float64)
        scale = p.knorm + p.alpha / p.nsize * _window_sum(xd * xd, p.nsize)
        return [(xd * scale ** -p.beta).astype(x.dtype)], scale

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0].astype(np.float64)
        g = out_grads[0].astype(np.float64)
        scale = saved
        inner = _window_sum(g * x * scale ** (-p.beta - 1), p.nsize)
        dx = g * scale ** -p.beta - 2 * p.alpha * p.beta / p.nsize * x * inner
        return [dx.astype(inputs[0].dtype)]


@register
class SVMOutput(Operator):
    """Identity forward; the backward is the (L2, or with ``use_linear`` L1) hinge loss
    gradient, ignoring head gradients as MXNet's output layers do."""

    name = "SVMOutput"
    loss = True
    params = {"margin": Param("float", 1.0), "regularization_coefficient": Param("float", 1.0),
              "use_linear": Param("bool", False)}

    def arguments(self, p):
        return ["data", "label"]

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], aux_shapes
        data = tuple(data)
        return [data, (data[0],)], [data], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        return [inputs[0].copy()], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x, label = inputs
        xf = x.reshape(x.shape[0], -1).astype(np.float64)
        lab = label.reshape(-1).astype(np.int64)
        is_label = np.arange(xf.shape[1])[None, :] == lab[:, None]
        m, reg = p.margin, p.regularization_coefficient
        if p.use_linear:
            grad = np.where(is_label, -1.0 * (m > xf), 1.0 * (m > -xf)) * reg
        else:
            grad = np.where(is_label, np.where(m > xf, -2 * (m - xf), 0.0),
                            np.where(m > -xf, 2 * (m + xf), 0.0)) * reg
        return [grad.reshape(x.shape).astype(x.dtype), np.zeros_like(label)]


@register
class Crop(Operator):
    """Crop the spatial dims of ``data`` (N, C, H, W) to ``h_w``, or to the second input's
    H and W, at ``offset`` (or centred with ``center_crop``)."""

    name = "Crop"
    variadic = "num_args"
    params = {"num_args": Param("int"), "offset": Param("shape", (0, 0)),
              "h_w": Param("shape", (0, 0)), "center_crop": Param("bool", False)}

    def arguments(self, p):
        if p.num_args not in (1, 2):
            raise MXNetError(f"Crop: num_args must be 1 or 2, got {p.num_args}")
        return ["arg0", "arg1"][:p.num_args]

    def _box(self, p, data, like):
        if len(data) != 4:
            raise MXNetError(f"Crop: data must be 4-D (N, C, H, W), got {data}")
        h, w = (like[2], like[3]) if like is not None else tuple(p.h_w)
        if h <= 0 or w <= 0 or h > data[2] or w > data[3]:
            raise MXNetError(f"Crop: target size ({h}, {w}) does not fit in {data}")
        if p.center_crop:
            y0, x0 = (data[2] - h) // 2, (data[3] - w) // 2
        else:
            y0, x0 = tuple(p.offset)
        if y0 < 0 or x0 < 0 or y0 + h > data[2] or x0 + w > data[3]:
            raise MXNetError(f"Crop: offset ({y0}, {x0}) with size ({h}, {w}) leaves {data}")
        return y0, x0, h, w

    def infer_shape(self, p, in_shapes, aux_shapes):
        data = in_shapes[0]
        like = in_shapes[1] if p.num_args == 2 else None
        if data is None or (p.num_args == 2 and like is None):
            return in_shapes, [None], aux_shapes
        _, _, h, w = self._box(p, tuple(data), None if like is None else tuple(like))
        return in_shapes, [(data[0], data[1], h, w)], aux_shapes

    def forward(self, p, inputs, aux, is_train):
        x = inputs[0]
        y0, x0, h, w = self._box(p, x.shape, inputs[1].shape if p.num_args == 2 else None)
        return [np.ascontiguousarray(x[:, :, y0:y0 + h, x0:x0 + w])], None

    def backward(self, p, out_grads, inputs, outputs, aux, saved):
        x = inputs[0]
        y0, x0, h, w = self._box(p, x.shape, inputs[1].shape if p.num_args == 2 else None)
        grad = np.zeros_like(x)
        grad[:, :, y0:y0 + h, x0:x0 + w] = out_grads[0]
        return [grad] + ([np.zeros_like(inputs[1])] if p.num_args == 2 else [])
