"""Argument and concurrency guards shared by spikecore.sim, spikecore.audio, spikecore.analysis,
spikecore.models and spikecore.nn (issue 20). No torch; the compiled core is imported only by the
two checks whose bound the core defines (:func:`threads`, :func:`check_bytes`), so that Python and
C++ check one number with one message.

- :func:`integer`: an int argument in a range, or TypeError / ValueError naming it (numpy
  integers are accepted; bool and floats, also ``2.0``, are not). The one integer check:
  spikecore.specs (``count``), spikecore.nn, spikecore.sim and every other layer call it.
- :func:`numeric_array`: a numpy array of numbers, or TypeError naming the argument.
- :func:`threads`: a thread count in [1, :func:`max_threads`] (1024: the core's bound on every
  thread team, ``kMaxThreads`` in cpp/include/spikecore/core/thread_pool.hpp).
- :func:`check_bytes`: MemoryError naming the argument and the size when a request derived from
  arguments needs more than the memory ceiling, raised before anything is allocated. The ceiling
  is the core's (``spikecore._core.engine.memory_limit()``: the physical memory unless lowered
  with ``spikecore._core.engine.set_memory_limit``), one number for the C++ engine's own checks
  and every Python-side check; the check itself is the core's ``require_memory``
  (cpp/include/spikecore/core/memory.hpp), so the message has one format.
- :func:`exclusive`: a method decorator for stateful objects whose core code runs without the
  GIL (streams): a call while another thread is inside one of the object's guarded methods raises
  RuntimeError (as :class:`spikecore.sim.Network` does) instead of racing or deadlocking.
"""

from __future__ import annotations

import functools
import math
import numbers
import threading
from typing import Any, Callable, Optional


def integer(value: Any, name: str, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """``value`` as an int in [low, high] (either bound optional): the one integer-argument check
    of spikecore, one wording for every layer.

    Accepted: ints and numpy integers (any :class:`numbers.Integral`), returned as int. Refused,
    as Python's own ``range`` or numpy's shapes refuse them: bool (a flag is not a count), floats
    (also ``2.0``: no silent float -> int) and every other type, with
    ``TypeError("<name>: expected an int, got <what>")`` (a float's value, else the type's name);
    a value out of range with ``ValueError("<name>: must be >= <low>, got <v>")`` (``<= <high>``,
    or ``in [<low>, <high>]`` when both bounds are given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        what = repr(float(value)) if real else type(value).__name__
        raise TypeError(f"{name}: expected an int, got {what}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            rng = f">= {low}"
        elif low is None:
            rng = f"<= {high}"
        else:
            rng = f"in [{low}, {high}]"
        raise ValueError(f"{name}: must be {rng}, got {value}")
    return value


def numeric_array(value: Any, name: str, kinds: str = "fiub"):
    """``value`` as a numpy array of one of the dtype ``kinds`` (default: float, int, bool),
    or TypeError naming ``name`` (strings, objects, ragged lists)."""
    import numpy as np

    try:
        a = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name}: expected a numeric array ({e})") from None
    if a.dtype.kind not in kinds:
        raise TypeError(f"{name}: expected a numeric array, got dtype {a.dtype}")
    return a


def max_threads() -> int:
    """The most threads one team may have: the core's bound (1024,
    ``spikecore._core.engine.max_threads()``), the same for the engine, the cochlea, HebbFF and
    the distance matrices."""
    from spikecore import _core

    return int(_core.engine.max_threads())


def threads(value: Any, name: str = "n_threads") -> int:
    """A thread count in [1, :func:`max_threads`]: TypeError naming ``name`` for a non-integer
    (2.0, "2", None, True: :func:`integer`'s message), ValueError with the range otherwise, in
    the words of the core's ``require_threads``: ``"<name>: must be in [1, 1024], got <n>"``."""
    return integer(value, name, 1, max_threads())


def check_bytes(nbytes: float, name: str, what: str) -> None:
    """MemoryError naming ``name`` and the size when ``nbytes`` (needed for ``what``, e.g.
    "1e+12 synapses") exceed the memory ceiling (``spikecore._core.engine.memory_limit()``; NaN is
    refused too); call it before allocating. Message: ``"<name>: <what> would need <size>, more
    than the memory limit of <limit> (spikecore._core.engine.set_memory_limit)"``."""
    from spikecore import _core

    try:
        b = float(nbytes)
    except OverflowError:  # a Python int beyond float range
        b = math.inf
    _core.engine.check_memory(b, name, what)


def busy_thread(obj: Any) -> Optional[int]:
    """The id of the thread inside a method of ``obj`` guarded by :func:`exclusive` (for a
    Network: run, connect, ...), or None while it is idle."""
    return obj.__dict__.get("_busy_owner")


_ONE_PER_THREAD = "one instance is not shared between threads at once; use one per thread"


def exclusive(
    what: str,
    hint: str = _ONE_PER_THREAD,
    holder: Optional[Callable[[Any], Any]] = None,
):
    """Decorator: the method runs only while no other thread is inside a guarded method of the
    same object (``holder(self)`` when given: e.g. a handle's network); otherwise
    ``RuntimeError("<what>: busy in another thread (<hint>)")``. Re-entrant for the thread that
    holds the object. The object is released however the call ends (an exception, a
    KeyboardInterrupt arriving anywhere in the wrapper, tests/test_guards.py), so it stays
    usable. The one busy guard of spikecore: streams
    (``CochleaStream``, ``SpiketrumStream``) and :class:`spikecore.sim.Network` with its handles
    (``spikecore.sim._validate._idle``)."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            obj = self if holder is None else holder(self)
            state = obj.__dict__
            guard = state.get("_busy_lock")
            if guard is None:
                guard = state.setdefault("_busy_lock", threading.Lock())
            me = threading.get_ident()
            took = False
            try:
                # The claim is made under `with` and recorded in `took` with no call in between:
                # CPython runs a signal handler (a Ctrl-C's KeyboardInterrupt) only where the
                # eval loop checks for one, right after a call returns (and at loop jumps and
                # function entry), and `with` on a C lock releases it however the block ends. So
                # a KeyboardInterrupt anywhere in this wrapper either finds nothing claimed or
                # finds `took` set and the finally below undoing the claim; the guard lock itself
                # is held only for these few bytecodes, never while ``fn`` runs.
                with guard:
                    owner = state.get("_busy_owner")
                    if owner is None:
                        state["_busy_owner"] = me
                        took = True
                if owner is not None and owner != me:
                    raise RuntimeError(f"{what}: busy in another thread ({hint})")
                return fn(self, *args, **kwargs)  # owner == me: a re-entrant call
            finally:
                if took:  # no call here either: nothing can interrupt the release
                    state["_busy_owner"] = None

        return wrapper

    return deco
