"""Reading and writing mxlite's files safely: nothing in a file can run code, exhaust the
machine or get half-written.

* :mod:`~mxlite.serialization.states` -- optimizer-state bytes in either format, dispatched;
* :mod:`~mxlite.serialization.state_npz` -- mxlite's ``.states`` format (an ``.npz`` archive
  with a JSON header), decoded through exact-name tables of the types a state file may hold;
* :mod:`~mxlite.serialization.safe_pickle` -- MXNet's pickled ``.states``, through a restricted
  unpickler with the same tables;
* :mod:`~mxlite.serialization.bounded_json` -- JSON parsing with size and nesting bounds;
* :mod:`~mxlite.serialization.symbol_json` -- structure checks of symbol JSON;
* :mod:`~mxlite.serialization.limits` -- the bounds every reader applies, and how to raise them;
* :mod:`~mxlite.serialization.atomic` -- :func:`atomic_write`.
"""

from . import limits
from .atomic import atomic_write

__all__ = ["atomic_write", "limits"]
