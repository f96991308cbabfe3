"""Gluon's recurrent cells (MXNet 1.9.1's ``mx.gluon.rnn.*Cell``): one time step as a Block,
and :meth:`RecurrentCell.unroll` to run it over a sequence.

A cell is called on one step, ``output, new_states = cell(x_t, states)`` with ``x_t`` of shape
``(batch, features)`` and ``states`` a list (see :meth:`RecurrentCell.state_info`), on NDArrays
or Symbols; :meth:`RecurrentCell.unroll` chains ``length`` steps over a ``'NTC'`` / ``'TNC'``
tensor or a list of step inputs, optionally with per-sequence ``valid_length``.  The step math
of :class:`RNNCell`, :class:`LSTMCell` and :class:`GRUCell` is that of ``mx.rnn``'s cells
(:mod:`mxlite.rnn._steps`); their parameters are ``i2h_weight`` ``(G*H, input_size)``,
``h2h_weight`` ``(G*H, H)``, ``i2h_bias`` and ``h2h_bias`` ``(G*H,)`` (``G`` gates stacked on the
rows: LSTM ``i, f, c, o``, GRU ``r, z, n``), named ``<prefix>i2h_weight`` ... as in MXNet
(default prefixes ``rnn0_``, ``lstm0_``, ``gru0_``), with ``input_size=0`` deferring the input
width to the first call.  Graph nodes carry MXNet's names (``<prefix>t<step>_out``), so
``hybridize()`` + ``export`` write the graph MXNet writes.

>>> import mxlite as mx
>>> cell = mx.gluon.rnn.LSTMCell(4)
>>> cell.initialize()
>>> out, states = cell.unroll(3, mx.nd.ones((2, 3, 5)), layout="NTC", merge_outputs=True)
>>> out.shape, [s.shape for s in states]
((2, 3, 4), [(2, 4), (2, 4)])
"""

from __future__ import annotations

from ... import ndarray, symbol
from ...base import integer_types, numeric_types
from ...ndarray import NDArray
from ...rnn import _steps
from ...symbol import Symbol
from ..block import Block, HybridBlock, _indent

__all__ = [
    "BidirectionalCell", "DropoutCell", "GRUCell", "HybridRecurrentCell",
    "HybridSequentialRNNCell", "LSTMCell", "ModifierCell", "RNNCell", "RecurrentCell",
    "ResidualCell", "SequentialRNNCell", "ZoneoutCell",
]

_TENSORS = (NDArray, Symbol)


# ------------------------------------------------------------------ sequence helpers
def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _split(F, x, axis, length):
    parts = F.split(x, axis=axis, num_outputs=length, squeeze_axis=True)
    if isinstance(parts, Symbol):
        return list(parts) if len(parts.list_outputs()) > 1 else [parts]
    return _as_list(parts)


def _check_layout(layout):
    if not isinstance(layout, str) or sorted(layout) != ["C", "N", "T"]:
        raise ValueError(f"layout must be 'NTC' or 'TNC' (a permutation of N, T, C), got "
                         f"{layout!r}")
    return layout.find("T"), layout.find("N")


