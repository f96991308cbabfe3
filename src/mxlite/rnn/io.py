"""Sentence data for recurrent models: integer encoding and a bucketing iterator.

::

    sentences, vocab = mx.rnn.encode_sentences(tokenized_lines, invalid_label=0, start_label=1)
    it = mx.rnn.BucketSentenceIter(sentences, batch_size=32, buckets=[10, 20, 30],
                                   invalid_label=0)
    for batch in it:        # batch.bucket_key: the padded length of this batch
        ...
"""

from __future__ import annotations

import bisect
import random

import numpy as np

from .. import ndarray
from ..io import DataBatch, DataDesc, DataIter

__all__ = ["BucketSentenceIter", "encode_sentences"]


def encode_sentences(sentences, vocab=None, invalid_label=-1, invalid_key="\n", start_label=0,
                     unknown_token=None):
    """Encode tokenized sentences as lists of integer ids.

    Parameters
    ----------
    sentences : list of list of str
        The sentences, each a list of tokens.
    vocab : dict of str -> int, optional
        An existing vocabulary to encode with.  Without one a new vocabulary is built, holding
        ``invalid_key -> invalid_label`` and the words in order of first appearance with ids
        counting up from ``start_label`` (``invalid_label`` is skipped).
    invalid_label : int, default -1
        The id reserved for padding (never given to a word).
    invalid_key : str, default ``'\\n'``
        The key of ``invalid_label`` in a new vocabulary.
    start_label : int, default 0
        The first id given to a new word.
    unknown_token : str, optional
        With a given ``vocab``, words missing from it are encoded as this token, which is added
        to the vocabulary (with the first id from ``start_label`` on that is neither in use nor
        ``invalid_label``) if absent.
        Without it, a word missing from a given ``vocab`` raises a ``KeyError``.

    Returns
    -------
    ``(encoded sentences, vocab)``; a given ``vocab`` is updated in place, as in MXNet.

    MXNet 1.9.1 re-assigns the unknown token a new id at every unknown word (so the second
    unknown word moves it), counts its id from ``start_label`` even onto an id a word of the
    given vocabulary has, and with a new vocabulary stores every word under the unknown token;
    here the token gets a free id once and keeps it, and a new vocabulary holds its words.  The
    encoded sentences are MXNet's whenever its ids are sound: always with a new vocabulary, and
    with a given one up to the first unknown word when that id is free.
    """
    if vocab is None:
        vocab = {invalid_key: invalid_label}
        new_vocab = True
    else:
        if not isinstance(vocab, dict):
            raise TypeError(f"encode_sentences: vocab must be a dict or None, got "
                            f"{type(vocab).__name__}")
        new_vocab = False
    idx = start_label
    used = set(vocab.values())
    encoded = []
    for sent in sentences:
        coded = []
        for word in sent:
            if word not in vocab:
                if not new_vocab:
                    if not unknown_token:
                        raise KeyError(f"Unknown token {word!r}: not in the given vocab and "
                                       "no unknown_token given")
                    word = unknown_token
                if word not in vocab:
                    while idx == invalid_label or idx in used:
                        idx += 1
                    vocab[word] = idx
                    used.add(idx)
                    idx += 1
            coded.append(vocab[word])
        encoded.append(coded)
    return encoded, vocab


