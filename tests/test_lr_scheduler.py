"""mx.lr_scheduler: MXNet 1.9.1 parity (golden fixtures), validation, properties, extensions."""

from __future__ import annotations

import copy
import doctest
import json
import logging
import math
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite import lr_scheduler as lrs

GOLDEN = json.loads(
    (pathlib.Path(__file__).parent / "golden" / "lr_scheduler.json").read_text()
)
CASES = {c["id"]: c for c in GOLDEN["cases"]}
RTOL = 1e-7
LOGGER = "mxlite.lr_scheduler"


def _build(case):
    sched = getattr(mx.lr_scheduler, case["cls"])(**copy.deepcopy(case["kwargs"]))
    if case["set_base_lr"] is not None:
        sched.base_lr = case["set_base_lr"]
    return sched


def _run(case, caplog):
    sched = _build(case)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        caplog.clear()
        lrs_ = [sched(n) for n in case["calls"]]
        logs = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    return sched, lrs_, logs


# --------------------------------------------------------------------------- golden parity
def _warmup(kw, base, n):
    begin = kw.get("warmup_begin_lr", 0)
    if kw.get("warmup_mode", "linear") == "constant":
        return begin
    return begin + (base - begin) * n / kw["warmup_steps"]


def _closed_decay(case, n):
    """Poly/Cosine as closed forms of num_update with base_lr possibly set afterwards."""
    kw = case["kwargs"]
    base = case["set_base_lr"] if case["set_base_lr"] is not None else kw.get("base_lr", 0.01)
    w, T, final = kw.get("warmup_steps", 0), kw["max_update"], kw.get("final_lr", 0)
    if n < w:
        return _warmup(kw, base, n)
    if n > T:
        return final
    x = (n - w) / (T - w)
    if case["cls"] == "PolyScheduler":
        return final + (base - final) * (1 - x) ** kw.get("pwr", 2)
    return final + (base - final) * (1 + math.cos(math.pi * x)) / 2


def _factor_fixed_warmup(case, n, mxnet_lr):
    """FactorScheduler whose base_lr was set after construction: the warmup climbs to the new
    base_lr (MXNet climbed to the old one); after warmup MXNet's stateful values stand."""
    kw = case["kwargs"]
    if n < kw["warmup_steps"]:
        return _warmup(kw, case["set_base_lr"], n)
    return mxnet_lr


# id -> (why mxlite differs from MXNet 1.9.1, expected value of mxlite at (case, n, mxnet_lr))
KNOWN_DIFFERENCES = {
    "factor-set-base-lr-warmup": (
        "MXNet's warmup climbs to the base_lr given at construction, then jumps",
        _factor_fixed_warmup,
    ),
    "poly-past-max-first": (
        "MXNet returns the last computed lr past max_update, base_lr if none yet",
        lambda c, n, m: _closed_decay(c, n),
    ),
    "poly-past-max-after-warmup": (
        "MXNet returns the last computed lr past max_update",
        lambda c, n, m: _closed_decay(c, n),
    ),
    "cosine-past-max-first": (
        "MXNet returns the last computed lr past max_update, base_lr if none yet",
        lambda c, n, m: _closed_decay(c, n),
    ),
    "poly-set-base-lr": (
        "MXNet ignores base_lr set after construction (optimizer learning_rate)",
        lambda c, n, m: _closed_decay(c, n),
    ),
    "cosine-set-base-lr": (
        "MXNet ignores base_lr set after construction (optimizer learning_rate)",
        lambda c, n, m: _closed_decay(c, n),
    ),
}


def test_golden_fixture_is_from_mxnet_1_9_1():
    assert GOLDEN["mxnet_version"] == "1.9.1"
    assert set(KNOWN_DIFFERENCES) <= set(CASES)


PARITY = [c for c in GOLDEN["cases"] if c["id"] not in KNOWN_DIFFERENCES]


@pytest.mark.parametrize("case", PARITY, ids=[c["id"] for c in PARITY])
def test_matches_mxnet(case, caplog):
    sched, got, logs = _run(case, caplog)
    np.testing.assert_allclose(got, case["lrs"], rtol=RTOL, atol=0)
    assert logs == case["logs"]
    state = case["state"]
    assert sched.base_lr == pytest.approx(state["base_lr"], rel=RTOL, abs=0)
    for attr in ("count", "cur_step_ind"):
        if attr in state:
            assert getattr(sched, attr) == pytest.approx(state[attr])


