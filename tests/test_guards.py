"""spikecore._guards: one memory ceiling and one thread bound, shared by the core and every Python
layer (docs/development.md, "One memory ceiling, one thread bound")."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from spikecore import _core, _guards
from spikecore.sim import Network

sys.path.insert(0, str(Path(__file__).parent))
from fuzzing import small_memory_limit  # noqa: E402

# "<name>: <what> would need <size>, more than the memory limit of <limit> (...set_memory_limit)"
MESSAGE = re.compile(
    r"^(?P<name>[\w, ]+): (?P<what>.+) would need (?P<size>[\d.e+]+ [MG]iB), more than the memory "
    r"limit of (?P<limit>[\d.e+]+ [MG]iB) \(spikecore\._core\.engine\.set_memory_limit\)$"
)


@pytest.fixture
def limit_64mib():
    gen = small_memory_limit(64 << 20)
    next(gen)
    yield 64 << 20
    next(gen, None)


def test_check_bytes_reads_the_core_limit(limit_64mib):
    assert _core.engine.memory_limit() == limit_64mib
    _guards.check_bytes(limit_64mib, "n", "exactly the limit")  # the limit itself fits
    with pytest.raises(MemoryError) as info:
        _guards.check_bytes(limit_64mib + 1, "n", "one byte more")
    m = MESSAGE.match(str(info.value))
    assert m and m["name"] == "n" and m["what"] == "one byte more" and m["limit"] == "64 MiB"
    for bad in (float("nan"), float("inf"), 10**400):  # NaN refused; ints beyond float range too
        with pytest.raises(MemoryError, match="^n: "):
            _guards.check_bytes(bad, "n", "x")


def test_python_and_core_checks_give_one_message(limit_64mib):
    """The same oversize request refused by the sim layer (Python) and by the core directly
    through the bindings: the same format, the same limit."""
    with pytest.raises(MemoryError) as py:
        Network().add_population(10**8, "lif")  # refused in Python before the core is called
    with pytest.raises(MemoryError) as cpp:
        _core.engine.Network(0.1, 1, 0, 10.0).add_source(10**8, "big")  # the core's own check
    a, b = MESSAGE.match(str(py.value)), MESSAGE.match(str(cpp.value))
    assert a and b, (str(py.value), str(cpp.value))
    assert a["name"] == b["name"] == "n" and a["limit"] == b["limit"] == "64 MiB"


def test_small_memory_limit_restores_the_old_limit():
    old = _core.engine.memory_limit()
    gen = small_memory_limit(1 << 20)
    next(gen)
    assert _core.engine.memory_limit() == 1 << 20
    next(gen, None)
    assert _core.engine.memory_limit() == old


def test_one_thread_bound():
    hi = _guards.max_threads()
    assert hi == _core.engine.max_threads() == 1024
    assert _guards.threads(hi) == hi and _guards.threads(2.0) == 2
    with pytest.raises(ValueError) as py:
        _guards.threads(hi + 1)
    with pytest.raises(ValueError) as cpp:
        _core.engine.Network(0.1, hi + 1, 0, 10.0)  # the core's own check, same words
    assert str(py.value) == str(cpp.value) == f"n_threads: must be in [1, {hi}], got {hi + 1}"
    with pytest.raises(ValueError, match=r"^n_threads: must be in \[1, 1024\], got 0$"):
        Network(n_threads=0)
    for bad in (1.5, float("inf"), "2", None, True):
        with pytest.raises(TypeError, match="^n_threads: expected an integer"):
            _guards.threads(bad)
    with pytest.raises(ValueError, match=r"^distance: must be in \[1, 1024\]"):
        _guards.threads(np.int64(-1), "distance")


def test_exclusive_with_a_holder_locks_the_holder():
    class Owner:
        pass

    class Handle:
        def __init__(self, owner):
            self.owner = owner

        @_guards.exclusive("owner", "hint", holder=lambda h: h.owner)
        def work(self, inside, release):
            inside.set()
            release.wait(10)

        @_guards.exclusive("owner", "hint", holder=lambda h: h.owner)
        def other(self):
            return "ran"

    o = Owner()
    a, b = Handle(o), Handle(o)
    inside, release = threading.Event(), threading.Event()
    t = threading.Thread(target=a.work, args=(inside, release))
    t.start()
    try:
        assert inside.wait(10)
        with pytest.raises(RuntimeError, match=r"^owner: busy in another thread \(hint\)$"):
            b.other()  # another handle of the same holder
        assert Handle(Owner()).other() == "ran"  # another holder is free
    finally:
        release.set()
        t.join()
    assert b.other() == "ran"  # released
