"""The main job: ``mxlite demo`` trains on UCI digits, checkpoints, reloads and plots."""

from __future__ import annotations

import re

import pytest

from mxlite import cli

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_demo_short_run(tmp_path, capsys):
    out = tmp_path / "plots" / "demo.png"
    rc = cli.main(["demo", "--epochs", "4", "--seed-epochs", "2", "--out", str(out)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for prefix in ("demo-mlp-symbol.json", "demo-mlp-0004.params", "demo-mlp-0004.states"):
        assert (tmp_path / "plots" / prefix).exists()
    # MXNet's per-epoch lines, for both models
    assert len(re.findall(r"^  Epoch\[1\] Train-accuracy=\d\.\d{6}$", text, re.M)) == 2
    assert len(re.findall(r"^  Epoch\[3\] Validation-accuracy=\d\.\d{6}$", text, re.M)) == 1
    acc = float(re.search(r"-> validation accuracy (\d\.\d+) on 360 images", text).group(1))
    assert acc >= 0.95
    assert "predictions identical: True" in text
    gluon = re.search(r"Gluon.*\n(?:  Epoch.*\n)+   -> validation accuracy (\d\.\d+); exported to "
                      r".*demo-gluon-cnn-symbol\.json, reloaded into mx\.mod\.Module: accuracy "
                      r"(\d\.\d+), same outputs: True", text)
    assert gluon and float(gluon.group(1)) >= 0.9 and gluon.group(1) == gluon.group(2), text
    assert (tmp_path / "plots" / "demo-gluon-cnn-0004.params").exists()


def test_demo_rejects_bad_arguments(capsys):
    assert cli.main(["demo", "--epochs", "0", "--no-plot"]) == 2
    assert "epochs must be a positive int" in capsys.readouterr().err
