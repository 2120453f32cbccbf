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
import math
import threading
from typing import Optional

import numpy as np

from spikecore import _core
from spikecore._guards import check_bytes, exclusive, integer, threads
from spikecore.audio.cochlea import as_audio, check_fs
from spikecore.audio.events import SpikeEvents, check_events
from spikecore.specs._base import number

#: multiply-adds the Gram tables of one dictionary may take (about a minute on one core)
MAX_GRAM_WORK = 1e11
#: the deepest kernel truncation (float32 kernels hold nothing 150 dB below their peak)
MAX_TAIL_DB = 300.0


@functools.lru_cache(maxsize=8)
def _dictionary(fs: float, n_kernels: int, f_lo: float, f_hi: float, tail_db: float):
    return _core.audio.GammatoneDictionary(fs, n_kernels, f_lo, f_hi, tail_db)


def _tail_u(tail_db: float) -> float:
    """u* > 3 where u^3 e^-u has fallen tail_db below its peak 27 e^-3 (bisection)."""
    target = 3 * math.log(3) - 3 - tail_db / 20 * math.log(10)
    lo, hi = 3.0, 10.0 + 2 * tail_db
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if 3 * math.log(mid) - mid > target else (lo, mid)
    return hi


def _check_dictionary_size(fs: float, n_kernels: int, f_lo: float, f_hi: float, tail_db: float):
    """Refuse, before building, a dictionary whose kernels and Gram tables do not fit in memory
    or would take more than MAX_GRAM_WORK multiply-adds (kernel m has about
    u* fs / (2 pi 1.019 ERB(f_m)) samples, u* fixed by tail_db)."""
    # the Gram table alone (and the per-kernel arrays below) bound the size from n_kernels:
    # checked first, so that computing the kernel lengths allocates nothing unchecked
    M = float(n_kernels)
    check_bytes(
        8 * M * M + 48 * M,
        "n_kernels",
        f"a dictionary of {n_kernels} kernels and their Gram tables",
    )
    if not (0 < f_lo <= f_hi < fs / 2):
        return  # the core rejects these, naming the argument
    cf = np.asarray(_core.audio.erb_space(f_lo, f_hi, n_kernels), np.float64)
    b = 2 * math.pi * 1.019 * 24.7 * (4.37 * cf / 1000 + 1)
    L = np.floor(_tail_u(tail_db) / b * fs) + 2
    total = float(L.sum())
    work = 0.5 * (total * total + float((L * L).sum()))
    check_bytes(
        12 * total + 8 * M * M + 4 * (2 * M * total - M * M),
        "n_kernels",
        f"a dictionary of {n_kernels} kernels of up to {int(L.max())} samples (fs, tail_db) "
        "and their Gram tables",
    )
    if work > MAX_GRAM_WORK:
        raise ValueError(
            f"n_kernels, fs, tail_db: the Gram tables of {n_kernels} kernels of up to "
            f"{int(L.max())} samples would take {work:.3g} multiply-adds (limit "
            f"{MAX_GRAM_WORK:g}); lower fs, n_kernels or tail_db"
        )


