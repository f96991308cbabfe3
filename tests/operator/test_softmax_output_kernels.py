"""SoftmaxOutput's one-pass kernels against a plain NumPy statement of MXNet's gradient."""

import numpy as np
import pytest

from mxlite.operator.registry import get

RNG = np.random.default_rng(21)


def reference(x2, lab, p):
    """Softmax rows and the data gradient of (rows, classes) ``x2`` with int labels ``lab``."""
    e = np.exp(x2 - x2.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    m, k = y.shape
    alpha = p.get("smooth_alpha", 0.0)
    target = np.full((m, k), alpha / (k - 1))
    inr = (lab >= 0) & (lab < k)
    target[np.nonzero(inr)[0], lab[inr]] = 1 - alpha
    g = y - target
    keep = np.ones(m, bool)
    if p.get("use_ignore"):
        keep = lab != int(p.get("ignore_label", -1))
    g *= keep[:, None]
    norm = {"batch": m, "valid": max(int(keep.sum()), 1)}.get(p.get("normalization"), 1)
    return y, g * p.get("grad_scale", 1.0) / norm


# id, data shape, params, labels drawn from (low, high)
CASES = [
    ("plain", (7, 5), {}, (0, 5)),
    ("batch_norm", (7, 5), {"normalization": "batch", "grad_scale": 2.0}, (0, 5)),
    ("valid_ignore", (9, 4), {"normalization": "valid", "use_ignore": True,
                              "ignore_label": 2}, (0, 4)),
    ("ignore_null", (9, 4), {"use_ignore": True, "ignore_label": 1}, (0, 4)),
    ("smooth", (6, 5), {"smooth_alpha": 0.2}, (0, 5)),
    ("out_of_range_labels", (8, 3), {"smooth_alpha": 0.1}, (-2, 5)),
    ("flattened", (4, 3, 2), {}, (0, 6)),
    ("preserve_shape", (2, 3, 4), {"preserve_shape": True}, (0, 4)),
    ("large_kernel_forward", (512, 160), {"normalization": "batch"}, (0, 160)),
]


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-6), ("float64", 1e-13)],
                         ids=["f32", "f64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_softmax_output_kernels(case, dtype, tol):
    _, shape, params, (lo, hi) = case
    op = get("SoftmaxOutput")
    p = op.parse_params(params)
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    nlab = int(np.prod(shape[:-1])) if params.get("preserve_shape") else shape[0]
    lab = RNG.integers(lo, hi, nlab)
    label = lab.astype(dtype).reshape(shape[:-1] if params.get("preserve_shape") else -1)
    k = shape[-1] if params.get("preserve_shape") else int(np.prod(shape[1:]))
    want_y, want_g = reference(x.reshape(-1, k).astype(np.float64), lab, params)
    outs, saved = op.forward(p, [x, label], [], True)
    np.testing.assert_allclose(outs[0].reshape(-1, k), want_y, rtol=tol, atol=tol)
    buf = np.empty_like(x)
    grads = op.backward(p, [np.zeros_like(x)], [x, label], outs, [], saved, gout=[buf, None])
    assert grads[0] is buf and grads[0].dtype == x.dtype
    np.testing.assert_allclose(grads[0].reshape(-1, k), want_g, rtol=tol * 10, atol=tol)
    # the NumPy path (taken with out_grad) agrees with the kernel
    q = op.parse_params({**params, "out_grad": True})
    slow = op.backward(q, [np.ones_like(x)], [x, label], outs, [], saved)
    np.testing.assert_allclose(grads[0], slow[0], rtol=tol * 10, atol=tol)
