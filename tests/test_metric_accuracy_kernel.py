"""Accuracy's one-pass kernel (argmax, label check and count: mxlite.kernels.metric) counts what
NumPy's argmax and compare count, and falls back to the NumPy path (same errors) otherwise."""

import numpy as np
import pytest

import mxlite as mx
from mxlite import metric as metric_mod
from mxlite.kernels import metric as km

RNG = np.random.default_rng(3)


def _reference_hits(pred, label):
    return int((np.argmax(pred, axis=1) == np.asarray(label).reshape(-1).astype(np.int64)).sum())


def _ties_and_nans(dtype):
    pred = RNG.integers(0, 3, size=(40, 5)).astype(dtype)  # many tied maxima
    pred[3, 2] = np.nan
    pred[7, 0] = np.nan
    pred[9, [1, 4]] = np.nan
    pred[11] = -np.inf
    pred[12, 3] = np.inf
    return pred


# id, prediction, label
CASES = [
    ("f32-f32-labels", RNG.standard_normal((64, 10)).astype(np.float32),
     RNG.integers(0, 10, 64).astype(np.float32)),
    ("f64-f64-labels", RNG.standard_normal((33, 7)), RNG.integers(0, 7, 33).astype(np.float64)),
    ("f32-int32-labels", RNG.standard_normal((20, 4)).astype(np.float32),
     RNG.integers(0, 4, 20).astype(np.int32)),
    ("f32-int64-labels", RNG.standard_normal((20, 4)).astype(np.float32),
     RNG.integers(0, 4, 20)),
    ("f64-uint8-labels", RNG.standard_normal((20, 3)), RNG.integers(0, 3, 20).astype(np.uint8)),
    ("f32-column-labels", RNG.standard_normal((16, 5)).astype(np.float32),
     RNG.integers(0, 5, (16, 1)).astype(np.float32)),
    ("ties-nans-f32", _ties_and_nans(np.float32), RNG.integers(0, 5, 40).astype(np.float32)),
    ("ties-nans-f64", _ties_and_nans(np.float64), RNG.integers(0, 5, 40).astype(np.float64)),
    ("one-class", RNG.standard_normal((8, 1)).astype(np.float32), np.zeros(8, np.float32)),
    ("empty-batch", np.zeros((0, 4), np.float32), np.zeros(0, np.float32)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_kernel_counts_as_numpy_argmax(case):
    _, pred, label = case
    assert km.argmax_hits(pred, np.ascontiguousarray(label).reshape(-1)) == \
        _reference_hits(pred, label)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_accuracy_takes_the_kernel_and_agrees(case, monkeypatch):
    _, pred, label = case
    calls = []
    real = km.argmax_hits
    monkeypatch.setattr(km, "argmax_hits", lambda p, lab: calls.append(1) or real(p, lab))
    acc = mx.metric.Accuracy()
    acc.update([mx.nd.array(label, dtype=label.dtype)], [mx.nd.array(pred, dtype=pred.dtype)])
    assert calls == [1]
    n = len(pred)
    assert acc.num_inst == n and acc.sum_metric == _reference_hits(pred, label)


@pytest.mark.parametrize("case", CASES[:8], ids=[c[0] for c in CASES[:8]])
def test_numpy_path_agrees_with_kernel(case, monkeypatch):
    """The same update with the kernel switched off (the NumPy path) gives the same count."""
    _, pred, label = case
    on, off = mx.metric.Accuracy(), mx.metric.Accuracy()
    on.update([label], [pred])
    monkeypatch.setattr(metric_mod, "_argmax_hits", lambda *a: None)
    off.update([label], [pred])
    assert (on.sum_metric, on.num_inst) == (off.sum_metric, off.num_inst)


# id, label value that is no class index of a (4, 3) prediction
BAD = [("negative", -1.0), ("too-large", 3.0), ("fraction", 1.5), ("nan", np.nan),
       ("inf", np.inf)]


@pytest.mark.parametrize("bad", BAD, ids=[b[0] for b in BAD])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_bad_label_raises_the_numpy_paths_error(bad, dtype):
    pred = RNG.standard_normal((4, 3)).astype(dtype)
    label = np.array([0, 1, bad[1], 2], np.float64)
    assert km.argmax_hits(pred, label) == -1 - 2
    with pytest.raises(ValueError, match="is not a class index"):
        mx.metric.Accuracy().update([label], [pred])


# id, prediction, label: layouts the kernel does not take (the NumPy path counts them)
OTHER = [
    ("float16-pred", RNG.standard_normal((6, 3)).astype(np.float16), np.array([0, 1, 2] * 2)),
    ("int-pred", RNG.integers(0, 9, (6, 3)), np.array([0, 1, 2] * 2)),
    ("float16-label", RNG.standard_normal((6, 3)).astype(np.float32),
     np.array([0, 1, 2] * 2, np.float16)),
    ("bool-label", RNG.standard_normal((6, 2)).astype(np.float32), np.array([0, 1] * 3, bool)),
    ("non-contiguous", RNG.standard_normal((3, 6)).astype(np.float32).T, np.array([0, 1, 2] * 2)),
    ("3d-pred", RNG.standard_normal((6, 3, 2)).astype(np.float32),
     RNG.integers(0, 3, (6, 2)).astype(np.float32)),
    ("same-shape", np.array([0, 1, 2, 1], np.float32), np.array([0, 1, 1, 1], np.float32)),
]


@pytest.mark.parametrize("case", OTHER, ids=[c[0] for c in OTHER])
def test_other_layouts_take_the_numpy_path(case, monkeypatch):
    _, pred, label = case
    assert metric_mod._argmax_hits(pred, label, 1) is None
    acc = mx.metric.Accuracy()
    acc.update([label], [pred])
    if pred.ndim == label.ndim:
        want = int((pred.astype(np.int32).ravel() == label.astype(np.int64).ravel()).sum())
    else:
        want = int((np.argmax(pred, axis=1).ravel()
                    == label.astype(np.int64).ravel()).sum())
    assert acc.sum_metric == want


def test_other_axis_takes_the_numpy_path():
    pred = RNG.standard_normal((3, 5)).astype(np.float32)
    label = np.array([0, 1, 2, 0, 1], np.float32)
    assert metric_mod._argmax_hits(pred, label, 0) is None
    acc = mx.metric.Accuracy(axis=0)
    acc.update([label], [pred])
    assert acc.sum_metric == int((np.argmax(pred, axis=0) == label).sum())
