"""Ctrl-C held back to a safe point: the one definition used by :class:`~spikecore.sim.Network`
(chunk ends) and the MPI window loop (window ends)."""

from __future__ import annotations

import signal
import threading
from typing import Any, Optional


class HeldInterrupt:
    """Inside the block, SIGINT (Ctrl-C) only counts (``count``) instead of raising
    KeyboardInterrupt; :meth:`check` raises it at a point where the network is consistent.

    Only in the main thread (where Python runs signal handlers) and only over Python's default
    handler or the handler of an enclosing ``HeldInterrupt`` (the MPI window loop inside a
    Network's chunk); a handler of the user's own is left alone (then a no-op).

    Nested blocks: the innermost one holds the pending count. On entry it takes over the count
    of the enclosing block (a Ctrl-C that came between two windows' loops is seen by the next
    one), and on a normal exit with ``raise_on_exit=False`` it hands what it still holds back to
    the enclosing block, whose own check decides (the MPI loop: a Ctrl-C after the last exchange
    of a loop is not lost; the Network agrees on it with the other ranks at the chunk's end).
    ``raise_on_exit=True``: a count still held at a normal exit is raised there (the Network: a
    Ctrl-C during the last chunk after its check). Without an enclosing block and with
    ``raise_on_exit=False`` the count is dropped."""

    def __init__(self, raise_on_exit: bool = True) -> None:
        self.count = 0
        self.raise_on_exit = raise_on_exit
        self._old: Any = None
        self._outer: Optional[HeldInterrupt] = None

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.count += 1

    def __enter__(self) -> "HeldInterrupt":
        if threading.current_thread() is threading.main_thread():
            h = signal.getsignal(signal.SIGINT)
            outer = getattr(h, "__self__", None)
            if h is signal.default_int_handler or isinstance(outer, HeldInterrupt):
                self._old = signal.signal(signal.SIGINT, self._on_sigint)
                if isinstance(outer, HeldInterrupt):
                    self._outer = outer
                    self.count += outer.count  # now held here
                    outer.count = 0
        return self

    def check(self) -> None:
        """Raise KeyboardInterrupt if a Ctrl-C was held back since the last check."""
        if self.count:
            self.count = 0
            raise KeyboardInterrupt

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None
        if not self.count or exc[0] is not None:
            return
        if self.raise_on_exit:
            self.count = 0
            raise KeyboardInterrupt
        if self._outer is not None:
            self._outer.count += self.count  # the enclosing block's check decides
        self.count = 0
