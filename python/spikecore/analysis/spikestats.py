"""Spike-train statistics shared by our runs and the peers' (one definition for all).

.. math::

    \\text{rate} = \\frac{n_\\text{spikes}}{N\\,T}, \\qquad
    \\text{CV} = \\operatorname{mean}_{i:\\,n_i \\ge 3}
        \\frac{\\operatorname{std}(\\text{ISI}_i)}{\\operatorname{mean}(\\text{ISI}_i)}

The rate is over all ``N`` neurons and the whole duration ``T``; the CV is the mean over the
neurons with at least three spikes (two intervals) of the coefficient of variation of their
inter-spike intervals (population standard deviation, ``ddof=0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spikecore._guards import integer, numeric_array
from spikecore.specs._base import number


@dataclass(frozen=True)
class SpikeStats:
    n_spikes: int
    rate_hz: float  # mean firing rate over all neurons [Hz]
    cv_isi: float  # mean ISI coefficient of variation (NaN if no neuron has 3 spikes)
    n_cv: int  # neurons that entered the CV


def spike_stats(times_ms, senders, n_neurons: int, duration_ms: float) -> SpikeStats:
    """Rate and ISI CV of a raster given as spike times [ms] and sender indices."""
    times = numeric_array(times_ms, "times_ms", "fiu").astype(np.float64).ravel()
    senders = np.asarray(senders).ravel()
    if times.shape != senders.shape:
        raise ValueError(
            f"times_ms and senders must have the same length, got {times.shape} and {senders.shape}"
        )
    n_neurons = integer(n_neurons, "n_neurons", 1)
    duration_ms = number(duration_ms, "duration_ms")
    if not 0 < duration_ms < math.inf:
        raise ValueError(f"duration_ms must be positive and finite, got {duration_ms}")
    if not np.all(np.isfinite(times)):
        raise ValueError("times_ms: spike times must be finite")
    if senders.size:
        if (
            senders.dtype.kind == "f"
            and np.all(np.isfinite(senders))
            and np.all(senders == np.round(senders))
        ):
            senders = senders.astype(np.int64)  # integral floats (peers' files)
        if senders.dtype.kind not in "iu":
            raise TypeError(f"senders: expected integer neuron indices, got dtype {senders.dtype}")
        if int(senders.min()) < 0 or int(senders.max()) >= n_neurons:
            raise IndexError(
                f"senders: indices must lie in [0, n_neurons = {n_neurons}), got "
                f"[{int(senders.min())}, {int(senders.max())}]"
            )
    n = len(times)
    rate = n / (n_neurons * duration_ms * 1e-3)
    if n < 3:
        return SpikeStats(n, rate, float("nan"), 0)
    order = np.lexsort((times, senders))
    t, s = times[order], senders[order]
    isi = np.diff(t)
    same = s[1:] == s[:-1]
    isi, owner = isi[same], s[1:][same]
    counts = np.bincount(owner, minlength=int(s.max()) + 1).astype(np.float64)
    total = np.bincount(owner, weights=isi, minlength=len(counts))
    total2 = np.bincount(owner, weights=isi * isi, minlength=len(counts))
    ok = counts >= 2
    if not ok.any():
        return SpikeStats(n, rate, float("nan"), 0)
    mean = total[ok] / counts[ok]
    var = np.maximum(total2[ok] / counts[ok] - mean * mean, 0.0)
    cv = np.sqrt(var) / mean
    return SpikeStats(n, rate, float(np.mean(cv)), int(ok.sum()))
