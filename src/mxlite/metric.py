"""Evaluation metrics, computed as MXNet 1.9.1 computes them.

Every metric accumulates ``sum_metric`` and ``num_inst`` over ``update(labels, preds)`` calls and
reports ``sum_metric / num_inst`` from ``get()``; ``get_global()`` reports the same over all
updates since the last ``reset()`` (``reset_local()`` clears only the local part, as
``Speedometer(auto_reset=True)`` does).

>>> import mxlite as mx
>>> acc = mx.metric.create('acc')
>>> acc.update([mx.nd.array([0, 1, 1])], [mx.nd.array([[0.3, 0.7], [0, 1.0], [0.4, 0.6]])])
>>> acc.get()
('accuracy', 0.6666666666666666)

``create`` takes a registered name (``'acc'``, ``'f1'``, ``'ce'``, ...), a list of them (giving a
:class:`CompositeEvalMetric`), a metric instance, or a function ``feval(label, pred)`` on NumPy
arrays (giving a :class:`CustomMetric`).
"""

from __future__ import annotations

import json
import logging
import math
from collections import OrderedDict

import numpy

from .base import Registry, numeric_types
from .ndarray import NDArray

__all__ = [
    "F1",
    "MAE",
    "MCC",
    "MSE",
    "PCC",
    "RMSE",
    "Accuracy",
    "CompositeEvalMetric",
    "CrossEntropy",
    "CustomMetric",
    "EvalMetric",
    "Loss",
    "NegativeLogLikelihood",
    "PearsonCorrelation",
    "Perplexity",
    "TopKAccuracy",
    "alias",
    "check_label_shapes",
    "create",
    "np",
    "register",
]


def check_label_shapes(labels, preds, wrap=False, shape=False):
    """Raise ValueError unless ``labels`` and ``preds`` agree in length (or in shape when
    ``shape``); with ``wrap``, single NDArrays come back wrapped in lists."""
    if shape:
        label_shape, pred_shape = labels.shape, preds.shape
    else:
        label_shape, pred_shape = len(labels), len(preds)
    if label_shape != pred_shape:
        raise ValueError(
            f"Shape of labels {label_shape} does not match shape of predictions {pred_shape}"
        )
    if wrap:
        if isinstance(labels, NDArray):
            labels = [labels]
        if isinstance(preds, NDArray):
            preds = [preds]
    return labels, preds


def _numpy(x) -> numpy.ndarray:
    """``x`` as a NumPy array to read: a dense NDArray's own buffer (no copy; the built-in
    metrics never write into it), a sparse one densified."""
    if type(x) is NDArray:
        return x._data
    return x.asnumpy() if isinstance(x, NDArray) else numpy.asarray(x)


def _numpy_copy(x) -> numpy.ndarray:
    """An NDArray as a NumPy copy of its own (user functions may write into it, as MXNet's
    ``asnumpy``); anything else as NumPy sees it."""
    return x.asnumpy() if isinstance(x, NDArray) else numpy.asarray(x)


def _class_labels(metric, label, num_classes=None, ignore_label=None) -> numpy.ndarray:
    """``label`` as int64 class indices; ValueError naming ``metric`` and the first bad label
    unless every label is a finite integer in ``[0, num_classes)`` (or ``ignore_label``)."""
    values = numpy.asarray(label)
    if values.dtype.kind == "b":
        values = values.astype(numpy.int64)
    if values.dtype.kind not in "iuf":
        raise ValueError(f"{metric.name}: labels must be numbers, got dtype {values.dtype}")
    flat = values.reshape(-1)
    ok = numpy.isfinite(flat) if flat.dtype.kind == "f" else numpy.ones(flat.shape, bool)
    with numpy.errstate(invalid="ignore"):
        ok &= flat == numpy.floor(flat) if flat.dtype.kind == "f" else ok
        ok &= flat >= 0
        if num_classes is not None:
            ok &= flat < num_classes
        if ignore_label is not None:
            ok |= flat == ignore_label
    if not ok.all():
        bad = flat[numpy.argmin(ok)]
        want = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ValueError(
            f"{metric.name}: label {bad.item()!r} is not a class index (an integer in {want})"
        )
    return flat.astype(numpy.int64).reshape(values.shape)