class BucketSentenceIter(DataIter):
    """Batches of integer sentences, padded to the smallest bucket length that holds them.

    Parameters
    ----------
    sentences : list of list of int
        Encoded sentences (see :func:`encode_sentences`).
    batch_size : int
    buckets : list of int, optional
        The padded lengths.  Default: every length that at least ``batch_size`` sentences have.
        Buckets no sentence falls in are dropped; sentences longer than the largest bucket are
        discarded (with a printed warning, as MXNet).
    invalid_label : int, default -1
        The padding value, also the label after each sentence's last word.
    data_name, label_name : str
        Names of the data and label in ``provide_data`` / ``provide_label``.
    dtype : str, default 'float32'
    layout : {'NT', 'TN'}
        Batch-major ``(batch, length)`` or time-major ``(length, batch)`` batches.

    Notes
    -----
    Each batch holds ``batch_size`` sentences of one bucket; its label is the data shifted one
    step left (the next word), ``invalid_label`` at the end.  Incomplete batches at the end of a
    bucket are left out.  ``default_bucket_key`` is the largest bucket.  :meth:`reset`
    shuffles the order of the batches (Python's ``random``) and the sentences inside each
    bucket (``numpy.random``), as MXNet does, so seeding both reproduces MXNet's batches.
    """

    def __init__(self, sentences, batch_size, buckets=None, invalid_label=-1, data_name="data",
                 label_name="softmax_label", dtype="float32", layout="NT"):
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"BucketSentenceIter: batch_size must be a positive int, got "
                             f"{batch_size!r}")
        if layout not in ("NT", "TN"):
            raise ValueError(f"Invalid layout {layout!r}: Must be NT (batch major) or TN "
                             "(time major)")
        sentences = list(sentences)
        if not buckets:
            counts = np.bincount([len(s) for s in sentences]) if sentences else []
            buckets = [length for length, n in enumerate(counts) if n >= batch_size]
        buckets.sort()
        if not buckets:
            raise ValueError(
                f"BucketSentenceIter: no bucket: no sentence length occurs batch_size="
                f"{batch_size} times; give buckets=[...] explicitly"
            )
        rows = [[] for _ in buckets]
        ndiscard = 0
        for sent in sentences:
            b = bisect.bisect_left(buckets, len(sent))
            if b == len(buckets):
                ndiscard += 1
                continue
            row = np.full((buckets[b],), invalid_label, dtype=dtype)
            row[:len(sent)] = sent
            rows[b].append(row)
        kept = [b for b in range(len(buckets)) if rows[b]]
        if not kept:
            raise ValueError(f"BucketSentenceIter: no sentence fits the largest bucket "
                             f"{buckets[-1]}")
        buckets = [buckets[b] for b in kept]
        self.data = [np.asarray(rows[b], dtype=dtype) for b in kept]
        print(f"WARNING: discarded {ndiscard} sentences longer than the largest bucket.")

        self.batch_size = batch_size
        self.buckets = buckets
        self.data_name = data_name
        self.label_name = label_name
        self.dtype = dtype
        self.invalid_label = invalid_label
        self.nddata = []
        self.ndlabel = []
        self.major_axis = layout.find("N")
        self.layout = layout
        self.default_bucket_key = max(buckets)
        shape = (batch_size, self.default_bucket_key)
        if self.major_axis == 1:
            shape = shape[::-1]
        self.provide_data = [DataDesc(name=data_name, shape=shape, layout=layout)]
        self.provide_label = [DataDesc(name=label_name, shape=shape, layout=layout)]
        self.idx = [(b, start) for b, rows_b in enumerate(self.data)
                    for start in range(0, len(rows_b) - batch_size + 1, batch_size)]
        self.curr_idx = 0
        self.reset()

    def reset(self):
        """Reshuffle the batch order and each bucket's sentences; rebuild data and labels."""
        self.curr_idx = 0
        random.shuffle(self.idx)
        for rows in self.data:
            np.random.shuffle(rows)  # noqa: NPY002  (MXNet's global NumPy stream)
        self.nddata = []
        self.ndlabel = []
        for rows in self.data:
            label = np.empty_like(rows)
            label[:, :-1] = rows[:, 1:]
            label[:, -1] = self.invalid_label
            self.nddata.append(ndarray.array(rows, dtype=self.dtype))
            self.ndlabel.append(ndarray.array(label, dtype=self.dtype))

    def next(self):
        """The next :class:`~mxlite.io.DataBatch` (``bucket_key`` its padded length)."""
        if self.curr_idx == len(self.idx):
            raise StopIteration
        b, start = self.idx[self.curr_idx]
        self.curr_idx += 1
        data = self.nddata[b][start:start + self.batch_size]
        label = self.ndlabel[b][start:start + self.batch_size]
        if self.major_axis == 1:
            data, label = data.T, label.T
        return DataBatch([data], [label], pad=0, bucket_key=self.buckets[b],
                         provide_data=[DataDesc(name=self.data_name, shape=data.shape,
                                                layout=self.layout)],
                         provide_label=[DataDesc(name=self.label_name, shape=label.shape,
                                                 layout=self.layout)])
