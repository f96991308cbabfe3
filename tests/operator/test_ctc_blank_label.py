"""``CTCLoss`` with a label equal to the blank (given label lengths) computes what MXNet 1.9.1
computes (tests/golden/ctc_blank_label.json, tools/gen_golden_ctc_blank.py), and its gradient
is the derivative of that loss (float64; MXNet 1.9.1's gradient is not, for such labels)."""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np
import pytest
from gradcheck import check_gradient

import mxlite as mx

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tools"))
import gen_golden_ctc_blank as spec  # noqa: E402

GOLDEN = json.loads((HERE.parent / "golden" / "ctc_blank_label.json").read_text())
IDS = [c[0] for c in spec.CASES]


@pytest.mark.parametrize("k", range(len(spec.CASES)), ids=IDS)
def test_loss_matches_mxnet(k):
    loss, _ = spec.run(mx, k)
    np.testing.assert_allclose(loss, GOLDEN[spec.CASES[k][0]]["loss"], rtol=1e-5)


@pytest.mark.parametrize("k", range(len(spec.CASES)), ids=IDS)
def test_gradient_in_float64(k):
    _, blank, labels, lengths = spec.CASES[k]
    data = spec.inputs(k).astype(np.float64)
    check_gradient("CTCLoss", {"use_label_lengths": True, "blank_label": blank},
                   [data, np.array(labels, dtype=np.float64), np.array(lengths, np.float64)],
                   wrt=[0], rtol=1e-5, atol=1e-7)


def test_labels_outside_the_channels_are_still_refused():
    with pytest.raises(mx.base.MXNetError, match=r"must be class indices in \[0, 4\)"):
        mx.nd.CTCLoss(mx.nd.ones((5, 1, 4)), mx.nd.array([[1, 4]]))