#: label dtypes the accuracy kernel reads (any integer, float32, float64)
_HIT_LABEL_FLOATS = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))
_metric_kernels = None


def _argmax_hits(pred, label, axis):
    """The number of rows of a 2-D float prediction whose argmax (over ``axis`` 1) is the
    label, in one kernel pass (:mod:`mxlite.kernels.metric`); None where the kernel does not
    apply (other layouts, dtypes or shapes) or a label is no class index (the NumPy path
    then counts, or raises its error)."""
    global _metric_kernels
    if (pred.ndim != 2 or axis not in (1, -1) or not pred.flags.c_contiguous
            or label.size != pred.shape[0] or label.shape == pred.shape or pred.shape[1] == 0
            or not (label.dtype.kind in "iu" or label.dtype in _HIT_LABEL_FLOATS)):
        return None
    if _metric_kernels is None:
        from .kernels import metric as _metric_kernels
    if pred.dtype not in _metric_kernels.DTYPES:
        return None
    hits = _metric_kernels.argmax_hits(pred, label.reshape(-1))
    return hits if hits >= 0 else None


class EvalMetric:
    """Base class: subclasses implement ``update(labels, preds)`` on lists of NDArrays.

    ``output_names`` / ``label_names`` select which outputs and labels ``update_dict`` passes
    on (all of them, in order, when None).
    """

    def __init__(self, name, output_names=None, label_names=None, **kwargs):
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self.reset()

    def __str__(self):
        return f"EvalMetric: {dict(self.get_name_value())}"

    def get_config(self) -> dict:
        """The arguments that recreate this metric with :func:`create`."""
        config = dict(self._kwargs)
        config.update({
            "metric": type(self).__name__,
            "name": self.name,
            "output_names": self.output_names,
            "label_names": self.label_names,
        })
        return config

    def update_dict(self, label, pred):
        """Update from dicts name -> NDArray, picking ``label_names`` / ``output_names``."""
        if self.output_names is not None:
            pred = [pred[name] for name in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            label = [label[name] for name in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def update(self, labels, preds):
        raise NotImplementedError(f"{type(self).__name__} does not implement update")

    def reset(self):
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self):
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self):
        """``(name, value)``; the value is NaN before any update."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self):
        if not self._has_global_stats:
            return self.get()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.global_sum_metric / self.global_num_inst)

    @staticmethod
    def _pairs(name, value):
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value, strict=False))

    def get_name_value(self):
        """``[(name, value), ...]`` (one pair, or one per child of a composite metric)."""
        return self._pairs(*self.get())

    def get_global_name_value(self):
        if not self._has_global_stats:
            return self.get_name_value()
        return self._pairs(*self.get_global())

    # shared accumulation helper
    def _add(self, value, count):
        self.sum_metric += value
        self.global_sum_metric += value
        self.num_inst += count
        self.global_num_inst += count


_REGISTRY = Registry(EvalMetric, "metric")


def register(klass=None, name=None):
    """Register an :class:`EvalMetric` subclass so that :func:`create` finds it by name."""
    return _REGISTRY.register(klass, name)


def alias(*aliases):
    """Decorator registering a metric under extra names."""
    return _REGISTRY.alias(*aliases)


def create(metric, *args, **kwargs) -> EvalMetric:
    """A metric from a name, a list of specs, an instance, or a ``feval(label, pred)`` callable."""
    if isinstance(metric, EvalMetric) and not args and not kwargs:
        return metric
    if callable(metric) and not isinstance(metric, (type, EvalMetric)):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    if isinstance(metric, str) and metric.lstrip().startswith("{"):
        return _from_config(metric, args, kwargs)
    return _REGISTRY.create(metric, *args, **kwargs)


def _from_config(text: str, args, kwargs) -> EvalMetric:
    """A metric from ``json.dumps(metric.get_config())`` (MXNet's round trip)."""
    try:
        config = json.loads(text)
    except ValueError as err:
        raise ValueError(f"metric JSON {text!r} is malformed: {err}") from None
    if not isinstance(config, dict) or not isinstance(config.get("metric"), str):
        raise ValueError(f"metric JSON {text!r} must be an object with a 'metric' name")
    config = dict(config, **kwargs)
    name = config.pop("metric")
    children = config.pop("metrics", None)
    if children is not None:
        config["metrics"] = [_from_config(json.dumps(c), (), {}) if isinstance(c, dict) else c
                             for c in children]
    return _REGISTRY.create(name, *args, **config)


@register
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get()`` returns lists of names and values."""

    def __init__(self, metrics=None, name="composite", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    def add(self, metric):
        self.metrics.append(create(metric))

    def get_metric(self, index):
        """The child metric at ``index``.

        MXNet 1.9.1 *returns* a ValueError object for a bad index; mxlite raises it.
        """
        if not -len(self.metrics) <= index < len(self.metrics):
            raise ValueError(
                f"Metric index {index} is out of range 0 and {len(self.metrics)}"
            )
        return self.metrics[index]

    def update_dict(self, labels, preds):
        if self.label_names is not None:
            labels = OrderedDict(i for i in labels.items() if i[0] in self.label_names)
        if self.output_names is not None:
            preds = OrderedDict(i for i in preds.items() if i[0] in self.output_names)
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels, preds):
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self):
        for metric in getattr(self, "metrics", []):
            metric.reset()

    def reset_local(self):
        for metric in getattr(self, "metrics", []):
            metric.reset_local()

    def _collect(self, getter):
        names, values = [], []
        for metric in self.metrics:
            name, value = getter(metric)
            if isinstance(name, str):
                name = [name]
            if isinstance(value, (*numeric_types, numpy.generic)):
                value = [value]
            names.extend(name)
            values.extend(value)
        return (names, values)

    def get(self):
        return self._collect(lambda m: m.get())

    def get_global(self):
        return self._collect(lambda m: m.get_global())

    def get_config(self):
        config = super().get_config()
        config["metrics"] = [m.get_config() for m in self.metrics]
        return config


@register
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of correct predictions; predictions shaped unlike the labels are reduced with
    ``argmax`` over ``axis`` first.  Labels and predictions are truncated to int32."""

    def __init__(self, axis=1, name="accuracy", output_names=None, label_names=None):
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            pred = _numpy(pred)
            label = _numpy(label)
            hits = _argmax_hits(pred, label, self.axis)
            if hits is not None:
                self._add(hits, len(pred))
                continue
            classes = None
            if pred.shape != label.shape:
                classes = pred.shape[self.axis] if pred.ndim else None
                pred = numpy.argmax(pred, axis=self.axis)
            pred = pred.astype(numpy.int32).ravel()
            label = _class_labels(self, label, classes).ravel()
            check_label_shapes(label, pred)
            self._add(int((pred == label).sum()), len(pred))


@register
@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of examples whose label is among the ``top_k`` highest-scored classes."""

    def __init__(self, top_k=1, name="top_k_accuracy", output_names=None, label_names=None):
        super().__init__(name, top_k=top_k, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        if not isinstance(top_k, int) or top_k <= 1:
            raise ValueError(f"top_k must be an int > 1 (use Accuracy for 1), got {top_k!r}")
        self.top_k = top_k
        # MXNet 1.9.1 appends the suffix again when recreated from get_config()
        # ("top_k_accuracy_3_3"); a name that already carries it is kept
        if not self.name.endswith(f"_{top_k}"):
            self.name += f"_{top_k}"

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            pred = _numpy(pred).astype(numpy.float32)
            if pred.ndim > 2:
                raise ValueError(f"TopKAccuracy predictions must have <= 2 dims, got {pred.shape}")
            order = numpy.argpartition(pred, -self.top_k)
            label = _class_labels(self, _numpy(label), pred.shape[-1] if pred.ndim == 2 else None)
            check_label_shapes(label, order)
            if order.ndim == 1:
                correct = int((order.ravel() == label.ravel()).sum())
            else:
                num_classes = order.shape[1]
                correct = 0
                for j in range(min(num_classes, self.top_k)):
                    correct += int((order[:, num_classes - 1 - j].ravel() == label.ravel()).sum())
            self._add(correct, order.shape[0])


class _BinaryStats:
    """Confusion counts of a binary classifier, local and global."""

    _FIELDS = ("true_positives", "false_positives", "false_negatives", "true_negatives")

    def __init__(self):
        self.reset_stats()

    def update_binary_stats(self, label, pred, metric=None):
        pred = _numpy(pred)
        label = _numpy(label)
        pred_label = numpy.argmax(pred, axis=1)
        check_label_shapes(label, pred)
        if len(numpy.unique(label)) > 2:
            raise ValueError(
                f"binary classification metrics support 2 classes, got labels "
                f"{numpy.unique(label).tolist()}"
            )
        if metric is not None:
            label = _class_labels(metric, label, 2)
        label = label.astype(numpy.int32)
        pred_true = pred_label == 1
        label_true = label == 1
        counts = (
            int((pred_true & label_true).sum()),
            int((pred_true & ~label_true).sum()),
            int((~pred_true & label_true).sum()),
            int((~pred_true & ~label_true).sum()),
        )
        for field, c in zip(self._FIELDS, counts, strict=False):
            setattr(self, field, getattr(self, field) + c)
            setattr(self, "global_" + field, getattr(self, "global_" + field) + c)

    def _counts(self, use_global):
        prefix = "global_" if use_global else ""
        return [float(getattr(self, prefix + f)) for f in self._FIELDS]

    def fscore(self, use_global=False) -> float:
        tp, fp, fn, _ = self._counts(use_global)
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.0

    def matthewscc(self, use_global=False) -> float:
        tp, fp, fn, tn = self._counts(use_global)
        if tp + fp + fn + tn == 0:
            return 0.0
        denom = 1.0
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.0:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)

    def total(self, use_global=False) -> float:
        return sum(self._counts(use_global))

    def local_reset_stats(self):
        for f in self._FIELDS:
            setattr(self, f, 0)

    def reset_stats(self):
        for f in self._FIELDS:
            setattr(self, f, 0)
            setattr(self, "global_" + f, 0)


class _BinaryMetric(EvalMetric):
    """F1 / MCC: ``average='macro'`` averages the per-update score, ``'micro'`` scores the
    counts pooled over all updates.  (As in MXNet 1.9.1, a macro update clears the global counts
    too, so the global macro value averages per-update scores as well.)"""

    def __init__(self, name, output_names, label_names, average):
        if average not in ("macro", "micro"):
            raise ValueError(f"average must be 'macro' or 'micro', got {average!r}")
        self.average = average
        self._stats = _BinaryStats()
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _score(self, use_global):
        raise NotImplementedError

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            self._stats.update_binary_stats(label, pred, self)
        if self.average == "macro":
            self.sum_metric += self._score(False)
            self.global_sum_metric += self._score(True)
            self.num_inst += 1
            self.global_num_inst += 1
            self._stats.reset_stats()
        else:
            self.sum_metric = self._score(False) * self._stats.total(False)
            self.global_sum_metric = self._score(True) * self._stats.total(True)
            self.num_inst = self._stats.total(False)
            self.global_num_inst = self._stats.total(True)

    def reset(self):
        super().reset()
        self._stats.reset_stats()

    def reset_local(self):
        super().reset_local()
        self._stats.local_reset_stats()


@register
class F1(_BinaryMetric):
    """F1 score of a binary classifier (class 1 positive; predictions are class scores)."""

    def __init__(self, name="f1", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self._stats.fscore(use_global)


@register
class MCC(_BinaryMetric):
    """Matthews correlation coefficient of a binary classifier."""

    def __init__(self, name="mcc", output_names=None, label_names=None, average="macro"):
        super().__init__(name, output_names, label_names, average)

    def _score(self, use_global):
        return self._stats.matthewscc(use_global)


@register
class Perplexity(EvalMetric):
    """``exp`` of the mean negative log-probability of the labels; labels equal to
    ``ignore_label`` are left out (mxlite defaults ``ignore_label`` to None, MXNet requires it)."""

    def __init__(self, ignore_label=None, axis=-1, name="perplexity", output_names=None,
                 label_names=None):
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def update(self, labels, preds):
        if len(labels) != len(preds):
            raise ValueError(
                f"Perplexity needs as many labels as predictions, got {len(labels)} and "
                f"{len(preds)}"
            )
        loss = 0.0
        num = 0
        for label, pred in zip(labels, preds, strict=False):
            pred = _numpy(pred)
            label = _numpy(label)
            if label.size * pred.shape[-1] != pred.size:
                raise ValueError(f"shape mismatch: {label.shape} vs. {pred.shape}")
            axis = self.axis % pred.ndim
            raw = label.reshape(label.size)
            ignored = raw == self.ignore_label if self.ignore_label is not None else None
            raw = self._clip_labels(raw, pred.shape[axis], ignored)
            label = _class_labels(self, raw, pred.shape[axis], self.ignore_label)
            idx = numpy.clip(label, 0, pred.shape[axis] - 1)
            picked = numpy.take_along_axis(
                pred, numpy.expand_dims(idx.reshape(pred.shape[:axis] + pred.shape[axis + 1:]),
                                        axis), axis=axis
            ).reshape(-1).astype(pred.dtype)
            if self.ignore_label is not None:
                ignore = ignored.astype(pred.dtype)
                num -= int(ignore.sum())
                picked = picked * (1 - ignore) + ignore
            loss -= float(numpy.sum(numpy.log(numpy.maximum(pred.dtype.type(1e-10), picked)),
                                    dtype=pred.dtype))
            num += picked.size
        self._add(loss, num)

    def _clip_labels(self, raw, num_classes, ignored):
        """Integer labels outside ``[0, num_classes)`` (and not ignored) are clipped into it, as
        MXNet 1.9.1 does (its ``pick`` clips), with one warning per metric naming the first;
        NaN and fractional labels still raise."""
        if raw.dtype.kind not in "iuf":
            return raw
        with numpy.errstate(invalid="ignore"):
            outside = (raw < 0) | (raw > num_classes - 1)
        if ignored is not None:
            outside &= ~ignored
        if not outside.any():
            return raw
        if not getattr(self, "_clip_warned", False):
            self._clip_warned = True
            logging.getLogger(__name__).warning(
                "%s: label %r is outside [0, %d): clipped into it, as MXNet does", self.name,
                raw[numpy.argmax(outside)].item(), num_classes)
        return numpy.where(outside, numpy.clip(raw, 0, num_classes - 1), raw)

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self):
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


def _as_columns(label, pred):
    label = _numpy(label)
    pred = _numpy(pred)
    if label.ndim == 1:
        label = label.reshape(label.shape[0], 1)
    if pred.ndim == 1:
        pred = pred.reshape(pred.shape[0], 1)
    return label, pred


class _RegressionMetric(EvalMetric):
    """MAE / MSE / RMSE: each (label, pred) pair of an update adds its ``_error`` once."""

    def __init__(self, name, output_names, label_names):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    @staticmethod
    def _error(label, pred):
        raise NotImplementedError

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            label, pred = _as_columns(label, pred)
            self._add(self._error(label, pred), 1)


@register
class MAE(_RegressionMetric):
    """Mean absolute error, averaged over updates (each update's mean counts once)."""

    def __init__(self, name="mae", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(label, pred):
        return numpy.abs(label - pred).mean()


@register
class MSE(_RegressionMetric):
    """Mean squared error, averaged over updates."""

    def __init__(self, name="mse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(label, pred):
        return ((label - pred) ** 2.0).mean()


@register
class RMSE(_RegressionMetric):
    """Root mean squared error of each update, averaged over updates."""

    def __init__(self, name="rmse", output_names=None, label_names=None):
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _error(label, pred):
        return numpy.sqrt(((label - pred) ** 2.0).mean())


class _ProbabilityLoss(EvalMetric):
    """Mean of ``-log(p[label] + eps)`` over examples; ``pred`` holds class probabilities."""

    def __init__(self, eps, name, output_names, label_names):
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            label = _numpy(label).ravel()
            pred = _numpy(pred)
            n = pred.shape[0]
            if label.shape[0] != n:
                raise ValueError(
                    f"{type(self).__name__}: {label.shape[0]} labels for {n} predictions"
                )
            label = _class_labels(self, label, pred.shape[1] if pred.ndim == 2 else None)
            prob = pred[numpy.arange(n, dtype=numpy.int64), label]
            self._add((-numpy.log(prob + self.eps)).sum(), n)


@register
@alias("ce")
class CrossEntropy(_ProbabilityLoss):
    __doc__ = _ProbabilityLoss.__doc__

    def __init__(self, eps=1e-12, name="cross-entropy", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("nll_loss")
class NegativeLogLikelihood(_ProbabilityLoss):
    __doc__ = _ProbabilityLoss.__doc__

    def __init__(self, eps=1e-12, name="nll-loss", output_names=None, label_names=None):
        super().__init__(eps, name, output_names, label_names)


@register
@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of predictions and labels: ``'macro'`` averages the coefficient of
    each update, ``'micro'`` computes it over all values seen (streaming, Welford updates).

    In MXNet 1.9.1 ``get_global()`` of the micro average returns 0; mxlite returns the micro
    coefficient."""

    def __init__(self, name="pearsonr", output_names=None, label_names=None, average="macro"):
        if average not in ("macro", "micro"):
            raise ValueError(f"average must be 'macro' or 'micro', got {average!r}")
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def _reset_micro(self):
        self._sse_p = 0.0
        self._mean_p = 0.0
        self._sse_l = 0.0
        self._mean_l = 0.0
        self._pred_nums = 0
        self._label_nums = 0
        self._conv = 0.0

    def reset(self):
        super().reset()
        self._reset_micro()

    @staticmethod
    def _update_variance(values, count, mean, m_2):
        count += len(values)
        delta = values - mean
        mean += numpy.sum(delta / count)
        m_2 += numpy.sum(delta * (values - mean))
        return count, mean, m_2

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            check_label_shapes(label, pred, False, True)
            label = _numpy(label).ravel().astype(numpy.float64)
            pred = _numpy(pred).ravel().astype(numpy.float64)
            if self.average == "macro":
                self._add(numpy.corrcoef(pred, label)[0, 1], 1)
            else:
                self.num_inst += 1
                self.global_num_inst += 1
                self._label_nums, self._mean_l, self._sse_l = self._update_variance(
                    label, self._label_nums, self._mean_l, self._sse_l)
                self._conv += numpy.sum((label - self._mean_l) * (pred - self._mean_p))
                self._pred_nums, self._mean_p, self._sse_p = self._update_variance(
                    pred, self._pred_nums, self._mean_p, self._sse_p)

    def _micro(self):
        n = self._label_nums
        return self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1))
                             * numpy.sqrt(self._sse_l / (n - 1)))

    def get(self):
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        return (self.name, self._micro())

    def get_global(self):
        if self.average == "macro":
            return super().get_global()
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self._micro())


@register
class PCC(EvalMetric):
    """Multiclass Matthews correlation (Pearson correlation of the confusion matrix)."""

    def __init__(self, name="pcc", output_names=None, label_names=None, has_global_stats=True):
        self.k = 2
        super().__init__(name=name, output_names=output_names, label_names=label_names,
                         has_global_stats=has_global_stats)

    def _grow(self, inc):
        self.lcm = numpy.pad(self.lcm, ((0, inc), (0, inc)))
        self.gcm = numpy.pad(self.gcm, ((0, inc), (0, inc)))
        self.k += inc

    @staticmethod
    def _calc_mcc(cmat):
        n = cmat.sum()
        x = cmat.sum(axis=1)
        y = cmat.sum(axis=0)
        cov_xx = numpy.sum(x * (n - x))
        cov_yy = numpy.sum(y * (n - y))
        if cov_xx == 0 or cov_yy == 0:
            return float("nan")
        cov_xy = numpy.sum(cmat.diagonal() * n - x * y)
        return cov_xy / (cov_xx * cov_yy) ** 0.5

    def update(self, labels, preds):
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds, strict=False):
            label = _numpy(label).astype(numpy.int32)
            pred = _numpy(pred)
            pred = pred.argmax(axis=1) if pred.shape != label.shape else pred.astype(numpy.int32)
            n = int(max(pred.max(), label.max()))
            if n >= self.k:
                self._grow(n + 1 - self.k)
            bcm = numpy.zeros((self.k, self.k))
            numpy.add.at(bcm, (pred.ravel(), label.ravel()), 1)
            self.lcm += bcm
            self.gcm += bcm
        self.num_inst += 1
        self.global_num_inst += 1

    @property
    def sum_metric(self):
        return self._calc_mcc(self.lcm) * self.num_inst

    @sum_metric.setter
    def sum_metric(self, value):  # the base reset assigns; the value derives from lcm
        pass

    @property
    def global_sum_metric(self):
        return self._calc_mcc(self.gcm) * self.global_num_inst

    @global_sum_metric.setter
    def global_sum_metric(self, value):
        pass

    def reset(self):
        self.global_num_inst = 0
        self.gcm = numpy.zeros((self.k, self.k))
        self.reset_local()

    def reset_local(self):
        self.num_inst = 0
        self.lcm = numpy.zeros((self.k, self.k))


@register
class Loss(EvalMetric):
    """Mean of the values of the outputs themselves (for networks whose output is a loss);
    labels are ignored."""

    def __init__(self, name="loss", output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _, preds):
        if isinstance(preds, NDArray):
            preds = [preds]
        for pred in preds:
            arr = _numpy(pred)
            self._add(float(arr.sum(dtype=arr.dtype)), arr.size)


@register
class CustomMetric(EvalMetric):
    """A metric from ``feval(label, pred)`` on NumPy arrays, returning a value (one instance)
    or a ``(sum_metric, num_inst)`` pair.  Its name defaults to the function's name."""

    def __init__(self, feval, name=None, allow_extra_outputs=False, output_names=None,
                 label_names=None):
        if not callable(feval):
            raise TypeError(f"feval must be callable, got {feval!r}")
        if name is None:
            name = feval.__name__
            if "<" in name:
                name = f"custom({name})"
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels, preds):
        if not self._allow_extra_outputs:
            labels, preds = check_label_shapes(labels, preds, True)
        for pred, label in zip(preds, labels, strict=False):
            reval = self._feval(_numpy_copy(label), _numpy_copy(pred))
            if isinstance(reval, tuple):
                value, count = reval
                self._add(value, count)
            else:
                self._add(reval, 1)

    def get_config(self):
        raise NotImplementedError("CustomMetric cannot be serialized")


def np(numpy_feval, name=None, allow_extra_outputs=False) -> CustomMetric:
    """Wrap ``numpy_feval(label, pred)`` (NumPy arrays in, a number out) as a metric."""

    def feval(label, pred):
        return numpy_feval(label, pred)

    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
