"""Ctrl-C held back to a safe point: the one definition used by :class:`~spikecore.sim.Network`
(chunk ends) and the MPI window loop (window ends)."""

from __future__ import annotations

import signal
import threading
from typing import Any


class HeldInterrupt:
    """Inside the block, SIGINT (Ctrl-C) only counts (``count``) instead of raising
    KeyboardInterrupt; :meth:`check` raises it at a point where the network is consistent.

    Only in the main thread (where Python runs signal handlers) and only over Python's default
    handler or the handler of an enclosing ``HeldInterrupt`` (the MPI window loop inside a
    Network's chunk); a handler of the user's own is left alone (then a no-op).
    ``raise_on_exit``: a Ctrl-C counted but not checked by the end of the block is raised on a
    normal exit (the Network: a Ctrl-C during the last chunk); False drops it (the MPI loop, where
    raising on one rank only would put the ranks out of step)."""

    def __init__(self, raise_on_exit: bool = True) -> None:
        self.count = 0
        self.raise_on_exit = raise_on_exit
        self._old: Any = None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.count += 1

    def __enter__(self) -> "HeldInterrupt":
        if threading.current_thread() is threading.main_thread():
            h = signal.getsignal(signal.SIGINT)
            if h is signal.default_int_handler or isinstance(
                getattr(h, "__self__", None), HeldInterrupt
            ):
                self._old = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def check(self) -> None:
        """Raise KeyboardInterrupt if a Ctrl-C was held back since the last check."""
        if self.count:
            self.count = 0
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        if self.count and self.raise_on_exit and exc[0] is None:
            raise KeyboardInterrupt
