"""Every ``python`` block of README.md runs as written, and says what its comments say."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def _title(block: str) -> str:
    first = next(line for line in block.splitlines() if line and not line.startswith("import"))
    return re.sub(r"\W+", "_", first)[:40].strip("_")


# what each block must leave behind, keyed by a name the block defines
CHECKS = {
    "mod": lambda ns: ns["mod"].score(ns["train"], "acc")[0][1] > 0.9,
    "upd": lambda ns: np.allclose(ns["w"].asnumpy(), [0.9, -0.9]),
    "HalfInit": lambda ns: ns["w"].mean().asscalar() == 0.5 and ns["b"].sum().asscalar() == 0,
    "sched": lambda ns: np.allclose([ns["sched"](n) for n in (0, 100, 1000)], [0, 0.1, 1e-4]),
    "exe": lambda ns: ns["exe"].grad_dict["conv1_weight"].shape == (8, 3, 3, 3),
    "rnn_exe": lambda ns: ns["out"].shape == (5, 2, 8) and
    float(ns["rnn_exe"].grad_dict["lstm_parameters"].abs().sum().asscalar()) > 0,
    "small": lambda ns: ns["big"].outputs[0].asnumpy()[:, 0].tolist() == [1, 1, 0, 0]
    and len(ns["big"].get_optimized_symbol().get_internals()) == 4,
    "trainer": lambda ns: ns["acc"] > 0.95 and ns["x"].grad.asnumpy().tolist() == [4, 6, 8],
    "params": lambda ns: np.allclose(ns["params"][0].asnumpy(), ns["params"][1].asnumpy(),
                                     atol=1e-6),
}


def test_readme_has_blocks():
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("block", BLOCKS, ids=[_title(b) for b in BLOCKS])
def test_readme_block_runs(block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "readme"}
    exec(compile(block, str(README), "exec"), ns)
    checked = [name for name in CHECKS if name in ns]
    for name in checked:
        assert CHECKS[name](ns), f"README block defining {name!r} does not do what it says"
    assert capsys.readouterr().out  # every block shows its result
