"""Gammatone filterbank: against scipy, streaming, threads, envelope stage, bad input."""

import numpy as np
import pytest

scipy_signal = pytest.importorskip("scipy.signal")

from spikecore.audio import Cochlea  # noqa: E402


def test_centre_frequencies_erb_spaced():
    c = Cochlea(fs=16000, n_channels=20, f_lo=100, f_hi=6000)
    cf = c.centre_frequencies
    assert cf[0] == pytest.approx(100) and cf[-1] == pytest.approx(6000)
    e = 21.4 * np.log10(1 + 0.00437 * cf)
    assert np.allclose(np.diff(e), np.diff(e)[0])


def test_magnitude_response_matches_scipy_gammatone():
    # scipy's 8th-order (b, a) form is only numerically reliable for cf/fs above ~0.01; the
    # channels here cover 200 Hz .. 7 kHz at 16 kHz. Compare within the passband (|H| > 1e-3).
    fs = 16000.0
    c = Cochlea(fs=fs, n_channels=24, f_lo=200, f_hi=7000)
    w = np.linspace(10, fs / 2 - 10, 3000)
    for cf, sos in zip(c.centre_frequencies, c.sos()):
        b, a = scipy_signal.gammatone(cf, "iir", fs=fs)
        _, h_ref = scipy_signal.freqz(b, a, worN=w, fs=fs)
        _, h = scipy_signal.sosfreqz(sos, worN=w, fs=fs)
        m = np.abs(h_ref) > 1e-3
        rel = np.abs(np.abs(h[m]) - np.abs(h_ref[m])) / np.abs(h_ref[m])
        assert rel.max() < 1e-3, (cf, rel.max())


def test_impulse_response_matches_sosfilt_of_same_sections():
    c = Cochlea(fs=16000, n_channels=32, f_lo=50, f_hi=7000)
    x = np.zeros(3000, np.float32)
    x[0] = 1.0
    y = c(x)
    for ch, sos in enumerate(c.sos()):
        ref = scipy_signal.sosfilt(sos, x.astype(np.float64))
        err = np.max(np.abs(y[:, ch] - ref)) / np.max(np.abs(ref))
        assert err < 2e-4, (ch, err)


def test_unit_gain_at_centre_frequency():
    fs = 16000.0
    c = Cochlea(fs=fs, n_channels=8, f_lo=300, f_hi=5000)
    t = np.arange(8000) / fs
    for ch, cf in enumerate(c.centre_frequencies):
        y = c(np.sin(2 * np.pi * cf * t).astype(np.float32))[:, ch]
        assert np.max(np.abs(y[4000:])) == pytest.approx(1.0, rel=2e-2)


@pytest.mark.parametrize(
    "kw", [dict(), dict(envelope=True, frame_rate_hz=100, compression="power", pre_emphasis=0.97)]
)
def test_streaming_equals_whole_and_threads(kw):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4001)).astype(np.float32)
    c = Cochlea(fs=16000, n_channels=37, **kw)
    whole = c(x)
    s = c.stream(batch=3)
    parts = [s.process(x[:, i : i + 333]) for i in range(0, x.shape[1], 333)]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    c2 = Cochlea(fs=16000, n_channels=37, n_threads=2, **kw)
    assert np.array_equal(c2(x), whole)
    assert np.array_equal(c(x[1]), whole[1])


