"""InitDesc, dispatch, registry and dumps, custom initializers, FusedRNN layout, errors."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _init_specs import golden_json
from hypothesis import given, settings
from hypothesis import strategies as st

import mxlite as mx
from mxlite import initializer as mxinit


def _init(init, name, shape, attrs=None, dtype="float32"):
    arr = mx.nd.zeros(shape, dtype=dtype)
    init(mx.init.InitDesc(name, attrs=attrs), arr)
    return arr.asnumpy()


# ---------------------------------------------------------------------------------- InitDesc
def test_initdesc_is_the_name_string_with_attributes():
    d = mx.init.InitDesc("fc_weight", attrs={"lr_mult": "2"})
    assert isinstance(d, str) and d == "fc_weight" and d.endswith("weight")
    assert d.attrs == {"lr_mult": "2"} and d.global_init is None
    assert mx.init.InitDesc("x").attrs == {}


def test_call_fills_in_global_init_once():
    outer, other = mx.init.Zero(), mx.init.One()
    d = mx.init.InitDesc("fc_weight")
    outer(d, mx.nd.zeros((2,)))
    assert d.global_init is outer
    other(d, mx.nd.zeros((2,)))
    assert d.global_init is outer


def test_mx_init_is_mx_initializer():
    assert mx.init is mx.initializer


# ----------------------------------------------------------------------- dispatch specifics
def test_init_attribute_wins_over_name_and_global():
    out = _init(mx.init.Uniform(), "fc_weight", (3,), attrs={"__init__": mx.init.One().dumps()})
    np.testing.assert_array_equal(out, 1)


def test_legacy_string_call_warns_and_uses_bilinear_for_upsampling():
    arr = mx.nd.zeros((1, 1, 4, 4))
    with pytest.warns(DeprecationWarning, match="InitDesc"):
        mx.init.Zero()("upsampling3_weight", arr)
    expected = mx.nd.zeros((1, 1, 4, 4))
    mx.init.Bilinear()(mx.init.InitDesc("up_weight"), expected)
    np.testing.assert_array_equal(arr.asnumpy(), expected.asnumpy())
    assert arr.asnumpy().max() > 0


def test_legacy_call_rejects_non_string_name():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(TypeError, match="name must be a str"):
            mx.init.Zero()(3, mx.nd.zeros((2,)))


@pytest.mark.parametrize("arr", [np.zeros(3), [0, 0]], ids=["numpy", "list"])
def test_call_needs_an_ndarray(arr):
    with pytest.raises(TypeError, match="'fc_weight' must be an NDArray"):
        mx.init.Zero()(mx.init.InitDesc("fc_weight"), arr)


def test_weight_quantize_draws_int8_per_element():
    arr = mx.nd.zeros((50, 40), dtype="int8")
    mx.init.Zero()(mx.init.InitDesc("fc_weight_quantize"), arr)
    x = arr.asnumpy()
    assert x.dtype == np.int8 and x.min() >= -127 and x.max() <= 126
    assert len(np.unique(x)) > 100


# ------------------------------------------------------------------------ registry & dumps
@pytest.mark.parametrize(
    "spec,klass",
    [("zero", mx.init.Zero), ("zeros", mx.init.Zero), ("ones", mx.init.One),
     ("One", mx.init.One), ("XAVIER", mx.init.Xavier), ("msraprelu", mx.init.MSRAPrelu),
     ('["normal", {"sigma": 0.3}]', mx.init.Normal), ("fusedrnn", None)],
    ids=["zero", "alias-zeros", "alias-ones", "case-One", "case-XAVIER", "msraprelu", "json",
         "fusedrnn-needs-args"],
)
def test_create_by_name_alias_and_json(spec, klass):
    if klass is None:
        with pytest.raises(TypeError):
            mx.init.create(spec)
        return
    assert type(mx.init.create(spec)) is klass


def test_create_passes_instances_through_and_merges_kwargs():
    x = mx.init.Xavier()
    assert mx.init.create(x) is x
    made = mx.init.create('["xavier", {"rnd_type": "gaussian"}]', magnitude=2)
    assert made == mx.init.Xavier("gaussian", "avg", 2)


def test_create_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"Cannot find initializer 'nosuch'.*xavier"):
        mx.init.create("nosuch")


def test_issue_dumps_example():
    init = mx.init.Xavier(rnd_type="uniform", factor_type="in", magnitude=2.34)
    assert init.dumps() == (
        '["xavier", {"rnd_type": "uniform", "factor_type": "in", "magnitude": 2.34}]')


@pytest.mark.parametrize(
    "init",
    [mx.init.Constant([0.5, 1.5]), mx.init.Constant((1, 2)), mx.init.Constant(np.float32(0.25)),
     mx.init.FusedRNN('["xavier", {"magnitude": 2}]', 4, 2, "gru", True, 0.0),
     mx.init.FusedRNN(mx.init.Orthogonal(), 3, 1, "lstm"), mx.init.MSRAPrelu("out", 0.1)],
    ids=["constant-list", "constant-tuple", "constant-np-scalar", "fusedrnn-json-init",
         "fusedrnn-orthogonal", "msraprelu"],
)
def test_dumps_round_trips(init):
    again = mx.init.create(init.dumps())
    assert again.dumps() == init.dumps() and again == init
    json.loads(init.dumps())


def test_constant_array_round_trip_fills_the_same_values():
    value = mx.nd.array([[1.0, 2.0], [3.0, 0.1]])
    a = _init(mx.init.Constant(value), "w_weight", (2, 2))
    b = _init(mx.init.create(mx.init.Constant(value).dumps()), "w_weight", (2, 2))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, value.asnumpy())


def test_equality_compares_type_and_arguments():
    assert mx.init.Xavier() == mx.init.Xavier("uniform", "avg", 3)
    assert mx.init.Xavier() != mx.init.Xavier(magnitude=2)
    assert mx.init.Xavier() != mx.init.MSRAPrelu()
    assert mx.init.Zero() != "zero"


# ---------------------------------------------------------------------- custom initializers
@mx.init.register
@mx.init.alias("tenth_alias")
class TenthInit(mx.init.Initializer):
    """Weights 0.1 (+ offset), biases 1: the extension recipe of MXNet's docs."""

    def __init__(self, offset=0.0):
        super().__init__(offset=offset)
        self.offset = offset

    def _init_weight(self, name, arr):
        arr[:] = 0.1 + self.offset

    def _init_bias(self, name, arr):
        arr[:] = 1


