"""The multi-tensor update drivers run over pieces of the tensors (mxlite.kernels.multi_chunks):
one call updates a whole group, large tensors included, bit for bit as tensor-by-tensor
kernel calls do."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite.kernels import MULTI_CHUNK, PARALLEL_THRESHOLD, multi_chunks
from mxlite.kernels import optimizer as kops
from mxlite.optimizer.engine import _addresses

# id, sizes, chunk, expected rows
CHUNK_CASES = [
    ("one-small", [5], 4, [(0, 0, 4), (0, 4, 5)]),
    ("exact-multiple", [8], 4, [(0, 0, 4), (0, 4, 8)]),
    ("mixed", [3, 0, 9], 4, [(0, 0, 3), (2, 0, 4), (2, 4, 8), (2, 8, 9)]),
    ("chunk-larger", [3, 2], 100, [(0, 0, 3), (1, 0, 2)]),
    ("none", [], 4, []),
]


@pytest.mark.parametrize("case", CHUNK_CASES, ids=[c[0] for c in CHUNK_CASES])
def test_multi_chunks_cover_every_tensor_in_order(case):
    _, sizes, chunk, rows = case
    got = multi_chunks(np.array(sizes, np.int64), chunk)
    assert got.dtype == np.int64 and got.shape == (len(rows), 3)
    assert [tuple(int(v) for v in r) for r in got] == rows


@pytest.mark.parametrize("bad", [([4], 0), ([4], -2), ([-1], 4)],
                         ids=["zero-chunk", "negative-chunk", "negative-size"])
def test_multi_chunks_rejects_bad_input(bad):
    sizes, chunk = bad
    with pytest.raises(ValueError):
        multi_chunks(np.array(sizes, np.int64), chunk)


def _spec(name, dtype):
    if name in ("sgd", "sgd_mom"):
        return kops.SGDSpec.make(lr=0.05, wd=1e-3, rescale_grad=0.5, clip=0.8, momentum=0.9)
    common = dict(lr=0.01, wd=1e-3, rescale_grad=0.5, clip=-1.0, beta1=0.9,
                  one_minus_beta1=0.1, beta2=0.999, one_minus_beta2=0.001, epsilon=1e-8)
    if name == "adamw":
        return kops.AdamWSpec.make(eta=0.7, **common)
    return kops.AdamSpec.make(**common)


NSTATES = {"sgd": 0, "sgd_mom": 1, "adam": 2, "adamw": 2}


@pytest.mark.parametrize("variant", ["serial", "parallel"])
@pytest.mark.parametrize("chunk", [1, 7, 1000], ids=["chunk1", "chunk7", "chunk1000"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(NSTATES))
def test_chunked_driver_equals_per_tensor_kernel(name, dtype, chunk, variant):
    rng = np.random.default_rng(11)
    sizes = [1, 30, 257, 0, 64]
    k = NSTATES[name]
    w = [rng.standard_normal(n).astype(dtype) for n in sizes]
    g = [rng.standard_normal(n).astype(dtype) for n in sizes]
    st = [[np.abs(rng.standard_normal(n)).astype(dtype) for _ in range(k)] for n in sizes]
    hps = [_spec(name, dtype)._replace(lr=0.01 * (t + 1)) for t in range(len(sizes))]
    want_w, want_s = [a.copy() for a in w], [[a.copy() for a in s] for s in st]
    kern = kops.KERNELS[name]
    for t in range(len(sizes)):
        kern.serial(want_w[t], g[t], *want_s[t], kops.EMPTY16, kern.scalars(hps[t], dtype))
    multi = kops.MULTI_KERNELS[name]
    tables = [_addresses(w), _addresses(g)] + [_addresses([s[j] for s in st]) for j in range(k)]
    sz = np.array(sizes, np.int64)
    like = np.empty(0, dtype)
    driver = getattr(multi, variant)
    driver(*tables, sz, multi_chunks(sz, chunk), like, kops.EMPTY16, np.array(hps, dtype))
    for t in range(len(sizes)):
        np.testing.assert_array_equal(w[t], want_w[t])
        for a, b in zip(st[t], want_s[t], strict=True):
            np.testing.assert_array_equal(a, b)


def test_group_with_a_large_tensor_is_one_parallel_call(monkeypatch):
    """An SGD group with a tensor over the parallel threshold and small ones: one parallel
    multi-tensor call for all of them (no separate call per large tensor), results equal to
    tensor-by-tensor updates."""
    rng = np.random.default_rng(2)
    shapes = [(PARALLEL_THRESHOLD + 3,), (17,), (MULTI_CHUNK * 2 + 5,), (4, 3)]
    w0 = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    gs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    multi = kops.MULTI_KERNELS["sgd_mom"]
    calls = []
    real_parallel = multi.parallel

    def spy(*args):
        calls.append(args[-4])  # the chunks
        return real_parallel(*args)

    results = []
    for list_form in (True, False):
        opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=1e-3)
        upd = mx.optimizer.get_updater(opt)
        ws = [mx.nd.array(w) for w in w0]
        for _ in range(2):
            g_nd = [mx.nd.array(g) for g in gs]
            if list_form:
                monkeypatch.setattr(multi, "parallel", spy)
                upd(list(range(len(ws))), g_nd, ws)
                monkeypatch.setattr(multi, "parallel", real_parallel)
            else:
                for i in range(len(ws)):
                    upd(i, g_nd[i], ws[i])
        results.append([w.asnumpy() for w in ws])
    # aggregate_num = 4: the four tensors are one group, one call per step
    assert len(calls) == 2
    assert set(calls[0][:, 0].tolist()) == {0, 1, 2, 3}
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
