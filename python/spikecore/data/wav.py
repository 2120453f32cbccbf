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

import struct
import wave
from pathlib import Path
from typing import Tuple

import numpy as np

from spikecore._guards import integer
from spikecore.data.files import FileFormatError, file_error

#: the highest sample rate a WAV file may declare (Hz); above it the header is corrupt
MAX_SAMPLE_RATE = 10_000_000


def _check_riff(path: Path) -> int:
    """Walk the RIFF chunks of a WAV file without reading their data: every chunk must fit in
    the file (so no reader allocates what a corrupted size field claims) and a ``fmt `` and a
    ``data`` chunk must exist. Returns the size of the data chunk; FileFormatError naming the
    file otherwise."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise FileFormatError(path, "not a WAV file (no RIFF/WAVE header)")
        found, pos, data_size = set(), 12, 0
        while pos + 8 <= size:
            f.seek(pos)
            cid, n = struct.unpack("<4sI", f.read(8))
            if pos + 8 + n > size:
                raise FileFormatError(
                    path,
                    f"chunk {cid!r} at byte {pos} claims {n} bytes but the file ends after "
                    f"{size - pos - 8} (truncated or corrupted)",
                )
            found.add(cid)
            if cid == b"data":
                data_size = n
            pos += 8 + n + (n & 1)
        for need in (b"fmt ", b"data"):
            if need not in found:
                raise FileFormatError(path, f"has no {need.decode().strip()!r} chunk")
    return data_size


def _from_pcm(raw: bytes, width: int, path=None) -> np.ndarray:
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
    raise FileFormatError(path, f"unsupported sample width {width} bytes")


def read_wav(path, mono: bool = True) -> Tuple[np.ndarray, int]:
    """Read a WAV file -> (samples float32, sample rate in Hz).

    ``mono=True`` returns shape [T] and raises ValueError for a multichannel file (mix or pick a
    channel yourself with ``mono=False``, which returns [T, channels])."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no such file: {path}")
    try:
        data_size = _check_riff(path)
    except OSError as exc:
        raise file_error(path, "cannot be read", exc) from None
    try:
        with wave.open(str(path), "rb") as w:
            n_ch, width, fs, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            raw = w.readframes(n)
        if n_ch < 1 or width < 1:
            raise FileFormatError(path, f"declares {n_ch} channels of {width}-byte samples")
        if data_size != n * n_ch * width:
            raise FileFormatError(
                path,
                f"data chunk of {data_size} bytes is not a whole number of {n_ch} x "
                f"{width}-byte frames (corrupted channel count or sample width)",
            )
        if len(raw) != n * n_ch * width:
            raise FileFormatError(
                path,
                f"holds {len(raw) // (n_ch * width)} of the {n} frames its header declares "
                "(truncated)",
            )
        x = _from_pcm(raw, width, path).reshape(-1, n_ch)
    except (wave.Error, EOFError, struct.error) as exc:
        # float WAVs (format 3) are not read by the stdlib; try scipy
        try:
            import warnings

            from scipy.io import wavfile

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fs, data = wavfile.read(str(path))
        except Exception:
            raise file_error(path, "cannot be read as a WAV file", exc) from None
        data = np.asarray(data)
        if data.dtype.kind == "f":
            x = data.astype(np.float32)
        elif data.dtype.kind in "iu":
            info = np.iinfo(data.dtype)
            off = (info.max + 1) / 2 if data.dtype.kind == "u" else 0.0
            x = ((data.astype(np.float64) - off) / (info.max + 1 - off)).astype(np.float32)
        else:
            raise FileFormatError(path, f"unsupported WAV sample type {data.dtype}") from None
        if x.ndim == 0:
            raise FileFormatError(path, "holds no sample array") from None
        x = x.reshape(x.shape[0], -1)
    if not 0 < fs <= MAX_SAMPLE_RATE:
        raise FileFormatError(
            path, f"invalid sample rate {fs} Hz (must be in (0, {MAX_SAMPLE_RATE}])"
        )
    if x.dtype.kind == "f" and not np.all(np.isfinite(x)):
        raise FileFormatError(path, "holds NaN or inf samples")
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
    fs = integer(fs, "fs", 1, 2**32 - 1)  # the header's uint32 sample rate
    pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(fs))
        w.writeframes(pcm.tobytes())