@pytest.fixture
def custom_init():
    return TenthInit


def test_custom_initializer_through_create_and_call(custom_init):
    init = mx.init.create("tenthinit", offset=0.5)
    assert isinstance(init, custom_init)
    np.testing.assert_allclose(_init(init, "fc1_weight", (2, 3)), 0.6)
    np.testing.assert_array_equal(_init(init, "fc1_bias", (3,)), 1)
    np.testing.assert_array_equal(_init(init, "bn_gamma", (3,)), 1)
    assert type(mx.init.create("tenth_alias")) is custom_init
    assert mx.init.create(init.dumps()) == init
    assert init.dumps() == '["tenthinit", {"offset": 0.5}]'


def test_custom_initializer_through_init_attribute(custom_init):
    out = _init(mx.init.Zero(), "anything", (2,), attrs={"__init__": custom_init().dumps()})
    np.testing.assert_allclose(out, 0.1)


def test_register_rejects_non_initializers():
    with pytest.raises(TypeError, match="subclasses of Initializer"):
        mx.init.register(dict)


def test_base_initializer_weight_is_abstract():
    with pytest.raises(NotImplementedError, match="must override _init_weight"):
        _init(mx.init.Initializer(), "fc_weight", (2,))


# --------------------------------------------------------------------------- Mixed / Load
def test_mixed_accepts_names_and_matches_from_the_start():
    init = mx.init.Mixed(["bias", ".*"], ["zeros", mx.init.One()])
    np.testing.assert_array_equal(_init(init, "bias_x_weight", (2,)), 0)
    np.testing.assert_array_equal(_init(init, "fc_bias_weight", (2,)), 1)  # re.match, not search


