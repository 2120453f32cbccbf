"""The filterbank's output memory: ``out=`` (caller-provided arrays) and the binding's page cache
for large outputs (the core's buffer pool, core/buffer_pool.hpp). Results must be bitwise those of a fresh output."""

import resource
import sys

import numpy as np
import pytest

import spikecore.audio.cochlea as cochlea_mod
from spikecore import _core
from spikecore.audio import Cochlea

KW = [dict(), dict(envelope=True, frame_rate_hz=100, compression="log", pre_emphasis=0.97)]


@pytest.mark.parametrize("kw", KW)
def test_out_is_bitwise_the_returned_output(kw):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4001)).astype(np.float32)
    c = Cochlea(fs=16000, n_channels=37, **kw)
    ref = c(x)
    out = np.full_like(ref, np.nan)  # every element must be overwritten
    assert c(x, out=out) is out
    assert np.array_equal(out, ref)
    one = np.full_like(ref[1], np.nan)
    assert c(x[1], out=one) is one and np.array_equal(one, ref[1])
    # a stream writes chunk by chunk into caller arrays; chunked == whole
    s = c.stream(batch=3)
    parts = []
    for i in range(0, x.shape[1], 333):
        n = s._s.output_length(min(333, x.shape[1] - i))
        buf = np.full((3, n, 37), np.nan, np.float32)
        assert s.process(x[:, i : i + 333], out=buf) is buf
        parts.append(buf)
    assert np.array_equal(np.concatenate(parts, axis=1), ref)


@pytest.mark.parametrize("batch", [1, 2])
def test_long_signal_blocks_written_in_place(monkeypatch, batch):
    # Signals longer than BLOCK are filtered block by block into one output (batch stride > one
    # block's rows): the same bits as one block, with and without out=.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, 2500)).astype(np.float32)
    c = Cochlea(fs=16000, n_channels=20, envelope=True, frame_rate_hz=1000)
    ref = c(x)
    monkeypatch.setattr(cochlea_mod, "BLOCK", 333)
    assert np.array_equal(c(x), ref)
    out = np.full_like(ref, np.nan)
    assert np.array_equal(c(x, out=out), ref)


def test_bad_out():
    c = Cochlea(fs=8000, n_channels=4, f_lo=100, f_hi=3000)
    x = np.linspace(-1, 1, 50, dtype=np.float32)
    good = np.empty((50, 4), np.float32)
    with pytest.raises(TypeError, match="^out: expected a numpy array"):
        c(x, out=[[0.0] * 4] * 50)
    with pytest.raises(TypeError, match="^out: expected dtype float32"):
        c(x, out=good.astype(np.float64))
    with pytest.raises(ValueError, match=r"^out: expected shape \(50, 4\)"):
        c(x, out=good[:49])
    with pytest.raises(ValueError, match="^out: must be C-contiguous"):
        c(x, out=np.empty((4, 50), np.float32).T)
    ro = good.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="^out: is read-only"):
        c(x, out=ro)
    buf = np.zeros(50 * 5, np.float32)
    with pytest.raises(ValueError, match="^out: shares memory with x"):
        c(buf[:50], out=buf[10:210].reshape(50, 4))
    s = c.stream(batch=2)
    with pytest.raises(ValueError, match=r"^out: expected shape \(2, 50, 4\)"):
        s.process(np.zeros((2, 50), np.float32), out=np.empty((1, 50, 4), np.float32))
    # the binding refuses strides it cannot write, with the argument's name
    with pytest.raises(ValueError, match="^out: "):
        s._s.process(
            np.zeros((2, 50), np.float32), np.empty((2, 4, 50), np.float32).transpose(0, 2, 1)
        )


def test_large_outputs_reuse_pages_but_never_a_live_array():
    c = Cochlea(fs=16000, n_channels=64, f_lo=50, f_hi=7000)
    rng = np.random.default_rng(4)
    x1 = rng.standard_normal(16000).astype(np.float32)
    x2 = rng.standard_normal(16000).astype(np.float32)
    a = c(x1)  # 4 MB: from the buffer pool
    a_copy = a.copy()
    b = c(x2)  # a is alive: b must not use its memory
    assert not np.may_share_memory(a, b)
    assert np.array_equal(a, a_copy)
    assert np.array_equal(b, c(x2))
    assert a.ctypes.data % (2 << 20) == 0  # 2 MiB-aligned (huge-page advice covers it all)
    if not sys.platform.startswith("linux"):
        return
    b_bytes = b.nbytes
    del b
    before = _core.train.pool_stats()
    assert before["cached_bytes"] >= b_bytes
    b2 = c(x2)  # into a freed block, already faulted in: nothing new is mapped
    after = _core.train.pool_stats()
    assert after["hits"] == before["hits"] + 1 and after["misses"] == before["misses"]
    assert np.array_equal(b2, c(x2))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RUSAGE_THREAD is Linux's")
def test_repeated_calls_do_not_fault_in_fresh_pages():
    # The mechanism of the slow first calls (docs/audio.md): each 4 MB output in fresh pages
    # cost ~1,000 minor faults (4 KiB pages). Outputs freed between calls must be reused.
    c = Cochlea(fs=16000, n_channels=64, f_lo=50, f_hi=7000)
    x = np.random.default_rng(5).standard_normal(16000).astype(np.float32)
    c(x)
    faults = []
    for _ in range(6):
        f0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        y = c(x)
        faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f0)
        del y
    assert max(faults) < 100, faults
