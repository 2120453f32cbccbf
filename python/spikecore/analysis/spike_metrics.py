r"""Spike-train metrics for neural-response models: PSTHs, noise-ceiling-normalised correlation,
spike-train distances (C++ core), ISI statistics, Fano factors, refractory violations.

Conventions: a *spike train* is a 1-D array of spike times (any one time unit; the functions
never assume seconds). *Binned responses* are arrays ``[R, T]`` or ``[R, T, N]`` (repeats, time
bins, neurons) of spike counts per bin of width ``dt``.

PSTH and its correlation with a model, normalised by the noise ceiling
----------------------------------------------------------------------

.. math::

    \mathrm{PSTH}_t = \frac{1}{R\,dt} \sum_r (y_r * g_\sigma)_t, \qquad
    \rho_\mathrm{half} = \operatorname{corr}(\mathrm{PSTH}_A, \mathrm{PSTH}_B), \qquad
    \rho_\mathrm{SB} = \frac{2 \rho_\mathrm{half}}{1 + \rho_\mathrm{half}}

with :math:`g_\sigma` a Gaussian of ``sigma`` bins (0: none) and A, B random halves of the repeats
(``n_splits`` splits averaged). :math:`\rho_\mathrm{SB}` (Spearman-Brown) is the reliability of the
all-repeat PSTH; the best correlation any model can reach with it is :math:`\sqrt{\rho_\mathrm{SB}}`
(the true rate's correlation with a noisy estimate), so

.. math:: \mathrm{CC}_\mathrm{norm} = \operatorname{corr}(\hat r, \mathrm{PSTH}) / \sqrt{\rho_\mathrm{SB}}

is near 1 for the ground truth (claim 1 of docs/neural.md).

Distances (computed by the C++ core, ``spikecore._core.spike_metrics``)
-----------------------------------------------------------------------

- van Rossum, exponential kernel of time constant ``tau``:
  :math:`D_R = \sqrt{\sum_{ij} e^{-|a_i-a_j|/\tau} + \sum_{ij} e^{-|b_i-b_j|/\tau}
  - 2\sum_{ij} e^{-|a_i-b_j|/\tau}}` (elephant's normalisation), O(n) by the Houghton-Kreuz
  recursion.
- Victor-Purpura with cost ``q`` per unit time (delete/insert 1, shift :math:`q|\Delta t|`).
- ISI-distance (Kreuz et al. 2007) and SPIKE-distance (Kreuz et al. 2013) over
  ``[t_start, t_end]`` with the edge correction of Mulansky & Kreuz 2016 (auxiliary edge spikes),
  written from the published definitions (equations in cpp/src/analysis/spike_distances.cpp).

Oracles in the tests: elephant (van Rossum, Victor-Purpura) and PySpike (ISI, SPIKE), to 1e-6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional

import numpy as np

from spikecore._guards import check_bytes, integer, numeric_array, threads
from spikecore.specs._base import number

#: the largest spike count per bin accepted (sums of squares stay finite)
MAX_COUNT = 1e12

__all__ = [
    "binned_to_trains",
    "ceiling_stats",
    "distance_matrix",
    "fano_factor",
    "isi_distance",
    "isi_ks_distance",
    "isis",
    "mean_pairwise_distance",
    "normalised_psth_correlation",
    "pearson",
    "psth",
    "refractory_violation_rate",
    "response_metrics",
    "spike_distance",
    "split_half_reliability",
    "van_rossum_distance",
    "victor_purpura_distance",
]


def _core():
    from spikecore._core import spike_metrics

    return spike_metrics


# ----------------------------------------------------------------------------- validation
def _positive(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name}: expected a number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {x}")
    return x


def _tau(tau) -> float:
    """The van Rossum time constant: > 0 with 1 / tau finite."""
    tau = _positive(tau, "tau")
    if tau < 1e-300:
        raise ValueError(f"tau: must be >= 1e-300 (1 / tau overflows), got {tau:g}")
    return tau


def _float_array(v, name: str) -> np.ndarray:
    return numeric_array(v, name).astype(np.float64)


def _sigma(sigma, n_bins: int) -> float:
    """A Gaussian smoothing width in bins: finite, >= 0, and a kernel that fits in memory."""
    sigma = number(sigma, "sigma")
    if not 0 <= sigma < math.inf:
        raise ValueError(f"sigma: must be a finite number >= 0, got {sigma}")
    check_bytes(8.0 * (8 * sigma + 1) + 8.0 * n_bins, "sigma", f"a Gaussian of {sigma:g} bins")
    return sigma


def _seed(seed) -> int:
    return integer(seed, "seed", 0)


def _train(t, name: str) -> np.ndarray:
    a = _float_array(t, name)
    if a.ndim != 1:
        raise ValueError(f"{name}: a spike train must be 1-D spike times, got shape {a.shape}")
    # NaN fails the order test and is sorted to the end; the core then rejects it by name
    if a.size > 1 and not np.all(a[1:] >= a[:-1]):
        a = np.sort(a)
    return np.ascontiguousarray(a)


def _unique(a: np.ndarray) -> np.ndarray:
    """Sorted ``a`` without duplicate times (PySpike merges them); no copy when there are none."""
    if a.size > 1 and not np.all(a[1:] > a[:-1]):
        return np.unique(a)
    return a


def _window(a: np.ndarray, b: np.ndarray, t_start, t_end):
    if t_start is None:
        t_start = min(a[0] if a.size else np.inf, b[0] if b.size else np.inf)
        t_start = 0.0 if not np.isfinite(t_start) else float(min(t_start, 0.0))
    if t_end is None:
        t_end = max(a[-1] if a.size else -np.inf, b[-1] if b.size else -np.inf)
        if not np.isfinite(t_end):
            raise ValueError("t_end: required when both spike trains are empty")
    t_start, t_end = number(t_start, "t_start"), number(t_end, "t_end")
    if not (math.isfinite(t_start) and math.isfinite(t_end)) or t_end <= t_start:
        raise ValueError(
            f"t_end: must be finite and greater than t_start, got [{t_start}, {t_end}]"
        )
    return t_start, t_end


# ISI- and SPIKE-distances: spike times and window bounds within +-MAX_TIME, so that the edge
# knots (2 s_1 - s_2) and the window's length stay finite doubles
MAX_TIME = 1e300


def _in_range(t0: float, t1: float, **trains: np.ndarray) -> None:
    """ValueError naming the window or the train whose finite times lie beyond MAX_TIME."""
    for name, v in (("t_start", t0), ("t_end", t1)):
        if math.isfinite(v) and abs(v) > MAX_TIME:
            raise ValueError(f"{name}: must lie in [-{MAX_TIME:g}, {MAX_TIME:g}], got {v:g}")
    for name, t in trains.items():
        f = t[np.isfinite(t)]
        if f.size and float(np.abs(f).max()) > MAX_TIME:
            raise ValueError(
                f"{name}: spike times must lie in [-{MAX_TIME:g}, {MAX_TIME:g}], got "
                f"{float(f[np.argmax(np.abs(f))]):g}"
            )


def _binned(y, name: str, min_repeats: int = 1) -> np.ndarray:
    """Counts [R, T, N] from [R, T] or [R, T, N] (float64), validated."""
    y = _float_array(y, name)
    if y.ndim == 2:
        y = y[:, :, None]
    if y.ndim != 3:
        raise ValueError(
            f"{name}: expected binned responses [R, T] or [R, T, N], got shape {y.shape}"
        )
    if y.shape[1] == 0 or y.shape[2] == 0:
        raise ValueError(f"{name}: empty responses, shape {y.shape}")
    if y.shape[0] < min_repeats:
        raise ValueError(f"{name}: at least {min_repeats} repeats are needed, got {y.shape[0]}")
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y > MAX_COUNT):
        raise ValueError(f"{name}: spike counts must be finite, >= 0 and <= {MAX_COUNT:g}")
    return y


# ----------------------------------------------------------------------------- PSTH
def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 (sigma in bins; 0 = none), reflect at the edges."""
    if sigma < 0.125:
        # scipy's kernel has radius int(4 sigma + 0.5) = 0: the identity, returned exactly
        # (scipy's own formula divides by sigma^2, 0 / 0 below sigma ~ 1e-154)
        return x
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x, sigma, axis=0, mode="reflect")