def test_load_rejects_colliding_prefixed_names():
    with pytest.raises(ValueError, match="'w'"):
        mx.init.Load({"arg:w": mx.nd.ones((1,)), "aux:w": mx.nd.ones((1,))})


def test_load_accepts_numpy_values():
    init = mx.init.Load({"w": np.arange(3, dtype=np.float64)})
    np.testing.assert_array_equal(_init(init, "w", (3,)), [0, 1, 2])


# ----------------------------------------------------------------------- FusedRNN layout
G = golden_json()


@pytest.mark.parametrize(
    "case", G["fused_layout"],
    ids=[f"{c['mode']}-H{c['num_hidden']}-L{c['num_layers']}-"
         f"{'bi' if c['bidirectional'] else 'uni'}" for c in G["fused_layout"]],
)
def test_fused_layout_matches_mxnet_unpack(case):
    num_input, slices = mxinit.fused_rnn_layout(
        case["size"], case["num_hidden"], case["num_layers"], case["mode"],
        case["bidirectional"])
    assert num_input == case["num_input"]
    assert [[n, a, list(s)] for n, a, _, s in slices] == case["slices"]


@pytest.mark.parametrize(
    "case", G["fused_layout"],
    ids=[f"{c['mode']}-H{c['num_hidden']}-L{c['num_layers']}-"
         f"{'bi' if c['bidirectional'] else 'uni'}" for c in G["fused_layout"]],
)
def test_fused_rnn_hands_each_slice_to_the_inner_initializer(case):
    seen = []

    class Recorder(mx.init.Initializer):
        def _init_weight(self, name, arr):
            seen.append((str(name), arr.shape))
            arr[:] = len(seen)

        def _init_bias(self, name, arr):
            self._init_weight(name, arr)

    init = mx.init.FusedRNN(Recorder(), case["num_hidden"], case["num_layers"], case["mode"],
                            case["bidirectional"], forget_bias=-2.0)
    out = _init(init, "rnn_weight", (case["size"],))
    expect = [(n, tuple(s)) for n, _, s in case["slices"]
              if not (case["mode"] == "lstm" and n.endswith("_f_bias"))]
    assert seen == expect
    for name, start, shape in case["slices"]:
        part = out[start:start + int(np.prod(shape))]
        if case["mode"] == "lstm" and name.endswith("_f_bias"):
            assert np.all(part == -2.0)
        else:
            assert np.all(part == expect.index((name, tuple(shape))) + 1)


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(["lstm", "gru", "rnn_tanh", "rnn_relu"]),
       hidden=st.integers(1, 6), layers=st.integers(1, 3), bidir=st.booleans(),
       num_input=st.integers(1, 7))
def test_fused_layout_tiles_the_vector(mode, hidden, layers, bidir, num_input):
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    d = 2 if bidir else 1
    size = ((num_input + hidden + 2) * hidden * gates * d
            + (layers - 1) * gates * hidden * (hidden + d * hidden + 2) * d)
    ni, slices = mxinit.fused_rnn_layout(size, hidden, layers, mode, bidir)
    assert ni == num_input
    pos = 0
    for _, start, stop, shape in slices:
        assert start == pos and stop - start == int(np.prod(shape))
        pos = stop
    assert pos == size
    kinds = [n.endswith("_bias") for n, *_ in slices]
    assert kinds == sorted(kinds)  # every weight before every bias
    if hidden * gates * d > 1:  # otherwise every size >= the minimum is a valid layout
        with pytest.raises(ValueError, match=rf"expected .*got {size + 1}"):
            mxinit.fused_rnn_layout(size + 1, hidden, layers, mode, bidir)


def test_fused_rnn_none_init_uses_global_initializer():
    spec = mx.init.FusedRNN(None, 2, 1, "gru").dumps()
    size = (3 + 2 + 2) * 2 * 3
    out = _init(mx.init.Constant(0.25), "rnn_parameters", (size,), attrs={"__init__": spec})
    n_weights = (3 + 2) * 2 * 3
    assert np.all(out[:n_weights] == 0.25) and np.all(out[n_weights:] == 0)