def _format_sequence(length, inputs, layout, merge, in_layout=None):
    """Bring ``inputs`` to the form a cell needs and return ``(inputs, time_axis, F,
    batch_size)``: a list of ``length`` steps when ``merge`` is False, one tensor with the time
    axis of ``layout`` when True, as given when None.  ``batch_size`` is 0 for Symbols."""
    if inputs is None:
        raise ValueError("unroll needs inputs: create the input variables outside unroll "
                         "(unroll(inputs=None) was removed in MXNet 1.x)")
    axis, batch_axis = _check_layout(layout)
    in_axis = _check_layout(in_layout)[0] if in_layout is not None else axis
    batch_size = 0
    if isinstance(inputs, Symbol):
        F = symbol
        if merge is False:
            if len(inputs.list_outputs()) != 1:
                raise ValueError("unroll does not take a grouped Symbol as inputs: pass "
                                 "list(inputs), or one Symbol to split along the time axis")
            inputs = _split(symbol, inputs, in_axis, length)
    elif isinstance(inputs, NDArray):
        F = ndarray
        batch_size = inputs.shape[batch_axis]
        if merge is False:
            steps = inputs.shape[in_axis]
            if length is not None and length != steps:
                raise ValueError(f"unroll(length={length}) got inputs of shape "
                                 f"{tuple(inputs.shape)} with {steps} steps on the time axis "
                                 f"of layout {layout!r}")
            inputs = _split(ndarray, inputs, in_axis, steps)
    else:
        if not isinstance(inputs, (list, tuple)) or not inputs \
                or not all(isinstance(x, _TENSORS) for x in inputs):
            raise TypeError(f"inputs must be an NDArray, a Symbol or a non-empty list of them, "
                            f"got {type(inputs).__name__}")
        if length is not None and len(inputs) != length:
            raise ValueError(f"unroll(length={length}) got a list of {len(inputs)} inputs")
        if isinstance(inputs[0], Symbol):
            F = symbol
        else:
            F = ndarray
            batch_size = inputs[0].shape[0]
        inputs = list(inputs)
        if merge is True:
            inputs = F.stack(*inputs, axis=axis)
            in_axis = axis
    if isinstance(inputs, _TENSORS) and axis != in_axis:
        inputs = F.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis, F, batch_size


def _get_begin_state(cell, F, begin_state, inputs, batch_size):
    """The given states, or zeros from ``cell.begin_state`` (on the inputs' context and, for
    NDArrays, in their dtype: MXNet 1.9.1 makes float32 zeros, which a float64 cell cannot
    add to its float64 products)."""
    if begin_state is not None:
        return begin_state
    if F is ndarray:
        first = inputs if isinstance(inputs, NDArray) else inputs[0]
        return cell.begin_state(func=ndarray.zeros, batch_size=batch_size, ctx=first.context,
                                dtype=first.dtype)
    return cell.begin_state(func=symbol.zeros, batch_size=batch_size)


def _mask_sequence_variable_length(F, data, length, valid_length, time_axis, merge):
    """Zero the steps at and after each sequence's ``valid_length``."""
    if not isinstance(data, _TENSORS):
        data = F.stack(*data, axis=time_axis)
    outputs = F.SequenceMask(data, sequence_length=valid_length, use_sequence_length=True,
                             axis=time_axis)
    return outputs if merge else _split(F, outputs, time_axis, length)


def _reverse_sequences(sequences, length, valid_length=None):
    """The list of steps reversed in time; with ``valid_length`` only each sequence's valid
    steps are reversed (the padding stays at the end)."""
    if valid_length is None:
        return list(reversed(sequences))
    F = symbol if isinstance(sequences[0], Symbol) else ndarray
    flipped = F.SequenceReverse(F.stack(*sequences, axis=0), sequence_length=valid_length,
                                use_sequence_length=True)
    return _split(F, flipped, 0, length)


def _cells_state_info(cells, batch_size):
    return [info for cell in cells for info in cell.state_info(batch_size)]


def _cells_begin_state(cells, **kwargs):
    return [state for cell in cells for state in cell.begin_state(**kwargs)]


