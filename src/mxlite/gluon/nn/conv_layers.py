"""Gluon convolution and pooling layers (1-D, 2-D, 3-D; transposed convolutions)."""

from __future__ import annotations

from ..block import HybridBlock
from .activations import Activation

__all__ = [
    "AvgPool1D", "AvgPool2D", "AvgPool3D", "Conv1D", "Conv1DTranspose", "Conv2D",
    "Conv2DTranspose", "Conv3D", "Conv3DTranspose", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "MaxPool1D",
    "MaxPool2D", "MaxPool3D", "ReflectionPad2D",
]


def _tuple(value, n, what):
    if isinstance(value, int):
        return (value,) * n
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise ValueError(f"{what} must be an int or a tuple of {n} ints, got {value!r}")
    return value


_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _check_layout(block: str, layout, n: int) -> None:
    if layout not in _LAYOUTS[n]:
        raise ValueError(f"{block}: layout {layout!r} is not supported; use "
                         f"{' or '.join(_LAYOUTS[n])}")


class _Conv(HybridBlock):
    """Shared by convolution and transposed convolution (``op_name`` Deconvolution)."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout,
                 in_channels=0, activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", op_name="Convolution", adj=None, prefix=None,
                 params=None):
        super().__init__(prefix=prefix, params=params)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            n = len(kernel_size)
            self._kwargs = {
                "kernel": kernel_size, "stride": strides, "dilate": dilation, "pad": padding,
                "num_filter": channels, "num_group": groups, "no_bias": not use_bias,
                "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            self._op_name = op_name
            _check_layout(type(self).__name__, layout, n)
            if op_name == "Convolution":
                wshape = (channels, in_channels // groups if in_channels else 0)
            else:
                wshape = (in_channels, channels // groups)
            # the weight's channel axes follow the layout: (O, I, *k) or (O, *k, I)
            wshape = (wshape[0], *kernel_size, wshape[1]) if layout[-1] == "C" else \
                (*wshape, *kernel_size)
            self.weight = self.params.get("weight", shape=wshape, init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        op = getattr(F, self._op_name)
        if bias is None:
            out = op(x, weight, name="fwd", **self._kwargs)
        else:
            out = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            out = self.act(out)
        return out

    def _alias(self):
        return "conv"

    def __repr__(self) -> str:
        shape = self.weight.shape
        k = self._kwargs
        mapping = f"{shape[1] if shape[1] else None} -> {shape[0]}"
        extra = f", stride={k['stride']}" if any(s != 1 for s in k["stride"]) else ""
        return (f"{type(self).__name__}({mapping}, kernel_size={k['kernel']}{extra}"
                f"{', bias=False' if self.bias is None else ''})")


def _make_conv(nd, layout):
    class Conv(_Conv):
        __doc__ = (f"{nd}-D convolution over ``{layout}`` input; ``channels`` filters of "
                   f"``kernel_size``.")

        def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                     layout=layout, activation=None, use_bias=True, weight_initializer=None,
                     bias_initializer="zeros", in_channels=0, **kwargs):
            super().__init__(channels, _tuple(kernel_size, nd, "kernel_size"),
                             _tuple(strides, nd, "strides"), _tuple(padding, nd, "padding"),
                             _tuple(dilation, nd, "dilation"), groups, layout, in_channels,
                             activation, use_bias, weight_initializer, bias_initializer,
                             **kwargs)

    class ConvTranspose(_Conv):
        __doc__ = (f"{nd}-D transposed convolution (Deconvolution) over ``{layout}`` input; "
                   "``output_padding`` adds to one side of the output.")

        def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0,
                     dilation=1, groups=1, layout=layout, activation=None, use_bias=True,
                     weight_initializer=None, bias_initializer="zeros", in_channels=0,
                     **kwargs):
            super().__init__(channels, _tuple(kernel_size, nd, "kernel_size"),
                             _tuple(strides, nd, "strides"), _tuple(padding, nd, "padding"),
                             _tuple(dilation, nd, "dilation"), groups, layout, in_channels,
                             activation, use_bias, weight_initializer, bias_initializer,
                             op_name="Deconvolution",
                             adj=_tuple(output_padding, nd, "output_padding"), **kwargs)
            self.outpad = _tuple(output_padding, nd, "output_padding")

    Conv.__name__ = Conv.__qualname__ = f"Conv{nd}D"
    ConvTranspose.__name__ = ConvTranspose.__qualname__ = f"Conv{nd}DTranspose"
    return Conv, ConvTranspose


Conv1D, Conv1DTranspose = _make_conv(1, "NCW")
Conv2D, Conv2DTranspose = _make_conv(2, "NCHW")
Conv3D, Conv3DTranspose = _make_conv(3, "NCDHW")


class _Pooling(HybridBlock):
    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, **kwargs):
        super().__init__(**kwargs)
        if strides is None:
            strides = pool_size
        n = len(pool_size)
        _check_layout(type(self).__name__, layout, n)
        self._kwargs = {
            "kernel": pool_size, "stride": _tuple(strides, n, "strides"),
            "pad": _tuple(padding, n, "padding"), "global_pool": global_pool,
            "pool_type": pool_type, "layout": layout,
            "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self) -> str:
        k = self._kwargs
        return (f"{type(self).__name__}(size={k['kernel']}, stride={k['stride']}, "
                f"padding={k['pad']}, ceil_mode={k['pooling_convention'] == 'full'}, "
                f"global_pool={k['global_pool']}, pool_type={k['pool_type']}, "
                f"layout={k['layout']})")


def _make_pools(nd, layout):
    class MaxPool(_Pooling):
        __doc__ = f"{nd}-D max pooling (stride defaults to the pool size)."

        def __init__(self, pool_size=2, strides=None, padding=0, layout=layout,
                     ceil_mode=False, **kwargs):
            size = _tuple(pool_size, nd, "pool_size")
            super().__init__(size, _tuple(strides, nd, "strides") if strides is not None
                             else None, padding, ceil_mode, False, "max", layout, **kwargs)

    class AvgPool(_Pooling):
        __doc__ = f"{nd}-D average pooling (``count_include_pad``: padding counts as values)."

        def __init__(self, pool_size=2, strides=None, padding=0, layout=layout,
                     ceil_mode=False, count_include_pad=True, **kwargs):
            size = _tuple(pool_size, nd, "pool_size")
            super().__init__(size, _tuple(strides, nd, "strides") if strides is not None
                             else None, padding, ceil_mode, False, "avg", layout,
                             count_include_pad, **kwargs)

    class GlobalMaxPool(_Pooling):
        __doc__ = f"{nd}-D global max pooling (output size 1 per spatial axis)."

        def __init__(self, layout=layout, **kwargs):
            super().__init__((1,) * nd, None, 0, True, True, "max", layout, **kwargs)

    class GlobalAvgPool(_Pooling):
        __doc__ = f"{nd}-D global average pooling."

        def __init__(self, layout=layout, **kwargs):
            super().__init__((1,) * nd, None, 0, True, True, "avg", layout, **kwargs)

    for cls, base in ((MaxPool, "MaxPool"), (AvgPool, "AvgPool"),
                      (GlobalMaxPool, "GlobalMaxPool"), (GlobalAvgPool, "GlobalAvgPool")):
        cls.__name__ = cls.__qualname__ = f"{base}{nd}D"
    return MaxPool, AvgPool, GlobalMaxPool, GlobalAvgPool


MaxPool1D, AvgPool1D, GlobalMaxPool1D, GlobalAvgPool1D = _make_pools(1, "NCW")
MaxPool2D, AvgPool2D, GlobalMaxPool2D, GlobalAvgPool2D = _make_pools(2, "NCHW")
MaxPool3D, AvgPool3D, GlobalMaxPool3D, GlobalAvgPool3D = _make_pools(3, "NCDHW")


class ReflectionPad2D(HybridBlock):
    """Pad the two spatial axes of NCHW input by reflection (``padding``: an int or the
    8-tuple ``pad_width`` of ``F.pad``)."""

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, int):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        if len(padding) != 8:
            raise ValueError(f"ReflectionPad2D: padding must be an int or 8 ints, got "
                             f"{padding!r}")
        self._padding = tuple(padding)

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)
