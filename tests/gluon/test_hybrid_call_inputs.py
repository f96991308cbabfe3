"""What a HybridBlock accepts as inputs (MXNet 1.9.1's rules): ``None`` arguments, nested lists,
non-tensor values imperatively; NDArrays and Symbols not mixed; after hybridize one context
and the traced argument structure (trailing ``None``\\ s aside)."""

from __future__ import annotations

import numpy as np
import pytest

import mxlite as mx
from mxlite import gluon


class _Either(gluon.HybridBlock):
    """``a + b``, or whichever of the two is given."""

    def hybrid_forward(self, F, a, b=None):
        if a is None:
            return b
        if b is None:
            return a
        return a + b


class _Chain(gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.first = _Either()
            self.second = _Either()

    def hybrid_forward(self, F, a, b):
        return self.second(self.first(a, b), b)


class _Sum(gluon.HybridBlock):
    def hybrid_forward(self, F, a, b):
        a = sum(a) if isinstance(a, list) else a
        b = sum(b) if isinstance(b, list) else b
        return a + b


ONES = mx.nd.ones((4,))


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
@pytest.mark.parametrize("inputs,want", [
    ((None, ONES * 2), 4.0),  # second(first(None, b) = b, b) = 2b
    ((ONES, ONES * 2), 5.0),  # (a + b) + b
    ((ONES * 3, None), 3.0),
], ids=["none_first", "both", "none_second"])
def test_none_arguments_reach_hybrid_forward(inputs, want, hybridize):
    net = _Chain()
    if hybridize:
        net.hybridize()
    for _ in range(2):  # the second call runs the cached graph
        np.testing.assert_array_equal(net(*inputs).asnumpy(), np.full(4, want))


@pytest.mark.parametrize("hybridize", [False, True], ids=["imperative", "hybridized"])
def test_no_tensor_at_all_is_refused(hybridize):
    net = _Chain()
    if hybridize:
        net.hybridize()
    with pytest.raises(ValueError, match="there must be one NDArray or one Symbol"):
        net(None, None)


@pytest.mark.parametrize("inputs", [(ONES, mx.sym.var("a")), (mx.sym.var("a"), ONES)],
                         ids=["nd_sym", "sym_nd"])
def test_ndarrays_and_symbols_do_not_mix(inputs):
    with pytest.raises(ValueError, match="mixed NDArrays and Symbols"):
        _Chain()(*inputs)


def test_a_cached_graph_refuses_another_argument_structure():
    net = _Chain()
    net.hybridize()
    net(None, ONES)
    with pytest.raises(ValueError, match=r"Stored format = \[-1, 0\], input format = \[0, 0\]"):
        net(ONES, ONES)


def test_trailing_none_arguments_use_the_same_graph():
    net = _Either()
    net.hybridize()
    np.testing.assert_array_equal(net(ONES).asnumpy(), np.ones(4))
    np.testing.assert_array_equal(net(ONES, None).asnumpy(), np.ones(4))
    with pytest.raises(ValueError, match="does not match the cached version"):
        net(ONES, ONES)
    other = _Either()
    other.hybridize()
    np.testing.assert_array_equal(other(ONES, None).asnumpy(), np.ones(4))
    np.testing.assert_array_equal(other(ONES).asnumpy(), np.ones(4))


def test_lists_and_plain_numbers_pass_imperatively_but_not_hybridized():
    net = _Sum()
    np.testing.assert_array_equal(net([ONES, ONES], [ONES, ONES, ONES]).asnumpy(),
                                  np.full(4, 5.0))
    np.testing.assert_array_equal(net([ONES, ONES], 3).asnumpy(), np.full(4, 5.0))
    net.hybridize()
    with pytest.raises(ValueError, match="must be \\(nested\\) list of Symbol or NDArray"):
        net(ONES, 1)


def test_hybridized_inputs_on_two_contexts_are_refused():
    net = _Sum()
    net.hybridize()
    with pytest.raises(ValueError, match=r"multiple contexts.*cpu\(1\).*cpu\(2\)"):
        net(mx.nd.ones((4,), ctx=mx.cpu(1)), mx.nd.ones((4,), ctx=mx.cpu(2)))


class _Halves(gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.split(x, num_outputs=2, axis=1)  # NDArrays: a list; Symbol: one, 2 outputs


def test_a_multi_output_symbol_stands_for_its_outputs():
    x = mx.nd.array(np.arange(8.0).reshape(2, 4))
    net = _Halves()
    want = [o.asnumpy() for o in net(x)]
    net.hybridize()
    got = net(x)
    assert isinstance(got, list) and len(got) == 2
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.asnumpy(), w)
    dense = gluon.nn.Dense(3, in_units=4, prefix="d_")
    dense.initialize()
    data = mx.sym.var("data")
    internals = dense(data).get_internals()  # data, weight, bias, output
    block = gluon.SymbolBlock(internals, data, params=dense.collect_params())
    outs = block(x)
    assert len(outs) == len(internals.list_outputs()) == 4
    np.testing.assert_allclose(outs[-1].asnumpy(), dense(x).asnumpy(), rtol=1e-6)


def test_summary_of_a_layer_given_its_states_prints_what_mxnet_prints(capsys):
    import pathlib
    import sys

    tools = pathlib.Path(__file__).resolve().parents[2] / "tools"
    sys.path.insert(0, str(tools))
    import gen_golden_summary_states as spec

    want = (tools.parent / "tests" / "golden" / "gluon_summary_states.txt").read_text()
    assert spec.summary_text(mx) == want


def test_summary_of_a_hybridized_network_is_refused():
    net = gluon.nn.HybridSequential(prefix="s_")
    with net.name_scope():
        net.add(gluon.nn.Dense(2, in_units=3))
    net.initialize()
    net.hybridize()
    with pytest.raises(ValueError, match='"s_dense0" must not be hybridized'):
        net.summary(mx.nd.ones((1, 3)))
    with pytest.raises(AssertionError):  # MXNet's exception type too
        net.summary(mx.nd.ones((1, 3)))
