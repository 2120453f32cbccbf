"""Argument and concurrency guards shared by spikecore.audio, spikecore.analysis and
spikecore.models (issue 20). Pure Python: no torch, no compiled extension.

- :func:`integer`: an int argument in a range, or TypeError / ValueError naming it (a float with
  an integral value is accepted; bool is not a number here).
- :func:`numeric_array`: a numpy array of numbers, or TypeError naming the argument.
- :func:`threads`: a thread count in [1, 1024] (the engine's limit, ``spikecore.info``).
- :func:`check_bytes`: MemoryError naming the argument and the size when a request derived from
  arguments needs more than the physical memory (or :data:`LIMIT`), raised before anything is
  allocated.
- :func:`exclusive`: a method decorator for stateful objects whose core code runs without the
  GIL (streams): a call while another thread is inside one of the object's guarded methods raises
  RuntimeError (as :class:`spikecore.sim.Network` does) instead of racing or deadlocking.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import threading
from typing import Any, Optional

MAX_THREADS = 1024
#: an extra ceiling on one request in bytes (None means the physical memory only); tests lower it so
#: that fuzzed sizes are refused instead of allocated
LIMIT: Optional[int] = None


def integer(value: Any, name: str, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """``value`` as an int in [low, high] (either bound optional)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")
    if not isinstance(value, numbers.Integral):
        v = float(value)
        if not (math.isfinite(v) and v.is_integer()):
            raise ValueError(f"{name}: must be an integer, got {value!r}")
        value = v
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name}: must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name}: must be <= {high}, got {value}")
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


def threads(value: Any, name: str = "n_threads") -> int:
    """A thread count in [1, MAX_THREADS]."""
    return integer(value, name, 1, MAX_THREADS)


def physical_memory() -> int:
    """Bytes of physical memory (1 TiB where the system does not say)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 40


def _size(b: float) -> str:
    return f"{b / 2**30:.4g} GiB" if b >= 2**30 else f"{b / 2**20:.4g} MiB"


def check_bytes(nbytes: float, name: str, what: str) -> None:
    """MemoryError naming ``name`` when ``nbytes`` (needed for ``what``) exceed the physical
    memory; call it before allocating."""
    limit = physical_memory() if LIMIT is None else min(LIMIT, physical_memory())
    if not nbytes <= limit:
        raise MemoryError(
            f"{name}: {what} would need {_size(nbytes)}, more than the {_size(limit)} of memory"
        )


def exclusive(what: str):
    """Decorator: the method runs only while no other thread is inside a guarded method of the
    same object; otherwise RuntimeError("<what>: busy in another thread ..."). Re-entrant for the
    thread that holds the object. The lock is released however the call ends (an exception, a
    KeyboardInterrupt), so the object stays usable."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            lock = self.__dict__.get("_busy_lock")
            if lock is None:
                lock = self.__dict__.setdefault("_busy_lock", threading.Lock())
            me = threading.get_ident()
            if self.__dict__.get("_busy_owner") == me:
                return fn(self, *args, **kwargs)
            if not lock.acquire(blocking=False):
                raise RuntimeError(
                    f"{what}: busy in another thread (one instance is not shared between threads "
                    f"at once; use one per thread)"
                )
            self._busy_owner = me
            try:
                return fn(self, *args, **kwargs)
            finally:
                self._busy_owner = None
                lock.release()

        return wrapper

    return deco
