"""`mxlite schedule NAME key=value ... --updates N --png out.png`."""

from __future__ import annotations

import pytest

from mxlite import lr_scheduler as lrs
from mxlite.cli import _parse_assignments, main


def _table(out: str) -> dict[int, float]:
    rows = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit():
            rows[int(parts[0])] = float(parts[1])
    return rows


@pytest.mark.parametrize(
    "argv, make, updates",
    [
        (["cosine", "max_update=100", "base_lr=0.1", "warmup_steps=10"],
         lambda: lrs.CosineScheduler(100, base_lr=0.1, warmup_steps=10), 100),
        (["multifactor", "step=[30, 60]", "factor=0.1", "base_lr=1", "--updates", "90"],
         lambda: lrs.MultiFactorScheduler([30, 60], factor=0.1, base_lr=1), 90),
        (["FactorScheduler", "step=7", "factor=0.5", "warmup_steps=3", "warmup_mode=constant",
          "--updates", "40", "--rows", "20"],
         lambda: lrs.FactorScheduler(7, factor=0.5, warmup_steps=3, warmup_mode="constant"), 40),
        (["poly", "max_update=50", "pwr=1", "final_lr=0.001"],
         lambda: lrs.PolyScheduler(50, pwr=1, final_lr=0.001), 50),
        (["sgdr", "cycle_length=20", "cycle_mult=2"],
         lambda: lrs.CosineRestartScheduler(20, cycle_mult=2), 100),
        (["constant", "base_lr=0.5", "--updates", "3"], lambda: lrs.ConstantScheduler(0.5), 3),
    ],
    ids=["cosine-warmup", "multifactor-list", "factor-class-name", "poly-default-updates",
         "restart-default-100", "constant-short"],
)
def test_prints_table_of_the_schedule(capsys, argv, make, updates):
    assert main(["schedule", *argv]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(f", {updates} updates")
    rows = _table(out)
    assert 1 in rows and updates in rows
    assert 3 <= len(rows) <= 21
    values = lrs.lr_values(make(), updates)
    for t, lr in rows.items():
        assert lr == pytest.approx(values[t - 1], rel=1e-5, abs=1e-12)


def test_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "lr.png"
    argv = ["schedule", "cosine", "max_update=30", "--png", str(png)]
    assert main(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["factor", "step=0"], "step must be >= 1, got 0"),
        (["factor", "step"], "expected key=value, got 'step'"),
        (["factor", "2x=1"], "expected key=value, got '2x=1'"),
        (["nosuch"], "Cannot find lr_scheduler 'nosuch'"),
        (["cosine", "max_update=10", "bogus=1"], "unexpected keyword argument 'bogus'"),
        (["cosine", "max_update=10", "--updates", "0"], "num_updates must be >= 1, got 0"),
    ],
    ids=["bad-value", "no-equals", "bad-key", "unknown-name", "unknown-argument", "zero-updates"],
)
def test_errors_are_reported_not_raised(capsys, argv, message):
    assert main(["schedule", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mxlite schedule: error:") and message in err


@pytest.mark.parametrize(
    "pairs, expected",
    [
        (["step=[10, 20]", "factor=0.5"], {"step": [10, 20], "factor": 0.5}),
        (["warmup_mode=linear"], {"warmup_mode": "linear"}),
        (["warmup_mode='constant'"], {"warmup_mode": "constant"}),
        (["base_lr=1e-3", "max_update=100"], {"base_lr": 1e-3, "max_update": 100}),
    ],
    ids=["list-and-float", "bare-word", "quoted", "sci-and-int"],
)
def test_parse_assignments(pairs, expected):
    got = _parse_assignments(pairs)
    assert got == expected
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
