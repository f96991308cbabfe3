"""The hostile corpus (hostile_corpus.py): every file is refused with a clean MXNetError that
names the problem, within a time and memory budget, and no gadget touches the canary file.

One subprocess builds the corpus and reads every case under an address-space limit; each case
reports its exception, wall time and tracemalloc peak (NumPy buffers included)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import hostile_corpus
import pytest

MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 80 << 20  # every bomb here would allocate more than this if not refused


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    env = dict(os.environ)
    src = os.path.join(os.path.dirname(__file__), "..", "..", "src")
    env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, hostile_corpus.__file__, str(folder)], capture_output=True, text=True,
        timeout=300, env=env, check=False,
    )
    lines = {}
    for line in proc.stdout.splitlines():
        entry = json.loads(line)
        lines[entry["id"]] = entry
    assert proc.returncode == 0, proc.stderr[-3000:]
    return lines


@pytest.mark.parametrize("case", hostile_corpus.case_ids())
def test_hostile_file_refused_within_budget(results, case):
    got = results[case]
    pattern = hostile_corpus.CASES[case][2]
    if pattern is None:  # a file that is harmless once read right: it must load, cheaply
        assert got["error"] is None, got
    else:
        assert got["error"] == "MXNetError", got
        assert re.search(pattern, got["message"]), got["message"]
        assert got["message"].startswith("/"), "the message names the file"
    assert got["seconds"] < MAX_SECONDS, got
    assert got["peak_bytes"] < MAX_PEAK_BYTES, got
    assert got["canary"], "a gadget touched the canary file"


def test_corpus_covers_every_class():
    classes = {cid.split("-")[0] for cid in hostile_corpus.case_ids()}
    assert classes >= {"gadget", "shared", "size", "deflate", "deep", "dangling", "int"}
