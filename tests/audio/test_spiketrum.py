"""Spiketrum: exact budget, SNR vs budget, robustness, streaming, decoder, claims at small size."""

import numpy as np
import pytest

from spikecore import _core
from spikecore.audio import (
    SendOnDelta,
    SpikeEvents,
    Spiketrum,
    drop_spikes,
    jitter_spikes,
    si_snr_db,
    snr_db,
)

FS = 16000


def signal(seconds=0.5, seed=0):
    t = np.arange(int(FS * seconds)) / FS
    rng = np.random.default_rng(seed)
    x = (
        0.5 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 3 * t)
        + 0.2 * np.sin(2 * np.pi * 1500 * t + np.sin(2 * np.pi * 5 * t))
        + 0.05 * rng.standard_normal(t.size)
    )
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def x():
    return signal()


def test_dictionary_unit_norm_and_erb_spacing():
    st = Spiketrum(n_kernels=12)
    d = st.dictionary
    for m in range(12):
        assert np.linalg.norm(d.kernel(m).astype(np.float64)) == pytest.approx(1, abs=1e-5)
    cf = d.centre_frequencies
    e = 21.4 * np.log10(1 + 0.00437 * cf)
    assert np.allclose(np.diff(e), np.diff(e)[0])


def test_budget_met_exactly_and_rate_within_one_percent(x):
    for rate in (137.0, 500.0, 1000.0):
        for frame in (0, 1024):
            ev = Spiketrum(rate_hz=rate, n_kernels=16, frame_length=frame).encode(x)
            assert len(ev) == int(np.floor(rate * x.size / FS + 0.5))  # round half up
            assert ev.rate_hz == pytest.approx(rate, rel=0.01)


def test_snr_rises_monotonically_with_budget(x):
    snrs = []
    for rate in (125, 250, 500, 1000, 2000):
        st = Spiketrum(rate_hz=rate, n_kernels=24)
        snrs.append(snr_db(x, st.decode(st.encode(x))))
    assert all(b > a for a, b in zip(snrs, snrs[1:])), snrs
    assert snrs[-1] > 15


def test_graceful_decline_when_spikes_are_dropped(x):
    st = Spiketrum(rate_hz=1000, n_kernels=24)
    ev = st.encode(x)
    full = snr_db(x, st.decode(ev))
    eps = 10 ** (-full / 10)
    prev = full
    for frac in (0.1, 0.3):
        s = np.mean([snr_db(x, st.decode(drop_spikes(ev, frac, seed=k))) for k in range(3)])
        # no collapse: no worse than losing the dropped share of the signal's energy (+1.5 dB)
        assert s >= -10 * np.log10(eps + frac) - 1.5, (frac, s)
        assert s < prev
        prev = s
    jit = snr_db(x, st.decode(jitter_spikes(ev, 0.5 / FS, seed=1)))
    assert 0 < jit < full


def test_spiketrum_beats_send_on_delta_at_equal_rate(x):
    rate = 1000.0
    sod = SendOnDelta(on="band")
    achieved = sod.calibrate(x, rate, iters=20)
    assert achieved == pytest.approx(rate, rel=0.05)
    sod_snr = snr_db(x, sod.decode_audio(sod.encode(x)))
    st = Spiketrum(rate_hz=achieved, n_kernels=32)
    ev = st.encode(x)
    assert snr_db(x, st.decode(ev)) > sod_snr + 3
    assert snr_db(x, st.decode(ev, quantized=True)) > sod_snr  # spikes + 3-entry codebook only


def test_streaming_frames_same_as_one_call(x):
    st = Spiketrum(rate_hz=800, n_kernels=16, frame_length=1000)
    whole = st.encode(x)
    s = st.stream()
    parts = [s.push(x[i : i + 777]) for i in range(0, x.size, 777)] + [s.flush()]
    t = np.concatenate([p.t for p in parts])
    k = np.concatenate([p.unit for p in parts])
    a = np.concatenate([p.amp for p in parts])
    o = np.lexsort((k, t))
    assert np.array_equal(t[o], whole.t) and np.array_equal(k[o], whole.unit)
    assert np.array_equal(a[o], whole.amp)
    assert sum(len(p) for p in parts[:-1]) > 0  # frames were emitted before flush


