"""IEEE binary16 <-> binary32 conversion inside Numba kernels.

Numba's CPU target has no float16 type, so float16 arrays reach the kernels as ``uint16`` views
(``a.view(np.uint16)``).  :func:`load` reads element ``i`` of a float32/float64 array as is and of
a ``uint16`` (float16 bits) array as float32; :func:`half_bits` rounds a float32 to the nearest
float16 (ties to even, overflow to infinity, NaN kept NaN), exactly as ``ndarray.astype(float16)``.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import binding as _llvm
from llvmlite import ir as _ir
from numba import types
from numba.extending import intrinsic, overload

__all__ = ["F16C", "half_bits", "half_value", "load"]


def _host_has_f16c() -> bool:
    try:
        return "+f16c" in _llvm.get_host_cpu_features().flatten()
    except Exception:  # pragma: no cover - feature query unavailable: use the portable code
        return False


#: the CPU converts float16 in hardware (x86 F16C): LLVM's ``half`` conversions, vectorized
F16C = _host_has_f16c()

_INLINE = {"cache": True}  # LLVM inlines these; IR-level inlining trips Numba SSA warnings


@numba.njit(**_INLINE)
def _half_value_soft(h):
    """float32 value of the float16 bit pattern ``h`` (a uint16)."""
    h = np.uint32(h)
    sign = (h & np.uint32(0x8000)) << np.uint32(16)
    exp = (h >> np.uint32(10)) & np.uint32(0x1F)
    mant = h & np.uint32(0x3FF)
    if exp == np.uint32(0):
        if mant == np.uint32(0):
            return np.uint32(sign).view(np.float32)
        # subnormal: mant * 2**-24, exact in float32
        val = np.float32(mant) * np.float32(5.9604644775390625e-08)
        return -val if sign != np.uint32(0) else val
    if exp == np.uint32(0x1F):
        bits = sign | np.uint32(0x7F800000) | (mant << np.uint32(13))
        return np.uint32(bits).view(np.float32)
    bits = sign | ((exp + np.uint32(112)) << np.uint32(23)) | (mant << np.uint32(13))
    return np.uint32(bits).view(np.float32)


@numba.njit(**_INLINE)
def _half_bits_soft(x):
    """float16 bit pattern (uint16) nearest to the float32 ``x``, ties to even."""
    f = np.uint32(np.float32(x).view(np.uint32))
    sign = np.uint32((f >> np.uint32(16)) & np.uint32(0x8000))
    fexp = f & np.uint32(0x7F800000)
    fsig = f & np.uint32(0x007FFFFF)
    if fexp >= np.uint32(0x47800000):  # overflow, inf or nan
        if fexp == np.uint32(0x7F800000) and fsig != np.uint32(0):
            r = np.uint32(0x7C00) + (fsig >> np.uint32(13))
            if r == np.uint32(0x7C00):
                r = np.uint32(0x7C01)
            return np.uint16(sign + r)
        return np.uint16(sign + np.uint32(0x7C00))
    if fexp <= np.uint32(0x38000000):  # result is subnormal or zero
        if fexp < np.uint32(0x33000000):
            return np.uint16(sign)
        e = fexp >> np.uint32(23)
        sig = np.uint32(0x00800000) + fsig
        sig = sig >> (np.uint32(113) - e)
        # round half to even on bit 13 of the shifted significand; the shift may have dropped
        # set bits, which only matter for the exact-tie test
        if (sig & np.uint32(0x3FFF)) != np.uint32(0x1000) or (f & np.uint32(0x7FF)) != np.uint32(0):
            sig = sig + np.uint32(0x1000)
        return np.uint16(sign + (sig >> np.uint32(13)))
    hexp = (fexp - np.uint32(0x38000000)) >> np.uint32(13)
    if (fsig & np.uint32(0x3FFF)) != np.uint32(0x1000):
        fsig = fsig + np.uint32(0x1000)
    # a carry out of the significand correctly bumps the exponent (up to infinity)
    return np.uint16(sign + hexp + (fsig >> np.uint32(13)))


@intrinsic
def _fpext_half(typingctx, h):
    """float32 of the float16 bits ``h`` by LLVM's ``fpext half`` (one instruction with F16C)."""
    sig = types.float32(types.uint16)

    def codegen(context, builder, signature, args):
        return builder.fpext(builder.bitcast(args[0], _ir.HalfType()), _ir.FloatType())

    return sig, codegen


@intrinsic
def _fptrunc_half(typingctx, x):
    """float16 bits of the float32 ``x`` by LLVM's ``fptrunc`` (round to nearest even)."""
    sig = types.uint16(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.fptrunc(args[0], _ir.HalfType()), _ir.IntType(16))

    return sig, codegen


@intrinsic
def _bits_f32(typingctx, x):
    """The bits of the float32 ``x`` as a uint32 (a register bitcast, no memory)."""
    sig = types.uint32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _ir.IntType(32))

    return sig, codegen


@intrinsic
def _f32_bits(typingctx, b):
    """The float32 whose bits are the uint32 ``b``."""
    sig = types.float32(types.uint32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _ir.FloatType())

    return sig, codegen


@numba.njit(**_INLINE)
def _half_value_f16c(h):
    """:func:`_half_value_soft` with the hardware conversion; the hardware quiets signaling
    NaNs, so NaN patterns keep their payload bits here (as NumPy and the portable code).
    Branch-free, so that loops around it vectorize."""
    h32 = np.uint32(h)
    nan = _f32_bits(((h32 & np.uint32(0x8000)) << np.uint32(16)) | np.uint32(0x7F800000)
                    | ((h32 & np.uint32(0x3FF)) << np.uint32(13)))
    is_nan = (h32 & np.uint32(0x7FFF)) > np.uint32(0x7C00)
    return nan if is_nan else _fpext_half(np.uint16(h))


@numba.njit(**_INLINE)
def _half_bits_f16c(x):
    """:func:`_half_bits_soft` with the hardware conversion; NaNs keep the portable (NumPy)
    payload rule instead of the hardware's quieting.  Branch-free."""
    xf = np.float32(x)
    f = _bits_f32(xf)
    p = (f & np.uint32(0x007FFFFF)) >> np.uint32(13)
    nan = np.uint16(((f >> np.uint32(16)) & np.uint32(0x8000)) | np.uint32(0x7C00)
                    | max(p, np.uint32(1)))
    return nan if xf != xf else _fptrunc_half(xf)


# hardware conversions where the CPU has them (bit-identical, vectorizable), else portable code
half_value = _half_value_f16c if F16C else _half_value_soft
half_bits = _half_bits_f16c if F16C else _half_bits_soft


def load(a, i):
    """Element ``i`` of ``a`` in compute precision (float16 bits -> float32)."""
    raise NotImplementedError("load is only callable inside Numba kernels")


@overload(load, inline="always")
def _load_impl(a, i):
    if isinstance(a, types.Array) and a.dtype == types.uint16:
        return lambda a, i: half_value(a[i])
    return lambda a, i: a[i]