DIFFS = [CASES[k] for k in KNOWN_DIFFERENCES]


@pytest.mark.parametrize("case", DIFFS, ids=[c["id"] for c in DIFFS])
def test_deliberate_differences_from_mxnet(case, caplog):
    _why, expected_at = KNOWN_DIFFERENCES[case["id"]]
    _sched, got, logs = _run(case, caplog)
    expected = [expected_at(case, n, m) for n, m in zip(case["calls"], case["lrs"], strict=True)]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=1e-15)
    # the difference is real: MXNet's recorded values disagree with the corrected ones
    assert not np.allclose(case["lrs"], expected, rtol=RTOL, atol=1e-15)
    assert logs == case["logs"]


# --------------------------------------------------------------------------- validation
# golden error id -> (exception mxlite raises, message pattern). MXNet's outcome is in the fixture:
# where it raised (ValueError or AssertionError) we raise too; where it accepted the argument it
# misbehaved later (a rising or negative lr, a division by zero) and we reject it up front.
GOLDEN_ERRORS = {
    "factor-step-0": (ValueError, r"step must be >= 1, got 0"),
    "factor-step-half": (ValueError, r"step must be >= 1, got 0\.5"),
    "factor-factor-above-1": (ValueError, r"factor must be <= 1 .*got 1\.5"),
    "factor-factor-0": (ValueError, r"factor must be > 0, got 0\.0"),
    "factor-factor-negative": (ValueError, r"factor must be > 0, got -0\.5"),
    "factor-base-lr-negative": (ValueError, r"base_lr must be >= 0, got -0\.1"),
    "factor-stop-above-base": (ValueError, r"stop_factor_lr \(0\.5\) must not exceed base_lr"),
    "warmup-begin-above-base": (
        ValueError, r"warmup_begin_lr \(0\.2\) must not exceed base_lr \(0\.1\)"),
    "warmup-steps-negative": (ValueError, r"warmup_steps must be >= 0, got -1"),
    "warmup-steps-float": (TypeError, r"warmup_steps must be an integer, got 2\.0"),
    "warmup-mode-unknown": (ValueError, r"warmup_mode must be 'linear' or 'constant', got 'cos"),
    "multifactor-empty": (ValueError, r"step must contain at least one update count"),
    "multifactor-not-list": (TypeError, r"step must be a list of update counts, got 5"),
    "multifactor-decreasing": (
        ValueError, r"step must be strictly increasing, got step\[1\]=3 after step\[0\]=5"),
    "multifactor-repeated": (ValueError, r"strictly increasing, got step\[1\]=3 after step\[0\]=3"),
    "multifactor-step-0": (ValueError, r"step\[0\] must be >= 1, got 0"),
    "multifactor-factor-above-1": (ValueError, r"factor must be <= 1 .*got 2\.0"),
    "multifactor-factor-0": (ValueError, r"factor must be > 0, got 0"),
    "poly-max-update-0": (ValueError, r"max_update must be >= 1, got 0"),
    "poly-max-update-float": (TypeError, r"max_update must be an integer, got 10\.0"),
    "poly-pwr-0": (ValueError, r"pwr must be > 0, got 0"),
    "poly-pwr-negative": (ValueError, r"pwr must be > 0, got -1"),
    "poly-warmup-equals-max": (ValueError, r"warmup_steps \(5\) must be < max_update \(5\)"),
    "poly-final-negative": (ValueError, r"final_lr must be >= 0, got -0\.1"),
    "cosine-max-update-0": (ValueError, r"max_update must be >= 1, got 0"),
    "cosine-warmup-above-max": (ValueError, r"warmup_steps \(7\) must be < max_update \(5\)"),
    "cosine-base-lr-negative": (ValueError, r"base_lr must be >= 0, got -1\.0"),
}
ERRORS = GOLDEN["errors"]


def test_every_golden_error_case_has_an_expectation():
    assert {e["id"] for e in ERRORS} == set(GOLDEN_ERRORS)


@pytest.mark.parametrize("case", ERRORS, ids=[e["id"] for e in ERRORS])
def test_rejects_what_mxnet_rejects_or_mishandles(case):
    exc, pattern = GOLDEN_ERRORS[case["id"]]
    if case["mxnet"] == "ValueError":
        assert exc is ValueError  # same exception class as MXNet where MXNet raises ValueError
    with pytest.raises(exc, match=pattern):
        getattr(mx.lr_scheduler, case["cls"])(**case["kwargs"])


