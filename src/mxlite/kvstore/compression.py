"""Gradient compression for the distributed stores: MXNet 1.9.1's ``2bit`` scheme.

A worker adds each gradient to a residual it keeps per key, and sends one of three values per
element: ``+threshold`` where the residual reached ``threshold``, ``-threshold`` where it reached
``-threshold``, else ``0``; what was sent is taken off the residual, so nothing is lost, only
delayed.  Two bits per element travel (16 elements per 32-bit word): ``11`` for ``+threshold``,
``10`` for ``-threshold``, ``00`` for zero, the first element of each group of four in the two
highest bits of its byte — MXNet's layout.  The server decodes and sums the decoded values.

>>> import numpy as np
>>> from mxlite.kvstore.compression import TwoBitCompression
>>> c = TwoBitCompression(threshold=0.5)
>>> residual = np.zeros(3, dtype=np.float32)
>>> packed = c.quantize(np.array([0.3, 0.6, -0.7], dtype=np.float32), residual)
>>> c.dequantize(packed, 3, np.float32).tolist(), residual.round(2).tolist()
([0.0, 0.5, -0.5], [0.3, 0.1, -0.2])
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetError

__all__ = ["TwoBitCompression", "create"]

_SHIFTS = np.array([6, 4, 2, 0], dtype=np.uint8)  # bit offset of element j (0..3) in its byte
_POS, _NEG = 3, 2  # the 2-bit codes 11 and 10


class TwoBitCompression:
    """MXNet's ``{'type': '2bit', 'threshold': t}`` compression (``t > 0``)."""

    type = "2bit"

    def __init__(self, threshold: float = 0.5):
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            raise MXNetError(
                f"gradient compression: threshold must be a number, got {threshold!r}"
            ) from None
        if not threshold > 0:
            raise MXNetError(
                f"gradient compression: threshold must be greater than 0, got {threshold!r}"
            )
        self.threshold = threshold

    @property
    def params(self) -> dict:
        """The parameters as given to ``set_gradient_compression``."""
        return {"type": self.type, "threshold": self.threshold}

    @staticmethod
    def packed_size(n: int) -> int:
        """Bytes of the packed form of ``n`` elements (whole 32-bit words, 16 elements each)."""
        return 4 * ((n + 15) // 16)

    def quantize(self, grad: np.ndarray, residual: np.ndarray) -> np.ndarray:
        """The packed codes (``uint8``) of ``grad + residual``; ``residual`` (same size, updated
        in place) keeps what was not sent."""
        grad = np.asarray(grad).reshape(-1)
        flat = residual.reshape(-1)
        if flat.size != grad.size:
            raise ValueError(
                f"quantize: residual of {flat.size} elements for a gradient of {grad.size}"
            )
        t = flat.dtype.type(self.threshold)
        flat += grad
        pos = flat >= t
        neg = flat <= -t
        neg &= ~pos
        flat[pos] -= t
        flat[neg] += t
        codes = np.zeros(self.packed_size(grad.size) * 4, dtype=np.uint8)
        codes[: grad.size][pos] = _POS
        codes[: grad.size][neg] = _NEG
        return (codes.reshape(-1, 4) << _SHIFTS).sum(axis=1, dtype=np.uint8)

    def dequantize(self, packed: np.ndarray, n: int, dtype=np.float32) -> np.ndarray:
        """The ``n`` values (``+threshold``, ``-threshold`` or 0) encoded in ``packed``."""
        packed = np.asarray(packed, dtype=np.uint8).reshape(-1)
        if packed.size != self.packed_size(n):
            raise MXNetError(
                f"dequantize: {packed.size} bytes cannot hold {n} 2-bit codes "
                f"(expected {self.packed_size(n)})"
            )
        codes = ((packed[:, None] >> _SHIFTS) & 3).reshape(-1)[:n]
        out = np.zeros(n, dtype=dtype)
        out[codes == _POS] = self.threshold
        out[codes == _NEG] = -self.threshold
        return out


def create(compression_params) -> TwoBitCompression:
    """The compression described by ``compression_params`` (``{'type': '2bit', 'threshold':
    0.5}``, values may be strings as MXNet passes them); MXNetError for anything else."""
    if isinstance(compression_params, TwoBitCompression):
        return compression_params
    if not isinstance(compression_params, dict):
        raise TypeError(
            "compression_params must be a dict like {'type': '2bit', 'threshold': 0.5}, got "
            f"{compression_params!r}"
        )
    params = dict(compression_params)
    if "type" not in params:
        raise MXNetError("gradient compression: the required parameter 'type' is missing")
    kind = str(params.pop("type"))
    if kind != "2bit":
        raise MXNetError(f"Unknown type for gradient compression {kind!r} (known: '2bit')")
    threshold = params.pop("threshold", 0.5)
    if params:
        raise MXNetError(
            f"gradient compression: unknown parameters {sorted(params)} (known: type, threshold)"
        )
    return TwoBitCompression(threshold)
