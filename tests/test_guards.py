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
from spikecore.data.familiarity import familiarity_sequence
from spikecore.models.neural_baselines import LNPoisson
from spikecore.nn.parallel import threads_per_rank
from spikecore.sim import Network
from spikecore.specs import Branches, STDISpec

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
    assert _guards.threads(hi) == hi and _guards.threads(np.int32(2)) == 2
    with pytest.raises(ValueError) as py:
        _guards.threads(hi + 1)
    with pytest.raises(ValueError) as cpp:
        _core.engine.Network(0.1, hi + 1, 0, 10.0)  # the core's own check, same words
    assert str(py.value) == str(cpp.value) == f"n_threads: must be in [1, {hi}], got {hi + 1}"
    with pytest.raises(ValueError, match=r"^n_threads: must be in \[1, 1024\], got 0$"):
        Network(n_threads=0)
    for bad in (2.0, 1.5, float("inf"), "2", None, True):
        with pytest.raises(TypeError, match="^n_threads: expected an int, got "):
            _guards.threads(bad)
    with pytest.raises(ValueError, match=r"^distance: must be in \[1, 1024\]"):
        _guards.threads(np.int64(-1), "distance")


def test_one_integer_check():
    """_guards.integer is the one int-argument check: ints and numpy integers count; bool, floats
    (2.0 too) and everything else are refused, with one wording for every layer."""
    assert _guards.integer(np.int64(3), "n") == 3 and type(_guards.integer(np.int8(3), "n")) is int
    assert _guards.integer(2**70, "n") == 2**70  # no bound unless asked
    for bad, what in [
        (True, "bool"),
        (np.bool_(True), "bool"),
        (1.5, "1.5"),
        (1e4, "10000.0"),
        (np.float32(2.0), "2.0"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        ("3", "str"),
        (None, "NoneType"),
        (3 + 0j, "complex"),
    ]:
        with pytest.raises(TypeError) as info:
            _guards.integer(bad, "n")
        assert str(info.value) == f"n: expected an int, got {what}"
    for lo, hi, v, rng in [(1, None, 0, ">= 1"), (None, 5, 6, "<= 5"), (0, 5, -1, "in [0, 5]")]:
        with pytest.raises(ValueError) as info:
            _guards.integer(v, "n", lo, hi)
        assert str(info.value) == f"n: must be {rng}, got {v}"


@pytest.mark.parametrize(
    "call, message",
    [  # the checkers folded into _guards.integer (issue 20's follow-up), one per layer
        (lambda: Network().add_population(0, "lif"), "n: must be in [1, 2147483647], got 0"),
        (lambda: Network().run_steps(1.5), "n_steps: expected an int, got 1.5"),
        (lambda: STDISpec(T=True), "T: expected an int, got bool"),
        (lambda: STDISpec(T=25), "T: must be in [1, 24], got 25"),
        (lambda: Branches(branches="2"), "branches: expected an int, got str"),
        (lambda: familiarity_sequence(d=0), "d: must be >= 1, got 0"),
        (lambda: familiarity_sequence(R=[2, 0]), "R: must be >= 1, got 0"),
        (lambda: threads_per_rank(2.5, 4), "local_world_size: expected an int, got 2.5"),
        (lambda: LNPoisson(n_neurons=0), "n_neurons: must be >= 1, got 0"),
        (lambda: LNPoisson(history=-1), "history: must be >= 0, got -1"),
    ],
)
def test_folded_checkers_share_the_wording(call, message):
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    assert str(info.value) == message


def test_folded_checkers_take_numpy_integers():
    assert threads_per_rank(np.int64(2), np.int32(8)) == 4  # refused before (isinstance int)
    assert LNPoisson((4, 4), n_neurons=np.int64(3), window=np.int16(2)).n_neurons == 3


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


def _interrupt_after_call(code, n):
    """A profile function raising KeyboardInterrupt when the ``n``-th call made from a frame of
    ``code`` returns (counting C and Python callees): the call's effect is done and the
    exception surfaces at the call, which is where CPython runs a pending signal handler (a
    Ctrl-C's) inside a function: its eval loop checks for one right after a call returns."""
    seen, fired = [0], []

    def profile(frame, event, arg):
        if fired:
            return
        if (event == "c_return" and frame.f_code is code) or (
            event == "return" and frame.f_back is not None and frame.f_back.f_code is code
        ):
            if seen[0] == n:
                fired.append(n)
                raise KeyboardInterrupt
            seen[0] += 1

    return profile, fired


def test_exclusive_survives_a_ctrl_c_after_any_call():
    """issue 20's follow-up: the old guard acquired its lock, then entered ``try``; a Ctrl-C
    whose handler ran right after ``acquire`` returned left the object busy for good. Here a
    KeyboardInterrupt is raised after each call the wrapper makes in turn (the points where
    CPython may raise one), for a first call and for a re-entrant one; each time the object must
    be free afterwards, for this thread and for another."""

    class Stream:
        @_guards.exclusive("Stream")
        def work(self, inner=False):
            return self.work() if inner else "ran"

    code = Stream.work.__code__
    for inner in (False, True):
        n = 0
        while True:
            s = Stream()
            profile, fired = _interrupt_after_call(code, n)
            sys.setprofile(profile)
            try:
                s.work(inner)
            except KeyboardInterrupt:
                pass
            finally:
                sys.setprofile(None)
            if not fired:  # past the last call
                break
            assert _guards.busy_thread(s) is None, (n, inner)
            assert s.work() == "ran"
            other: list = []
            t = threading.Thread(target=lambda s=s, out=other: out.append(s.work()))
            t.start()
            t.join(10)
            assert other == ["ran"], (n, inner)
            n += 1
        assert n >= (10 if inner else 5), n  # the lock, the claim, fn, ...
