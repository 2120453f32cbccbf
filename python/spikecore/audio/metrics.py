"""Reconstruction metrics and robustness perturbations for spike codes of audio.

.. math::

    \\mathrm{SNR} = 10 \\log_{10} \\frac{\\sum x^2}{\\sum (x - \\hat x)^2}, \\qquad
    \\mathrm{SI\\text{-}SNR} = 10 \\log_{10} \\frac{\\|s\\|^2}{\\|\\hat x - s\\|^2},\\;
    s = \\frac{\\langle \\hat x, x\\rangle}{\\|x\\|^2} x

(aligned signals, no gain fit in SNR; SI-SNR is invariant to the scale of :math:`\\hat x`).
"""

from __future__ import annotations

import numpy as np

from spikecore.audio.events import SpikeEvents


def _pair(x, x_hat):
    x = np.asarray(x, np.float64).ravel()
    x_hat = np.asarray(x_hat, np.float64).ravel()
    if x.shape != x_hat.shape:
        raise ValueError(f"x_hat: shape {x_hat.shape} differs from x {x.shape}")
    if x.size == 0:
        raise ValueError("x: empty signal")
    return x, x_hat


def snr_db(x, x_hat) -> float:
    """Reconstruction SNR in dB (inf for a perfect reconstruction)."""
    x, x_hat = _pair(x, x_hat)
    err = np.sum((x - x_hat) ** 2)
    sig = np.sum(x**2)
    return float("inf") if err == 0 else float(10 * np.log10(sig / err))


def si_snr_db(x, x_hat) -> float:
    """Scale-invariant SNR in dB."""
    x, x_hat = _pair(x, x_hat)
    s = (x_hat @ x) / (x @ x) * x
    err = np.sum((x_hat - s) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(np.sum(s**2) / err))


def drop_spikes(events: SpikeEvents, fraction: float, seed: int = 0) -> SpikeEvents:
    """Delete round(fraction * N) spikes chosen uniformly at random."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction: must be in [0, 1], got {fraction}")
    n = len(events)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(n)[: n - int(round(fraction * n))])
    return events.subset(keep)


def jitter_spikes(events: SpikeEvents, sigma_s: float, seed: int = 0) -> SpikeEvents:
    """Move every spike by a Gaussian time offset (std ``sigma_s`` seconds), kept >= 0."""
    if not sigma_s >= 0:
        raise ValueError(f"sigma_s: must be >= 0, got {sigma_s}")
    rng = np.random.default_rng(seed)
    shift = np.round(rng.normal(0.0, sigma_s / events.dt_s, len(events))).astype(np.int64)
    out = events.subset(np.arange(len(events)))
    out.t = np.clip(events.t + shift, 0, max(events.n_steps - 1, 0))
    return out