# ----------------------------------------------------------------------------------- errors
CTOR_ERRORS = [
    ("xavier-rnd_type", lambda: mx.init.Xavier(rnd_type="normal"), ValueError,
     r"Xavier: unknown rnd_type 'normal'; expected one of 'uniform', 'gaussian'"),
    ("xavier-factor_type", lambda: mx.init.Xavier(factor_type="fan"), ValueError,
     r"Xavier: unknown factor_type 'fan'"),
    ("xavier-magnitude", lambda: mx.init.Xavier(magnitude=-1), ValueError,
     r"Xavier: magnitude must be a finite non-negative number, got -1"),
    ("msra-factor_type", lambda: mx.init.MSRAPrelu(factor_type="IN"), ValueError,
     r"MSRAPrelu: unknown factor_type 'IN'"),
    ("msra-slope", lambda: mx.init.MSRAPrelu(slope="x"), TypeError,
     r"MSRAPrelu: slope must be a real number, got 'x'"),
    ("orthogonal-rand_type", lambda: mx.init.Orthogonal(rand_type="gaussian"), ValueError,
     r"Orthogonal: unknown rand_type 'gaussian'"),
    ("normal-sigma", lambda: mx.init.Normal(-0.1), ValueError,
     r"Normal: sigma must be a finite non-negative number, got -0.1"),
    ("uniform-scale", lambda: mx.init.Uniform("big"), TypeError,
     r"Uniform: scale must be a real number, got 'big'"),
    ("uniform-nan", lambda: mx.init.Uniform(float("nan")), ValueError,
     r"Uniform: scale must be a finite number"),
    ("constant-str", lambda: mx.init.Constant("one"), TypeError,
     r"Constant: value must be a number or an array, got str"),
    ("constant-list-str", lambda: mx.init.Constant(["a"]), TypeError,
     r"Constant: value must be numeric"),
    ("lstmbias-forget", lambda: mx.init.LSTMBias(None), TypeError,
     r"LSTMBias: forget_bias must be a real number, got None"),
    ("fused-mode", lambda: mx.init.FusedRNN(None, 4, 1, "LSTM"), ValueError,
     r"FusedRNN: unknown mode 'LSTM'"),
    ("fused-hidden", lambda: mx.init.FusedRNN(None, 0, 1, "lstm"), ValueError,
     r"FusedRNN: num_hidden must be an integer >= 1, got 0"),
    ("fused-layers", lambda: mx.init.FusedRNN(None, 4, 1.5, "gru"), ValueError,
     r"FusedRNN: num_layers must be an integer >= 1, got 1.5"),
    ("fused-init", lambda: mx.init.FusedRNN(3, 4, 1, "gru"), TypeError,
     r"FusedRNN: init must be an Initializer"),
    ("mixed-lengths", lambda: mx.init.Mixed([".*"], []), ValueError,
     r"Mixed: got 1 patterns but 0 initializers"),
    ("mixed-regex", lambda: mx.init.Mixed(["("], [mx.init.Zero()]), ValueError,
     r"Mixed: invalid pattern '\('"),
    ("load-param", lambda: mx.init.Load(3), TypeError, r"Load: param must be a dict"),
    ("verbosity-print_func", lambda: mx.init.Zero().set_verbosity(True, "x"), TypeError,
     r"print_func must be callable"),
    ("initdesc-name", lambda: mx.init.InitDesc(3), TypeError, r"InitDesc name must be a str"),
]


@pytest.mark.parametrize("make,exc,match", [c[1:] for c in CTOR_ERRORS],
                         ids=[c[0] for c in CTOR_ERRORS])
def test_bad_arguments_rejected_in_constructor(make, exc, match):
    with pytest.raises(exc, match=match):
        make()


