"""WAV files: read to float32 in [-1, 1] and write 16-bit PCM (stdlib ``wave``; float WAVs via
scipy.io.wavfile when scipy is installed).

>>> import numpy as np, tempfile, os
>>> from spikecore.data.wav import read_wav, write_wav
>>> p = os.path.join(tempfile.mkdtemp(), "a.wav")
>>> write_wav(p, np.zeros(80, np.float32), 8000)
>>> x, fs = read_wav(p)
>>> x.shape, fs
((80,), 8000)
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Tuple

import numpy as np


def _from_pcm(raw: bytes, width: int) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float32) / float(1 << 23)
    if width == 4:
        return (np.frombuffer(raw, "<i4").astype(np.float64) / 2.0**31).astype(np.float32)
    raise ValueError(f"path: unsupported sample width {width} bytes")


def read_wav(path, mono: bool = True) -> Tuple[np.ndarray, int]:
    """Read a WAV file -> (samples float32, sample rate in Hz).

    ``mono=True`` returns shape [T] and raises ValueError for a multichannel file (mix or pick a
    channel yourself with ``mono=False``, which returns [T, channels])."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file: {path}")
    try:
        with wave.open(str(path), "rb") as w:
            n_ch, width, fs, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
        x = _from_pcm(raw, width).reshape(-1, n_ch)
    except (wave.Error, EOFError) as exc:
        # float WAVs (format 3) are not read by the stdlib; try scipy
        try:
            import warnings

            from scipy.io import wavfile

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fs, data = wavfile.read(str(path))
        except Exception:
            raise ValueError(f"path: cannot read WAV file {path}: {exc}") from None
        data = np.asarray(data)
        if data.dtype.kind == "f":
            x = data.astype(np.float32)
        elif data.dtype.kind in "iu":
            info = np.iinfo(data.dtype)
            off = (info.max + 1) / 2 if data.dtype.kind == "u" else 0.0
            x = ((data.astype(np.float64) - off) / (info.max + 1 - off)).astype(np.float32)
        else:
            raise ValueError(f"path: unsupported WAV sample type {data.dtype}") from None
        x = x.reshape(x.shape[0], -1)
    if fs <= 0:
        raise ValueError(f"path: invalid sample rate {fs} in {path}")
    if mono:
        if x.shape[1] != 1:
            raise ValueError(
                f"path: expected mono audio, {path} has {x.shape[1]} channels "
                "(read with mono=False and mix or pick a channel)"
            )
        return np.ascontiguousarray(x[:, 0]), int(fs)
    return np.ascontiguousarray(x), int(fs)


def write_wav(path, x, fs: int) -> None:
    """Write float samples in [-1, 1] ([T] or [T, channels]) as 16-bit PCM."""
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"x: expected [T] or [T, channels] with T > 0, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x: samples must be finite")
    if int(fs) != fs or fs <= 0:
        raise ValueError(f"fs: sample rate must be a positive integer, got {fs}")
    pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(fs))
        w.writeframes(pcm.tobytes())
