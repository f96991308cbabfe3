"""Metrics read dense NDArrays in place (no copy per batch) and never write into them; a
CustomMetric's function gets copies of its own, as MXNet's ``asnumpy``."""

import numpy as np
import pytest

import mxlite as mx

RNG = np.random.default_rng(8)
PROBS = RNG.dirichlet(np.ones(3), size=6).astype(np.float32)
LABELS = np.array([0, 1, 2, 1, 0, 2], np.float32)

# id, metric factory, predictions, labels
CASES = [
    ("accuracy", lambda: mx.metric.Accuracy(), PROBS, LABELS),
    ("top_k", lambda: mx.metric.TopKAccuracy(top_k=2), PROBS, LABELS),
    ("cross_entropy", lambda: mx.metric.CrossEntropy(), PROBS, LABELS),
    ("nll", lambda: mx.metric.NegativeLogLikelihood(), PROBS, LABELS),
    ("perplexity", lambda: mx.metric.Perplexity(ignore_label=None), PROBS, LABELS),
    ("f1", lambda: mx.metric.F1(), PROBS[:, :2], (LABELS > 0).astype(np.float32)),
    ("mae", lambda: mx.metric.MAE(), PROBS[:, 0], LABELS),
    ("mse", lambda: mx.metric.MSE(), PROBS[:, 0], LABELS),
    ("rmse", lambda: mx.metric.RMSE(), PROBS[:, 0], LABELS),
    ("pearson", lambda: mx.metric.PearsonCorrelation(), PROBS[:, 0], LABELS),
    ("loss", lambda: mx.metric.Loss(), PROBS, LABELS),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_metric_reads_ndarrays_without_changing_them(case):
    _, make, pred, label = case
    p_nd, l_nd = mx.nd.array(pred), mx.nd.array(label)
    a, b = make(), make()
    a.update([l_nd], [p_nd])
    b.update([label.copy()], [pred.copy()])
    assert a.get() == b.get()
    np.testing.assert_array_equal(p_nd.asnumpy(), pred)
    np.testing.assert_array_equal(l_nd.asnumpy(), label)


def test_custom_metric_gets_copies():
    def feval(label, pred):
        pred[...] = 0  # a user function may write into what it gets
        label[...] = -1
        return 1.0

    p_nd, l_nd = mx.nd.array(PROBS), mx.nd.array(LABELS)
    mx.metric.CustomMetric(feval).update([l_nd], [p_nd])
    np.testing.assert_array_equal(p_nd.asnumpy(), PROBS)
    np.testing.assert_array_equal(l_nd.asnumpy(), LABELS)
