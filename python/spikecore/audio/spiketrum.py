"""Spiketrum: spike coding of audio with an exactly controlled spike rate (arXiv 2309.05430).

Event-based temporal matching pursuit over an ERB-spaced gammatone dictionary (C++ core):

.. math::

    g_m(t) = \\frac{t^3 e^{-2\\pi \\cdot 1.019\\, \\mathrm{ERB}(f_m) t} \\cos(2\\pi f_m t)}{\\|\\cdot\\|},
    \\qquad (m^*, \\tau^*) = \\arg\\max_{m,\\tau} \\langle r, g_m(\\cdot - \\tau) \\rangle,
    \\qquad r \\leftarrow r - a\\, g_{m^*}(\\cdot - \\tau^*)

repeated until the budget :math:`N = \\mathrm{round}(\\text{rate} \\times \\text{duration})` is spent
(exactly). With ``positive_only=False`` the choice is :math:`\\arg\\max |\\langle r, g\\rangle|` as in
the paper; the default ``positive_only=True`` takes the largest positive product instead, so every
coefficient is >= 0 and the spikes alone (time, channel) plus a K-entry level codebook describe the
reconstruction (a sign flip of a gammatone is nearly a half-period shift, so the cost is small).
Each atom becomes a spike at :math:`\\tau^*` on channel :math:`m^* K + q(|a|)` (intensity to place,
M kernels x K levels). Levels are decibel bands below a reference (default: the largest ``|a|`` of the
encoding): :math:`q = K - 1 - \\min(K-1, \\lfloor 20\\log_{10}(a_{ref}/|a|) / \\Delta\\rfloor)`.
When nothing is left to explain (a frame of exact silence, or no positive product with
``positive_only``), the rest of the frame's budget is emitted as zero-amplitude spikes at the best
remaining lag, so the count stays exact. Decoder: :math:`\\hat x = \\sum a\\, g_m(t - \\tau)` with the exact coefficients, or with each
level's mean ``|a|`` (``quantized=True``) [reconstruction: the paper does not specify its decoder].

==============  ===========  =====  =========================================================
parameter       default      unit   meaning
==============  ===========  =====  =========================================================
fs              16000        Hz     sampling rate
rate_hz         1000         1/s    spike budget per second of audio (met exactly)
n_kernels       32           --     M, gammatone kernels (ERB-spaced)
f_lo, f_hi      100, 0.875   Hz     kernel centre frequency range (f_hi default 0.875 fs/2)
n_levels        3            --     K, amplitude levels per kernel
level_step_db   10           dB     width of each amplitude level
level_ref       None         --     amplitude of the top level's upper edge (None: max ``|a|``)
frame_length    0            samp   streaming frame (0: whole signal, global greedy; memory
                                    4 M bytes per sample, so use frames for long signals)
positive_only   True         --     argmax of the product instead of its magnitude
tail_db         60           dB     kernel truncation below the envelope peak
==============  ===========  =====  =========================================================

>>> import numpy as np
>>> from spikecore.audio import Spiketrum
>>> x = np.sin(2 * np.pi * 440 * np.arange(8000) / 16000).astype(np.float32)
>>> ev = Spiketrum(rate_hz=500, n_kernels=16).encode(x)
>>> len(ev), ev.n_channels
(250, 48)
"""

from __future__ import annotations

import functools
from typing import Optional

import numpy as np

from spikecore import _core
from spikecore.audio.cochlea import as_audio
from spikecore.audio.events import SpikeEvents


@functools.lru_cache(maxsize=8)
def _dictionary(fs: float, n_kernels: int, f_lo: float, f_hi: float, tail_db: float):
    return _core.audio.GammatoneDictionary(fs, n_kernels, f_lo, f_hi, tail_db)


