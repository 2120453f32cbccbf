"""Reconstruction metrics and robustness perturbations for spike codes of audio.

.. math::

    \\mathrm{SNR} = 10 \\log_{10} \\frac{\\sum x^2}{\\sum (x - \\hat x)^2}, \\qquad
    \\mathrm{SI\\text{-}SNR} = 10 \\log_{10} \\frac{\\|s\\|^2}{\\|\\hat x - s\\|^2},\\;
    s = \\frac{\\langle \\hat x, x\\rangle}{\\|x\\|^2} x

(aligned signals, no gain fit in SNR; SI-SNR is invariant to the scale of :math:`\\hat x`).
"""

from __future__ import annotations

import math

import numpy as np

from spikecore._guards import integer, numeric_array
from spikecore.audio.events import SpikeEvents, check_events
from spikecore.specs._base import number


def _signal(v, name: str) -> np.ndarray:
    a = numeric_array(v, name).astype(np.float64).ravel()
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: must be finite (found NaN or inf)")
    return a


def _pair(x, x_hat):
    x, x_hat = _signal(x, "x"), _signal(x_hat, "x_hat")
    if x.shape != x_hat.shape:
        raise ValueError(f"x_hat: shape {x_hat.shape} differs from x {x.shape}")
    if x.size == 0:
        raise ValueError("x: empty signal")
    # both ratios are invariant to a common scale: normalise so that no square overflows
    scale = max(float(np.max(np.abs(x))), float(np.max(np.abs(x_hat))))
    if scale > 0:
        x, x_hat = x / scale, x_hat / scale
    return x, x_hat


def _db(num: float, den: float, name: str) -> float:
    if den == 0:
        return float("inf")
    if num == 0:
        raise ValueError(f"{name}: silent (all zeros): the SNR is -inf")
    return float(10 * (math.log10(num) - math.log10(den)))


def snr_db(x, x_hat) -> float:
    """Reconstruction SNR in dB (inf for a perfect reconstruction; ValueError naming ``x`` for a
    silent reference with a non-zero error)."""
    x, x_hat = _pair(x, x_hat)
    return _db(float(np.sum(x**2)), float(np.sum((x - x_hat) ** 2)), "x")


def si_snr_db(x, x_hat) -> float:
    """Scale-invariant SNR in dB (ValueError naming ``x`` for a silent reference, where it is
    undefined)."""
    x, x_hat = _pair(x, x_hat)
    xx = float(x @ x)
    if xx == 0:
        raise ValueError("x: silent reference (all zeros): SI-SNR is undefined")
    s = (x_hat @ x) / xx * x
    err = float(np.sum((x_hat - s) ** 2))
    return _db(float(np.sum(s**2)), err, "x_hat")


def drop_spikes(events: SpikeEvents, fraction: float, seed: int = 0) -> SpikeEvents:
    """Delete round(fraction * N) spikes chosen uniformly at random."""
    check_events(events)
    fraction = number(fraction, "fraction")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction: must be in [0, 1], got {fraction}")
    n = len(events)
    rng = np.random.default_rng(integer(seed, "seed", 0))
    keep = np.sort(rng.permutation(n)[: n - int(round(fraction * n))])
    return events.subset(keep)


def jitter_spikes(events: SpikeEvents, sigma_s: float, seed: int = 0) -> SpikeEvents:
    """Move every spike by a Gaussian time offset (std ``sigma_s`` seconds), kept >= 0."""
    check_events(events)
    sigma_s = number(sigma_s, "sigma_s")
    if not 0 <= sigma_s < math.inf:
        raise ValueError(f"sigma_s: must be finite and >= 0, got {sigma_s}")
    rng = np.random.default_rng(integer(seed, "seed", 0))
    with np.errstate(over="ignore"):
        shift = np.round(rng.normal(0.0, sigma_s / events.dt_s, len(events)))
    out = events.subset(np.arange(len(events)))
    t = np.clip(np.asarray(events.t, np.float64) + shift, 0, max(events.n_steps - 1, 0))
    out.t = t.astype(np.int64)
    return out
