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
from spikecore.audio.cochlea import Cochlea, as_audio
from spikecore.audio.events import SpikeEvents


def _default_cochlea(on: str, fs: float) -> Cochlea:
    if on == "band":
        return Cochlea(fs=fs, n_channels=32, f_lo=100)
    return Cochlea(
        fs=fs, n_channels=32, f_lo=100, envelope=True, frame_rate_hz=1000, compression="power"
    )


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
        self.cochlea = cochlea if cochlea is not None else _default_cochlea(on, fs)
        d = np.atleast_1d(np.asarray(delta, np.float32))
        if (
            d.size not in (1, self.cochlea.n_channels)
            or not np.all(np.isfinite(d))
            or np.any(d <= 0)
        ):
            raise ValueError(f"delta: must be > 0, one value or one per channel, got {delta}")
        self.delta = d
        self._synth_gain: Optional[float] = None

    @property
    def dt_s(self) -> float:
        """Duration of one output step in seconds, decimation / fs."""
        return self.cochlea.decimation / self.cochlea.fs

    def encode_signal(self, y: np.ndarray) -> SpikeEvents:
        """Code an already filtered [T, C] signal."""
        y = np.ascontiguousarray(y, np.float32)
        if y.ndim != 2:
            raise ValueError(f"y: expected [T, C], got shape {y.shape}")
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
        if not rate_hz > 0:
            raise ValueError(f"rate_hz: must be > 0, got {rate_hz}")
        y = self.cochlea(as_audio(x, allow_batch=False))
        dur = y.shape[0] * self.dt_s
        lo, hi = 1e-7, float(np.max(np.abs(y))) * 2 + 1e-6
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
        if not np.isfinite(gain) or gain <= 0:
            raise ValueError(f"gain: must be > 0, got {gain}")
        self.gain = float(gain)
        self.seed = int(seed)
        self.cochlea = cochlea if cochlea is not None else _default_cochlea("envelope", fs)

    def encode_signal(self, e: np.ndarray) -> SpikeEvents:
        """Encode a [T, C] envelope (e.g. a cochlea output) as Poisson spikes of rate gain * e."""
        e = np.ascontiguousarray(e, np.float32)
        if e.ndim != 2:
            raise ValueError(f"e: expected [T, C], got shape {e.shape}")
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