CALL_ERRORS = [
    ("xavier-1d", mx.init.Xavier(), "fc_weight", (5,),
     r"Xavier initializer cannot be applied to 'fc_weight' of shape \(5\): it needs an array "
     r"with at least 2 dimensions"),
    ("msra-0d", mx.init.MSRAPrelu(), "s_weight", (),
     r"MSRAPrelu initializer cannot be applied to 's_weight' of shape \(\)"),
    ("orthogonal-1d", mx.init.Orthogonal(), "v_weight", (7,),
     r"Orthogonal initializer cannot be applied to 'v_weight' of shape \(7\)"),
    ("constant-broadcast", mx.init.Constant(np.ones(3)), "fc_weight", (3, 4),
     r"Constant value of shape \(3\) cannot be broadcast to 'fc_weight' of shape \(3, 4\)"),
    ("lstmbias-not-4", mx.init.LSTMBias(), "lstm_i2h_weight", (6,),
     r"LSTMBias needs a bias of 4 \* num_hidden entries.*'lstm_i2h_weight' of shape \(6\)"),
    ("bilinear-2d", mx.init.Bilinear(), "up_weight", (3, 3),
     r"Bilinear initializer needs a 4-D .*'up_weight' of shape \(3, 3\)"),
    ("fused-size", mx.init.FusedRNN(mx.init.One(), 3, 1, "lstm"), "rnn_weight", (100,),
     r"'rnn_weight' has 100 elements.*expected 96 \(num_input=3\) or 108 \(num_input=4\), "
     r"got 100"),
    ("fused-too-small", mx.init.FusedRNN(mx.init.One(), 3, 2, "gru"), "rnn_weight", (10,),
     r"expected 126 \(num_input=1\), got 10"),
    ("fused-2d", mx.init.FusedRNN(mx.init.One(), 3, 1, "lstm"), "rnn_weight", (12, 8),
     r"packed 1-D parameter vector, got 'rnn_weight' of shape \(12, 8\)"),
    ("fused-no-global", mx.init.FusedRNN(None, 1, 1, "rnn_tanh"), "rnn_weight", (5,),
     r"FusedRNN\(init=None\) for 'rnn_weight' needs a global initializer"),
    ("load-shape", mx.init.Load({"arg:fc_weight": mx.nd.ones((2, 3))}), "fc_weight", (3, 2),
     r"'fc_weight' cannot be initialized from loading: shape mismatch, target \(3, 2\) vs "
     r"loaded \(2, 3\)"),
    ("load-missing", mx.init.Load({"a": mx.nd.ones((1,))}), "fc_weight", (1,),
     r"Cannot initialize 'fc_weight': not found in the loaded parameters and no default_init"),
    ("mixed-no-match", mx.init.Mixed(["conv.*"], [mx.init.Zero()]), "fc_weight", (1,),
     r"Parameter name 'fc_weight' did not match any pattern of Mixed \['conv\.\*'\]\. Consider "
     r"adding a '\.\*' pattern"),
    ("unknown-name", mx.init.Zero(), "label", (1,), r"Unknown initialization pattern for 'label'"),
]


@pytest.mark.parametrize("init,name,shape,match", [c[1:] for c in CALL_ERRORS],
                         ids=[c[0] for c in CALL_ERRORS])
def test_bad_arrays_raise_naming_the_variable(init, name, shape, match):
    with pytest.raises(ValueError, match=match):
        _init(init, name, shape)


# ------------------------------------------------------------------------------- properties
@settings(max_examples=50, deadline=None)
@given(value=st.floats(-1e30, 1e30), shape=st.lists(st.integers(1, 5), max_size=3).map(tuple))
def test_constant_scalar_fills_every_element(value, shape):
    out = _init(mx.init.Constant(value), "w_weight", shape)
    assert np.all(out == np.float32(value))


@settings(max_examples=50, deadline=None)
@given(shape=st.lists(st.integers(0, 6), min_size=2, max_size=5).map(tuple))
def test_fan_in_out_counts_the_receptive_field(shape):
    fan_in, fan_out = mxinit.fan_in_out("w", shape)
    receptive = int(np.prod(shape[2:]))
    assert (fan_in, fan_out) == (shape[1] * receptive, shape[0] * receptive)
