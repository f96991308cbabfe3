"""Disable each safety defence in turn and check that its test then fails (then restore it).

Run from anywhere: ``python tools/check_safety_defences.py [name ...]``.  It edits a source file,
runs the test that should catch the change, and writes the file back; run it on a clean tree, not
while other tests run.  ``pickle-bounds`` takes minutes (the bomb it lets through is exponential).
"""

import os
import subprocess
import sys
from pathlib import Path

os.chdir(Path(__file__).resolve().parents[1])
S = "src/mxlite/serialization/"
C = "tests/serialization/test_safety_corpus.py"
B = "tests/serialization/test_safety_bad_inputs.py"
F = "tests/serialization/test_safety_files.py"
D = [
    (
        "npz-scheduler-table",
        S + "state_npz.py",
        "cls = scheduler_table().get(value) if isinstance(value, str) else None",
        # the old decoder: resolve "module:attr.path" by import and attribute traversal
        "import importlib; m, _, q = value.partition(':'); cls = importlib.import_module(m)\n"
        "        for part in q.split('.'): cls = getattr(cls, part)",
        C,
        "gadget-npz-object-path",
    ),
    (
        "npz-missing-attrs",
        S + "state_npz.py",
        "missing = sorted(set(declared) - set(attrs))",
        "missing = []",
        C,
        "missing-attr",
    ),
    (
        "npz-dunder-attrs",
        S + "state_npz.py",
        'elif key.startswith("__"):',
        "elif False:",
        C,
        "dunder",
    ),
    (
        "npz-attr-kinds",
        S + "state_npz.py",
        '    got, want = _kind(value), _kind(ref)\n    if key == "lr_scheduler":',
        '    return True\n    got, want = _kind(value), _kind(ref)\n    if key == "lr_scheduler":',
        C,
        "attr-kind",
    ),
    (
        "npz-constructor",
        S + "state_npz.py",
        "fresh = cls(**kwargs)",
        "fresh = cls()",
        C,
        "bad-hyper",
    ),
    (
        "npz-array-once",
        S + "state_npz.py",
        "if len(set(refs)) != len(refs):",
        "if False:",
        C,
        "array-twice",
    ),
    (
        "npz-unreferenced",
        S + "state_npz.py",
        "        if unused:\n",
        "        if False:\n",
        C,
        "deflate-npz-unreferenced",
    ),
    (
        "npz-inflate-limit",
        S + "state_npz.py",
        "if self.inflated > limits.MAX_INFLATED_BYTES:",
        "if False:",
        C,
        "declared-2GiB",
    ),
    (
        "npz-header-limit",
        S + "state_npz.py",
        "raw = archive.read_array(HEADER, max_nbytes=limits.MAX_HEADER_BYTES)",
        "raw = archive.read_array(HEADER)",
        C,
        "header-declared",
    ),
    (
        "npz-declared-size",
        S + "state_npz.py",
        "if info.file_size != start + nbytes:",
        "if False:",
        C,
        "shape-beyond",
    ),
    (
        "npz-node-count",
        S + "state_npz.py",
        "        self.nodes += n\n        if self.nodes > limits.MAX_OBJECTS:",
        "        self.nodes += n\n        if False:",
        C,
        "many-nodes",
    ),
    (
        "json-nesting",
        S + "bounded_json.py",
        "if nesting_depth(raw, limits.MAX_NESTING) > limits.MAX_NESTING:",
        "if False:",
        C,
        "deep-symbol or deep-npz",
    ),
    (
        "pickle-bounds",
        S + "safe_pickle.py",
        "    _check_bounds(result, source)\n",
        "",
        C,
        "shared-pickle or deep-pickle",
    ),
    (
        "pickle-dunder",
        S + "safe_pickle.py",
        '        if key.startswith("__"):\n            raise',
        "        if False:\n            raise",
        C,
        "gadget-pickle-dunder",
    ),
    (
        "densify-limit",
        S + "limits.py",
        "    if total_bytes <= MAX_DENSIFIED_BYTES:",
        "    if True:",
        C,
        "size-pickle-row",
    ),
    (
        "symbol-output-index",
        S + "symbol_json.py",
        "if not 0 <= out < n_out:",
        "if False:",
        C,
        "dangling-head-output",
    ),
    (
        "symbol-node-object",
        S + "symbol_json.py",
        "        if not isinstance(node, dict):\n",
        "        if False:\n",
        C,
        "int-node",
    ),
    (
        "atomic-mode",
        S + "atomic.py",
        'getattr(os, "O_CLOEXEC", 0), 0o666)',
        'getattr(os, "O_CLOEXEC", 0), 0o600)',
        F,
        "mode",
    ),
    (
        "atomic-keep-mode",
        S + "atomic.py",
        "            if old_mode is not None:\n",
        "            if False:\n",
        F,
        "keeps_its_mode",
    ),
    (
        "atomic-symlink",
        S + "atomic.py",
        "target = os.path.realpath(given)",
        "target = os.path.abspath(given)",
        F,
        "symlink",
    ),
    ("atomic-stale", S + "atomic.py", "    _remove_stale(folder, base)\n", "", F, "stale or kill"),
    (
        "atomic-named-errors",
        S + "atomic.py",
        "def _named(err: OSError, target: str) -> OSError:\n",
        "def _named(err: OSError, target: str) -> OSError:\n    return err\n",
        F,
        "name_the_target",
    ),
    (
        "metric-labels",
        "src/mxlite/metric.py",
        "    if not ok.all():\n",
        "    if False:\n",
        B,
        "acc- or ce- or f1 or mcc or nll or perplexity or topk",
    ),
    (
        "allow-extra",
        "src/mxlite/module/module.py",
        "        if not allow_extra:\n            for given",
        "        if False:\n            for given",
        B,
        "extra",
    ),
    (
        "fit-epochs",
        "src/mxlite/module/base_module.py",
        "        if begin_epoch > num_epoch:",
        "        if False:",
        B,
        "fit-begin-after",
    ),
    (
        "count-floats",
        "src/mxlite/base.py",
        "ok = bool(np.isfinite(value)) and float(value).is_integer()",
        "ok = False",
        B,
        "integral-float or float-epochs",
    ),
    (
        "lstmbias-bias",
        "src/mxlite/initializer.py",
        "    _init_bias = _init_weight\n",
        "",
        B,
        "lstmbias",
    ),
    (
        "nd-array-none",
        "src/mxlite/ndarray/ndarray.py",
        "        if source_array is None:\n",
        "        if False:\n",
        B,
        "nd-array-none",
    ),
    (
        "bind-single-pair",
        "src/mxlite/module/base_module.py",
        "and data_shapes and isinstance(data_shapes[0], str):",
        "and False:",
        B,
        "bind-single-pair",
    ),
]
only = sys.argv[1:]
for name, path, old, new, test, sel in D:
    if only and name not in only:
        continue
    src = open(path).read()
    assert src.count(old) >= 1, (name, old)
    open(path, "w").write(src.replace(old, new, 1))
    try:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-o",
                "addopts=",
                "-p",
                "no:cacheprovider",
                test,
                "-k",
                sel,
            ],
            env={**os.environ, "PYTHONPATH": "src"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        last = [
            l
            for l in r.stdout.splitlines()
            if "passed" in l or "failed" in l or "error" in l.lower()
        ][-1:]
        print(f"{name:22s} {'CAUGHT' if r.returncode else 'NOT CAUGHT'}  {last}", flush=True)
    finally:
        open(path, "w").write(src)
