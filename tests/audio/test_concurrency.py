"""Streams and encoders under threads and Ctrl-C (issue 20): one stream shared by two threads
raises RuntimeError (never a hang); independent streams in parallel equal serial; a
KeyboardInterrupt during a long encoding leaves every object usable."""

import _thread
import threading

import numpy as np
import pytest

from spikecore._guards import exclusive
from spikecore.audio import Cochlea, Spiketrum
from spikecore.audio.cochlea import BLOCK

TIMEOUT = 120  # seconds: a hang fails the test instead of blocking the suite


def _signal(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(np.float32) * 0.1


def _run_threads(fns):
    """Run the callables in threads; return (results, errors) in order. Fails on a hang."""
    results, errors = [None] * len(fns), [None] * len(fns)
    start = threading.Barrier(len(fns))

    def body(i):
        start.wait()
        try:
            results[i] = fns[i]()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            errors[i] = e

    ts = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(len(fns))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread hung"
    return results, errors


def _busy_while_held(obj, call):
    """Deterministic half of the two-thread tests (a loaded machine may never overlap two real
    calls): while another thread is inside a guarded method of ``obj`` (its busy lock held), a
    call from this thread raises the documented RuntimeError and changes nothing."""
    held, done = threading.Event(), threading.Event()

    @exclusive("holder")  # the streams' own guard, held by another thread
    def hold(_obj):
        held.set()
        done.wait(TIMEOUT)

    def inside():
        hold(obj)

    t = threading.Thread(target=inside, daemon=True)
    t.start()
    assert held.wait(TIMEOUT)
    try:
        with pytest.raises(RuntimeError, match="busy in another thread"):
            call()
    finally:
        done.set()
        t.join(TIMEOUT)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_one_cochlea_stream_from_two_threads_raises(n_threads):
    c = Cochlea(fs=16000, n_channels=16, n_threads=n_threads)
    s = c.stream()
    x = _signal(4 * BLOCK)  # long enough that the two calls overlap
    busy = 0
    for _ in range(5):
        s.reset()
        _, errors = _run_threads([lambda: s.process(x), lambda: s.process(x)])
        for e in errors:
            if e is not None:
                assert isinstance(e, RuntimeError) and "busy in another thread" in str(e), e
                busy += 1
        if busy:
            break
    if not busy:  # the two real calls never overlapped (a loaded machine): force the overlap
        _busy_while_held(s, lambda: s.process(x[:1000]))
    s.reset()  # usable afterwards: equal to a fresh stream
    assert np.array_equal(s.process(x[:1000]), c.stream().process(x[:1000]))


def test_independent_streams_in_parallel_equal_serial():
    c = Cochlea(fs=16000, n_channels=16, n_threads=2)
    xs = [_signal(3 * BLOCK + 17, seed=k) for k in range(3)]
    serial = [c.stream().process(x) for x in xs]
    streams = [c.stream() for _ in xs]
    par, errors = _run_threads([lambda s=s, x=x: s.process(x) for s, x in zip(streams, xs)])
    assert errors == [None] * 3
    for a, b in zip(serial, par):
        assert np.array_equal(a, b)
    # one Cochlea called from several threads serialises (no error, same results)
    par2, errors = _run_threads([lambda x=x: c(x) for x in xs])
    assert errors == [None] * 3
    for a, b in zip(serial, par2):
        assert np.array_equal(a, b)


def test_spiketrum_stream_from_two_threads_raises_and_batch_is_parallel():
    st = Spiketrum(fs=16000, rate_hz=2000, n_kernels=16, frame_length=512)
    x = _signal(16000 * 3)
    s = st.stream()
    busy = 0
    for _ in range(5):
        _, errors = _run_threads([lambda: s.push(x), lambda: s.push(x)])
        busy += sum(isinstance(e, RuntimeError) and "busy" in str(e) for e in errors)
        assert all(e is None or isinstance(e, RuntimeError) for e in errors)
        s.flush()
        if busy:
            break
    if not busy:
        _busy_while_held(s, lambda: s.push(x[:1000]))
    xs = [_signal(4000, seed=k) for k in range(4)]
    serial = st.encode_batch(xs, n_threads=1)
    par = st.encode_batch(xs, n_threads=2)
    for a, b in zip(serial, par):
        assert np.array_equal(a.t, b.t) and np.array_equal(a.amp, b.amp)


def _interrupt_after(seconds):
    timer = threading.Timer(seconds, _thread.interrupt_main)
    timer.start()
    return timer


def test_ctrl_c_during_spiketrum_encoding_leaves_it_usable():
    """frame_length=0 encodes the whole signal in one C++ call: Ctrl-C must stop it (within the
    50 ms polling interval) and the encoder must work afterwards."""
    st = Spiketrum(fs=16000, rate_hz=4000, n_kernels=32)
    long_x = _signal(16000 * 60)  # far longer than the interrupt delay
    timer = _interrupt_after(0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            st.encode(long_x)
    finally:
        timer.cancel()
    x = _signal(4000, seed=3)
    ev = st.encode(x)
    assert len(ev) == round(4000 * 4000 / 16000)
    assert np.array_equal(ev.t, Spiketrum(fs=16000, rate_hz=4000, n_kernels=32).encode(x).t)


def test_ctrl_c_during_stream_push_restores_the_stream():
    st = Spiketrum(fs=16000, rate_hz=4000, n_kernels=32, frame_length=4096)
    x = _signal(16000 * 2, seed=5)
    ref = st.stream()
    ref_events = [ref.push(x[:8000]), ref.push(x[8000:]), ref.flush()]
    s = st.stream()
    s.push(x[:8000])
    timer = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            s.push(np.tile(x, 30))  # long: interrupted part way
    finally:
        timer.cancel()
    assert s._enc.samples_seen == 8000  # as before the interrupted call
    got = [s.push(x[8000:]), s.flush()]
    t_ref = np.concatenate([e.t for e in ref_events[1:]])
    t_got = np.concatenate([e.t for e in got])
    assert np.array_equal(t_ref, t_got)


def test_ctrl_c_during_cochlea_stream_leaves_it_consistent():
    c = Cochlea(fs=16000, n_channels=8)
    s = c.stream()
    x = _signal(BLOCK * 8)
    timer = _interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            for _ in range(10000):  # until interrupted
                s.process(x)
    finally:
        timer.cancel()
    seen = s.samples_seen
    assert seen % BLOCK == 0  # stopped between blocks, never inside one
    # the stream continues from where it stopped: as a stream fed the same samples uninterrupted
    ref = c.stream()
    for i in range(0, seen, x.size):
        ref.process(x[: min(x.size, seen - i)])
    assert ref.samples_seen == seen
    nxt = x[(seen % x.size) :][:5000]
    assert np.array_equal(s.process(nxt), ref.process(nxt))
    s.reset()
    assert np.array_equal(s.process(x[:3000]), c(x[:3000]))