def test_decoder_matches_numpy_sum_and_positive_only(x):
    st = Spiketrum(rate_hz=300, n_kernels=8)
    ev = st.encode(x[:4000])
    assert np.all(ev.amp >= 0)
    ref = np.zeros(4000)
    for t, m, a in zip(ev.t, ev.unit, ev.amp):
        g = st.dictionary.kernel(m)
        n = min(g.size, 4000 - t)
        ref[t : t + n] += a * g[:n]
    assert np.allclose(st.decode(ev), ref, atol=1e-5)
    signed = Spiketrum(rate_hz=300, n_kernels=8, positive_only=False).encode(x[:4000])
    assert np.any(signed.amp < 0)


def test_levels_dense_and_save_load(tmp_path, x):
    st = Spiketrum(rate_hz=400, n_kernels=10, n_levels=3, level_step_db=6)
    ev = st.encode(x)
    assert ev.n_channels == 30 and set(np.unique(ev.level)) <= {0, 1, 2}
    mag = np.abs(ev.amp)
    assert ev.level[np.argmax(mag)] == 2
    dense = ev.to_dense(dt_s=1e-3)
    assert dense.shape == (500, 30) and dense.sum() == len(ev)
    assert np.array_equal(np.nonzero(dense.sum(0))[0], np.unique(ev.channel))
    p = tmp_path / "ev.npz"
    ev.save(p)
    back = SpikeEvents.load(p)
    for f in ("t", "unit", "level", "amp", "level_amp"):
        assert np.array_equal(getattr(back, f), getattr(ev, f))
    assert (
        back.dt_s == ev.dt_s and back.n_steps == ev.n_steps and back.meta["encoder"] == "spiketrum"
    )


def test_metrics():
    x = signal(0.1)
    assert snr_db(x, x) == float("inf")
    assert snr_db(x, np.zeros_like(x)) == pytest.approx(0.0)
    assert si_snr_db(x, 3 * x + 0) == float("inf") or si_snr_db(x, 3 * x) > 100
    with pytest.raises(ValueError, match="x_hat"):
        snr_db(x, x[:-1])


@pytest.mark.parametrize(
    "kw,arg",
    [
        (dict(rate_hz=0), "rate_hz"),
        (dict(rate_hz=-5), "rate_hz"),
        (dict(fs=0), "fs"),
        (dict(f_hi=8000), "f_hi"),
        (dict(f_lo=5000, f_hi=4000), "f_lo"),
        (dict(n_kernels=0), "n_kernels"),
        (dict(n_levels=0), "n_levels"),
    ],
)
def test_bad_parameters(kw, arg):
    with pytest.raises(ValueError, match=arg):
        Spiketrum(**kw)


def test_bad_audio():
    st = Spiketrum(rate_hz=100, n_kernels=4)
    with pytest.raises(ValueError, match="x: samples must be finite"):
        st.encode(np.array([0, np.nan, 0], np.float32))
    with pytest.raises(ValueError, match="x: empty"):
        st.encode(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match=r"x: expected shape \[T\] \(mono\)"):
        st.encode(np.zeros((100, 2), np.float32))
    with pytest.raises(ValueError, match="rate_hz"):
        _core.audio.SpiketrumEncoder(st.dictionary._d, 0.0)


def test_silence_keeps_the_budget_with_zero_amplitudes():
    st = Spiketrum(rate_hz=200, n_kernels=4)
    ev = st.encode(np.zeros(1600, np.float32))
    assert len(ev) == 20 and np.all(ev.amp == 0)
    assert np.all(st.decode(ev) == 0)


def test_encode_batch_threads_same_result(x):
    st = Spiketrum(rate_hz=300, n_kernels=8)
    xs = [x[:3000], x[3000:7000], x[1000:2000]]
    a = st.encode_batch(xs)
    b = st.encode_batch(xs, n_threads=2)
    for ea, eb in zip(a, b):
        assert np.array_equal(ea.t, eb.t) and np.array_equal(ea.amp, eb.amp)
    with pytest.raises(ValueError, match="n_threads"):
        st.encode_batch(xs, n_threads=0)