def _check_size(cls, name, value):
    if isinstance(value, bool) or not isinstance(value, integer_types) or value < 0 \
            or (name == "hidden_size" and value == 0):
        want = "a positive int" if name == "hidden_size" else "an int >= 0 (0: deferred)"
        raise ValueError(f"{cls}: {name} must be {want}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------------ the bases
class RecurrentCell(Block):
    """Base of the recurrent cells: ``cell(inputs, states) -> (output, new_states)`` for one
    step, :meth:`unroll` for a sequence.

    Subclasses define :meth:`state_info` and the step (``hybrid_forward`` or ``forward``).
    The counters behind the ``t<k>_`` node names and the ``begin_state_<k>`` names restart
    at :meth:`reset` (which :meth:`unroll` calls).

    Parameters
    ----------
    prefix : str, optional
        Prefix of the names of this cell's blocks, nodes and (when ``params`` is None)
        parameters.
    params : ParameterDict or None
        Parameters to share with another cell (``params=other.params``).
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._modified = False
        self.reset()

    def reset(self):
        """Restart the step and begin-state counters (and those of the child cells) before
        building another graph with this cell.  (Only child *cells*: MXNet 1.9.1 also calls
        ``reset`` on other children, so an RNNCell with an ``nn.LeakyReLU`` activation fails to
        unroll there.)"""
        self._init_counter = -1
        self._counter = -1
        for cell in self._children.values():
            if isinstance(cell, RecurrentCell):
                cell.reset()

    def state_info(self, batch_size=0):
        """One dict per state: ``shape`` (with ``batch_size`` on the ``N`` axis) and
        ``__layout__``."""
        raise NotImplementedError(f"{type(self).__name__} must define state_info")

    def _check_unmodified(self):
        if self._modified:
            raise ValueError(
                f"{type(self).__name__}({self.prefix!r}) is wrapped in a modifier cell "
                "(ZoneoutCell, ResidualCell, ...): call begin_state / unroll on the modifier "
                "cell instead")

    def begin_state(self, batch_size=0, func=ndarray.zeros, **kwargs):
        """The initial states, one per :meth:`state_info` entry, each
        ``func(name='<prefix>begin_state_<k>', shape=..., __layout__=..., **kwargs)``:
        ``mx.nd.zeros`` by default; ``mx.sym.zeros`` / ``mx.sym.var`` for a graph (0 on the
        batch axis is inferred); ``kwargs`` such as ``ctx`` and ``dtype`` go to ``func``."""
        self._check_unmodified()
        states = []
        for info in self.state_info(batch_size):
            self._init_counter += 1
            info = dict(info) if info is not None else {}
            info.update(kwargs)
            states.append(func(name=f"{self._prefix}begin_state_{self._init_counter}", **info))
        return states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        """Run the cell over ``length`` steps.

        Parameters
        ----------
        length : int
            Number of steps.
        inputs : NDArray, Symbol or list of them
            One tensor of shape ``(batch, length, ...)`` (``layout='NTC'``) or
            ``(length, batch, ...)`` (``'TNC'``), or a list of ``length`` step tensors
            ``(batch, ...)``.
        begin_state : list, optional
            Initial states; zeros from :meth:`begin_state` when None.
        layout : {'NTC', 'TNC'}
            Where the time axis is, in ``inputs`` and in merged outputs.
        merge_outputs : bool or None
            True: one tensor with the time axis of ``layout``; False: a list of step outputs;
            None: whichever the cell makes.
        valid_length : NDArray or Symbol of shape (batch,), optional
            The length of each sequence: its outputs at and after that step are zeros, and
            the returned states are those after its last valid step.

        Returns
        -------
        ``(outputs, states)``.
        """
        self.reset()
        inputs, axis, F, batch_size = _format_sequence(length, inputs, layout, False)
        states = _get_begin_state(self, F, begin_state, inputs, batch_size)
        outputs, history = [], []
        for step in range(length):
            output, states = self(inputs[step], states)
            outputs.append(output)
            if valid_length is not None:
                history.append(states)
        if valid_length is not None:
            states = [F.SequenceLast(F.stack(*per_step, axis=0), sequence_length=valid_length,
                                     use_sequence_length=True, axis=0)
                      for per_step in zip(*history, strict=True)]
            outputs = _mask_sequence_variable_length(F, outputs, length, valid_length, axis,
                                                     True)
        outputs, _, _, _ = _format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, F, inputs, activation, **kwargs):
        """``activation`` applied to ``inputs``: 'tanh', 'relu', 'sigmoid', 'softsign' as
        their own operators, another name through ``Activation``, a ``nn.LeakyReLU`` block as
        the ``LeakyReLU`` operator, any other callable called with ``(inputs, **kwargs)``."""
        direct = {"tanh": F.tanh, "relu": F.relu, "sigmoid": F.sigmoid,
                  "softsign": F.softsign}
        if isinstance(activation, str):
            if activation in direct:
                return direct[activation](inputs, **kwargs)
            return F.Activation(inputs, act_type=activation, **kwargs)
        from ..nn import LeakyReLU

        if isinstance(activation, LeakyReLU):
            return F.LeakyReLU(inputs, act_type="leaky", slope=activation._alpha, **kwargs)
        if not callable(activation):
            raise TypeError(f"activation must be a name or a callable, got {activation!r}")
        return activation(inputs, **kwargs)

    def forward(self, inputs, states):
        """One step: ``(output, new_states)`` from the step input and the previous states."""
        self._counter += 1
        return super().forward(inputs, states)


class HybridRecurrentCell(RecurrentCell, HybridBlock):
    """A recurrent cell whose step is a ``hybrid_forward(F, inputs, states, **params)``, so
    ``hybridize()`` runs each step as a cached graph."""

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define hybrid_forward")


# ------------------------------------------------------------------ the three cells
class _GatedCell(HybridRecurrentCell):
    """The parameters shared by RNNCell, LSTMCell and GRUCell (``gates`` stacked blocks of
    ``hidden_size`` rows)."""

    _gates = 1

    def __init__(self, hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                 i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params):
        super().__init__(prefix=prefix, params=params)
        cls = type(self).__name__
        self._hidden_size = _check_size(cls, "hidden_size", hidden_size)
        self._input_size = _check_size(cls, "input_size", input_size)
        rows = self._gates * self._hidden_size
        for name, shape, init in (
                ("i2h_weight", (rows, self._input_size), i2h_weight_initializer),
                ("h2h_weight", (rows, self._hidden_size), h2h_weight_initializer),
                ("i2h_bias", (rows,), i2h_bias_initializer),
                ("h2h_bias", (rows,), h2h_bias_initializer)):
            setattr(self, name, self.params.get(name, shape=shape, init=init,
                                                allow_deferred_init=True))

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"}
                for _ in range(self._num_states)]

    _num_states = 1

    def _mapping(self) -> str:
        rows, width = self.i2h_weight.shape
        return f"{width if width else None} -> {rows}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._mapping()})"

    def _node_namer(self):
        step = f"t{self._counter}_"
        return lambda key: step + key


class RNNCell(_GatedCell):
    """Elman cell, ``h' = activation(W_i x + b_i + W_h h + b_h)`` (MXNet 1.9.1's
    ``gluon.rnn.RNNCell``); one state ``(batch, hidden_size)``.

    Parameters
    ----------
    hidden_size : int
    activation : str, nn.LeakyReLU or callable, default 'tanh'
    i2h_weight_initializer, h2h_weight_initializer : Initializer or str, optional
    i2h_bias_initializer, h2h_bias_initializer : Initializer or str, default 'zeros'
    input_size : int, default 0 (inferred from the first input)
    prefix : str, optional (default ``rnn<k>_``)
    params : ParameterDict, optional
    """

    def __init__(self, hidden_size, activation="tanh", i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, prefix=None, params=None):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation

    def _alias(self) -> str:
        return "rnn"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._mapping()}, {self._activation})"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        output = _steps.rnn_step(
            F, inputs, states[0], (i2h_weight, i2h_bias, h2h_weight, h2h_bias),
            self._hidden_size, self._node_namer(),
            lambda x, name: self._get_activation(F, x, self._activation, name=name))
        return output, [output]


class LSTMCell(_GatedCell):
    """Long short-term memory cell (MXNet 1.9.1's ``gluon.rnn.LSTMCell``), gates ``i, f, c,
    o`` stacked in that order:

    ``c' = ra(f) * c + ra(i) * a(c~)``, ``h' = ra(o) * a(c')`` with ``a = activation``
    (default tanh) and ``ra = recurrent_activation`` (default sigmoid).  States ``[h, c]``,
    each ``(batch, hidden_size)``.  Parameters as :class:`RNNCell` (default prefix
    ``lstm<k>_``); for a forget-gate bias use ``i2h_bias_initializer=mx.init.LSTMBias(1.0)``.
    """

    _gates = 4
    _num_states = 2

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None, activation="tanh", recurrent_activation="sigmoid"):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation
        self._recurrent_activation = recurrent_activation

    def _alias(self) -> str:
        return "lstm"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        def act(kind):
            return lambda x, name: self._get_activation(F, x, kind, name=name)

        def out_act(x, name):  # MXNet applies the Activation operator here, by name
            if isinstance(self._activation, str):
                return F.Activation(x, act_type=self._activation, name=name)
            return self._get_activation(F, x, self._activation, name=name)

        next_h, next_c = _steps.lstm_step(
            F, inputs, states[0], states[1], (i2h_weight, i2h_bias, h2h_weight, h2h_bias),
            self._hidden_size, self._node_namer(), act(self._recurrent_activation),
            act(self._activation), out_act)
        return next_h, [next_h, next_c]


class GRUCell(_GatedCell):
    """Gated recurrent unit in cuDNN's form (MXNet 1.9.1's ``gluon.rnn.GRUCell``), gates
    ``r, z, n``: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``.  One state; parameters as :class:`RNNCell` (default prefix
    ``gru<k>_``)."""

    _gates = 3

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params)

    def _alias(self) -> str:
        return "gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        next_h = _steps.gru_step(F, inputs, states[0],
                                 (i2h_weight, i2h_bias, h2h_weight, h2h_bias),
                                 self._hidden_size, self._node_namer())
        return next_h, [next_h]


# ------------------------------------------------------------------------- stacks
def _check_steppable(cells):
    for cell in cells:
        if _has_bidirectional(cell):
            raise ValueError("a cell stack holding a BidirectionalCell cannot be stepped: "
                             "use unroll")


class _StackMixin:
    """What SequentialRNNCell and HybridSequentialRNNCell share: the children in order, their
    states concatenated; stepping feeds each cell's output to the next; unrolling unrolls
    each child over the whole sequence in turn."""

    def __repr__(self) -> str:
        body = "\n".join(f"({i}): {_indent(repr(m), 2)}" for i, m in self._children.items())
        return f"{type(self).__name__}(\n{body}\n)"

    def add(self, cell):
        """Append ``cell`` on top of the stack."""
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"{type(self).__name__}.add takes a recurrent cell, got "
                            f"{type(cell).__name__}")
        self.register_child(cell)

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        """The children's initial states, concatenated (arguments as
        :meth:`RecurrentCell.begin_state`)."""
        self._check_unmodified()
        return _cells_begin_state(self._children.values(), **kwargs)

    def __call__(self, inputs, states):
        self._counter += 1
        cells = list(self._children.values())
        _check_steppable(cells)
        next_states, p = [], 0
        for cell in cells:
            n = len(cell.state_info())
            inputs, state = cell(inputs, states[p:p + n])
            p += n
            next_states.extend(state)
        return inputs, next_states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, _, F, batch_size = _format_sequence(length, inputs, layout, None)
        begin_state = _get_begin_state(self, F, begin_state, inputs, batch_size)
        cells = list(self._children.values())
        next_states, p = [], 0
        for i, cell in enumerate(cells):
            n = len(cell.state_info())
            inputs, states = cell.unroll(
                length, inputs=inputs, begin_state=begin_state[p:p + n], layout=layout,
                merge_outputs=merge_outputs if i == len(cells) - 1 else None,
                valid_length=valid_length)
            p += n
            next_states.extend(states)
        return inputs, next_states

    def __getitem__(self, i):
        return self._children[str(i)]

    def __len__(self) -> int:
        return len(self._children)


class SequentialRNNCell(_StackMixin, RecurrentCell):
    """A stack of cells (any :class:`RecurrentCell`, hybrid or not), MXNet 1.9.1's
    ``gluon.rnn.SequentialRNNCell``; children are named ``0``, ``1``, ... in parameter
    files."""


class HybridSequentialRNNCell(_StackMixin, HybridRecurrentCell):
    """A stack of hybrid cells, usable inside a HybridBlock's ``hybrid_forward`` (MXNet
    1.9.1's ``gluon.rnn.HybridSequentialRNNCell``)."""

    def hybrid_forward(self, F, inputs, states):
        return self(inputs, states)