OWN_ERRORS = [
    ("base-lr-nan", lambda: lrs.FactorScheduler(2, base_lr=float("nan")), ValueError,
     r"base_lr must be finite, got nan"),
    ("base-lr-string", lambda: lrs.CosineScheduler(10, base_lr="0.1"), TypeError,
     r"base_lr must be a real number, got '0\.1'"),
    ("warmup-begin-negative", lambda: lrs.ConstantScheduler(warmup_begin_lr=-1.0), ValueError,
     r"warmup_begin_lr must be >= 0, got -1\.0"),
    ("warmup-steps-bool", lambda: lrs.ConstantScheduler(warmup_steps=True), TypeError,
     r"warmup_steps must be an integer, got True"),
    ("factor-stop-negative", lambda: lrs.FactorScheduler(2, stop_factor_lr=-1.0), ValueError,
     r"stop_factor_lr must be >= 0, got -1\.0"),
    ("multifactor-string", lambda: lrs.MultiFactorScheduler("10"), TypeError,
     r"step must be a list of update counts, got '10'"),
    ("restart-cycle-0", lambda: lrs.CosineRestartScheduler(0), ValueError,
     r"cycle_length must be >= 1, got 0"),
    ("restart-mult-below-1", lambda: lrs.CosineRestartScheduler(5, cycle_mult=0.5), ValueError,
     r"cycle_mult must be >= 1, got 0\.5"),
    ("restart-decay-0", lambda: lrs.CosineRestartScheduler(5, peak_decay=0), ValueError,
     r"peak_decay must be in \(0, 1\], got 0"),
    ("restart-final-negative", lambda: lrs.CosineRestartScheduler(5, final_lr=-1), ValueError,
     r"final_lr must be >= 0, got -1"),
    ("sequential-empty", lambda: lrs.SequentialScheduler([], []), ValueError,
     r"schedulers must contain at least one scheduler"),
    ("sequential-not-callable", lambda: lrs.SequentialScheduler([0.1], []), TypeError,
     r"schedulers\[0\] must be callable"),
    ("sequential-boundary-count",
     lambda: lrs.SequentialScheduler([lrs.ConstantScheduler()] * 2, [3, 5]), ValueError,
     r"boundaries must have len\(schedulers\) - 1 = 1 entries, got 2"),
    ("sequential-boundary-order",
     lambda: lrs.SequentialScheduler([lrs.ConstantScheduler()] * 3, [5, 5]), ValueError,
     r"boundaries must be strictly increasing, got boundaries\[1\]=5"),
    ("sequential-boundary-0",
     lambda: lrs.SequentialScheduler([lrs.ConstantScheduler()] * 2, [0]), ValueError,
     r"boundaries\[0\] must be >= 1, got 0"),
    ("sequential-no-base-lr", lambda: lrs.SequentialScheduler([lambda n: 0.1], []), TypeError,
     r"pass base_lr= explicitly"),
    ("set-base-lr-negative", lambda: setattr(lrs.FactorScheduler(2), "base_lr", -0.5),
     ValueError, r"base_lr must be >= 0, got -0\.5"),
    ("sequential-rescale-zero",
     lambda: setattr(lrs.SequentialScheduler([lrs.ConstantScheduler(base_lr=0)], []),
                     "base_lr", 0.1),
     ValueError, r"reference base_lr is 0"),
    ("num-update-negative", lambda: lrs.CosineScheduler(10)(-1), ValueError,
     r"num_update must be >= 0, got -1"),
    ("get-warmup-lr-past-warmup", lambda: lrs.ConstantScheduler(warmup_steps=3).get_warmup_lr(3),
     ValueError, r"num_update \(3\) must be < warmup_steps \(3\)"),
    ("base-call-not-implemented", lambda: lrs.LRScheduler()(1), NotImplementedError,
     r"LRScheduler must implement __call__"),
    ("lr-values-zero-updates", lambda: lrs.lr_values(lrs.ConstantScheduler(), 0), ValueError,
     r"num_updates must be >= 1, got 0"),
    ("lr-values-not-callable", lambda: lrs.lr_values(0.1, 10), TypeError,
     r"scheduler must be callable"),
    ("create-unknown", lambda: lrs.create("linearwarmup"), ValueError,
     r"Cannot find lr_scheduler 'linearwarmup'"),
]


