"""``mx.runtime``: which build features this mxlite has (MXNet's ``libinfo`` feature list).

>>> import mxlite as mx
>>> features = mx.runtime.Features()
>>> features.is_enabled("CPU_SSE"), features.is_enabled("CUDA")
(False, False)
>>> "OPENMP" in features
True
"""

from __future__ import annotations

import collections

__all__ = ["Feature", "Features", "feature_list"]

# MXNet 1.9.1's feature names, in its order, and whether mxlite provides the capability
_FEATURES = (
    ("CUDA", False), ("CUDNN", False), ("NCCL", False), ("CUDA_RTC", False),
    ("TENSORRT", False), ("CPU_SSE", False), ("CPU_SSE2", False), ("CPU_SSE3", False),
    ("CPU_SSE4_1", False), ("CPU_SSE4_2", False), ("CPU_SSE4A", False), ("CPU_AVX", False),
    ("CPU_AVX2", False), ("OPENMP", True), ("SSE", False), ("F16C", False),
    ("JEMALLOC", False), ("BLAS_OPEN", False), ("BLAS_ATLAS", False), ("BLAS_MKL", False),
    ("BLAS_APPLE", False), ("LAPACK", True), ("MKLDNN", False), ("OPENCV", False),
    ("CAFFE", False), ("PROFILER", True), ("DIST_KVSTORE", False), ("CXX14", False),
    ("INT64_TENSOR_SIZE", True), ("SIGNAL_HANDLER", False), ("DEBUG", False),
    ("TVM_OP", False),
)


class Feature(collections.namedtuple("Feature", ["name", "enabled"])):
    """One feature: its name and whether it is enabled."""

    def __repr__(self):
        return ("✔ " if self.enabled else "✖ ") + self.name


def feature_list() -> list[Feature]:
    """All features, in MXNet's order."""
    return [Feature(n, e) for n, e in _FEATURES]


class Features(collections.OrderedDict):
    """Name -> :class:`Feature` of this build; ``is_enabled(name)`` checks one."""

    def __init__(self):
        super().__init__((f.name, f) for f in feature_list())

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name: str) -> bool:
        """Whether ``feature_name`` (case-insensitive) is enabled; unknown names raise."""
        if not isinstance(feature_name, str):
            raise TypeError(f"feature_name must be a str, got {feature_name!r}")
        name = feature_name.upper()
        if name not in self:
            raise RuntimeError(
                f"Feature '{feature_name}' is unknown, known features are: {list(self)}"
            )
        return self[name].enabled