# --------------------------------------------------------------- dropout, modifiers
class DropoutCell(HybridRecurrentCell):
    """``Dropout(p=rate, axes=axes)`` on each step's input (in training only); no states, no
    parameters.  Unrolled over a merged sequence, it is one Dropout over the whole tensor."""

    def __init__(self, rate, axes=(), prefix=None, params=None):
        super().__init__(prefix, params)
        if isinstance(rate, bool) or not isinstance(rate, numeric_types):
            raise TypeError(f"DropoutCell: rate must be a number, got {rate!r}")
        if not 0 <= rate < 1:
            raise ValueError(f"DropoutCell: rate must be in [0, 1), got {rate!r}")
        self._rate = rate
        self._axes = axes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self._rate}, axes={self._axes})"

    def state_info(self, batch_size=0):
        return []

    def _alias(self) -> str:
        return "dropout"

    def hybrid_forward(self, F, inputs, states):
        if self._rate > 0:
            inputs = F.Dropout(data=inputs, p=self._rate, axes=self._axes,
                               name=f"t{self._counter}_fwd")
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, _, F, _ = _format_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, _TENSORS):
            return self.hybrid_forward(F, inputs, begin_state if begin_state else [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs)


class ModifierCell(HybridRecurrentCell):
    """Base of the cells that wrap a cell and change what it does (:class:`ZoneoutCell`,
    :class:`ResidualCell`).  The wrapped cell (child ``base_cell``) keeps its parameters, which
    are the modifier's ``params``; it refuses ``begin_state`` / ``unroll`` afterwards (use the
    modifier), and cannot be wrapped twice.  Prefix: the base cell's plus the modifier's alias
    (``rnn0_zoneout``)."""

    def __init__(self, base_cell):
        if not isinstance(base_cell, RecurrentCell):
            raise TypeError(f"{type(self).__name__}: base_cell must be a recurrent cell, got "
                            f"{type(base_cell).__name__}")
        if base_cell._modified:
            raise ValueError(f"Cell {base_cell.name} is already modified. One cell cannot be "
                             "modified twice")
        base_cell._modified = True
        super().__init__(prefix=base_cell.prefix + self._alias(), params=None)
        self.base_cell = base_cell

    @property
    def params(self):
        """The wrapped cell's parameters."""
        return self.base_cell.params

    def state_info(self, batch_size=0):
        return self.base_cell.state_info(batch_size)

    def begin_state(self, func=symbol.zeros, **kwargs):
        """The wrapped cell's initial states (``func`` defaults to ``mx.sym.zeros`` as in
        MXNet 1.9.1; pass ``func=mx.nd.zeros`` for NDArrays -- ``unroll`` does)."""
        self._check_unmodified()
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(func=func, **kwargs)
        finally:
            self.base_cell._modified = True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_cell!r})"