@pytest.mark.parametrize(
    "make, exc, pattern", [e[1:] for e in OWN_ERRORS], ids=[e[0] for e in OWN_ERRORS]
)
def test_rejects_bad_input(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


# --------------------------------------------------------------------------- behaviour
def test_factor_logs_via_logging_module(caplog):
    sched = lrs.FactorScheduler(step=1, factor=0.5, stop_factor_lr=0.3, base_lr=1.0)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        sched(3)
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]
    assert caplog.records[0].getMessage() == "Update[3]: Change learning rate to 5.00000e-01"
    assert caplog.records[1].getMessage() == (
        "Update[3]: now learning rate arrived at 3.00000e-01, will not change in the future"
    )
    assert sched.base_lr == 0.3


def test_base_lr_set_moves_warmup_target():
    sched = lrs.ConstantScheduler(base_lr=0.01, warmup_steps=4)
    sched.base_lr = 0.2
    assert [sched(n) for n in (0, 2, 4)] == [0.0, 0.1, 0.2]
    assert sched.warmup_final_lr == 0.2


def test_sequential_rescales_with_base_lr():
    pieces = [lrs.ConstantScheduler(base_lr=0.1), lrs.CosineScheduler(10, base_lr=0.1)]
    seq = lrs.SequentialScheduler(pieces, [5])
    ref = [seq(n) for n in range(15)]
    seq2 = copy.deepcopy(seq)
    seq2.base_lr = 0.4
    np.testing.assert_allclose([seq2(n) for n in range(15)], 4 * np.array(ref), rtol=1e-12)
    assert seq2.base_lr == 0.4 and seq2.base_lr_ref == 0.1


def test_sequential_pieces_see_local_counts():
    a, b = lrs.PolyScheduler(10, base_lr=1.0, pwr=1), lrs.CosineScheduler(20, base_lr=0.5)
    seq = lrs.SequentialScheduler([a, b], [10])
    a2, b2 = copy.deepcopy(a), copy.deepcopy(b)
    for n in range(35):
        assert seq(n) == (a2(n) if n < 10 else b2(n - 10))


