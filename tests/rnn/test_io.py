"""encode_sentences and BucketSentenceIter against MXNet 1.9.1 (golden), plus their edge cases."""

import numpy as np
import pytest

import mxlite as mx

from ._golden import META, spec


@pytest.mark.parametrize("cid", [c for c, _ in spec.ENCODE_CASES])
def test_encode_sentences_matches_mxnet(cid):
    kwargs = dict(spec.ENCODE_CASES)[cid]
    encoded, vocab = mx.rnn.encode_sentences(spec.SENTENCES, **kwargs)
    want = META["encode"][cid]
    assert encoded == want["encoded"]
    assert vocab == want["vocab"]


def test_encode_with_given_vocab_and_one_unknown_word_matches_mxnet():
    vocab = {"the": 1, "cat": 2, "sat": 3}
    encoded, out = mx.rnn.encode_sentences([["the", "cat"], ["cat", "dog", "sat"]], vocab=vocab,
                                           unknown_token="<unk>", start_label=4)
    want = META["encode"]["given_vocab_one_unknown"]
    assert encoded == want["encoded"]
    assert out == want["vocab"]
    assert out is vocab  # updated in place, as MXNet


def test_unknown_token_gets_a_free_id_once():
    """MXNet 1.9.1 gives '<unk>' id 0 here ('a''s id), then moves it to 1 ('b''s) at 'y'."""
    vocab = {"a": 0, "b": 1}
    encoded, vocab = mx.rnn.encode_sentences([["x", "a"], ["y", "b", "z"]], vocab=vocab,
                                             unknown_token="<unk>")
    assert vocab == {"a": 0, "b": 1, "<unk>": 2}
    assert encoded == [[2, 0], [2, 1, 2]]


def test_new_vocab_skips_the_invalid_label():
    encoded, vocab = mx.rnn.encode_sentences([["a", "b", "c"]], invalid_label=1, start_label=0)
    assert vocab == {"\n": 1, "a": 0, "b": 2, "c": 3}
    assert encoded == [[0, 2, 3]]


def test_encode_errors():
    with pytest.raises(KeyError, match="Unknown token 'zz'"):
        mx.rnn.encode_sentences([["zz"]], vocab={"a": 1})
    with pytest.raises(TypeError, match="vocab must be a dict"):
        mx.rnn.encode_sentences([["a"]], vocab=[("a", 1)])


def _batches(it):
    out = []
    for b in it:
        out.append({
            "bucket_key": int(b.bucket_key),
            "data": b.data[0].asnumpy().tolist(),
            "label": b.label[0].asnumpy().tolist(),
            "provide_data": [[d.name, list(d.shape)] for d in b.provide_data],
            "provide_label": [[d.name, list(d.shape)] for d in b.provide_label],
            "pad": int(b.pad),
        })
    return out


@pytest.mark.parametrize("case", spec.ITER_CASES, ids=[c[0] for c in spec.ITER_CASES])
def test_bucket_sentence_iter_matches_mxnet(case, capsys):
    cid, bs, buckets, invalid, layout, seed = case
    sentences, _ = mx.rnn.encode_sentences(spec.SENTENCES, invalid_label=0, start_label=1)
    spec.seed_all(seed)
    it = mx.rnn.BucketSentenceIter(sentences, bs, buckets=list(buckets) if buckets else None,
                                   invalid_label=invalid, layout=layout)
    want = META["iter"][cid]
    assert "WARNING: discarded" in capsys.readouterr().out
    assert it.buckets == want["buckets"]
    assert it.default_bucket_key == want["default_bucket_key"]
    assert [[d.name, list(d.shape)] for d in it.provide_data] == want["provide_data"]
    assert [[d.name, list(d.shape)] for d in it.provide_label] == want["provide_label"]
    for epoch in want["epochs"]:
        assert _batches(it) == epoch
        it.reset()


def test_iter_layouts_and_labels():
    sentences = [[1, 2, 3], [4, 5], [6, 7, 8], [9]]
    it = mx.rnn.BucketSentenceIter(sentences, 2, buckets=[3], invalid_label=-1, layout="TN",
                                   dtype="int32")
    batch = next(iter(it))
    assert batch.bucket_key == 3
    data, label = batch.data[0].asnumpy(), batch.label[0].asnumpy()
    assert data.shape == label.shape == (3, 2)
    assert data.dtype == np.int32
    np.testing.assert_array_equal(label[:-1], data[1:])  # the next word
    assert np.all(label[-1] == -1)
    assert batch.provide_data[0].layout == "TN"
    assert len(list(it)) == 1  # 4 sentences, batches of 2: two in all


def test_iter_bad_input():
    with pytest.raises(ValueError, match="Invalid layout 'NTC'"):
        mx.rnn.BucketSentenceIter([[1, 2]], 1, buckets=[2], layout="NTC")
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        mx.rnn.BucketSentenceIter([[1, 2]], 0, buckets=[2])
    with pytest.raises(ValueError, match="no bucket"):
        mx.rnn.BucketSentenceIter([[1, 2]], 2)
    with pytest.raises(ValueError, match="no sentence fits the largest bucket 2"):
        mx.rnn.BucketSentenceIter([[1, 2, 3]], 1, buckets=[2])


def test_empty_buckets_are_dropped():
    """A bucket no sentence falls into is dropped (as MXNet 1.9.1); the others still work."""
    it = mx.rnn.BucketSentenceIter([[1], [2], [3, 4, 5], [6, 7]], 2, buckets=[1, 2, 3, 9])
    assert it.buckets == [1, 2, 3]  # 9 held nothing
    assert [b.bucket_key for b in it] == [1]