def _has_bidirectional(cell) -> bool:
    if isinstance(cell, BidirectionalCell):
        return True
    return any(_has_bidirectional(c) for c in cell._children.values()
               if isinstance(c, RecurrentCell))


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al., 2016) on a cell: in training each unit of the output / of
    each state keeps its previous value with probability ``zoneout_outputs`` /
    ``zoneout_states``; at inference the wrapped cell's values pass unchanged.  The masks are
    ``Dropout(ones_like(x), p)`` (nonzero: take the new value).

    The wrapped cell must be steppable (no BidirectionalCell anywhere inside).  (MXNet 1.9.1
    fails with an AttributeError for any SequentialRNNCell here; a stack without a
    BidirectionalCell works.)
    """

    def __init__(self, base_cell, zoneout_outputs=0.0, zoneout_states=0.0):
        if isinstance(base_cell, RecurrentCell) and _has_bidirectional(base_cell):
            raise ValueError("BidirectionalCell doesn't support zoneout since it doesn't "
                             "support step. Please add ZoneoutCell to the cells underneath "
                             "instead.")
        for name, p in (("zoneout_outputs", zoneout_outputs),
                        ("zoneout_states", zoneout_states)):
            if isinstance(p, bool) or not isinstance(p, numeric_types) or not 0 <= p < 1:
                raise ValueError(f"ZoneoutCell: {name} must be a number in [0, 1), got {p!r}")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self._prev_output = None

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(p_out={self.zoneout_outputs}, "
                f"p_state={self.zoneout_states}, {self.base_cell!r})")

    def _alias(self) -> str:
        return "zoneout"

    def reset(self):
        super().reset()
        self._prev_output = None

    def hybrid_forward(self, F, inputs, states):
        next_output, next_states = self.base_cell(inputs, states)

        def keep_new(p, like):
            return F.Dropout(F.ones_like(like), p=p)

        prev_output = self._prev_output
        if prev_output is None or not isinstance(prev_output, type(next_output)):
            prev_output = F.zeros_like(next_output)
        output = next_output
        if self.zoneout_outputs != 0.0:
            output = F.where(keep_new(self.zoneout_outputs, next_output), next_output,
                             prev_output)
        if self.zoneout_states != 0.0:
            next_states = [F.where(keep_new(self.zoneout_states, new), new, old)
                           for new, old in zip(next_states, states, strict=True)]
        self._prev_output = output
        return output, next_states


class ResidualCell(ModifierCell):
    """Adds each step's input to the wrapped cell's output (He et al., 2016); input and
    output widths must agree.  With ``valid_length`` the padded inputs are masked first, so
    padded outputs stay zero."""

    def hybrid_forward(self, F, inputs, states):
        output, states = self.base_cell(inputs, states)
        return F.elemwise_add(output, inputs, name=f"t{self._counter}_fwd"), states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(
                length, inputs=inputs, begin_state=begin_state, layout=layout,
                merge_outputs=merge_outputs, valid_length=valid_length)
        finally:
            self.base_cell._modified = True
        if merge_outputs is None:
            merge_outputs = isinstance(outputs, _TENSORS)
        inputs, axis, F, _ = _format_sequence(length, inputs, layout, merge_outputs)
        if valid_length is not None:
            inputs = _mask_sequence_variable_length(F, inputs, length, valid_length, axis,
                                                    merge_outputs)
        if merge_outputs:
            return F.elemwise_add(outputs, inputs), states
        return [F.elemwise_add(o, x) for o, x in zip(outputs, inputs, strict=True)], states


class BidirectionalCell(HybridRecurrentCell):
    """Runs ``l_cell`` forward and ``r_cell`` backward in time and joins their outputs on the
    feature axis (nodes ``<output_prefix>t<k>`` per step, ``<output_prefix>out`` merged).
    States: ``l_cell``'s then ``r_cell``'s, one flat list.  With ``valid_length`` each
    sequence is reversed within its valid steps.  It cannot be stepped, only unrolled."""

    def __init__(self, l_cell, r_cell, output_prefix="bi_"):
        super().__init__(prefix="", params=None)
        for name, cell in (("l_cell", l_cell), ("r_cell", r_cell)):
            if not isinstance(cell, RecurrentCell):
                raise TypeError(f"BidirectionalCell: {name} must be a recurrent cell, got "
                                f"{type(cell).__name__}")
        self.register_child(l_cell, "l_cell")
        self.register_child(r_cell, "r_cell")
        self._output_prefix = output_prefix

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(forward={self._children['l_cell']!r}, "
                f"backward={self._children['r_cell']!r})")

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        """``l_cell``'s then ``r_cell``'s initial states."""
        self._check_unmodified()
        return _cells_begin_state(self._children.values(), **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, axis, F, batch_size = _format_sequence(length, inputs, layout, False)
        reversed_inputs = _reverse_sequences(inputs, length, valid_length)
        begin_state = _get_begin_state(self, F, begin_state, inputs, batch_size)
        l_cell, r_cell = self._children.values()
        n_left = len(l_cell.state_info(batch_size))
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs,
                                            begin_state=begin_state[:n_left], layout=layout,
                                            merge_outputs=merge_outputs,
                                            valid_length=valid_length)
        r_outputs, r_states = r_cell.unroll(length, inputs=reversed_inputs,
                                            begin_state=begin_state[n_left:], layout=layout,
                                            merge_outputs=False, valid_length=valid_length)
        r_outputs = _reverse_sequences(r_outputs, length, valid_length)
        if merge_outputs is None:
            merge_outputs = isinstance(l_outputs, _TENSORS)
            l_outputs, _, _, _ = _format_sequence(None, l_outputs, layout, merge_outputs)
        if merge_outputs:
            if isinstance(l_outputs, list):
                l_outputs = F.stack(*l_outputs, axis=axis)
            outputs = F.concat(l_outputs, F.stack(*r_outputs, axis=axis), dim=2,
                               name=f"{self._output_prefix}out")
        else:
            outputs = [F.concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                       for i, (lo, ro) in enumerate(zip(l_outputs, r_outputs, strict=True))]
        if valid_length is not None:
            outputs = _mask_sequence_variable_length(F, outputs, length, valid_length, axis,
                                                     merge_outputs)
        return outputs, l_states + r_states