def test_sequential_keeps_stateful_pieces_going(caplog):
    f = lrs.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    seq = lrs.SequentialScheduler([lrs.ConstantScheduler(base_lr=1.0), f], [3])
    assert [seq(n) for n in range(3, 10)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert f.base_lr == 0.25


def test_restart_cycle_starts_at_decayed_peaks():
    sched = lrs.CosineRestartScheduler(10, base_lr=0.8, final_lr=0.1, cycle_mult=2,
                                       peak_decay=0.5, warmup_steps=3)
    starts = [3, 13, 33, 73]
    assert [sched(s) for s in starts] == pytest.approx([0.8, 0.4, 0.2, 0.1])
    assert sched(3 + 5) == pytest.approx(0.1 + 0.7 / 2)
    assert sched.base_lr == 0.8  # closed form: not mutated


def test_create_by_name_json_and_instance():
    a = lrs.create("Cosine", max_update=10, base_lr=0.1)
    b = lrs.create('["cosinescheduler", {"max_update": 10, "base_lr": 0.1}]')
    assert isinstance(a, lrs.CosineScheduler) and isinstance(b, lrs.CosineScheduler)
    assert [a(n) for n in range(12)] == [b(n) for n in range(12)]
    assert lrs.create(a) is a


def test_doctests():
    result = doctest.testmod(lrs, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 10 and result.failed == 0


def test_deepcopy_and_copy_are_independent():
    sched = lrs.FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    clone = copy.deepcopy(sched)
    clone(5)
    assert sched.base_lr == 1.0 and sched.count == 0 and clone.base_lr == 1.0 / 16


# --------------------------------------------------------------------------- extension recipe
class StepHalving(lrs.LRScheduler):
    """The seed's recipe: subclass LRScheduler and implement __call__."""

    def __init__(self, every=10, **kwargs):
        super().__init__(**kwargs)
        self.every = every

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        return self.base_lr * 0.5 ** (num_update // self.every)


def test_user_subclass_standalone():
    sched = StepHalving(every=10, base_lr=0.4, warmup_steps=4)
    assert [sched(n) for n in (0, 2, 4, 10, 25)] == [0.0, 0.2, 0.4, 0.2, 0.1]
    sched.base_lr = 0.8  # what an optimizer given learning_rate does
    assert sched(2) == 0.4 and sched(25) == 0.2
    assert lrs.lr_values(sched, 30)[24] == 0.2
    lrs.register(StepHalving)
    assert isinstance(lrs.create("stephalving", every=5), StepHalving)


def test_user_subclass_without_super_init():
    class Bare(lrs.LRScheduler):
        def __init__(self):
            pass

        def __call__(self, num_update):
            return 0.1

    bare = Bare()
    with pytest.raises(AttributeError, match=r"call LRScheduler\.__init__"):
        _ = bare.base_lr
    bare.base_lr = 0.3
    assert bare.base_lr == 0.3 and bare(7) == 0.1


@pytest.mark.filterwarnings("ignore:learning rate from")
def test_user_subclass_drives_sgd():
    optimizer = pytest.importorskip("mxlite.optimizer")
    if not hasattr(optimizer, "SGD"):
        pytest.skip("mxlite.optimizer.SGD is not there yet")
    sched = StepHalving(every=2, base_lr=0.01)
    opt = optimizer.SGD(learning_rate=0.4, lr_scheduler=sched)
    assert sched.base_lr == 0.4
    weight, grad = mx.nd.ones((3,)), mx.nd.ones((3,)) * 0.5
    state = opt.create_state(0, weight)
    expected = 1.0
    for step in range(1, 6):  # the optimizer calls the scheduler with num_update = step
        opt.update(0, weight, grad, state)
        expected -= 0.4 * 0.5 ** (step // 2) * 0.5
    np.testing.assert_allclose(weight.asnumpy(), expected, rtol=1e-6)
    assert opt.learning_rate == pytest.approx(0.4 * 0.5 ** (5 // 2))


@pytest.mark.filterwarnings("ignore:learning rate from")
@pytest.mark.parametrize("cls", [lrs.PolyScheduler, lrs.CosineScheduler], ids=["poly", "cosine"])
def test_optimizer_learning_rate_rebases_decay_and_warmup(cls):
    optimizer = pytest.importorskip("mxlite.optimizer")
    if not hasattr(optimizer, "SGD"):
        pytest.skip("mxlite.optimizer.SGD is not there yet")
    sched = cls(10, base_lr=0.01, warmup_steps=2)
    optimizer.SGD(learning_rate=0.4, lr_scheduler=sched)
    assert [sched(n) for n in (1, 2, 11)] == pytest.approx([0.2, 0.4, 0.0])


# --------------------------------------------------------------------------- plot / lr_values
def test_lr_values_does_not_touch_scheduler():
    sched = lrs.MultiFactorScheduler(step=[2, 4], factor=0.5, base_lr=1.0)
    values = lrs.lr_values(sched, 6)
    assert values.tolist() == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    assert sched.base_lr == 1.0 and sched.cur_step_ind == 0
    assert lrs.lr_values(sched, 6, start=0).tolist()[0] == 1.0


def test_lr_values_copy_is_silent(caplog):
    sched = lrs.FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        lrs.lr_values(sched, 10)
    assert caplog.records == []
    assert sched._verbose


def test_plot_writes_png_and_leaves_scheduler_alone(tmp_path):
    pytest.importorskip("matplotlib")
    sched = lrs.FactorScheduler(step=3, factor=0.5, base_lr=0.1, warmup_steps=2)
    out = tmp_path / "lr.png"
    fig = lrs.plot(sched, 20, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sched.base_lr == 0.1 and sched.count == 0
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), lrs.lr_values(sched, 20))
    assert list(line.get_xdata()) == list(range(1, 21))
    assert fig.axes[0].get_title() == "FactorScheduler"
    assert list(tmp_path.iterdir()) == [out]  # no temp file left behind


def test_plot_onto_given_axes_without_saving(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert lrs.plot(lrs.CosineScheduler(30, base_lr=1.0), 30, ax=ax, title="cos") is fig
    assert ax.get_title() == "cos" and len(ax.lines) == 1
    assert list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"mxlite\[plot\]"):
        lrs.plot(lrs.ConstantScheduler(), 10)


# --------------------------------------------------------------------------- properties
warmups = st.sampled_from(["linear", "constant"])


@st.composite
def decay_setups(draw):
    max_update = draw(st.integers(1, 500))
    warmup = draw(st.integers(0, max_update - 1))
    base = draw(st.floats(1e-6, 10.0))
    final = draw(st.floats(0.0, 1.0)) * base
    begin = draw(st.floats(0.0, 1.0)) * base
    return max_update, warmup, base, final, begin


@settings(max_examples=60, deadline=None)
@given(decay_setups(), st.sampled_from(["poly", "cosine"]), warmups,
       st.floats(0.1, 5.0))
def test_decay_is_monotone_and_bounded_after_warmup(setup, kind, mode, pwr):
    max_update, warmup, base, final, begin = setup
    common = dict(base_lr=base, final_lr=final, warmup_steps=warmup, warmup_begin_lr=begin,
                  warmup_mode=mode)
    if kind == "poly":
        sched = lrs.PolyScheduler(max_update, pwr=pwr, **common)
    else:
        sched = lrs.CosineScheduler(max_update, **common)
    values = np.array([sched(n) for n in range(warmup, max_update + 20)])
    assert values[0] == pytest.approx(base, rel=1e-12)
    assert np.all(np.diff(values) <= 1e-12 * base)
    assert np.all(values >= final * (1 - 1e-12)) and np.all(values <= base * (1 + 1e-12))
    assert values[max_update - warmup] == pytest.approx(final, rel=1e-9, abs=1e-15)
    assert np.all(values[max_update - warmup:] == values[-1])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.floats(1e-6, 10.0), st.floats(0.0, 1.0),
       st.sampled_from(["factor", "multifactor", "poly", "cosine", "constant", "restart"]))
def test_linear_warmup_rises_to_base_lr(warmup, base, begin_frac, kind):
    begin = begin_frac * base
    kw = dict(base_lr=base, warmup_steps=warmup, warmup_begin_lr=begin)
    sched = {
        "factor": lambda: lrs.FactorScheduler(warmup + 1, factor=0.5, stop_factor_lr=0, **kw),
        "multifactor": lambda: lrs.MultiFactorScheduler(step=[warmup + 5], factor=0.5, **kw),
        "poly": lambda: lrs.PolyScheduler(warmup + 10, **kw),
        "cosine": lambda: lrs.CosineScheduler(warmup + 10, **kw),
        "constant": lambda: lrs.ConstantScheduler(**kw),
        "restart": lambda: lrs.CosineRestartScheduler(7, **kw),
    }[kind]()
    values = np.array([sched(n) for n in range(warmup + 1)])
    assert values[0] == begin
    assert np.all(np.diff(values) >= -1e-12 * base)
    assert values[-1] == pytest.approx(base, rel=1e-12)
    ramp = begin + (base - begin) * np.arange(warmup + 1) / warmup
    np.testing.assert_allclose(values, ramp, rtol=1e-12, atol=1e-18)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20), st.floats(0.05, 1.0), st.floats(1e-3, 1.0),
       st.lists(st.integers(0, 300), min_size=1, max_size=30))
def test_factor_matches_closed_form_whatever_the_jumps(step, factor, base, calls):
    sched = lrs.FactorScheduler(step=step, factor=factor, stop_factor_lr=0.0, base_lr=base)
    furthest = 0
    for n in calls:
        furthest = max(furthest, n)
        k = max(0, math.ceil(furthest / step) - 1)
        assert sched(n) == pytest.approx(base * factor**k, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=1, max_size=5, unique=True),
       st.floats(0.05, 1.0), st.lists(st.integers(0, 120), min_size=1, max_size=30))
def test_multifactor_matches_closed_form_whatever_the_jumps(steps, factor, calls):
    steps = sorted(steps)
    sched = lrs.MultiFactorScheduler(step=steps, factor=factor, base_lr=1.0)
    furthest = 0
    for n in calls:
        furthest = max(furthest, n)
        assert sched(n) == pytest.approx(factor ** sum(s < furthest for s in steps), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 50), st.floats(1.0, 3.0), st.floats(0.1, 1.0), st.floats(1e-4, 1.0),
       st.floats(0.0, 1.0), st.integers(0, 20))
def test_restart_bounded_and_peaks_at_cycle_starts(length, mult, decay, base, final_frac, warmup):
    final = final_frac * base
    sched = lrs.CosineRestartScheduler(length, base_lr=base, final_lr=final, cycle_mult=mult,
                                       peak_decay=decay, warmup_steps=warmup)
    values = np.array([sched(n) for n in range(warmup, warmup + 400)])
    assert np.all(values >= final * (1 - 1e-12)) and np.all(values <= base * (1 + 1e-12))
    start, i = 0.0, 0
    while start < 400:
        n = math.ceil(start - 1e-9)
        if n == start:  # an integer cycle start: the lr is this cycle's peak
            assert values[n] == pytest.approx(max(base * decay**i, final), rel=1e-9)
        start += length * mult**i
        i += 1
