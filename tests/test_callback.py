"""mx.callback: MXNet 1.9.1 log lines, checkpoint callbacks, progress bars."""

from __future__ import annotations

import io
import logging
import re

import pytest

import mxlite as mx
from mxlite.model import BatchEndParam


def _metric(value=0.5):
    m = mx.metric.Accuracy()
    m.sum_metric, m.num_inst = value * 4, 4
    m.global_sum_metric, m.global_num_inst = value * 4, 4
    return m


def _param(epoch, nbatch, metric):
    return BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=metric, locals={})


@pytest.mark.parametrize(
    "auto_reset, pattern",
    [(True, r"^Epoch\[1\] Batch \[2-4\]\tSpeed: ([0-9.]+|inf) samples/sec\taccuracy=nan$"),
     (False, r"^Epoch\[1\] Batch \[0-4\]\tSpeed: ([0-9.]+|inf) samples/sec\taccuracy=0\.500000$")],
    ids=["auto-reset", "cumulative"],
)
def test_speedometer_log_line(caplog, auto_reset, pattern):
    sp = mx.callback.Speedometer(batch_size=8, frequent=2, auto_reset=auto_reset)
    metric = _metric()
    with caplog.at_level(logging.INFO):
        for nbatch in range(5):
            sp(_param(1, nbatch, metric))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert re.match(pattern, lines[-1]), lines[-1]
    assert lines[0].startswith("Epoch[1] Batch [0-2]\tSpeed: ")
    assert lines[0].endswith("accuracy=0.500000")
    if auto_reset:
        assert metric.num_inst == 0 and metric.global_num_inst == 4


def test_speedometer_without_metric_and_new_epoch(caplog):
    sp = mx.callback.Speedometer(batch_size=8, frequent=1)
    with caplog.at_level(logging.INFO):
        sp(_param(0, 0, None))
        sp(_param(0, 1, None))
        sp(_param(1, 0, None))  # a new epoch restarts the clock: no line
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and lines[0].startswith("Iter[0] Batch [1]\tSpeed: ")


def test_log_train_metric(caplog):
    cb = mx.callback.log_train_metric(period=2, auto_reset=True)
    metric = _metric(0.25)
    with caplog.at_level(logging.INFO):
        cb(_param(3, 1, metric))
        cb(_param(3, 2, metric))
    assert [r.getMessage() for r in caplog.records] == ["Iter[3] Batch[2] Train-accuracy=0.250000"]
    assert metric.num_inst == 0


def test_progress_bar(caplog):
    bar = mx.callback.ProgressBar(total=4, length=8)
    with caplog.at_level(logging.INFO):
        bar(_param(0, 2, None))
    assert caplog.records[0].getMessage() == "[====----] 50%\r"


def test_log_validation_metrics(caplog):
    with caplog.at_level(logging.INFO):
        mx.callback.LogValidationMetricsCallback()(_param(2, 0, _metric(0.75)))
    assert caplog.records[0].getMessage() == "Epoch[2] Validation-accuracy=0.750000"


def test_module_checkpoint_period():
    calls = []

    class FakeModule:
        def save_checkpoint(self, prefix, epoch, save_optimizer_states):
            calls.append((prefix, epoch, save_optimizer_states))

    cb = mx.callback.module_checkpoint(FakeModule(), "pre", period=2, save_optimizer_states=True)
    for epoch in range(5):
        cb(epoch)
    assert calls == [("pre", 2, True), ("pre", 4, True)]


def test_tqdm_progress_bar_per_epoch():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = mx.callback.TqdmProgressBar(total=3, file=out, ascii=True)
    metric = _metric()
    for epoch in range(2):
        for nbatch in range(3):
            bar(_param(epoch, nbatch, metric))
    text = out.getvalue()
    assert "Epoch[0]" in text and "Epoch[1]" in text
    assert "3/3" in text and "accuracy=0.5000" in text
    assert bar._bar is None


def test_tqdm_progress_bar_unknown_total_closes_on_next_epoch():
    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = mx.callback.TqdmProgressBar(file=out, show_metric=False)
    bar(_param(0, 0, None))
    bar(_param(0, 1, None))
    first = bar._bar
    bar(_param(1, 0, None))
    assert bar._bar is not first
    bar.close()
    assert bar._bar is None


@pytest.mark.parametrize(
    "make, match",
    [(lambda: mx.callback.Speedometer(8, frequent=0), "frequent"),
     (lambda: mx.callback.ProgressBar(total=0), "total"),
     (lambda: mx.callback.TqdmProgressBar(total=-1), "total"),
     (lambda: mx.callback.do_checkpoint("p", period="x"), "period")],
    ids=["speedometer-frequent", "progressbar-total", "tqdm-total", "checkpoint-period"],
)
def test_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
