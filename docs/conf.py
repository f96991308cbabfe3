"""Sphinx configuration of the mxlite documentation (``make docs``)."""

from __future__ import annotations

import os
import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "src"))  # document this tree, whatever is installed
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")

import mxlite  # noqa: E402

project = "mxlite"
author = "The mxlite authors"
copyright = "the mxlite authors; Apache-2.0"
release = version = mxlite.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",  # math typeset in the browser; the build itself needs no network
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "mxlite_docs",
]

# One API page per entry, generated into api/generated/ at build time.  A module that lands
# (gluon, autograd, ndarray.sparse, ...) is documented by adding its line here.
mxlite_api_modules = [
    ("mxlite.optimizer", "optimizers and the updater"),
    ("mxlite.optimizer.contrib", "contributed optimizers"),
    ("mxlite.initializer", "weight initializers (mx.init)"),
    ("mxlite.lr_scheduler", "learning-rate schedules"),
    ("mxlite.ndarray", "NDArray and the mx.nd functions"),
    ("mxlite.ndarray.random", "random arrays (mx.nd.random)"),
    ("mxlite.ndarray.sparse", "sparse arrays: row_sparse and csr (mx.nd.sparse)"),
    ("mxlite.symbol", "symbolic graphs (mx.sym)"),
    ("mxlite.executor", "bound graphs"),
    ("mxlite.module", "the Module training API (mx.mod)"),
    ("mxlite.autograd", "recording and gradients (mx.autograd)"),
    ("mxlite.contrib.autograd", "MXNet's first autograd API (mx.contrib.autograd)"),
    ("mxlite.gluon", "the Gluon API: Parameter, Block, Trainer"),
    ("mxlite.gluon.nn", "Gluon layers"),
    ("mxlite.gluon.rnn", "Gluon recurrent layers (fused RNN, LSTM, GRU) and cells"),
    ("mxlite.gluon.loss", "Gluon losses"),
    ("mxlite.gluon.data", "datasets, samplers and the DataLoader"),
    ("mxlite.gluon.data.vision", "vision datasets and transforms"),
    ("mxlite.gluon.utils", "Gluon utilities"),
    ("mxlite.gluon.model_zoo.vision", "model zoo: vision networks"),
    ("mxlite.io", "data iterators"),
    ("mxlite.metric", "evaluation metrics"),
    ("mxlite.callback", "training callbacks"),
    ("mxlite.kvstore", "key-value store (mx.kv)"),
    ("mxlite.kvstore.dist", "distributed kvstores on Ray (worker side)"),
    ("mxlite.kvstore.launch", "the mxlite launch command"),
    ("mxlite.model", "checkpoints"),
    ("mxlite.rnn", "recurrent cells, bucketing data, RNN checkpoints (mx.rnn)"),
    ("mxlite.random", "the random source"),
    ("mxlite.context", "devices"),
    ("mxlite.operator", "operators and custom operators"),
    ("mxlite.base", "errors and helpers"),
    ("mxlite.test_utils", "testing helpers (mx.test_utils)"),
    ("mxlite.recordio", "RecordIO files (mx.recordio)"),
    ("mxlite.image", "image decoding and iterators (mx.image)"),
    ("mxlite.monitor", "watching outputs and gradients (mx.mon)"),
    ("mxlite.visualization", "network summaries and plots (mx.viz)"),
    ("mxlite.profiler", "per-operator timings (mx.profiler)"),
    ("mxlite.util", "NumPy-shape semantics (mx.util)"),
    ("mxlite.runtime", "runtime features (mx.runtime)"),
]

templates_path: list[str] = []
exclude_patterns = ["_build", "**.inc"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"exclude-members": "__weakref__, __dict__, __module__"}
napoleon_numpy_docstring = True
napoleon_google_docstring = False

# the examples re-register classes and repeat MXNet's notices (fit() after bind(), ...); the
# output they are checked against is what they print, so keep those notices off the console
doctest_global_setup = """
import logging
import warnings
import numpy as np
import mxlite as mx
mx.random.seed(0)
warnings.simplefilter("ignore", UserWarning)
logging.getLogger().setLevel(logging.ERROR)
"""
doctest_default_flags = (__import__("doctest").ELLIPSIS
                         | __import__("doctest").NORMALIZE_WHITESPACE
                         | __import__("doctest").DONT_ACCEPT_TRUE_FOR_1)

html_theme = "alabaster"
html_title = f"mxlite {release}"
html_static_path = ["_static"]
html_css_files = ["mxlite.css"]
html_theme_options = {"description": "MXNet 1.9.1's optimization stack on NumPy 2 and Numba",
                      "page_width": "1100px", "sidebar_width": "240px"}
html_show_sourcelink = False