class GammatoneDictionary:
    """The unit-norm gammatone kernels (read-only view of the C++ dictionary)."""

    def __init__(self, fs=16000.0, n_kernels=32, f_lo=100.0, f_hi=None, tail_db=60.0):
        fs = check_fs(fs)
        f_lo = number(f_lo, "f_lo")
        f_hi = 0.875 * fs / 2 if f_hi is None else number(f_hi, "f_hi")
        n_kernels = integer(n_kernels, "n_kernels", 1, 2**31 - 1)
        tail_db = number(tail_db, "tail_db")
        if not 0 < tail_db <= MAX_TAIL_DB:
            raise ValueError(f"tail_db: must be in (0, {MAX_TAIL_DB:g}] dB, got {tail_db:g}")
        _check_dictionary_size(fs, n_kernels, f_lo, f_hi, tail_db)
        self._d = _dictionary(fs, n_kernels, f_lo, f_hi, tail_db)

    @property
    def centre_frequencies(self) -> np.ndarray:
        """Centre frequency (Hz) of each kernel, ERB-spaced."""
        return np.asarray(self._d.centre_frequencies)

    def kernel(self, m: int) -> np.ndarray:
        """The unit-norm gammatone kernel ``m`` as samples."""
        m = integer(m, "m")
        if not 0 <= m < len(self):
            raise IndexError(f"m: kernel index {m} out of range [0, {len(self)})")
        return np.asarray(self._d.kernel(m))

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
        rate_hz = number(rate_hz, "rate_hz")
        if not 0 < rate_hz <= 1e12:
            raise ValueError(f"rate_hz: spike budget must be in (0, 1e12] per s, got {rate_hz:g}")
        n_levels = integer(n_levels, "n_levels", 1, 2**31 - 1)
        level_step_db = number(level_step_db, "level_step_db")
        if not 0 < level_step_db < math.inf:
            raise ValueError(f"level_step_db: must be finite and > 0, got {level_step_db}")
        if level_ref is not None:
            level_ref = number(level_ref, "level_ref")
            if not 0 < level_ref < math.inf:
                raise ValueError(f"level_ref: must be finite and > 0, got {level_ref}")
        frame_length = integer(frame_length, "frame_length", 0, 2**62)
        self.dictionary = GammatoneDictionary(fs, n_kernels, f_lo, f_hi, tail_db)
        if n_levels * len(self.dictionary) > 2**31 - 1:
            raise ValueError(
                f"n_levels: {n_levels} levels x {len(self.dictionary)} kernels exceed the int32 "
                "spike channels"
            )
        check_bytes(16.0 * n_levels, "n_levels", f"a codebook of {n_levels} levels")
        self.fs = float(self.dictionary._d.fs)
        self.rate_hz = rate_hz
        self.n_kernels = len(self.dictionary)
        self.n_levels = n_levels
        self.level_step_db = level_step_db
        self.level_ref = level_ref
        self.frame_length = frame_length
        self.positive_only = bool(positive_only)

    @property
    def n_channels(self) -> int:
        """Number of spike channels, n_kernels x n_levels."""
        return self.n_kernels * self.n_levels

    def _encoder(self):
        return _core.audio.SpiketrumEncoder(
            self.dictionary._d, self.rate_hz, self.frame_length, self.positive_only
        )

    def _check_size(self, n_samples: int, name: str = "x") -> None:
        """Refuse, before encoding, a signal whose spikes or correlation table (M floats per
        sample of a frame) do not fit in memory."""
        F = n_samples if self.frame_length == 0 else min(self.frame_length, n_samples)
        L = self.dictionary._d.max_length
        check_bytes(
            4.0 * self.n_kernels * F + 8.0 * (F + L),
            name,
            f"a frame of {F} samples x {self.n_kernels} kernels (frame_length=0 encodes the "
            "whole signal at once; set frame_length for long signals)",
        )
        n_spikes = self.rate_hz * n_samples / self.fs
        check_bytes(64.0 * n_spikes, "rate_hz", f"{n_spikes:.4g} spikes")

    def encode(self, x) -> SpikeEvents:
        """Encode mono audio ``x`` [T] (float, or int PCM scaled to [-1, 1]) into spike events.

        Ctrl-C (KeyboardInterrupt, main thread) stops a long encoding within about 50 ms; the
        encoder is then discarded, so the Spiketrum stays usable."""
        x = as_audio(x, allow_batch=False)
        self._check_size(x.shape[0])
        enc = self._encoder()
        signals = threading.current_thread() is threading.main_thread()
        t1, k1, a1 = enc.push(x, signals)
        t2, k2, a2 = enc.flush(signals)
        return self._events(
            np.concatenate([t1, t2]), np.concatenate([k1, k2]), np.concatenate([a1, a2]), x.shape[0]
        )

    def encode_batch(self, xs, n_threads: int = 1) -> list:
        """Encode a list of mono signals (each its own budget). The C++ encoder releases the GIL,
        so ``n_threads > 1`` encodes signals in parallel; results do not depend on it."""
        n_threads = threads(n_threads)
        if isinstance(xs, np.ndarray) and xs.ndim == 1:
            raise TypeError("xs: expected a list of signals, got one signal (use encode)")
        try:
            xs = list(xs)
        except TypeError:
            raise TypeError(f"xs: expected a list of signals, got {type(xs).__name__}") from None
        if n_threads == 1:
            return [self.encode(x) for x in xs]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(self.encode, xs))

    def _events(self, t, k, a, n_samples) -> SpikeEvents:
        order = np.lexsort((k, t))
        t, k, a = t[order], k[order], a[order]
        level, ref = self.quantize(a)
        K = self.n_levels
        mag = np.abs(a).astype(np.float64)
        count = np.bincount(level, minlength=K)
        total = np.bincount(level, weights=mag, minlength=K)
        q = np.arange(K, dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):
            default = ref * 10 ** (-(K - 1 - q + 0.5) * self.level_step_db / 20)
        level_amp = np.where(count > 0, total / np.maximum(count, 1), default).astype(np.float32)
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
        if mag.size and not np.all(np.isfinite(mag)):
            raise ValueError("amp: coefficients must be finite")
        ref = self.level_ref if self.level_ref is not None else (mag.max() if mag.size else 1.0)
        ref = ref if ref > 0 else 1.0
        with np.errstate(divide="ignore", over="ignore"):
            db_below = 20 * np.log10(ref / np.maximum(mag, 1e-30))
        steps = np.floor(np.maximum(db_below, 0) / self.level_step_db)
        return (self.n_levels - 1 - np.minimum(steps, self.n_levels - 1)).astype(np.int32), ref

    def decode(
        self, events: SpikeEvents, quantized: bool = False, n_samples: Optional[int] = None
    ) -> np.ndarray:
        """Waveform from events: exact coefficients, or the level codebook (``quantized``)."""
        check_events(events)
        n = events.n_steps if n_samples is None else integer(n_samples, "n_samples", 0)
        check_bytes(4.0 * n, "n_samples" if n_samples is not None else "events", f"{n} samples")
        if quantized:
            if events.level_amp is None:
                raise ValueError("events: no level codebook (level_amp) for quantized decoding")
            level_amp = np.asarray(events.level_amp)
            if level_amp.ndim != 1 or level_amp.shape[0] < events.n_levels:
                raise ValueError(
                    f"events: level_amp must hold n_levels = {events.n_levels} values, got shape "
                    f"{level_amp.shape}"
                )
            amp = level_amp[events.level].astype(np.float32)
            if events.amp is not None:
                amp = np.where(events.amp < 0, -amp, amp).astype(np.float32)
        else:
            if events.amp is None:
                raise ValueError("events: no amplitudes; use quantized=True")
            amp = np.asarray(events.amp).astype(np.float32)
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
    batches. The total spike count equals round(rate * duration) however the input is chunked.
    One stream serves one thread at a time (a call from a second thread meanwhile raises
    RuntimeError). Ctrl-C during ``push`` or ``flush`` raises KeyboardInterrupt with the
    stream as it was before the call (the call can be repeated)."""

    def __init__(self, st: Spiketrum):
        if not isinstance(st, Spiketrum):
            raise TypeError(f"st: expected a Spiketrum, got {type(st).__name__}")
        self.st = st
        self._enc = st._encoder()

    @exclusive("SpiketrumStream")
    def push(self, x) -> SpikeEvents:
        x = as_audio(x, allow_batch=False)
        n_before = self._enc.samples_seen
        self.st._check_size(n_before + x.shape[0])
        signals = threading.current_thread() is threading.main_thread()
        t, k, a = self._enc.push(x, signals)
        return self.st._events(t, k, a, n_before + x.shape[0])

    @exclusive("SpiketrumStream")
    def flush(self) -> SpikeEvents:
        n = self._enc.samples_seen
        signals = threading.current_thread() is threading.main_thread()
        t, k, a = self._enc.flush(signals)
        return self.st._events(t, k, a, n)