def psth(y, dt: float = 1.0, sigma: float = 0.0) -> np.ndarray:
    """Peri-stimulus time histogram [T, N] (rate per unit of ``dt``) of binned responses
    ``y`` [R, T(, N)], smoothed by a Gaussian of ``sigma`` bins."""
    dt = _positive(dt, "dt")
    y = _binned(y, "y")
    sigma = _sigma(sigma, y.shape[1])
    with np.errstate(over="ignore"):
        rate = y.mean(0) / dt
    if not np.all(np.isfinite(rate)):
        raise ValueError(f"dt: {dt:g} is so small that the rates overflow")
    return _smooth(rate, sigma)


def pearson(x, y) -> np.ndarray:
    """Per-column Pearson correlation of [T, N] arrays (NaN where a column is constant)."""
    x = _float_array(x, "x")
    y = _float_array(y, "y")
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y: shapes differ or are not [T, N], {x.shape} vs {y.shape}")
    xc, yc = x - x.mean(0), y - y.mean(0)
    # Pearson is scale-free: columns scaled to max |.| = 1, so that no product overflows
    with np.errstate(invalid="ignore"):
        for v in (xc, yc):
            m = np.abs(v).max(0) if v.shape[0] else np.ones(v.shape[1])
            v /= np.where(m > 0, m, 1.0)
    den = np.sqrt((xc * xc).sum(0) * (yc * yc).sum(0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (xc * yc).sum(0) / np.where(den > 0, den, 1.0), np.nan)


def split_half_reliability(y, sigma: float = 0.0, n_splits: int = 20, seed: int = 0):
    """Split-half PSTH correlation per neuron, averaged over ``n_splits`` random halvings, and
    its Spearman-Brown correction ``2 r / (1 + r)``. Returns ``(r_half [N], r_sb [N])``.

    Raises ValueError (naming ``y``) with fewer than two repeats."""
    y = _binned(y, "y", min_repeats=2)
    n_splits = integer(n_splits, "n_splits", 1)
    sigma = _sigma(sigma, y.shape[1])
    check_bytes(8.0 * n_splits * y.shape[2], "n_splits", f"{n_splits} splits")
    rng = np.random.default_rng(_seed(seed))
    R = y.shape[0]
    rs = []
    for _ in range(int(n_splits)):
        perm = rng.permutation(R)
        a, b = perm[: R // 2], perm[R // 2 : 2 * (R // 2)]
        rs.append(pearson(_smooth(y[a].mean(0), sigma), _smooth(y[b].mean(0), sigma)))
    r_half = np.nanmean(np.stack(rs), 0)
    r_sb = 2 * r_half / (1 + r_half)
    return r_half, r_sb


def normalised_psth_correlation(
    pred_rate, y, sigma: float = 0.0, n_splits: int = 20, seed: int = 0
):
    r"""Per-neuron :math:`\mathrm{CC}_\mathrm{norm} = \operatorname{corr}(\hat r, \mathrm{PSTH})
    / \sqrt{\rho_\mathrm{SB}}` of a predicted rate ``pred_rate`` [T(, N)] against held-out
    repeats ``y`` [R, T(, N)] (both smoothed by ``sigma`` bins). Returns
    ``(cc_norm [N], cc [N], ceiling [N])`` with ``ceiling`` = :math:`\sqrt{\rho_\mathrm{SB}}`.
    Neurons with a non-positive reliability get NaN."""
    y = _binned(y, "y", min_repeats=2)
    sigma = _sigma(sigma, y.shape[1])
    pred = _float_array(pred_rate, "pred_rate")
    if pred.ndim == 1:
        pred = pred[:, None]
    if pred.shape != y.shape[1:]:
        raise ValueError(
            f"pred_rate: shape {pred.shape} does not match the responses' [T, N] = {y.shape[1:]}"
        )
    if not np.all(np.isfinite(pred)):
        raise ValueError("pred_rate: must be finite")
    if pred.size and np.abs(pred).max() > 1e150:
        raise ValueError("pred_rate: values must lie in [-1e150, 1e150]")
    cc = pearson(_smooth(pred, sigma), _smooth(y.mean(0), sigma))
    _, r_sb = split_half_reliability(y, sigma, n_splits, seed)
    with np.errstate(invalid="ignore"):
        ceiling = np.where(r_sb > 0, np.sqrt(np.clip(r_sb, 0, None)), np.nan)
    return cc / ceiling, cc, ceiling


def ceiling_stats(y, sigma: float = 0.0, n_splits: int = 20, seed: int = 0) -> dict:
    """Mean split-half reliability, Spearman-Brown reliability and ceiling over neurons."""
    r_half, r_sb = split_half_reliability(y, sigma, n_splits, seed)
    return {
        "r_half": float(np.nanmean(r_half)),
        "r_sb": float(np.nanmean(r_sb)),
        "ceiling": float(np.nanmean(np.sqrt(np.clip(r_sb, 0, None)))),
    }


# ----------------------------------------------------------------------------- distances
def van_rossum_distance(a, b, tau: float) -> float:
    """van Rossum distance of two spike trains (exponential kernel, time constant ``tau``)."""
    tau = _tau(tau)
    return float(_core().van_rossum(_train(a, "a"), _train(b, "b"), tau))


def victor_purpura_distance(a, b, q: float) -> float:
    """Victor-Purpura distance with shift cost ``q`` per unit time (q >= 0)."""
    q = number(q, "q")
    if not 0 <= q < math.inf:
        raise ValueError(f"q: must be a finite number >= 0, got {q}")
    return float(_core().victor_purpura(_train(a, "a"), _train(b, "b"), q))


def isi_distance(a, b, t_start: Optional[float] = None, t_end: Optional[float] = None) -> float:
    """ISI-distance over ``[t_start, t_end]`` (default: 0 or the first spike, the last spike).
    Duplicate spike times are merged, as PySpike does; an empty train stands for the two
    auxiliary spikes ``t_start``, ``t_end`` (PySpike's convention)."""
    a, b = _unique(_train(a, "a")), _unique(_train(b, "b"))
    t0, t1 = _window(a, b, t_start, t_end)
    _in_range(t0, t1, a=a, b=b)
    return float(_core().isi_distance(a, b, t0, t1))


def spike_distance(a, b, t_start: Optional[float] = None, t_end: Optional[float] = None) -> float:
    """SPIKE-distance (Kreuz 2013) over ``[t_start, t_end]``; conventions as :func:`isi_distance`."""
    a, b = _unique(_train(a, "a")), _unique(_train(b, "b"))
    t0, t1 = _window(a, b, t_start, t_end)
    _in_range(t0, t1, a=a, b=b)
    return float(_core().spike_distance(a, b, t0, t1))


_MATRIX = {"van_rossum": "tau", "victor_purpura": "q", "isi": None, "spike": None}


def _train_set(trains, name: str) -> list:
    """The spike trains of the sequence ``trains`` (argument ``name``), sorted and finite;
    errors name ``name`` (a train: ``name[k]``; the core would check the concatenated times of
    a matrix again but name them "times")."""
    if isinstance(trains, (str, bytes)) or not hasattr(trains, "__iter__"):
        raise TypeError(f"{name}: expected a sequence of spike trains, got {type(trains).__name__}")
    ts = [_train(t, f"{name}[{k}]") for k, t in enumerate(trains)]
    for k, t in enumerate(ts):
        # sorted with NaN last: the ends tell whether all of it is finite
        if t.size and not (math.isfinite(t[0]) and math.isfinite(t[-1])):
            raise ValueError(f"{name}[{k}]: spike times must be finite")
    return ts


def distance_matrix(
    trains: Sequence,
    metric: str,
    *,
    tau: Optional[float] = None,
    q: Optional[float] = None,
    t_start: Optional[float] = None,
    t_end: Optional[float] = None,
    n_threads: int = 1,
) -> np.ndarray:
    """Pairwise distances [N, N] of N spike trains. ``metric`` is one of 'van_rossum' (needs
    ``tau``), 'victor_purpura' (needs ``q``), 'isi', 'spike' (window ``[t_start, t_end]``
    required). The result does not depend on ``n_threads``."""
    _metric(metric)
    kw = dict(tau=tau, q=q, t_start=t_start, t_end=t_end, n_threads=threads(n_threads))
    ts = _train_set(trains, "trains")
    return _distances(ts, [f"trains[{k}]" for k in range(len(ts))], "trains", metric, **kw)


def _metric(metric) -> None:
    if not isinstance(metric, str) or metric not in _MATRIX:
        raise ValueError(f"metric: unknown metric {metric!r}; valid: {', '.join(_MATRIX)}")


def _distances(ts, labels, set_name, metric, tau, q, t_start, t_end, n_threads) -> np.ndarray:
    """:func:`distance_matrix` of validated trains ``ts``; ``labels[k]`` names train k in a
    message (``trains_b[3]``), ``set_name`` the argument(s) the matrix size is charged to."""
    check_bytes(8.0 * len(ts) ** 2, set_name, f"a {len(ts)} x {len(ts)} distance matrix")
    if metric in ("isi", "spike"):
        ts = [_unique(t) for t in ts]
        if t_start is None or t_end is None:
            raise ValueError("t_end: t_start and t_end are required for the ISI/SPIKE matrix")
        param = 0.0
        t0, t1 = number(t_start, "t_start"), number(t_end, "t_end")
        _in_range(t0, t1, **dict(zip(labels, ts)))
        if math.isfinite(t0) and math.isfinite(t1) and t0 < t1:
            for label, t in zip(labels, ts):  # sorted: the ends tell
                if t.size and (t[0] < t0 or t[-1] > t1):
                    v = t[0] if t[0] < t0 else t[-1]
                    raise ValueError(
                        f"{label}: spike time {v:g} lies outside [t_start, t_end] = [{t0:g}, {t1:g}]"
                    )
    elif metric == "van_rossum":
        if tau is None:
            raise ValueError("tau: required for metric='van_rossum'")
        param, t0, t1 = _tau(tau), 0.0, 0.0
    else:
        q = None if q is None else number(q, "q")
        if q is None or not 0 <= q < math.inf:
            raise ValueError(f"q: a finite number >= 0 is required for 'victor_purpura', got {q}")
        param, t0, t1 = q, 0.0, 0.0
    offsets = np.zeros(len(ts) + 1, np.int64)
    offsets[1:] = np.cumsum([t.size for t in ts])
    times = np.ascontiguousarray(np.concatenate(ts) if ts else np.zeros(0), np.float64)
    return _core().distance_matrix(metric, times, offsets, param, t0, t1, n_threads)


def mean_pairwise_distance(
    trains_a: Sequence, trains_b: Optional[Sequence], metric: str, **kw
) -> float:
    """Mean distance over all pairs (a_i, b_j), or over pairs i < j of ``trains_a`` when
    ``trains_b`` is None (the data-vs-data floor); the keywords ``kw`` as :func:`distance_matrix`.
    Errors name ``trains_a`` / ``trains_b`` (a train: ``trains_a[k]``)."""
    _metric(metric)
    for k in kw:
        if k not in ("tau", "q", "t_start", "t_end", "n_threads"):
            raise TypeError(f"{k}: not a keyword of mean_pairwise_distance (see distance_matrix)")
    kw = {"tau": None, "q": None, "t_start": None, "t_end": None, **kw}
    kw["n_threads"] = threads(kw.get("n_threads", 1))
    sets = [("trains_a", trains_a)] + ([] if trains_b is None else [("trains_b", trains_b)])
    ts: list = []
    labels: list = []
    for name, s in sets:
        if isinstance(s, (str, bytes)) or not hasattr(s, "__len__"):
            raise TypeError(f"{name}: expected a sequence of spike trains, got {type(s).__name__}")
        if len(s) == 0:
            raise ValueError(f"{name}: no spike train (the mean over no pair is undefined)")
        if trains_b is None and len(s) < 2:
            raise ValueError(
                f"{name}: at least two trains are needed for the within-set mean, got {len(s)}"
            )
        t = _train_set(s, name)
        ts += t
        labels += [f"{name}[{k}]" for k in range(len(t))]
    set_name = "trains_a" if trains_b is None else "trains_a and trains_b"
    D = _distances(ts, labels, set_name, metric, **kw)
    if trains_b is None:
        return float(D[np.triu_indices(D.shape[0], 1)].mean())
    na = len(trains_a)
    return float(D[:na, na:].mean())


# ----------------------------------------------------------------------------- spike statistics
def binned_to_trains(y, dt: float = 1.0) -> list:
    """Spike trains from binned counts [T] (or a list of them for [R, T]): ``c`` spikes in bin
    ``t`` are placed at ``(t + (k + 0.5) / c) * dt``, k < c (evenly inside the bin)."""
    dt = _positive(dt, "dt")
    y = _float_array(y, "y")
    if y.ndim not in (1, 2):
        raise ValueError(f"y: expected counts [T] or [R, T], got shape {y.shape}")
    return _binned_to_trains(y, dt, "y")


def _binned_to_trains(y: np.ndarray, dt: float, name: str):
    """:func:`binned_to_trains` of a float64 array [T] or [R, T]; errors name ``name``."""
    if not np.all(np.isfinite(y)) or np.any(y < 0) or np.any(y > MAX_COUNT):
        raise ValueError(f"{name}: spike counts must be finite, >= 0 and <= {MAX_COUNT:g}")
    total = float(np.rint(y).sum())
    check_bytes(48.0 * total, name, f"{total:.4g} spike times")
    if y.ndim == 2:
        return [_binned_to_trains(r, dt, name) for r in y]
    c = np.rint(y).astype(np.int64)
    t = np.repeat(np.arange(c.size), c).astype(np.float64)
    k = np.arange(t.size) - np.repeat(np.cumsum(c) - c, c)
    return (t + (k + 0.5) / np.repeat(c, c)) * dt


def isis(trains: Sequence) -> np.ndarray:
    """All inter-spike intervals of a set of spike trains, pooled (float64). Spike times must be
    finite (ValueError naming ``trains[k]``)."""
    return _isis(trains, "trains")


def _isis(trains, name: str) -> np.ndarray:
    parts = [np.diff(t) for t in _train_set(trains, name)]
    return np.concatenate(parts) if parts else np.zeros(0)


def isi_ks_distance(trains_a: Sequence, trains_b: Sequence) -> float:
    """Two-sample Kolmogorov-Smirnov statistic between the pooled ISI distributions (scipy).
    Raises ValueError naming the set that has no interval."""
    from scipy.stats import ks_2samp

    ia, ib = _isis(trains_a, "trains_a"), _isis(trains_b, "trains_b")
    if ia.size == 0:
        raise ValueError("trains_a: no inter-spike interval (fewer than two spikes per train)")
    if ib.size == 0:
        raise ValueError("trains_b: no inter-spike interval (fewer than two spikes per train)")
    return float(ks_2samp(ia, ib).statistic)


def fano_factor(y, window: int = 1) -> np.ndarray:
    r"""Fano factor per neuron over repeats: counts in windows of ``window`` bins,
    :math:`F = \operatorname{mean}_w \operatorname{Var}_r(c) / \operatorname{mean}_w \operatorname{E}_r(c)`
    (ratio of means over windows; variance across repeats with ddof = 0, as elephant's
    ``fanofactor``). ``y`` [R, T(, N)], R >= 2. NaN for a silent neuron."""
    y = _binned(y, "y", min_repeats=2)
    window = integer(window, "window", 1)  # bins
    R, T, N = y.shape
    W = T // window
    if W == 0:
        raise ValueError(f"window: {window} bins is longer than the responses ({T} bins)")
    c = y[:, : W * window].reshape(R, W, window, N).sum(2)
    m = c.mean(0).mean(0)
    v = c.var(0).mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(m > 0, v / np.where(m > 0, m, 1.0), np.nan)


def refractory_violation_rate(trains: Sequence, refractory: float) -> float:
    """Fraction of inter-spike intervals shorter than ``refractory`` (same unit as the spike
    times; 0 when there is no interval)."""
    refractory = _positive(refractory, "refractory")
    return _violations(isis(trains), refractory)


def _violations(i: np.ndarray, refractory: float) -> float:
    return float((i < refractory).mean()) if i.size else 0.0


# ----------------------------------------------------------------------------- summary
def response_metrics(
    pred,
    data,
    dt: float,
    *,
    sigma: float = 2.0,
    refractory_bins: float = 1.5,
    tau_bins: float = 2.0,
    fano_window: int = 10,
    max_trials: int = 20,
    seed: int = 0,
) -> dict:
    r"""Every metric of docs/neural.md for model trials ``pred`` [Rp, T, N] against held-out
    repeats ``data`` [R, T, N] (counts per bin of width ``dt``), averaged over neurons:

    ``cc_norm`` (mean :func:`normalised_psth_correlation` of the model PSTH, smoothing ``sigma``
    bins), ``cc``, ``ceiling``; ``isi_ks`` (per-neuron KS distance of pooled ISIs, model vs data);
    ``refractory`` and ``refractory_data`` (fraction of ISIs < ``refractory_bins`` bins);
    ``fano`` and ``fano_data`` (Fano factor in windows of ``fano_window`` bins) and
    ``fano_err`` (mean absolute difference over neurons); ``van_rossum`` (mean distance, model
    trial vs data trial, ``tau_bins`` bins) and ``van_rossum_floor`` (data trial vs data trial);
    ``rate`` and ``rate_data`` (spikes per unit of ``dt``).

    Every error names an argument of this function (``max_trials`` >= 2: the floor is a mean
    over pairs of data trials; ``tau_bins * dt`` and ``refractory_bins * dt`` must be finite
    and, for ``tau_bins``, >= 1e-300)."""
    pred = _binned(pred, "pred", min_repeats=2)
    data = _binned(data, "data", min_repeats=2)
    max_trials = integer(max_trials, "max_trials", 2)
    fano_window = integer(fano_window, "fano_window", 1)
    for name, v in (("refractory_bins", refractory_bins), ("tau_bins", tau_bins)):
        _positive(v, name)
    refractory_bins, tau_bins = float(refractory_bins), float(tau_bins)
    if pred.shape[1:] != data.shape[1:]:
        raise ValueError(
            f"pred: shape [T, N] = {pred.shape[1:]} differs from data's {data.shape[1:]}"
        )
    if fano_window > pred.shape[1]:
        raise ValueError(
            f"fano_window: {fano_window} bins is longer than the responses ({pred.shape[1]} bins)"
        )
    dt = _positive(dt, "dt")
    if not 1e-100 <= dt <= 1e100:
        raise ValueError(
            f"dt: must lie in [1e-100, 1e100] (rates and times stay finite), got {dt:g}"
        )
    tau, refractory = tau_bins * dt, refractory_bins * dt
    if not 1e-300 <= tau < math.inf:
        raise ValueError(
            f"tau_bins: tau_bins * dt = {tau:g} must lie in [1e-300, inf) (the van Rossum time "
            f"constant), got tau_bins = {tau_bins:g}, dt = {dt:g}"
        )
    if not refractory < math.inf:
        raise ValueError(
            f"refractory_bins: refractory_bins * dt overflows, got refractory_bins = "
            f"{refractory_bins:g}, dt = {dt:g}"
        )
    n_trains = min(max_trials, pred.shape[0]) + min(max_trials, data.shape[0])
    check_bytes(8.0 * n_trains**2, "max_trials", f"a {n_trains} x {n_trains} distance matrix")
    cc_norm, cc, ceil = normalised_psth_correlation(pred.mean(0), data, sigma, seed=seed)
    N = data.shape[2]
    ks, vr, floor = [], [], []
    pt_all, dt_all = [], []
    for n in range(N):
        pt = _binned_to_trains(pred[:max_trials, :, n], dt, "pred")
        dtr = _binned_to_trains(data[:max_trials, :, n], dt, "data")
        pt_all += pt
        dt_all += dtr
        if _isis(pt, "pred").size and _isis(dtr, "data").size:
            ks.append(isi_ks_distance(pt, dtr))
        vr.append(mean_pairwise_distance(pt, dtr, "van_rossum", tau=tau))
        floor.append(mean_pairwise_distance(dtr, None, "van_rossum", tau=tau))
    f_pred = fano_factor(pred, fano_window)
    f_data = fano_factor(data, fano_window)
    return {
        "cc_norm": float(np.nanmean(cc_norm)),
        "cc": float(np.nanmean(cc)),
        "ceiling": float(np.nanmean(ceil)),
        "isi_ks": float(np.mean(ks)) if ks else float("nan"),
        "refractory": _violations(_isis(pt_all, "pred"), refractory),
        "refractory_data": _violations(_isis(dt_all, "data"), refractory),
        "fano": float(np.nanmean(f_pred)),
        "fano_data": float(np.nanmean(f_data)),
        "fano_err": float(np.nanmean(np.abs(f_pred - f_data))),
        "van_rossum": float(np.mean(vr)),
        "van_rossum_floor": float(np.mean(floor)),
        "rate": float(pred.mean() / dt),
        "rate_data": float(data.mean() / dt),
    }
