"""Module-era recurrent cells (``mx.rnn``): symbolic cells stepped or unrolled over time.

A cell turns one time step's input symbol and its state symbols into an output and new states;
:meth:`BaseRNNCell.unroll` chains ``length`` steps into one graph.  Weights are plain
``mx.sym.Variable`` objects kept in an :class:`RNNParams` container, so two cells sharing a
container share their weights.  Names follow MXNet 1.9.1 exactly (``lstm_i2h_weight``,
``lstm_t0_out``, ``lstm_begin_state_0``, ...), so checkpoints and ``list_arguments()`` match::

    cell = mx.rnn.LSTMCell(num_hidden=8, prefix='lstm_')
    outputs, states = cell.unroll(5, mx.sym.Variable('data'), layout='NTC', merge_outputs=True)

Gate order inside the stacked weights: LSTM ``i, f, c, o`` (input, forget, candidate, output),
GRU ``r, z, o`` (reset, update, candidate); :meth:`BaseRNNCell.unpack_weights` splits them into
``<prefix>i2h_f_weight``-style entries and :meth:`BaseRNNCell.pack_weights` joins them back.
"""

from __future__ import annotations

import warnings

from .. import initializer as init
from .. import ndarray, symbol
from ..base import integer_types, numeric_types
from . import _steps

__all__ = [
    "BaseRNNCell", "BidirectionalCell", "DropoutCell", "FusedRNNCell", "GRUCell", "LSTMCell",
    "ModifierCell", "RNNCell", "RNNParams", "ResidualCell", "SequentialRNNCell", "ZoneoutCell",
]

_FUSED_GATES = {
    "rnn_relu": ("",),
    "rnn_tanh": ("",),
    "lstm": ("_i", "_f", "_c", "_o"),
    "gru": ("_r", "_z", "_o"),
}


def _check_hidden(cls: str, num_hidden) -> int:
    if isinstance(num_hidden, bool) or not isinstance(num_hidden, integer_types):
        raise TypeError(f"{cls}: num_hidden must be a positive int, got {num_hidden!r}")
    if num_hidden < 1:
        raise ValueError(f"{cls}: num_hidden must be a positive int, got {num_hidden}")
    return int(num_hidden)


def _time_axis(layout) -> int:
    if not isinstance(layout, str) or "T" not in layout:
        raise ValueError(
            f"layout must be a string with a time axis 'T' such as 'NTC' or 'TNC', got {layout!r}"
        )
    return layout.find("T")


def _as_sequence(length, inputs, layout, merge):
    """Bring ``inputs`` to the form a cell needs: a list of ``length`` step symbols when ``merge``
    is False, one symbol with the time axis of ``layout`` when ``merge`` is True, and as given
    when ``merge`` is None.  Returns ``(inputs, time_axis)``."""
    if inputs is None:
        raise ValueError(
            "unroll needs inputs: a Symbol of shape (batch, length, ...) for layout 'NTC' / "
            "(length, batch, ...) for 'TNC', or a list of `length` step Symbols; create the "
            "input variables outside unroll (unroll(inputs=None) was removed in MXNet 1.x)"
        )
    axis = _time_axis(layout)
    if isinstance(inputs, symbol.Symbol):
        if merge is False:
            if len(inputs.list_outputs()) != 1:
                raise ValueError(
                    "unroll does not take a grouped Symbol as inputs: pass list(inputs) or one "
                    f"Symbol to split along the time axis, got {len(inputs.list_outputs())} outputs"
                )
            inputs = list(symbol.split(inputs, axis=axis, num_outputs=length, squeeze_axis=1))
        return inputs, axis
    inputs = list(inputs)
    if length is not None and len(inputs) != length:
        raise ValueError(f"unroll(length={length}) got a list of {len(inputs)} input symbols")
    if merge is True:
        inputs = symbol.Concat(*[symbol.expand_dims(x, axis=axis) for x in inputs], dim=axis)
    return inputs, axis


# the step nodes MXNet 1.9.1's mx.rnn cells name (the others get automatic names)
_RNN_NODES = frozenset(("i2h", "h2h"))
_LSTM_NODES = frozenset(("i2h", "h2h", "slice", "i", "f", "c", "o"))
_GRU_NODES = frozenset(("i2h", "h2h", "i2h_slice", "h2h_slice", "r_act", "z_act", "h_act"))