def test_envelope_stage_shape_and_values():
    fs = 16000
    c = Cochlea(fs=fs, n_channels=16, f_lo=100, f_hi=6000, envelope=True, frame_rate_hz=100)
    t = np.arange(fs) / fs
    ch = 8
    tone = np.sin(2 * np.pi * c.centre_frequencies[ch] * t).astype(np.float32)
    env = c(tone)
    assert env.shape == (100, 16)
    assert np.all(env >= 0)
    assert np.argmax(env[50]) == ch
    # a rectified unit sine averages 1/pi
    assert env[50:, ch].mean() == pytest.approx(1 / np.pi, rel=0.1)
    logc = Cochlea(
        fs=fs,
        n_channels=16,
        f_lo=100,
        f_hi=6000,
        envelope=True,
        frame_rate_hz=100,
        compression="log",
        log_floor=1e-2,
    )
    assert np.allclose(logc(tone), np.log1p(env / 1e-2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kw,arg",
    [
        (dict(fs=0), "fs"),
        (dict(fs=-8000), "fs"),
        (dict(fs=16000, f_hi=8000), "f_hi"),
        (dict(fs=16000, f_lo=5000, f_hi=4000), "f_lo"),
        (dict(n_channels=0), "n_channels"),
        (dict(compression="cubic"), "compression"),
        (dict(frame_rate_hz=100), "frame_rate_hz"),
    ],
)
def test_bad_parameters(kw, arg):
    with pytest.raises(ValueError, match=arg):
        Cochlea(**kw)


def test_bad_audio():
    c = Cochlea(n_channels=4)
    with pytest.raises(ValueError, match="x: samples must be finite"):
        c(np.array([0.0, np.nan, 1.0], np.float32))
    with pytest.raises(ValueError, match="x: samples must be finite"):
        c(np.array([0.0, np.inf], np.float32))
    with pytest.raises(ValueError, match="x: empty"):
        c(np.zeros(0, np.float32))
    with pytest.raises(ValueError, match="x: expected shape"):
        c(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(TypeError, match="x"):
        c(np.array(["a", "b"]))


def test_low_channels_match_scipy_numerator_with_factored_denominator():
    # Below cf/fs ~ 0.01 evaluate scipy's design without its ill-conditioned 8th-order
    # denominator: scipy's numerator b over (1 - 2 r cos(w) z^-1 + r^2 z^-2)^4, where
    # r = exp(-2 pi 1.019 ERB(cf) / fs), w = 2 pi cf / fs are scipy's own pole parameters.
    fs = 16000.0
    c = Cochlea(fs=fs, n_channels=6, f_lo=50, f_hi=300)
    w = np.linspace(5, 2000, 4000)
    z1 = np.exp(-2j * np.pi * w / fs)
    for cf, sos in zip(c.centre_frequencies, c.sos()):
        b, _ = scipy_signal.gammatone(cf, "iir", fs=fs)
        r = np.exp(-2 * np.pi * 1.019 * (24.7 + cf / 9.26449) / fs)
        th = 2 * np.pi * cf / fs
        den = (1 - 2 * r * np.cos(th) * z1 + r * r * z1**2) ** 4
        h_ref = np.polyval(b[::-1], z1) / den
        _, h = scipy_signal.sosfreqz(sos, worN=w, fs=fs)
        m = np.abs(h_ref) > 1e-3
        rel = np.abs(np.abs(h[m]) - np.abs(h_ref[m])) / np.abs(h_ref[m])
        assert rel.max() < 1e-3, (cf, rel.max())


def _cascade_float32(c, x):
    """The filterbank's arithmetic restated in numpy float32, operation for operation:
    u = g x_n; y_k = y_{k-1} + ((c1_k p_{k-1} - a2 q_k) - a1 p_k) for k = 1..4 (y_0 = u),
    where p, q are the previous and second-previous outputs of each stage."""
    sos = c.sos()  # [C, 4, 6]: (b0, b1, b2, 1, a1, a2), built from the kernel's float32 values
    f = np.float32
    g = sos[:, 0, 0].astype(f)
    c1 = [(sos[:, k, 1] / sos[:, k, 0]).astype(f) for k in range(4)]
    a1, a2 = sos[:, 0, 4].astype(f), sos[:, 0, 5].astype(f)
    n = sos.shape[0]
    p = [np.zeros(n, f) for _ in range(5)]
    q = [np.zeros(n, f) for _ in range(5)]
    out = np.empty((x.size, n), f)
    for t, xt in enumerate(x):
        u = g * f(xt)
        ts = [(c1[k] * p[k] - a2 * q[k + 1]) - a1 * p[k + 1] for k in range(4)]
        y = [u]
        for k in range(4):
            y.append(y[-1] + ts[k])
        q = [None] + p[1:]
        p = y
        out[t] = y[4]
    return out


def test_bitwise_equal_to_float32_cascade_without_denormals():
    # Time blocking, channel-group splitting and non-temporal stores (outputs > 4 MB) must not
    # change a single bit where no subnormal numbers occur (white noise keeps the state normal).
    rng = np.random.default_rng(3)
    x = (0.1 * rng.standard_normal(17000)).astype(np.float32)
    c = Cochlea(fs=16000, n_channels=64, f_lo=50, f_hi=7000)
    ref = _cascade_float32(c, x)
    assert not np.any((ref != 0) & (np.abs(ref) < np.finfo(np.float32).tiny))
    y = c(x)  # 17000 x 64 x 4 B = 4.4 MB: the streaming-store path
    assert np.array_equal(y, ref)
    c2 = Cochlea(fs=16000, n_channels=64, f_lo=50, f_hi=7000, n_threads=2)
    assert np.array_equal(
        c2(np.stack([x[:5000], x[5000:10000]])),
        np.stack([ref[:5000], _cascade_float32(c, x[5000:10000])]),
    )


def test_silence_flushes_denormals_and_matches_scipy():
    # After a burst, silence lets the IIR state decay through float32's subnormal range; the kernel
    # flushes it to zero (fast on x86), which stays within float tolerance of scipy in float64.
    rng = np.random.default_rng(4)
    x = np.zeros(12000, np.float32)
    x[:2000] = 0.3 * rng.standard_normal(2000)
    c = Cochlea(fs=16000, n_channels=32, f_lo=50, f_hi=7000)
    y = c(x)
    tiny = np.finfo(np.float32).tiny
    assert not np.any((y != 0) & (np.abs(y) < tiny))
    for ch, sos in enumerate(c.sos()):
        ref = scipy_signal.sosfilt(sos, x.astype(np.float64))
        assert np.max(np.abs(y[:, ch] - ref)) <= 2e-4 * np.max(np.abs(ref)), ch
    # the caller's floating-point mode is restored: subnormals still exist in numpy afterwards
    assert np.float32(tiny) / np.float32(4) != 0
