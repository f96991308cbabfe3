"""``mxlite launch`` argument handling (no Ray needed: the job itself is replaced)."""

from __future__ import annotations

import pytest

from mxlite import cli
from mxlite.kvstore import launch


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(launch, "launch", lambda *a, **k: seen.append((a, k)) or 0)
    for name in ("DMLC_NUM_WORKER", "DMLC_NUM_SERVER", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    return seen


@pytest.mark.parametrize(
    "argv, env, want",
    [
        (["-n", "2", "--", "python", "t.py", "-x"], {}, ((["python", "t.py", "-x"], 2, 1),
                                                        None)),
        (["-n", "3", "-s", "2", "--address", "h:6379", "--", "python", "t.py"], {},
         ((["python", "t.py"], 3, 2), "h:6379")),
        (["--", "python", "t.py"], {"DMLC_NUM_WORKER": "4", "DMLC_NUM_SERVER": "2",
                                    "RAY_ADDRESS": "auto"}, ((["python", "t.py"], 4, 2), "auto")),
        (["-n", "2", "python", "t.py"], {}, ((["python", "t.py"], 2, 1), None)),
    ],
    ids=["workers", "servers-address", "dmlc-defaults", "no-dashdash"],
)
def test_arguments(calls, monkeypatch, argv, env, want):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert cli.main(["launch", *argv]) == 0
    (args, kwargs), = calls
    assert (args, kwargs["address"]) == want


@pytest.mark.parametrize(
    "argv, message",
    [(["-n", "2"], "no worker command"), (["-n", "0", "--", "x"], "positive integer"),
     (["-s", "x", "--", "x"], "positive integer")],
    ids=["no-command", "zero-workers", "bad-servers"],
)
def test_usage_errors(calls, capsys, argv, message):
    try:
        code = cli.main(["launch", *argv])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2 and message in capsys.readouterr().err
    assert calls == []


def test_bad_dmlc_variable(calls, monkeypatch):
    monkeypatch.setenv("DMLC_NUM_WORKER", "many")
    with pytest.raises(SystemExit, match="DMLC_NUM_WORKER='many'"):
        cli.main(["launch", "--", "python", "t.py"])