def _namer(step, nodes, inner=""):
    """The ``name(key)`` of :mod:`._steps` for step prefix ``step``: ``out`` and ``state`` are
    ``<step>out`` / ``<step>state``, the ``nodes`` ``<step><inner><key>``, others automatic."""

    def name(key):
        if key in ("out", "state"):
            return step + key
        return step + inner + key if key in nodes else None

    return name


def _sym_act(act_type):
    return lambda x, name: symbol.Activation(x, act_type=act_type, name=name)


def _flat_state_info(cells):
    return [info for cell in cells for info in cell.state_info]


class RNNParams:
    """A container of weight variables, keyed by ``prefix + name``; cells built on the same
    container share their weights.

    ``get(name, **kwargs)`` returns the existing variable or creates ``mx.sym.Variable(prefix +
    name, **kwargs)``; the keyword arguments (``init``, ``shape``, ...) only apply on creation.
    """

    def __init__(self, prefix=""):
        self._prefix = prefix
        self._params = {}

    def get(self, name, **kwargs):
        """The variable ``prefix + name``, created with ``kwargs`` if it does not exist yet."""
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = symbol.Variable(name, **kwargs)
        return self._params[name]


class BaseRNNCell:
    """The cell contract: ``cell(inputs, states) -> (output, new_states)`` for one step.

    Subclasses define ``state_info`` (one dict per state such as
    ``{'shape': (0, num_hidden), '__layout__': 'NC'}``, 0 standing for the batch size that shape
    inference fills in), ``_gate_names`` and ``__call__``.  The counters behind the ``t0_``,
    ``t1_`` names and the ``begin_state_0`` numbering restart at :meth:`reset` (which ``unroll``
    calls).

    Parameters
    ----------
    prefix : str
        Prefix of the names of this cell's operators and (when ``params`` is None) weights.
    params : RNNParams or None
        Container to take weights from, for sharing them with other cells; a new one with
        ``prefix`` when None.
    """

    def __init__(self, prefix="", params=None):
        if params is None:
            params = RNNParams(prefix)
            self._own_params = True
        else:
            if not isinstance(params, RNNParams):
                raise TypeError(
                    f"{type(self).__name__}: params must be an RNNParams or None, got "
                    f"{type(params).__name__}"
                )
            self._own_params = False
        self._prefix = prefix
        self._params = params
        self._modified = False
        self.reset()

    def reset(self):
        """Restart the step and begin-state counters (and those of child cells) before building
        another graph with this cell."""
        self._init_counter = -1
        self._counter = -1
        for cell in getattr(self, "_cells", ()):
            cell.reset()

    def __call__(self, inputs, states):
        """One step: ``(output, new_states)`` from the step input and the previous states."""
        raise NotImplementedError(f"{type(self).__name__} does not define a step")

    def _fc_params(self, i2h_bias_init=None) -> None:
        """The weights and biases of a cell made of two FullyConnected layers (input to hidden,
        hidden to hidden), created in MXNet's order."""
        self._iW = self.params.get("i2h_weight")
        if i2h_bias_init is None:
            self._iB = self.params.get("i2h_bias")
            self._hW = self.params.get("h2h_weight")
        else:  # (LSTMCell: MXNet creates h2h_weight before the initialised i2h_bias)
            self._hW = self.params.get("h2h_weight")
            self._iB = self.params.get("i2h_bias", init=i2h_bias_init)
        self._hB = self.params.get("h2h_bias")

    def _weights(self):
        return self._iW, self._iB, self._hW, self._hB

    def _step_name(self) -> str:
        """Count one more step and return its name prefix, ``<prefix>t<step>_``."""
        self._counter += 1
        return f"{self._prefix}t{self._counter}_"

    @property
    def params(self):
        """This cell's :class:`RNNParams`.  As in MXNet 1.9.1, reading it marks the parameters as
        no longer the cell's own (a container given to SequentialRNNCell / BidirectionalCell
        can then no longer replace them)."""
        self._own_params = False
        return self._params

    @property
    def state_info(self):
        """A list with one dict (``shape``, ``__layout__``) per state symbol."""
        raise NotImplementedError(f"{type(self).__name__} does not define state_info")

    @property
    def state_shape(self):
        """The ``shape`` entries of :attr:`state_info`."""
        return [info["shape"] for info in self.state_info]

    @property
    def _gate_names(self):
        return ()

    def begin_state(self, func=symbol.zeros, **kwargs):
        """The initial states, one symbol per :attr:`state_info` entry.

        ``func`` creates each one (``mx.sym.zeros`` by default; ``mx.sym.Variable`` to feed the
        states as inputs; ``mx.sym.uniform`` ...), called with ``name='<prefix>begin_state_<k>'``,
        the entry's ``shape`` / ``__layout__`` and ``kwargs``.
        """
        if self._modified:
            raise ValueError(
                f"{type(self).__name__} is wrapped in a modifier cell (ZoneoutCell, "
                "ResidualCell, ...): call begin_state / unroll on the modifier cell instead"
            )
        states = []
        for info in self.state_info:
            self._init_counter += 1
            if info is not None:
                kwargs.update(info)
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}", **kwargs))
        return states

    def unpack_weights(self, args):
        """A copy of ``args`` (name -> NDArray) with this cell's stacked ``i2h`` / ``h2h``
        weights and biases split into one entry per gate (``<prefix>i2h_f_weight`` ...)."""
        args = dict(args)
        gates = self._gate_names
        if not gates:
            return args
        h = self._num_hidden
        for group in ("i2h", "h2h"):
            weight = _pop_param(args, f"{self._prefix}{group}_weight", self)
            bias = _pop_param(args, f"{self._prefix}{group}_bias", self)
            for stacked, kind in ((weight, "weight"), (bias, "bias")):
                if stacked.shape[0] != h * len(gates):
                    raise ValueError(
                        f"{self._prefix}{group}_{kind} has {stacked.shape[0]} rows, expected "
                        f"{len(gates)} gates x num_hidden {h} = {h * len(gates)}"
                    )
            for j, gate in enumerate(gates):
                args[f"{self._prefix}{group}{gate}_weight"] = weight[j * h:(j + 1) * h].copy()
                args[f"{self._prefix}{group}{gate}_bias"] = bias[j * h:(j + 1) * h].copy()
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`: per-gate entries joined into the stacked
        ``<prefix>i2h_weight`` ... that the cell's graph uses."""
        args = dict(args)
        gates = self._gate_names
        if not gates:
            return args
        for group in ("i2h", "h2h"):
            for kind in ("weight", "bias"):
                parts = [_pop_param(args, f"{self._prefix}{group}{gate}_{kind}", self)
                         for gate in gates]
                args[f"{self._prefix}{group}_{kind}"] = ndarray.concatenate(parts)
        return args

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Chain ``length`` steps of the cell.

        Parameters
        ----------
        length : int
            Number of time steps.
        inputs : Symbol or list of Symbol
            One Symbol of shape ``(batch, length, ...)`` for ``layout='NTC'`` or
            ``(length, batch, ...)`` for ``'TNC'`` (split along the time axis), or a list of
            ``length`` step Symbols of shape ``(batch, ...)``.
        begin_state : list of Symbol, optional
            Initial states; :meth:`begin_state` when None.
        layout : str
            Where the time axis ``T`` is in ``inputs`` and in merged outputs.
        merge_outputs : bool or None
            True: one Symbol with the time axis of ``layout``; False: a list of step outputs;
            None: whichever the cell produces naturally.

        Returns
        -------
        ``(outputs, states)``: the outputs and the states after the last step.
        """
        self.reset()
        inputs, _ = _as_sequence(length, inputs, layout, False)
        states = self.begin_state() if begin_state is None else begin_state
        outputs = []
        for step in range(length):
            output, states = self(inputs[step], states)
            outputs.append(output)
        outputs, _ = _as_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, inputs, activation, **kwargs):
        """``Activation(act_type=activation)`` for a name, else ``activation(inputs, **kwargs)``."""
        if isinstance(activation, str):
            return symbol.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)


def _pop_param(args, name, cell):
    if name not in args:
        raise KeyError(
            f"{type(cell).__name__}(prefix={cell._prefix!r}): no parameter {name!r} among "
            f"{sorted(args)}"
        )
    return args.pop(name)


class RNNCell(BaseRNNCell):
    """Elman cell: ``h_t = activation(W_i x_t + b_i + W_h h_{t-1} + b_h)``.

    Parameters: ``num_hidden``; ``activation`` ('tanh', 'relu', ... or a callable taking
    ``(symbol, name=...)``); ``prefix`` (default ``'rnn_'``); ``params``.
    Weights ``<prefix>i2h_weight`` ``(num_hidden, input)``, ``i2h_bias``, ``h2h_weight``
    ``(num_hidden, num_hidden)``, ``h2h_bias``; step ``t`` outputs ``<prefix>t<t>_out``.
    """

    def __init__(self, num_hidden, activation="tanh", prefix="rnn_", params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_hidden(type(self).__name__, num_hidden)
        self._activation = activation
        self._fc_params()

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self):
        return ("",)

    def __call__(self, inputs, states):
        name = _namer(self._step_name(), _RNN_NODES)
        output = _steps.rnn_step(
            symbol, inputs, states[0], self._weights(), self._num_hidden, name,
            lambda x, node: self._get_activation(x, self._activation, name=node))
        return output, [output]


class LSTMCell(BaseRNNCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber, 1997), without peepholes.

    With ``[i, f, c~, o] = W_i x_t + b_i + W_h h_{t-1} + b_h`` split in four:
    ``c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(c~)``, ``h_t = sigmoid(o) * tanh(c_t)``.
    States ``[h, c]``.  ``<prefix>i2h_bias`` carries ``mx.init.LSTMBias(forget_bias)`` as its
    ``__init__`` attribute, so initialization sets the forget-gate slice to ``forget_bias``
    (default 1.0) and the rest to 0.  Default prefix ``'lstm_'``.
    """

    def __init__(self, num_hidden, prefix="lstm_", params=None, forget_bias=1.0):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_hidden(type(self).__name__, num_hidden)
        self._fc_params(init.LSTMBias(forget_bias=forget_bias))

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"},
                {"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self):
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs, states):
        name = _namer(self._step_name(), _LSTM_NODES)
        next_h, next_c = _steps.lstm_step(
            symbol, inputs, states[0], states[1], self._weights(), self._num_hidden, name,
            _sym_act("sigmoid"), _sym_act("tanh"), _sym_act("tanh"))
        return next_h, [next_h, next_c]


class GRUCell(BaseRNNCell):
    """Gated recurrent unit (Cho et al., 2014) in MXNet's form, the reset gate applied after
    the hidden-to-hidden product:

    ``r = sigmoid(Wi_r x + bi_r + Wh_r h + bh_r)``, ``z = sigmoid(Wi_z x + bi_z + Wh_z h + bh_z)``,
    ``h~ = tanh(Wi_o x + bi_o + r * (Wh_o h + bh_o))``, ``h_t = (1 - z) * h~ + z * h_{t-1}``.
    Default prefix ``'gru_'``.
    """

    def __init__(self, num_hidden, prefix="gru_", params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_hidden(type(self).__name__, num_hidden)
        self._fc_params()

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self):
        return ["_r", "_z", "_o"]

    def __call__(self, inputs, states):
        # MXNet 1.9.1 names this cell's nodes <prefix>t<k>__i2h, ... (one more underscore)
        name = _namer(self._step_name(), _GRU_NODES, inner="_")
        next_h = _steps.gru_step(symbol, inputs, states[0], self._weights(), self._num_hidden,
                                 name)
        return next_h, [next_h]


class FusedRNNCell(BaseRNNCell):
    """Several layers of one recurrent cell type run by the fused ``RNN`` operator.

    Parameters
    ----------
    num_hidden : int
    num_layers : int, default 1
    mode : {'lstm', 'gru', 'rnn_tanh', 'rnn_relu'}
    bidirectional : bool, default False
    dropout : float, default 0
        Dropout between layers (not after the last).
    get_next_state : bool, default False
        Return the final states from :meth:`unroll` (an empty list otherwise).
    forget_bias : float, default 1.0
        Forget-gate biases of ``lstm`` mode, through ``mx.init.FusedRNN``.
    prefix : str, default ``'<mode>_'``
    params : RNNParams or None

    Notes
    -----
    All weights live in one packed vector ``<prefix>parameters`` in the layout
    ``mx.init.FusedRNN`` writes (see :func:`mxlite.initializer.fused_rnn_layout`):
    :meth:`unpack_weights` turns it into ``<prefix>l0_i2h_i_weight``-style entries,
    the names the cells of :meth:`unfuse` use after their own ``unpack_weights``.
    The cell cannot be stepped; only :meth:`unroll` builds a graph.
    """

    def __init__(self, num_hidden, num_layers=1, mode="lstm", bidirectional=False, dropout=0.0,
                 get_next_state=False, forget_bias=1.0, prefix=None, params=None):
        if mode not in _FUSED_GATES:
            raise ValueError(
                f"FusedRNNCell: mode must be one of {sorted(_FUSED_GATES)}, got {mode!r}"
            )
        if prefix is None:
            prefix = f"{mode}_"
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = _check_hidden("FusedRNNCell", num_hidden)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"FusedRNNCell: num_layers must be a positive int, got {num_layers!r}")
        if not isinstance(dropout, numeric_types) or not 0 <= dropout < 1:
            raise ValueError(f"FusedRNNCell: dropout must be a number in [0, 1), got {dropout!r}")
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bool(bidirectional)
        self._dropout = dropout
        self._get_next_state = get_next_state
        self._directions = ["l", "r"] if self._bidirectional else ["l"]
        initializer = init.FusedRNN(None, num_hidden, num_layers, mode, self._bidirectional,
                                    forget_bias)
        self._parameter = self.params.get("parameters", init=initializer)

    @property
    def state_info(self):
        rows = len(self._directions) * self._num_layers
        count = 2 if self._mode == "lstm" else 1
        return [{"shape": (rows, 0, self._num_hidden), "__layout__": "LNC"}
                for _ in range(count)]

    @property
    def _gate_names(self):
        return list(_FUSED_GATES[self._mode])

    def _layout(self, size):
        """``(num_input, [(unprefixed name, start, stop, shape)])`` of a packed vector."""
        return init.fused_rnn_layout(size, self._num_hidden, self._num_layers, self._mode,
                                     self._bidirectional, self._parameter.name)

    def unpack_weights(self, args):
        """A copy of ``args`` with ``<prefix>parameters`` replaced by one entry per layer,
        direction, group and gate: ``<prefix>l0_i2h_i_weight`` ``(H, input)``,
        ``<prefix>r1_h2h_o_bias`` ``(H,)`` ..."""
        args = dict(args)
        arr = _pop_param(args, self._parameter.name, self)
        flat = arr.reshape((-1,))
        _, slices = self._layout(flat.size)
        for name, start, stop, shape in slices:
            args[self._prefix + name] = flat[start:stop].reshape(shape).copy()
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`: per-gate entries written into a new packed
        ``<prefix>parameters`` vector (dtype and context of ``<prefix>l0_i2h<gate>_weight``)."""
        args = dict(args)
        first = f"{self._prefix}l0_i2h{self._gate_names[0]}_weight"
        w0 = args.get(first)
        if w0 is None:
            raise KeyError(f"FusedRNNCell(prefix={self._prefix!r}): no parameter {first!r} "
                           f"among {sorted(args)}")
        num_input = w0.shape[1]
        h, d, m = self._num_hidden, len(self._directions), len(self._gate_names)
        total = ((num_input + h + 2) * h * m * d
                 + (self._num_layers - 1) * m * h * (h + d * h + 2) * d)
        packed = ndarray.zeros((total,), ctx=w0.context, dtype=w0.dtype)
        _, slices = self._layout(total)
        for name, start, stop, shape in slices:
            part = _pop_param(args, self._prefix + name, self)
            if tuple(part.shape) != tuple(shape):
                raise ValueError(f"{self._prefix + name} has shape {tuple(part.shape)}, "
                                 f"expected {tuple(shape)}")
            packed[start:stop] = part.reshape((-1,))
        args[self._parameter.name] = packed
        return args

    def __call__(self, inputs, states):
        raise NotImplementedError(
            "FusedRNNCell cannot be stepped (as in MXNet): use unroll, or unfuse() for cells "
            "that can"
        )

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Unroll through one ``RNN`` operator named ``<prefix>rnn``; the data is brought to
        time-major order for it (``'NTC'`` inputs are swapped, with a warning as MXNet's)."""
        self.reset()
        inputs, axis = _as_sequence(length, inputs, layout, True)
        if axis == 1:
            warnings.warn("NTC layout detected. Consider using TNC for FusedRNNCell for faster "
                          "speed", stacklevel=2)
            inputs = symbol.swapaxes(inputs, dim1=0, dim2=1)
        elif axis != 0:
            raise ValueError(f"FusedRNNCell.unroll: layout {layout!r} is not supported; the "
                             "time axis must be first ('TNC') or second ('NTC')")
        states = self.begin_state() if begin_state is None else begin_state
        state_args = {"state": states[0]}
        if self._mode == "lstm":
            state_args["state_cell"] = states[1]
        rnn = symbol.RNN(data=inputs, parameters=self._parameter, state_size=self._num_hidden,
                         num_layers=self._num_layers, bidirectional=self._bidirectional,
                         p=self._dropout, state_outputs=self._get_next_state, mode=self._mode,
                         name=self._prefix + "rnn", **state_args)
        if not self._get_next_state:
            outputs, states = rnn, []
        else:
            count = 2 if self._mode == "lstm" else 1
            states = [rnn[k] for k in range(1, count + 1)]
            for state in states:
                state._set_attr(__layout__="LNC")
            outputs = rnn[0]
        if axis == 1:
            outputs = symbol.swapaxes(outputs, dim1=0, dim2=1)
        outputs, _ = _as_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def unfuse(self):
        """The same network as a :class:`SequentialRNNCell` of plain cells (names
        ``<prefix>l<k>_`` / ``<prefix>r<k>_``, bidirectional layers as :class:`BidirectionalCell`
        with output prefix ``<prefix>bi_l<k>_``, :class:`DropoutCell` between layers when
        ``dropout > 0``); after ``unpack_weights`` both take the same parameters."""
        h = self._num_hidden
        makers = {
            "rnn_relu": lambda p: RNNCell(h, activation="relu", prefix=p),
            "rnn_tanh": lambda p: RNNCell(h, activation="tanh", prefix=p),
            "lstm": lambda p: LSTMCell(h, prefix=p),
            "gru": lambda p: GRUCell(h, prefix=p),
        }
        make = makers[self._mode]
        stack = SequentialRNNCell()
        for layer in range(self._num_layers):
            if self._bidirectional:
                stack.add(BidirectionalCell(make(f"{self._prefix}l{layer}_"),
                                            make(f"{self._prefix}r{layer}_"),
                                            output_prefix=f"{self._prefix}bi_l{layer}_"))
            else:
                stack.add(make(f"{self._prefix}l{layer}_"))
            if self._dropout > 0 and layer != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout, prefix=f"{self._prefix}_dropout{layer}_"))
        return stack


