"""Envelope encoders: send-on-delta (threshold crossings) and rate (Bernoulli/Poisson) coding.

Both run on the output of a :class:`~spikecore.audio.Cochlea` ([T, C], channels fastest) in C++.

Send-on-delta, per channel, with reference :math:`v` (starts at 0):

.. math::

    x_t - v \\ge \\delta \\Rightarrow \\text{up spike}, v \\mathrel{+}= \\delta; \\qquad
    v - x_t \\ge \\delta \\Rightarrow \\text{down spike}, v \\mathrel{-}= \\delta

(repeated within a step while the condition holds). Spike channel = 2 c + (1 up, 0 down); the
decoder replays :math:`v` (piecewise constant). ``on="envelope"`` codes the hair-cell envelope (the
usual SNN input); ``on="band"`` codes the band signals themselves, and :meth:`SendOnDelta.decode_audio`
then resynthesises a waveform by time-reversed gammatone filtering of the decoded bands, summed over
channels and scaled by a constant fixed once per filterbank (least squares on white noise), so a
waveform SNR can be compared with Spiketrum at an equal spike rate.

Rate coding: :math:`P(\\text{spike at } t, c) = \\mathrm{clip}(g\\, e_{t,c}, 0, 1)` per step, drawn from
the counter-based generator keyed by (seed, channel, step): reproducible, chunking-invariant.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from spikecore import _core
from spikecore._guards import check_bytes, integer, numeric_array
from spikecore.audio.cochlea import Cochlea, as_audio, check_fs
from spikecore.audio.events import SpikeEvents, check_events
from spikecore.specs._base import number

#: send-on-delta needs delta >= abs(signal) * 2**-22 (below it a float32 reference v + delta == v
#: would never reach the signal)
_SOD_RESOLUTION = 2.0**-22


def _default_cochlea(on: str, fs: float, cochlea) -> Cochlea:
    if cochlea is not None:
        if not isinstance(cochlea, Cochlea):
            raise TypeError(f"cochlea: expected a Cochlea, got {type(cochlea).__name__}")
        return cochlea
    fs = check_fs(fs)
    if on == "band":
        if not fs > 2 * 100 / 0.875:
            raise ValueError(f"fs: the default cochlea (from 100 Hz) needs fs > 229 Hz, got {fs:g}")
        return Cochlea(fs=fs, n_channels=32, f_lo=100)
    if not (fs >= 1000 and float(fs / 1000).is_integer()):
        raise ValueError(
            f"fs: the default envelope cochlea (1 kHz frames) needs a multiple of 1000 Hz, got {fs:g}"
        )
    return Cochlea(
        fs=fs, n_channels=32, f_lo=100, envelope=True, frame_rate_hz=1000, compression="power"
    )


def _as_signal(y, name: str) -> np.ndarray:
    """A [T, C] float32 signal (C >= 1), finite and within float32."""
    a = numeric_array(y, name, "fiu")
    if a.ndim != 2:
        raise ValueError(f"{name}: expected [T, C], got shape {a.shape}")
    if a.shape[1] == 0:
        raise ValueError(f"{name}: needs at least one channel, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: values must be finite (found NaN or inf)")
    if a.size and float(np.max(np.abs(a))) > 1e30:
        raise ValueError(f"{name}: values must lie in [-1e30, 1e30], got {np.max(np.abs(a)):g}")
    return np.ascontiguousarray(a, np.float32)


class SendOnDelta:
    """Send-on-delta coding of filterbank outputs (see module docstring).

    ===========  ========  ====================================================
    parameter    default   meaning
    ===========  ========  ====================================================
    delta        0.05      threshold (scalar or one per channel), signal units
    on           envelope  "envelope" or "band"
    cochlea      None      a Cochlea (default: 32 channels from 100 Hz)
    fs           16000     sampling rate when the default cochlea is built, Hz
    ===========  ========  ====================================================
    """

    def __init__(
        self,
        delta=0.05,
        on: str = "envelope",
        cochlea: Optional[Cochlea] = None,
        fs: float = 16000.0,
    ):
        if on not in ("envelope", "band"):
            raise ValueError(f"on: must be 'envelope' or 'band', got {on!r}")
        self.on = on
        self.cochlea = _default_cochlea(on, fs, cochlea)
        self.delta = self._check_delta(delta)
        self._synth_gain: Optional[float] = None

    def _check_delta(self, delta) -> np.ndarray:
        d = np.atleast_1d(numeric_array(delta, "delta", "fiu"))
        with np.errstate(over="ignore"):
            d = d.astype(np.float32)
        if (
            d.ndim != 1
            or d.size not in (1, self.cochlea.n_channels)
            or not np.all(np.isfinite(d))
            or np.any(d <= 0)
        ):
            raise ValueError(
                f"delta: must be finite and > 0 (float32), one value or one per channel, got {delta}"
            )
        return d

    @property
    def dt_s(self) -> float:
        """Duration of one output step in seconds, decimation / fs."""
        return self.cochlea.decimation / self.cochlea.fs

    def _check_count(self, y: np.ndarray, name: str) -> None:
        """Refuse a delta too fine for the signal before coding: below the float32 resolution of
        the signal (the reference would never reach it), or more spikes than memory holds (their
        count is at most the signal's total variation / delta + T C)."""
        d = np.broadcast_to(self.delta, (y.shape[1],)).astype(np.float64)
        peak = np.max(np.abs(y), axis=0).astype(np.float64) if y.shape[0] else np.zeros(y.shape[1])
        if np.any(d < peak * _SOD_RESOLUTION):
            c = int(np.argmax(peak * _SOD_RESOLUTION - d))
            raise ValueError(
                f"delta: {d[c]:g} is below the float32 resolution of channel {c} "
                f"(|{name}| up to {peak[c]:g}; delta must be >= {peak[c] * _SOD_RESOLUTION:g})"
            )
        if y.shape[0]:
            yd = y.astype(np.float64)
            tv = np.abs(yd[0]) + np.abs(np.diff(yd, axis=0)).sum(axis=0)
            n = float((tv / d).sum()) + y.size
            check_bytes(48.0 * n, "delta", f"up to {n:.4g} send-on-delta spikes")

    def encode_signal(self, y: np.ndarray) -> SpikeEvents:
        """Code an already filtered [T, C] signal."""
        y = _as_signal(y, "y")
        self._check_count(y, "y")
        enc = _core.audio.SendOnDelta(y.shape[1], self.delta.tolist())
        t, c, lv = enc.process(y)
        return SpikeEvents(
            t=np.asarray(t),
            unit=np.asarray(c),
            level=np.asarray(lv),
            n_units=y.shape[1],
            n_levels=2,
            dt_s=self.dt_s,
            n_steps=y.shape[0],
            meta=dict(encoder="send_on_delta", on=self.on),
        )

    def encode(self, x) -> SpikeEvents:
        """Filter mono audio ``x`` with the cochlea and code it."""
        return self.encode_signal(self.cochlea(as_audio(x, allow_batch=False)))

    def decode(self, events: SpikeEvents) -> np.ndarray:
        """Decoded [T, C] signal (the reference trajectories)."""
        check_events(events)
        if events.n_units != self.cochlea.n_channels and self.delta.size != 1:
            raise ValueError(
                f"events: n_units {events.n_units} differs from the {self.delta.size} deltas"
            )
        if events.n_levels != 2:
            raise ValueError(f"events: send-on-delta codes have n_levels 2, got {events.n_levels}")
        if len(events) > 1 and np.any(np.diff(np.asarray(events.t)) < 0):
            raise ValueError("events: t must be sorted (as the encoder writes it)")
        check_bytes(
            4.0 * events.n_steps * events.n_units, "events", f"a [{events.n_steps}, C] signal"
        )
        return np.asarray(
            _core.audio.send_on_delta_decode(
                np.ascontiguousarray(events.t, np.int64),
                np.ascontiguousarray(events.unit, np.int32),
                np.ascontiguousarray(events.level, np.int32),
                self.delta,
                events.n_units,
                events.n_steps,
            )
        )

    def _synthesise(self, bands: np.ndarray) -> np.ndarray:
        rev = np.ascontiguousarray(bands[::-1].T)  # [C, T], time reversed
        out = np.zeros(bands.shape[0], np.float64)
        for c in range(bands.shape[1]):
            one = Cochlea(
                fs=self.cochlea.fs,
                n_channels=1,
                f_lo=float(self.cochlea.centre_frequencies[c]),
                f_hi=float(self.cochlea.centre_frequencies[c]),
            )
            out += one(rev[c])[::-1, 0]
        return out

    def decode_audio(self, events: SpikeEvents) -> np.ndarray:
        """Waveform from a band code (``on="band"``): analysis-synthesis with a fixed gain."""
        if self.on != "band":
            raise ValueError("on: decode_audio needs on='band' (envelopes carry no phase)")
        if self._synth_gain is None:
            noise = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
            s = self._synthesise(self.cochlea(noise))
            self._synth_gain = float(s @ noise / (s @ s))
        return (self._synth_gain * self._synthesise(self.decode(events))).astype(np.float32)

    def calibrate(self, x, rate_hz: float, iters: int = 30) -> float:
        """Set a scalar ``delta`` so that coding ``x`` gives ``rate_hz`` spikes/s (bisection on a
        log scale); returns the achieved rate."""
        rate_hz = number(rate_hz, "rate_hz")
        if not 0 < rate_hz < np.inf:
            raise ValueError(f"rate_hz: must be finite and > 0, got {rate_hz}")
        iters = integer(iters, "iters", 1, 1000)
        y = self.cochlea(as_audio(x, allow_batch=False))
        dur = y.shape[0] * self.dt_s
        peak = float(np.max(np.abs(y)))
        # the finest delta allowed: the signal's float32 resolution (and 1e-7)
        lo, hi = max(1e-7, peak * _SOD_RESOLUTION * 1.01), peak * 2 + 1e-6
        for _ in range(iters):
            mid = np.sqrt(lo * hi)
            self.delta = np.array([mid], np.float32)
            r = len(self.encode_signal(y)) / dur
            lo, hi = (mid, hi) if r > rate_hz else (lo, mid)
        self.delta = np.array([np.sqrt(lo * hi)], np.float32)
        return len(self.encode_signal(y)) / dur


class RateCoder:
    """Bernoulli rate coding of hair-cell envelopes: p = clip(gain * e, 0, 1) per step.

    ========  =======  ==============================================
    gain      20       probability per unit envelope per step
    seed      0        RNG seed (same seed, same spikes)
    cochlea   None     default: 32-channel envelope at 1 kHz, power-compressed
    ========  =======  ==============================================
    """

    def __init__(
        self,
        gain: float = 20.0,
        seed: int = 0,
        cochlea: Optional[Cochlea] = None,
        fs: float = 16000.0,
    ):
        gain = number(gain, "gain")
        if not 0 < gain < np.inf:
            raise ValueError(f"gain: must be finite and > 0, got {gain}")
        self.gain = gain
        self.seed = integer(seed, "seed", 0, 2**64 - 1)
        self.cochlea = _default_cochlea("envelope", fs, cochlea)

    def encode_signal(self, e: np.ndarray) -> SpikeEvents:
        """Encode a [T, C] envelope (e.g. a cochlea output) as Poisson spikes of rate gain * e."""
        e = _as_signal(e, "e")
        if e.shape[1] > 2**31 - 1:
            raise ValueError(f"e: at most 2**31 - 1 channels, got {e.shape[1]}")
        check_bytes(48.0 * e.size, "e", f"up to {e.size} spikes")
        t, c, lv = _core.audio.RateCoder(e.shape[1], self.gain, self.seed).process(e)
        return SpikeEvents(
            t=np.asarray(t),
            unit=np.asarray(c),
            level=np.asarray(lv),
            n_units=e.shape[1],
            n_levels=1,
            dt_s=self.cochlea.decimation / self.cochlea.fs,
            n_steps=e.shape[0],
            meta=dict(encoder="rate"),
        )

    def encode(self, x) -> SpikeEvents:
        """Encode audio: its cochlea output through :meth:`encode_signal`."""
        return self.encode_signal(self.cochlea(as_audio(x, allow_batch=False)))
