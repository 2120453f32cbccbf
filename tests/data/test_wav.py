import wave

import numpy as np
import pytest

from spikecore.data.wav import read_wav, write_wav


def test_round_trip_16bit(tmp_path):
    x = (0.5 * np.sin(np.arange(1000) / 7)).astype(np.float32)
    p = tmp_path / "a.wav"
    write_wav(p, x, 16000)
    y, fs = read_wav(p)
    assert fs == 16000 and y.dtype == np.float32 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= 1 / 32768 + 1e-7


def test_stereo_where_mono_expected(tmp_path):
    p = tmp_path / "st.wav"
    write_wav(p, np.zeros((100, 2), np.float32), 8000)
    with pytest.raises(ValueError, match="path: expected mono"):
        read_wav(p)
    y, fs = read_wav(p, mono=False)
    assert y.shape == (100, 2)


def test_24bit_and_8bit(tmp_path):
    for width, raw, expect in [(3, bytes([0, 0, 0x40]), 0.5), (1, bytes([192]), 0.5)]:
        p = tmp_path / f"w{width}.wav"
        with wave.open(str(p), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(width)
            w.setframerate(8000)
            w.writeframes(raw)
        y, _ = read_wav(p)
        assert y[0] == pytest.approx(expect)


def test_float_wav_via_scipy(tmp_path):
    wavfile = pytest.importorskip("scipy.io.wavfile")
    p = tmp_path / "f.wav"
    wavfile.write(p, 8000, np.array([0.25, -0.5], np.float32))
    y, fs = read_wav(p)
    assert fs == 8000 and np.allclose(y, [0.25, -0.5])


def test_unreadable_and_missing(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not a wav file at all")
    with pytest.raises(ValueError, match="path: .*not a WAV file"):
        read_wav(bad)
    with pytest.raises(FileNotFoundError, match="path"):
        read_wav(tmp_path / "missing.wav")


def test_write_bad_input(tmp_path):
    with pytest.raises(ValueError, match="fs"):
        write_wav(tmp_path / "x.wav", np.zeros(10), 0)
    with pytest.raises(ValueError, match="x"):
        write_wav(tmp_path / "x.wav", np.array([np.nan]), 8000)
    with pytest.raises(ValueError, match="x"):
        write_wav(tmp_path / "x.wav", np.zeros(0), 8000)