class GammatoneDictionary:
    """The unit-norm gammatone kernels (read-only view of the C++ dictionary)."""

    def __init__(self, fs=16000.0, n_kernels=32, f_lo=100.0, f_hi=None, tail_db=60.0):
        if not np.isfinite(fs) or fs <= 0:
            raise ValueError(f"fs: sample rate must be > 0, got {fs}")
        f_hi = 0.875 * fs / 2 if f_hi is None else f_hi
        if int(n_kernels) != n_kernels or n_kernels < 1:
            raise ValueError(f"n_kernels: must be an integer >= 1, got {n_kernels}")
        self._d = _dictionary(float(fs), int(n_kernels), float(f_lo), float(f_hi), float(tail_db))

    @property
    def centre_frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of each kernel, ERB-spaced."""
        return np.asarray(self._d.centre_frequencies)

    def kernel(self, m: int) -> np.ndarray:
        """The unit-norm gammatone kernel ``m`` as samples."""
        return np.asarray(self._d.kernel(int(m)))

    def __len__(self) -> int:
        return self._d.size


class Spiketrum:
    """Spiketrum encoder/decoder (see the module docstring for the equations)."""

    def __init__(
        self,
        fs: float = 16000.0,
        rate_hz: float = 1000.0,
        n_kernels: int = 32,
        f_lo: float = 100.0,
        f_hi: Optional[float] = None,
        n_levels: int = 3,
        level_step_db: float = 10.0,
        level_ref: Optional[float] = None,
        frame_length: int = 0,
        positive_only: bool = True,
        tail_db: float = 60.0,
    ):
        if not np.isfinite(rate_hz) or rate_hz <= 0:
            raise ValueError(f"rate_hz: spike budget must be > 0, got {rate_hz}")
        if int(n_levels) != n_levels or n_levels < 1:
            raise ValueError(f"n_levels: must be an integer >= 1, got {n_levels}")
        if not level_step_db > 0:
            raise ValueError(f"level_step_db: must be > 0, got {level_step_db}")
        if level_ref is not None and not level_ref > 0:
            raise ValueError(f"level_ref: must be > 0, got {level_ref}")
        if int(frame_length) != frame_length or frame_length < 0:
            raise ValueError(f"frame_length: must be an integer >= 0, got {frame_length}")
        self.dictionary = GammatoneDictionary(fs, n_kernels, f_lo, f_hi, tail_db)
        self.fs = float(fs)
        self.rate_hz = float(rate_hz)
        self.n_kernels = int(n_kernels)
        self.n_levels = int(n_levels)
        self.level_step_db = float(level_step_db)
        self.level_ref = level_ref
        self.frame_length = int(frame_length)
        self.positive_only = bool(positive_only)

    @property
    def n_channels(self) -> int:
        """Number of spike channels, n_kernels x n_levels."""
        return self.n_kernels * self.n_levels

    def _encoder(self):
        return _core.audio.SpiketrumEncoder(
            self.dictionary._d, self.rate_hz, self.frame_length, self.positive_only
        )

    def encode(self, x) -> SpikeEvents:
        """Encode mono audio ``x`` [T] (float, or int PCM scaled to [-1, 1]) into spike events."""
        x = as_audio(x, allow_batch=False)
        enc = self._encoder()
        t1, k1, a1 = enc.push(x)
        t2, k2, a2 = enc.flush()
        return self._events(
            np.concatenate([t1, t2]), np.concatenate([k1, k2]), np.concatenate([a1, a2]), x.shape[0]
        )

    def encode_batch(self, xs, n_threads: int = 1) -> list:
        """Encode a list of mono signals (each its own budget). The C++ encoder releases the GIL,
        so ``n_threads > 1`` encodes signals in parallel; results do not depend on it."""
        if int(n_threads) != n_threads or n_threads < 1:
            raise ValueError(f"n_threads: must be an integer >= 1, got {n_threads}")
        if n_threads == 1:
            return [self.encode(x) for x in xs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(int(n_threads)) as pool:
            return list(pool.map(self.encode, xs))

    def _events(self, t, k, a, n_samples) -> SpikeEvents:
        order = np.lexsort((k, t))
        t, k, a = t[order], k[order], a[order]
        level, ref = self.quantize(a)
        K = self.n_levels
        mag = np.abs(a)
        level_amp = np.array(
            [
                mag[level == q].mean()
                if np.any(level == q)
                else ref * 10 ** (-(K - 1 - q + 0.5) * self.level_step_db / 20)
                for q in range(K)
            ],
            np.float32,
        )
        return SpikeEvents(
            t=t.astype(np.int64),
            unit=k.astype(np.int32),
            level=level,
            n_units=self.n_kernels,
            n_levels=K,
            dt_s=1.0 / self.fs,
            n_steps=int(n_samples),
            amp=a.astype(np.float32),
            level_amp=level_amp,
            meta=dict(
                encoder="spiketrum",
                fs=self.fs,
                rate_hz=self.rate_hz,
                level_ref=ref,
                positive_only=self.positive_only,
            ),
        )

    def quantize(self, amp):
        """Amplitude level of each coefficient and the reference used: (levels int32, ref)."""
        mag = np.abs(np.asarray(amp, np.float64))
        ref = self.level_ref if self.level_ref is not None else (mag.max() if mag.size else 1.0)
        ref = ref if ref > 0 else 1.0
        with np.errstate(divide="ignore"):
            db_below = 20 * np.log10(ref / np.maximum(mag, 1e-30))
        steps = np.floor(np.maximum(db_below, 0) / self.level_step_db)
        return (self.n_levels - 1 - np.minimum(steps, self.n_levels - 1)).astype(np.int32), ref

    def decode(
        self, events: SpikeEvents, quantized: bool = False, n_samples: Optional[int] = None
    ) -> np.ndarray:
        """Waveform from events: exact coefficients, or the level codebook (``quantized``)."""
        n = events.n_steps if n_samples is None else int(n_samples)
        if quantized:
            if events.level_amp is None:
                raise ValueError("events: no level codebook (level_amp) for quantized decoding")
            amp = events.level_amp[events.level].astype(np.float32)
            if events.amp is not None:
                amp = np.where(events.amp < 0, -amp, amp).astype(np.float32)
        else:
            if events.amp is None:
                raise ValueError("events: no amplitudes; use quantized=True")
            amp = events.amp.astype(np.float32)
        return np.asarray(
            self.dictionary._d.decode(
                np.ascontiguousarray(events.t, np.int64),
                np.ascontiguousarray(events.unit, np.int32),
                np.ascontiguousarray(amp),
                n,
            )
        )

    def stream(self) -> "SpiketrumStream":
        """Frame-by-frame encoding (needs ``frame_length`` > 0 to emit before ``flush``)."""
        return SpiketrumStream(self)


class SpiketrumStream:
    """``push(chunk)`` returns the events of the frames completed; ``flush()`` the rest.

    Levels are computed per returned batch; give ``level_ref`` for levels consistent across
    batches. The total spike count equals round(rate * duration) however the input is chunked."""

    def __init__(self, st: Spiketrum):
        self.st = st
        self._enc = st._encoder()

    def push(self, x) -> SpikeEvents:
        x = as_audio(x, allow_batch=False)
        n_before = self._enc.samples_seen
        t, k, a = self._enc.push(x)
        return self.st._events(t, k, a, n_before + x.shape[0])

    def flush(self) -> SpikeEvents:
        n = self._enc.samples_seen
        t, k, a = self._enc.flush()
        return self.st._events(t, k, a, n)
