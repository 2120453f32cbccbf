"""Statistics for network-reconfiguration studies: correlation confidence intervals and nulls.

Correlations (``x``, ``y`` paired samples, ``n`` points):

- Fisher z interval: :math:`z = \\operatorname{artanh} r`, :math:`z \\pm z_{1-\\alpha/2} /
  \\sqrt{n - 3}`, mapped back with ``tanh`` (Pearson; for Spearman the same with the
  Bonett-Wright variance :math:`(1 + \\rho^2 / 2) / (n - 3)`);
- percentile bootstrap over the pairs (:func:`scipy.stats.bootstrap`, ``paired=True``);
- cluster bootstrap (:func:`cluster_corr_ci`): when the points come in groups that are not
  independent (the checkpoints of one training run), whole groups are resampled.

Nulls of multilayer modularity (Mucha et al. 2010; Bassett et al. 2013):

- shuffled time (:func:`shuffled_time_null`): the columns (time steps) of the activity
  ``a [N, T]`` are permuted before windowing, so every window samples the same stationary
  correlation structure; Louvain on the shuffled windows gives ``Q`` and flexibility of a network
  with the same units and the same overall correlations but no temporal reconfiguration;
- random partition (:func:`random_partition_null`): the observed partition's labels are
  permuted among the nodes of each layer (community sizes kept), and ``Q`` of that partition is
  scored on the observed network.

:func:`null_test` turns an observed value and its null samples into the null mean, standard
deviation, z score and the one-sided empirical p-value :math:`(1 + \\#\\{null \\ge obs\\}) /
(1 + n)` (``greater``) or :math:`(1 + \\#\\{null \\le obs\\}) / (1 + n)` (``less``).
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence

import numpy as np
from numpy.typing import ArrayLike

from spikecore._guards import check_bytes, integer, numeric_array
from spikecore.specs._base import number

from .network import (
    MAX_RUNS,
    _as_activity,
    _as_membership,
    flexibility,
    multilayer_communities,
    multilayer_modularity,
    windowed_correlations,
)

__all__ = [
    "fisher_ci",
    "corr_ci",
    "cluster_corr_ci",
    "shuffled_time_null",
    "random_partition_null",
    "null_test",
]


def _check_level(level: float) -> float:
    level = number(level, "level")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: must be in (0, 1), got {level}")
    return level


def _values(v, name: str) -> np.ndarray:
    return numeric_array(v, name).astype(float).ravel()


def _pairs(x, y, xname: str = "x", yname: str = "y", scale: bool = True):
    xa, ya = _values(x, xname), _values(y, yname)
    if xa.shape != ya.shape:
        raise ValueError(f"{yname}: must have as many values as {xname} ({xa.size}), got {ya.size}")
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    return _unit_scale(xa, ya) if scale else (xa, ya)


def _unit_scale(*vs):
    """Each array divided by its max |v| (correlations are scale-free; no product overflows)."""
    out = []
    for v in vs:
        m = float(np.abs(v).max()) if v.size else 0.0
        out.append(v / m if m > 0 else v)
    return tuple(out)


def _r(x, y, method: str) -> float:
    from scipy import stats

    if method == "pearson":
        return float(stats.pearsonr(x, y)[0])
    return float(stats.spearmanr(x, y)[0])


def _r_vec(a, b, method: str, axis: int = -1):
    """Correlation along ``axis`` of equally shaped arrays (resamples in the other axes);
    0 where a resample is constant."""
    from scipy import stats

    a = np.moveaxis(np.asarray(a, float), axis, -1)
    b = np.moveaxis(np.asarray(b, float), axis, -1)
    if method == "spearman":
        a = stats.rankdata(a, axis=-1)
        b = stats.rankdata(b, axis=-1)
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    num = (a * b).sum(-1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _check_method(method: str) -> None:
    if method not in ("pearson", "spearman"):
        raise ValueError(f"method: must be 'pearson' or 'spearman', got {method!r}")


def fisher_ci(r: float, n: int, level: float = 0.95, method: str = "pearson"):
    """Fisher z confidence interval of a correlation ``r`` from ``n`` pairs (``(nan, nan)``
    for ``n <= 3``)."""
    from scipy import stats

    level = _check_level(level)
    _check_method(method)
    r = number(r, "r")
    n = integer(n, "n")
    if n <= 3 or not np.isfinite(r):
        return (float("nan"), float("nan"))
    r = float(np.clip(r, -0.9999999, 0.9999999))
    var = (1.0 + r * r / 2.0) / (n - 3) if method == "spearman" else 1.0 / (n - 3)
    half = stats.norm.ppf(0.5 + level / 2.0) * np.sqrt(var)
    z = np.arctanh(r)
    return (float(np.tanh(z - half)), float(np.tanh(z + half)))


def corr_ci(
    x: ArrayLike,
    y: ArrayLike,
    method: str = "pearson",
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Dict[str, Optional[float]]:
    """Correlation of the pairs ``(x, y)`` with its p-value, Fisher z interval and percentile
    bootstrap interval. Non-finite pairs are dropped; fewer than 4 pairs or a constant variable
    give ``None`` entries (never NaN)."""
    from scipy import stats

    _check_method(method)
    level = _check_level(level)
    n_boot = integer(n_boot, "n_boot")
    seed = integer(seed, "seed", 0)
    xa, ya = _pairs(x, y)
    check_bytes(16.0 * max(n_boot, 0) * len(xa), "n_boot", f"{n_boot} resamples of {len(xa)} pairs")
    out: Dict[str, Optional[float]] = dict(
        n=int(len(xa)), r=None, p=None, fisher_lo=None, fisher_hi=None, boot_lo=None, boot_hi=None
    )
    if len(xa) < 4 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return out
    res = stats.pearsonr(xa, ya) if method == "pearson" else stats.spearmanr(xa, ya)
    r = float(res[0])
    out["r"], out["p"] = r, float(res[1])
    out["fisher_lo"], out["fisher_hi"] = fisher_ci(r, len(xa), level, method)
    if n_boot > 0:
        b = stats.bootstrap(
            (xa, ya),
            lambda a, b_, axis=-1: _r_vec(a, b_, method, axis),
            paired=True,
            vectorized=True,
            n_resamples=int(n_boot),
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        out["boot_lo"] = float(b.confidence_interval.low)
        out["boot_hi"] = float(b.confidence_interval.high)
    return out


def cluster_corr_ci(
    xs: Sequence[ArrayLike],
    ys: Sequence[ArrayLike],
    method: str = "pearson",
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Dict[str, Optional[float]]:
    """Pooled correlation of groups of pairs (``xs[g]``, ``ys[g]``: one group per training run)
    with a cluster-bootstrap interval: whole groups are drawn with replacement, so points within a
    group are never treated as independent. ``None`` entries when undefined."""
    _check_method(method)
    level = _check_level(level)
    n_boot = integer(n_boot, "n_boot")
    seed = integer(seed, "seed", 0)
    for name, v in (("xs", xs), ("ys", ys)):
        if not hasattr(v, "__len__") or isinstance(v, (str, bytes)):
            raise TypeError(f"{name}: expected a sequence of groups, got {type(v).__name__}")
    if len(xs) != len(ys):
        raise ValueError(f"ys: must have as many groups as xs ({len(xs)}), got {len(ys)}")
    check_bytes(8.0 * max(n_boot, 0), "n_boot", f"{n_boot} bootstrap values")
    groups = [_pairs(a, b, "xs", "ys", scale=False) for a, b in zip(xs, ys)]
    groups = [g for g in groups if len(g[0])]
    if groups:  # one common scale for all groups (a per-group scale would change r)
        mx = max(float(np.abs(g[0]).max()) for g in groups) or 1.0
        my = max(float(np.abs(g[1]).max()) for g in groups) or 1.0
        groups = [(g[0] / mx, g[1] / my) for g in groups]
    x = np.concatenate([g[0] for g in groups]) if groups else np.zeros(0)
    y = np.concatenate([g[1] for g in groups]) if groups else np.zeros(0)
    out: Dict[str, Optional[float]] = dict(
        n=int(len(x)), groups=len(groups), r=None, boot_lo=None, boot_hi=None
    )
    if len(groups) < 3 or len(x) < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    out["r"] = _r(x, y, method)
    rng = np.random.default_rng(seed)
    rs = []
    for _ in range(int(n_boot)):
        pick = rng.integers(0, len(groups), len(groups))
        bx = np.concatenate([groups[i][0] for i in pick])
        by = np.concatenate([groups[i][1] for i in pick])
        if np.ptp(bx) > 0 and np.ptp(by) > 0:
            rs.append(float(_r_vec(bx, by, method)))
    if rs:
        a = (1.0 - level) / 2.0
        out["boot_lo"], out["boot_hi"] = (float(v) for v in np.quantile(rs, [a, 1.0 - a]))
    return out


def shuffled_time_null(
    a,
    window: int = 50,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    n_null: int = 20,
    seed: int = 0,
) -> Dict[str, np.ndarray]:
    """``Q`` and mean flexibility of ``n_null`` time-shuffled copies of ``a [N, T]`` (columns
    permuted, then windowed and partitioned as the original). Returns ``{"Q": [n_null],
    "flexibility": [n_null]}``."""
    a = _as_activity(a, "a")
    n_null = integer(n_null, "n_null", 1, MAX_RUNS)
    seed = integer(seed, "seed", 0, 2**64 - n_null)
    check_bytes(16.0 * n_null, "n_null", f"{n_null} null samples")
    rng = np.random.default_rng(seed)
    Q, F = [], []
    for k in range(int(n_null)):
        C = windowed_correlations(a[:, rng.permutation(a.shape[1])], window)
        p = multilayer_communities(C, gamma_pos, gamma_neg, omega, seed=seed + k)
        Q.append(p.Q)
        F.append(float(flexibility(p.membership).mean()) if C.shape[0] > 1 else 0.0)
    return {"Q": np.array(Q), "flexibility": np.array(F)}


def random_partition_null(
    C,
    membership,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    n_null: int = 100,
    seed: int = 0,
) -> np.ndarray:
    """``Q`` on the layers ``C [L, N, N]`` of ``n_null`` partitions made from ``membership
    [L, N]`` by permuting its labels among the nodes of each layer independently."""
    m = _as_membership(membership)
    n_null = integer(n_null, "n_null", 1, MAX_RUNS)
    seed = integer(seed, "seed", 0)
    check_bytes(8.0 * n_null, "n_null", f"{n_null} null samples")
    rng = np.random.default_rng(seed)
    out = np.empty(int(n_null))
    for k in range(int(n_null)):
        perm = np.stack([row[rng.permutation(len(row))] for row in m])
        out[k] = multilayer_modularity(C, perm, gamma_pos, gamma_neg, omega)
    return out


def null_test(observed: float, null, alternative: str = "greater") -> Dict[str, Optional[float]]:
    """Observed value against null samples: ``{"observed", "null_mean", "null_sd", "z",
    "p"}`` (one-sided empirical p-value; ``z`` is ``None`` when the null has no spread)."""
    if alternative not in ("greater", "less"):
        raise ValueError(f"alternative: must be 'greater' or 'less', got {alternative!r}")
    observed = number(observed, "observed")
    v = _values(null, "null")
    if v.size == 0:
        raise ValueError("null: needs at least one sample")
    if not np.all(np.isfinite(v)) or not np.isfinite(observed):
        raise ValueError("null: the null samples and the observed value must be finite")
    if np.abs(v).max() > 1e150 or abs(observed) > 1e150:
        raise ValueError("null: values must lie in [-1e150, 1e150] (the variance)")
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    mu = float(v.mean())
    hits = (v >= observed) if alternative == "greater" else (v <= observed)
    return {
        "observed": float(observed),
        "null_mean": mu,
        "null_sd": sd,
        "z": (float(observed) - mu) / sd if sd > 0 else None,
        "p": float((1 + hits.sum()) / (1 + v.size)),
    }