def _take_params(owner, cells, what):
    """The sharing rule of SequentialRNNCell / BidirectionalCell with ``params`` given."""
    for cell in cells:
        if owner._override_cell_params:
            if not cell._own_params:
                raise ValueError(
                    f"Either specify params for {what} or child cells, not both: "
                    f"{type(cell).__name__}(prefix={cell._prefix!r}) already has its own "
                    "parameters in use"
                )
            cell.params._params.update(owner.params._params)
        owner.params._params.update(cell.params._params)


class SequentialRNNCell(BaseRNNCell):
    """A stack of cells, each step feeding one cell's output to the next.

    ``params``: an :class:`RNNParams` whose variables replace those of the added cells (which
    must not have had their ``params`` read yet).  States are the concatenation of the
    children's states.  Unrolling unrolls each child over the whole sequence in turn.
    """

    def __init__(self, params=None):
        super().__init__(prefix="", params=params)
        self._override_cell_params = params is not None
        self._cells = []

    def add(self, cell):
        """Append ``cell`` on top of the stack."""
        if not isinstance(cell, BaseRNNCell):
            raise TypeError(f"SequentialRNNCell.add takes an RNN cell, got {type(cell).__name__}")
        self._cells.append(cell)
        _take_params(self, [cell], "SequentialRNNCell")

    @property
    def state_info(self):
        return _flat_state_info(self._cells)

    def begin_state(self, **kwargs):
        if self._modified:
            raise ValueError(
                "SequentialRNNCell is wrapped in a modifier cell: call begin_state / unroll on "
                "the modifier cell instead"
            )
        return [s for cell in self._cells for s in cell.begin_state(**kwargs)]

    def unpack_weights(self, args):
        for cell in self._cells:
            args = cell.unpack_weights(args)
        return args

    def pack_weights(self, args):
        for cell in self._cells:
            args = cell.pack_weights(args)
        return args

    def __call__(self, inputs, states):
        self._counter += 1
        next_states = []
        p = 0
        for cell in self._cells:
            if isinstance(cell, BidirectionalCell):
                raise ValueError("a SequentialRNNCell holding a BidirectionalCell cannot be "
                                 "stepped: use unroll")
            n = len(cell.state_info)
            inputs, state = cell(inputs, states[p:p + n])
            p += n
            next_states.extend(state)
        return inputs, next_states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        if begin_state is None:
            begin_state = self.begin_state()
        p = 0
        next_states = []
        last = len(self._cells) - 1
        for i, cell in enumerate(self._cells):
            n = len(cell.state_info)
            inputs, states = cell.unroll(length, inputs=inputs, begin_state=begin_state[p:p + n],
                                         layout=layout,
                                         merge_outputs=merge_outputs if i == last else None)
            p += n
            next_states.extend(states)
        return inputs, next_states


