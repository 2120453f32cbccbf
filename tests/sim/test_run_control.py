"""Long runs: Ctrl-C stops cleanly between chunks; progress bar; GIL released while running."""

import _thread
import threading
import time

import pytest

from spikecore._guards import busy_thread
from spikecore.sim import networks


def test_keyboard_interrupt_stops_between_chunks_and_network_continues():
    m = networks.brunel(0.1, seed=0)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    with pytest.raises(KeyboardInterrupt):
        try:  # started and joined inside: the interrupt never lands outside the block
            timer.start()
            m.net.run(100_000.0, chunk=10.0, progress=False)  # would take minutes
        finally:
            timer.cancel()
            timer.join()
    t = m.net.t
    assert 0 < t < 100_000.0
    assert round(t / 10.0, 6).is_integer()  # stopped at a chunk boundary
    m.net.run(10.0)
    assert m.net.t == pytest.approx(t + 10.0)


def test_gil_is_released_while_running():
    m = networks.brunel(0.1, seed=0)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    th = threading.Thread(target=count)
    th.start()
    m.net.run(300.0, chunk=300.0)  # one chunk: a single C++ call
    stop.set()
    th.join()
    assert len(ticks) > 5


def test_progress_bar(capsys):
    m = networks.brunel(0.05, seed=0)
    m.net.run(20.0, progress=True, chunk=5.0)
    err = capsys.readouterr().err
    assert "spikecore.sim" in err and "20" in err


def test_calls_from_another_thread_while_running_are_refused():
    m = networks.brunel(0.1, seed=0)
    errors = []

    def poke():
        t0 = time.time()
        while busy_thread(m.net) is None and time.time() - t0 < 5:
            time.sleep(0.0005)
        for call in (
            lambda: m.net.run(1.0),
            lambda: m.monitors["E"].times,
            lambda: m.net.prune(0, fraction=0.1),
        ):
            try:
                call()
            except RuntimeError as e:
                errors.append(str(e))

    th = threading.Thread(target=poke)
    th.start()
    m.net.run(1000.0, chunk=1000.0)
    th.join()
    assert len(errors) == 3 and all("network" in e for e in errors)
