"""``gluon.utils``: splitting batches over contexts, global-norm clipping, file helpers."""

from __future__ import annotations

import hashlib
import math
import os
import urllib.error
import urllib.request

import numpy as np

from ..base import MXNetError, atomic_write
from ..ndarray import NDArray, array

__all__ = ["check_sha1", "clip_global_norm", "download", "split_and_load", "split_data"]


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Split ``data`` into ``num_slice`` parts along ``batch_axis`` (equal sizes required
    when ``even_split``; otherwise the first ``size % num_slice`` parts are one longer)."""
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(
            f"data with shape {data.shape} cannot be evenly split into {num_slice} slices along "
            f"axis {batch_axis}. Use a batch size that's multiple of {num_slice} or set "
            "even_split=False to allow uneven partitioning of data.")
    if size < num_slice:
        raise ValueError(f"Too many slices for data with shape {data.shape}. Arguments are "
                         f"num_slice={num_slice} and batch_axis={batch_axis}.")
    base, extras = divmod(size, num_slice)
    bounds = np.cumsum([0] + [base + 1] * extras + [base] * (num_slice - extras)).tolist()
    from .. import ndarray as nd

    return [nd.slice_axis(data, axis=batch_axis, begin=bounds[i], end=bounds[i + 1])
            for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Split ``data`` along ``batch_axis`` and place one part on each context."""
    if not isinstance(data, NDArray):
        data = array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(c) for s, c in zip(slices, ctx_list, strict=True)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Scale ``arrays`` in place so that their joint L2 norm is at most ``max_norm``; returns
    the norm before scaling (a float; a warning when it is not finite and
    ``check_isfinite``)."""
    if not arrays:
        raise ValueError("clip_global_norm: arrays must not be empty")
    total = math.sqrt(sum(float(np.sum(np.square(a._data, dtype=np.float64)))
                          for a in arrays))
    if check_isfinite and not math.isfinite(total):
        import warnings

        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."),
                      stacklevel=2)
    scale = max_norm / (total + 1e-8)
    if scale < 1.0:
        for a in arrays:
            a._data *= a._data.dtype.type(scale)
    return total


def check_sha1(filename, sha1_hash):
    """Whether the SHA-1 of the file equals ``sha1_hash`` (hex)."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True):
    """Fetch ``url`` to ``path`` (a folder or a file name; default: the URL's file name).

    An existing file with a matching ``sha1_hash`` (or any existing file without one) is kept
    unless ``overwrite``.  Without network access this raises MXNetError saying where to put
    the file by hand.
    """
    fname = url.split("/")[-1] if path is None else (
        os.path.join(path, url.split("/")[-1]) if os.path.isdir(path) else path)
    if not overwrite and os.path.exists(fname) and (
            sha1_hash is None or check_sha1(fname, sha1_hash)):
        return fname
    if retries < 1:
        raise ValueError(f"Number of retries should be at least 1, got {retries}")
    last = None
    for _ in range(retries):
        try:
            with urllib.request.urlopen(url, timeout=30) as resp:
                data = resp.read()
            break
        except (urllib.error.URLError, OSError, ValueError) as err:
            last = err
    else:
        raise MXNetError(f"download: cannot fetch {url} ({last}); download it by other means "
                         f"and place it at {os.path.abspath(fname)!r}")
    folder = os.path.dirname(os.path.abspath(fname))
    os.makedirs(folder, exist_ok=True)
    atomic_write(fname, data)
    if sha1_hash and not check_sha1(fname, sha1_hash):
        raise MXNetError(f"File {fname} is downloaded but the content hash does not match. "
                         "The repo may be outdated or download may be incomplete.")
    return fname