class DropoutCell(BaseRNNCell):
    """``Dropout(p=dropout)`` on the input of each step; no states, no weights."""

    def __init__(self, dropout, prefix="dropout_", params=None):
        super().__init__(prefix, params)
        if isinstance(dropout, bool) or not isinstance(dropout, numeric_types):
            raise TypeError(f"DropoutCell: dropout probability must be a number, got {dropout!r}")
        self.dropout = dropout

    @property
    def state_info(self):
        return []

    def __call__(self, inputs, states):
        if self.dropout > 0:
            inputs = symbol.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """One Dropout over the whole sequence when it arrives (or is to leave) merged."""
        self.reset()
        inputs, _ = _as_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, symbol.Symbol):
            return self(inputs, [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs)


class ModifierCell(BaseRNNCell):
    """Base of cells that wrap another cell and change its behaviour (:class:`ZoneoutCell`,
    :class:`ResidualCell`).  The wrapped cell's parameters and states are the modifier's; the
    wrapped cell itself then refuses ``begin_state`` (call the modifier)."""

    def __init__(self, base_cell):
        if not isinstance(base_cell, BaseRNNCell):
            raise TypeError(
                f"{type(self).__name__}: base_cell must be an RNN cell, got "
                f"{type(base_cell).__name__}"
            )
        super().__init__()
        base_cell._modified = True
        self.base_cell = base_cell

    @property
    def params(self):
        self._own_params = False
        return self.base_cell.params

    @property
    def state_info(self):
        return self.base_cell.state_info

    def begin_state(self, init_sym=symbol.zeros, **kwargs):
        """The wrapped cell's initial states, each made by ``init_sym``.

        (MXNet 1.9.1 passes ``init_sym`` positionally, which fails for a wrapped
        SequentialRNNCell or BidirectionalCell; here it goes by keyword and works for all.)"""
        if self._modified:
            raise ValueError(f"{type(self).__name__} is wrapped in another modifier cell: call "
                             "begin_state / unroll on the outer one")
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(func=init_sym, **kwargs)
        finally:
            self.base_cell._modified = True

    def unpack_weights(self, args):
        return self.base_cell.unpack_weights(args)

    def pack_weights(self, args):
        return self.base_cell.pack_weights(args)

    def __call__(self, inputs, states):
        raise NotImplementedError(f"{type(self).__name__} does not define a step")


def _has_bidirectional(cell) -> bool:
    if isinstance(cell, BidirectionalCell):
        return True
    if isinstance(cell, ModifierCell):
        return _has_bidirectional(cell.base_cell)
    return any(_has_bidirectional(c) for c in getattr(cell, "_cells", ()))


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al., 2016): in training, each output / state unit keeps its previous
    value with probability ``zoneout_outputs`` / ``zoneout_states`` instead of taking the new
    one; at inference the wrapped cell's values pass unchanged.

    The masks are ``Dropout(ones_like(x), p)`` (nonzero where the new value is taken).  The
    wrapped cell must be steppable: not a FusedRNNCell (unfuse it first) and no
    BidirectionalCell inside.  (MXNet 1.9.1 fails with an AttributeError on any
    SequentialRNNCell here; a stack without a BidirectionalCell works.)
    """

    def __init__(self, base_cell, zoneout_outputs=0.0, zoneout_states=0.0):
        if isinstance(base_cell, FusedRNNCell):
            raise ValueError("FusedRNNCell doesn't support zoneout. Please unfuse first.")
        if _has_bidirectional(base_cell):
            raise ValueError(
                "BidirectionalCell doesn't support zoneout since it doesn't support step. "
                "Please add ZoneoutCell to the cells underneath instead."
            )
        for name, p in (("zoneout_outputs", zoneout_outputs), ("zoneout_states", zoneout_states)):
            if not isinstance(p, numeric_types) or not 0 <= p < 1:
                raise ValueError(f"ZoneoutCell: {name} must be a number in [0, 1), got {p!r}")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self.prev_output = None

    def reset(self):
        super().reset()
        self.prev_output = None

    def __call__(self, inputs, states):
        next_output, next_states = self.base_cell(inputs, states)

        def keep_new(p, like):
            return symbol.Dropout(symbol.ones_like(like), p=p)

        prev_output = self.prev_output if self.prev_output is not None else symbol.zeros((0, 0))
        output = next_output
        if self.zoneout_outputs != 0.0:
            output = symbol.where(keep_new(self.zoneout_outputs, next_output), next_output,
                                  prev_output)
        if self.zoneout_states != 0.0:
            next_states = [symbol.where(keep_new(self.zoneout_states, new), new, old)
                           for new, old in zip(next_states, states, strict=True)]
        self.prev_output = output
        return output, next_states


class ResidualCell(ModifierCell):
    """Adds each step's input to the wrapped cell's output (He et al., 2016): outputs
    ``<output name>_plus_residual``; input and output sizes must agree."""

    def __call__(self, inputs, states):
        output, states = self.base_cell(inputs, states)
        output = symbol.elemwise_add(output, inputs, name=f"{output.name}_plus_residual")
        return output, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs,
                                                    begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs)
        finally:
            self.base_cell._modified = True
        if merge_outputs is None:
            merge_outputs = isinstance(outputs, symbol.Symbol)
        inputs, _ = _as_sequence(length, inputs, layout, merge_outputs)
        if merge_outputs:
            outputs = symbol.elemwise_add(outputs, inputs, name=f"{outputs.name}_plus_residual")
        else:
            outputs = [symbol.elemwise_add(o, x, name=f"{o.name}_plus_residual")
                       for o, x in zip(outputs, inputs, strict=True)]
        return outputs, states


class BidirectionalCell(BaseRNNCell):
    """Runs ``l_cell`` forward and ``r_cell`` backward in time and concatenates their outputs
    along the feature axis (``<output_prefix>t<k>`` per step or ``<output_prefix>out`` merged).

    ``unroll`` returns the states as ``[l_states, r_states]`` (a nested list, as MXNet 1.9.1).
    The cell cannot be stepped.
    """

    def __init__(self, l_cell, r_cell, params=None, output_prefix="bi_"):
        super().__init__("", params=params)
        for name, cell in (("l_cell", l_cell), ("r_cell", r_cell)):
            if not isinstance(cell, BaseRNNCell):
                raise TypeError(f"BidirectionalCell: {name} must be an RNN cell, got "
                                f"{type(cell).__name__}")
        self._output_prefix = output_prefix
        self._override_cell_params = params is not None
        _take_params(self, [l_cell, r_cell], "BidirectionalCell")
        self._cells = [l_cell, r_cell]

    def unpack_weights(self, args):
        for cell in self._cells:
            args = cell.unpack_weights(args)
        return args

    def pack_weights(self, args):
        for cell in self._cells:
            args = cell.pack_weights(args)
        return args

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    @property
    def state_info(self):
        return _flat_state_info(self._cells)

    def begin_state(self, **kwargs):
        if self._modified:
            raise ValueError("BidirectionalCell is wrapped in a modifier cell: call "
                             "begin_state / unroll on the modifier cell instead")
        return [s for cell in self._cells for s in cell.begin_state(**kwargs)]

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, axis = _as_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state()
        l_cell, r_cell = self._cells
        n_left = len(l_cell.state_info)
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs,
                                            begin_state=begin_state[:n_left], layout=layout,
                                            merge_outputs=merge_outputs)
        r_outputs, r_states = r_cell.unroll(length, inputs=list(reversed(inputs)),
                                            begin_state=begin_state[n_left:], layout=layout,
                                            merge_outputs=merge_outputs)
        if merge_outputs is None:
            merge_outputs = (isinstance(l_outputs, symbol.Symbol)
                             and isinstance(r_outputs, symbol.Symbol))
            if not merge_outputs:
                if isinstance(l_outputs, symbol.Symbol):
                    l_outputs = list(symbol.SliceChannel(l_outputs, axis=axis, num_outputs=length,
                                                         squeeze_axis=1))
                if isinstance(r_outputs, symbol.Symbol):
                    r_outputs = list(symbol.SliceChannel(r_outputs, axis=axis, num_outputs=length,
                                                         squeeze_axis=1))
        if merge_outputs:
            outputs = symbol.Concat(l_outputs, symbol.reverse(r_outputs, axis=axis), dim=2,
                                    name=f"{self._output_prefix}out")
        else:
            outputs = [symbol.Concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                       for i, (lo, ro) in enumerate(zip(l_outputs, reversed(r_outputs),
                                                        strict=True))]
        return outputs, [l_states, r_states]
