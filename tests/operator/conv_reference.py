"""The float64 NumPy reference of 2-D Convolution that the convolution path tests compare
mxlite's kernels with: one ``einsum`` per kernel tap, and its adjoints for the gradients; and
:func:`run_in_threads` for the tests that call the operator from several Python threads."""

import threading

import numpy as np


def run_in_threads(target, count=3):
    """Run ``target()`` in ``count`` Python threads at once and wait for all of them."""
    workers = [threading.Thread(target=target) for _ in range(count)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


def _pads(pad):
    return (pad, pad) if np.isscalar(pad) else tuple(pad)


def _taps(kh, kw, oh, ow, stride, dilate):
    """Per kernel tap ``(i, j)``: the slices of the padded input it reads."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dilate, i * dilate + stride * (oh - 1) + 1, stride),
                         slice(j * dilate, j * dilate + stride * (ow - 1) + 1, stride))


def reference(x, w, stride=1, pad=0, dilate=1, groups=1):
    """2-D convolution (N, C, H, W) x (F, C/g, kh, kw), float64; ``pad`` one int or (ph, pw)."""
    (ph, pw), (n, _, h, wd), (f, cg, kh, kw) = _pads(pad), x.shape, w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dilate * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pw - dilate * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, f, oh, ow))
    fg = f // groups
    for g in range(groups):
        xs, ws = xp[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for i, j, (sy, sx) in _taps(kh, kw, oh, ow, stride, dilate):
            out[:, g * fg:(g + 1) * fg] += np.einsum("fc,ncyx->nfyx", ws[:, :, i, j],
                                                     xs[:, :, sy, sx])
    return out


def reference_grads(x, w, dy, stride=1, pad=0, dilate=1, groups=1):
    """Gradients ``(dx, dw)`` of ``sum(dy * reference(x, w, ...))``: per kernel tap, the
    adjoints of the tap's ``einsum``."""
    (ph, pw), (_, _, h, wd), (f, cg, kh, kw) = _pads(pad), x.shape, w.shape
    oh, ow = dy.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    fg = f // groups
    for g in range(groups):
        cs, fs = slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)
        for i, j, (sy, sx) in _taps(kh, kw, oh, ow, stride, dilate):
            sl = (slice(None), cs, sy, sx)
            dw[fs, :, i, j] = np.einsum("nfyx,ncyx->fc", dy[:, fs], xp[sl])
            dxp[sl] += np.einsum("fc,nfyx->ncyx", w[fs, :, i, j], dy[:, fs])
    return dxp[:, :, ph:ph + h, pw:pw + wd], dw


def close(got, want):
    """float32 against the float64 reference: within 1e-5 of the reference's scale."""
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * scale)


def check_float32_results(y, dx, dw, db, x, w, b, dy, need_dx, **geometry):
    """Float32 output and gradients ``(y, dx, dw, db)`` of a convolution of ``x`` with ``w``
    and bias ``b`` for the head gradient ``dy`` against the float64 reference; ``dx`` must
    be None when ``need_dx`` is false.  ``geometry``: :func:`reference`'s stride, pad,
    dilate, groups."""
    assert y.dtype == dw.dtype == np.float32
    x64, w64, dy64 = (a.astype(np.float64) for a in (x, w, dy))
    close(y, reference(x64, w64, **geometry) + b.reshape(1, -1, 1, 1))
    want_dx, want_dw = reference_grads(x64, w64, dy64, **geometry)
    if need_dx:
        assert dx.dtype == np.float32
        close(dx, want_dx)
    else:
        assert dx is None
    close(dw, want_dw)
    close(db, dy64.sum(axis=(0, 2, 3)))
