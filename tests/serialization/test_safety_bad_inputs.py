"""Bad input: an early error naming the argument, the value and what was expected -- and
acceptance where MXNet's meaning works (integral floats and NumPy integers are counts)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.base import check_count

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _module(label=True):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    net = mx.sym.SoftmaxOutput(fc, name="softmax") if label else fc
    mod = mx.mod.Module(net, label_names=("softmax_label",) if label else None)
    return mod


def _bound(label=False):
    mod = _module(label)
    mod.bind(data_shapes=[("data", (2, 4))],
             label_shapes=[("softmax_label", (2,))] if label else None)
    return mod


ARGS = {"fc_weight": mx.nd.ones((3, 4)), "fc_bias": mx.nd.zeros(3)}
EXTRA = {**ARGS, "extra_weight": mx.nd.ones(2)}


def _iter():
    return mx.io.NDArrayIter(mx.nd.ones((4, 4)), mx.nd.zeros(4), batch_size=2)


def _update(metric, label, pred):
    metric.update([mx.nd.array(label)], [mx.nd.array(pred)])


P2 = [[0.2, 0.8]]
P3 = [[0.1, 0.3, 0.6]]

BAD = [
    # metrics: labels must be class indices in [0, num_classes)
    ("acc-label-too-big", lambda: _update(mx.metric.Accuracy(), [5], P2), ValueError,
     r"accuracy: label 5\.0 is not a class index \(an integer in \[0, 2\)\)"),
    ("acc-label-negative", lambda: _update(mx.metric.Accuracy(), [-1], P2), ValueError,
     r"accuracy: label -1\.0"),
    ("acc-label-fraction", lambda: _update(mx.metric.Accuracy(), [0.5], P2), ValueError,
     r"accuracy: label 0\.5"),
    ("acc-label-nan", lambda: _update(mx.metric.Accuracy(), [np.nan], P2), ValueError,
     r"accuracy: label nan"),
    ("acc-same-shape-negative", lambda: _update(mx.metric.Accuracy(), [-2], [1]), ValueError,
     r"label -2\.0 is not a class index \(an integer in >= 0\)"),
    ("topk-label-too-big", lambda: _update(mx.metric.TopKAccuracy(top_k=2), [3], P3),
     ValueError, r"top_k_accuracy_2: label 3\.0 .*\[0, 3\)"),
    ("f1-label-negative", lambda: _update(mx.metric.F1(), [-1], P2), ValueError,
     r"f1: label -1\.0"),
    ("mcc-label-fraction", lambda: _update(mx.metric.MCC(), [0.5], P2), ValueError,
     r"mcc: label 0\.5"),
    ("ce-label-negative", lambda: _update(mx.metric.CrossEntropy(), [-1], P2), ValueError,
     r"cross-entropy: label -1\.0 is not a class index"),
    ("ce-label-10-of-3", lambda: _update(mx.metric.CrossEntropy(), [10], P3), ValueError,
     r"cross-entropy: label 10\.0 .*\[0, 3\)"),
    ("nll-label-nan", lambda: _update(mx.metric.NegativeLogLikelihood(), [np.nan], P2),
     ValueError, r"nll-loss: label nan"),
    ("perplexity-label-nan", lambda: _update(mx.metric.Perplexity(), [np.nan], P2), ValueError,
     r"perplexity: label nan"),
    # Module: extra parameter names, epochs
    ("init-params-extra", lambda: _bound().init_params(arg_params=EXTRA), ValueError,
     r"init_params: arg_params has \['extra_weight'\] .*allow_extra=True"),
    ("set-params-extra", lambda: _bound().set_params(EXTRA, {}), ValueError,
     r"\['extra_weight'\] that the symbol does not have"),
    ("set-params-missing-extra", lambda: _bound().set_params(EXTRA, {}, allow_missing=True),
     ValueError, r"'extra_weight' that is not in the arguments"),
    ("init-params-extra-aux", lambda: _bound().init_params(arg_params=ARGS,
                                                           aux_params={"bn_var": ARGS["fc_bias"]}),
     ValueError, r"aux_params has \['bn_var'\]"),
    ("fit-num-epoch-negative", lambda: _module().fit(_iter(), num_epoch=-1), ValueError,
     r"fit: num_epoch must be an integer >= 0, got -1"),
    ("fit-num-epoch-fraction", lambda: _module().fit(_iter(), num_epoch=2.5), ValueError,
     r"num_epoch must be an integer >= 0, got 2\.5"),
    ("fit-begin-after-end", lambda: _module().fit(_iter(), num_epoch=1, begin_epoch=3),
     ValueError, r"begin_epoch \(3\) is after num_epoch \(1\)"),
    ("fit-begin-negative", lambda: _module().fit(_iter(), num_epoch=1, begin_epoch=-1),
     ValueError, r"begin_epoch must be an integer >= 0, got -1"),
    # binding, arrays, initializers, callbacks
    ("bind-single-pair", lambda: _module(False).bind(data_shapes=("data", (4, 5))), ValueError,
     r"data_shapes must be a list of \(name, shape\) pairs, got the single pair "
     r"\('data', \(4, 5\)\); did you mean \[\('data', \(4, 5\)\)\]\?"),
    ("bind-entry-not-pair", lambda: _module(False).bind(data_shapes=[5]), ValueError,
     r"data_shapes entries must be DataDesc or \(name, shape\) tuples, got 5"),
    ("bind-label-single-pair", lambda: _module().bind(
        data_shapes=[("data", (2, 4))], label_shapes=("softmax_label", (2,))), ValueError,
     r"label_shapes must be a list of \(name, shape\) pairs"),
    ("nd-array-none", lambda: mx.nd.array(None), TypeError,
     r"source_array must be array like object .*got None"),
    ("lstmbias-6", lambda: mx.init.LSTMBias()(mx.init.InitDesc("lstm_bias"), mx.nd.zeros(6)),
     ValueError, r"LSTMBias needs a bias of 4 \* num_hidden entries .*shape \(6\)"),
    ("lstmbias-weight-5", lambda: mx.init.LSTMBias()(mx.init.InitDesc("w_weight"),
                                                     mx.nd.zeros(5)), ValueError, "LSTMBias"),
    ("speedometer-fraction", lambda: mx.callback.Speedometer(32, frequent=2.5), ValueError,
     r"frequent must be an integer >= 1, got 2\.5"),
    ("speedometer-zero", lambda: mx.callback.Speedometer(32, frequent=0), ValueError,
     r"frequent must be an integer >= 1, got 0"),
    ("speedometer-bool", lambda: mx.callback.Speedometer(32, frequent=True), ValueError,
     r"frequent must be an integer >= 1, got True"),
    ("speedometer-nan", lambda: mx.callback.Speedometer(32, frequent=float("nan")), ValueError,
     r"got nan"),
    ("progressbar-str", lambda: mx.callback.ProgressBar("10"), ValueError,
     r"total must be an integer >= 1, got '10'"),
    ("tqdm-negative", lambda: mx.callback.TqdmProgressBar(total=-3), ValueError,
     r"total must be an integer >= 1, got -3"),
]


@pytest.mark.parametrize(("case", "call", "exc", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_clear_error(case, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _fit(**kwargs):
    mod = _module()
    mod.fit(_iter(), **kwargs)
    return mod


def _lstm_bias():
    arr = mx.nd.zeros(8)
    mx.init.LSTMBias(forget_bias=1.0)(mx.init.InitDesc("lstm_bias"), arr)
    return arr.asnumpy().tolist()


ACCEPTED = [
    ("speedometer-integral-float", lambda: mx.callback.Speedometer(32, frequent=60000 / 32)
     .frequent, 1875),
    ("speedometer-numpy-int", lambda: mx.callback.Speedometer(np.int64(32), np.int32(5))
     .frequent, 5),
    ("progressbar-numpy", lambda: mx.callback.ProgressBar(np.uint16(7)).total, 7),
    ("tqdm-float", lambda: mx.callback.TqdmProgressBar(total=4.0).total, 4),
    ("fit-zero-epochs", lambda: _fit(num_epoch=0).params_initialized, True),
    ("fit-resume-at-end", lambda: _fit(num_epoch=2, begin_epoch=2).params_initialized, True),
    ("fit-float-epochs", lambda: _fit(num_epoch=1.0).params_initialized, True),
    ("fit-extra-params", lambda: _fit(num_epoch=1, arg_params=EXTRA,
                                      allow_missing=True).params_initialized, True),
    ("init-params-allow-extra", lambda: _bound().init_params(arg_params=EXTRA,
                                                             allow_extra=True), None),
    ("set-params-allow-extra", lambda: _bound().set_params(EXTRA, {}, allow_extra=True), None),
    ("acc-float-labels", lambda: (m := mx.metric.Accuracy(), _update(m, [1.0, 0.0],
                                                                     [[0.2, 0.8]] * 2),
                                  m.get()[1])[-1], 0.5),
    ("ce-int-labels", lambda: (m := mx.metric.CrossEntropy(), m.update(
        [mx.nd.array([1], dtype="int32")], [mx.nd.array(P2)]), round(m.get()[1], 4))[-1],
     round(float(-np.log(0.8)), 4)),
    ("perplexity-ignored-negative", lambda: (m := mx.metric.Perplexity(ignore_label=-1),
                                             _update(m, [-1, 1], [[0.5, 0.5]] * 2),
                                             round(m.get()[1], 4))[-1], 2.0),
    # out-of-range labels are clipped as MXNet 1.9.1's pick does (values from MXNet), warned
    ("perplexity-label-too-big-clipped", lambda: (m := mx.metric.Perplexity(), _update(m, [2], P2),
                                                  round(m.get()[1], 4))[-1], 1.25),
    ("perplexity-label-negative-clipped", lambda: (
        m := mx.metric.Perplexity(ignore_label=0), _update(m, [-3], P2),
        round(m.get()[1], 4))[-1], 5.0),
    ("perplexity-clipped-beside-ignored", lambda: (
        m := mx.metric.Perplexity(ignore_label=-1), _update(m, [5, -1], [[0.2, 0.8]] * 2),
        round(m.get()[1], 4))[-1], 1.25),
    ("lstmbias-forget-gate", _lstm_bias, [0, 0, 1, 1, 0, 0, 0, 0]),
    ("nd-array-list", lambda: mx.nd.array([1, 2]).shape, (2,)),
]


@pytest.mark.parametrize(("case", "call", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_input_works(case, call, expected):
    assert call() == expected


@pytest.mark.parametrize(
    ("value", "minimum", "expected"),
    [(3, 0, 3), (np.int8(3), 1, 3), (4.0, 1, 4), (np.float32(2.0), 0, 2), (0, 0, 0)],
)
def test_check_count_accepts_counts(value, minimum, expected):
    out = check_count("n", value, minimum)
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 2.5, float("inf"), float("nan"), "3",
                                   None, [1], -1])
def test_check_count_refuses_non_counts(value):
    with pytest.raises(ValueError, match=r"n must be an integer >= 0, got "):
        check_count("n", value)
