"""Network reconfiguration: windowed correlations, signed multilayer modularity, flexibility.

The pipeline of METHODS.md section 1 (after Bassett et al. 2011 and Mucha et al. 2010):

1. :func:`windowed_correlations`: hidden activity ``[N, T]`` cut into windows of ``window`` steps;
   the Pearson correlation matrix of each window is one layer of a multilayer network.
2. :func:`multilayer_communities`: signed multislice modularity with ordinal inter-layer coupling,
   maximised by generalized Louvain (C++, ``spikecore._core.analysis``):

   .. math::

       B_s &= \\Big[A^+_s - \\gamma^+ \\frac{k^+_s k^{+\\top}_s}{2m^+_s}\\Big]
             - \\Big[A^-_s - \\gamma^- \\frac{k^-_s k^{-\\top}_s}{2m^-_s}\\Big] \\\\
       Q &= \\frac{1}{2\\mu} \\sum_{ijsr} \\big[B_{s,ij}\\,\\delta_{sr}
            + \\omega\\,\\delta_{ij}\\,[|s-r| = 1]\\big]\\,\\delta(g_{is}, g_{jr}), \\qquad
       2\\mu = \\sum_s (2m^+_s + 2m^-_s) + 2\\omega N (L-1)

   :math:`A^\\pm = \\max(\\pm A, 0)` with the diagonal ignored; a layer with no positive (negative)
   weight has no positive (negative) term. The supra-matrix is stored as its sparse block-diagonal
   plus identity-coupling structure, never densely.
3. :func:`flexibility` (fraction of layer transitions where a node changes community),
   :func:`allegiance` (fraction of layers in which two nodes share a community),
   :func:`consensus_partition` (Lancichinetti & Fortunato 2012 consensus clustering) and
   :func:`distribution_entropy` (Gaussian differential entropy of the pre-activations).

==============  =======  ===========================================================
parameter       default  meaning
==============  =======  ===========================================================
``window``      50       steps per layer (windows do not overlap unless ``step`` given)
``gamma_pos``   1.02     resolution of the positive part :math:`\\gamma^+`
``gamma_neg``   1.0      resolution of the negative part :math:`\\gamma^-`
``omega``       1.0      inter-layer coupling :math:`\\omega`
``seed``        0        Louvain node-order seed (same seed, same partition)
==============  =======  ===========================================================

Silent units: a unit whose activity is constant within a window has an undefined (NaN) Pearson
correlation. With ``nan_policy="zero"`` (default) its row and column are set to 0 in that layer
(no edges; it then sits in a community on its own or follows its inter-layer coupling), and the
layer's silent units are reported in ``silent``; ``nan_policy="raise"`` raises ``ValueError``.
NaN never reaches the modularity code, which rejects non-finite input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from spikecore._guards import check_bytes, integer, numeric_array
from spikecore.specs._base import number

#: the largest magnitude of activity and weights (so that squares and degree products stay finite)
MAX_VALUE = 1e100
#: the largest resolution / coupling parameter
MAX_RESOLUTION = 1e6
#: the most Louvain runs / consensus iterations one call may ask for (more is a hang, not a use)
MAX_RUNS = 100_000

__all__ = [
    "windowed_correlations",
    "MultilayerPartition",
    "multilayer_communities",
    "multilayer_modularity",
    "flexibility",
    "allegiance",
    "consensus_partition",
    "distribution_entropy",
    "louvain_modularity_matrix",
]


def _community():
    from spikecore import _core

    return _core.analysis


def _as_float(x, name: str) -> np.ndarray:
    """``x`` as a float64 array, or TypeError naming ``name`` (strings, objects, ragged lists)."""
    return numeric_array(x, name).astype(np.float64)


def _as_activity(activity, name: str = "activity") -> np.ndarray:
    a = _as_float(activity, name)
    if a.ndim != 2:
        raise ValueError(f"{name}: must be [N units, T steps], got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    if a.size and np.abs(a).max() > MAX_VALUE:
        raise ValueError(f"{name}: values must lie in [-1e100, 1e100], got {np.abs(a).max():g}")
    return a


def windowed_correlations(
    activity,
    window: int = 50,
    step: Optional[int] = None,
    nan_policy: str = "zero",
    return_silent: bool = False,
):
    """Pearson correlation matrices of ``activity [N, T]`` over windows of ``window`` steps.

    Returns ``[L, N, N]`` float64 with ``L = (T - window) // step + 1`` (``step`` defaults to
    ``window``: non-overlapping). Silent units: see the module docstring; with
    ``return_silent=True`` also returns a boolean ``[L, N]`` mask of them.

    >>> rng = np.random.default_rng(0)
    >>> C = windowed_correlations(rng.normal(size=(4, 100)), window=50)
    >>> C.shape, bool(np.allclose(C, C.transpose(0, 2, 1)))
    ((2, 4, 4), True)
    """
    a = _as_activity(activity)
    N, T = a.shape
    window = integer(window, "window", 2)
    if window > T:
        raise ValueError(f"window: {window} steps is longer than the sequence ({T} steps)")
    step = window if step is None else step
    step = integer(step, "step", 1)
    if nan_policy not in ("zero", "raise"):
        raise ValueError(f"nan_policy: must be 'zero' or 'raise', got {nan_policy!r}")
    starts = range(0, T - window + 1, step)
    L = len(starts)
    check_bytes(8.0 * L * N * N, "activity", f"{L} correlation matrices of {N} x {N}")
    out = np.zeros((L, N, N))
    silent = np.zeros((L, N), dtype=bool)
    for s, t0 in enumerate(starts):
        w = a[:, t0 : t0 + window]
        z = w - w.mean(axis=1, keepdims=True)
        # rows scaled to max |z| = 1 (Pearson is scale-free): no square overflows or underflows
        zmax = np.abs(z).max(axis=1, keepdims=True)
        z = z / np.where(zmax > 0, zmax, 1.0)
        norm = np.sqrt((z * z).sum(axis=1))
        # initial: no unit (N = 0) gives L empty matrices
        dead = zmax[:, 0] * norm <= 1e-12 * max(1.0, float(np.abs(w).max(initial=0.0)))
        if dead.any() and nan_policy == "raise":
            raise ValueError(
                f"activity: units {np.nonzero(dead)[0].tolist()} are silent (constant) in window "
                f"{s}; their correlations are undefined (use nan_policy='zero')"
            )
        norm = np.where(dead, 1.0, norm)
        zn = z / norm[:, None]
        c = np.clip(zn @ zn.T, -1.0, 1.0)
        c[dead, :] = 0.0
        c[:, dead] = 0.0
        c = 0.5 * (c + c.T)
        silent[s] = dead
        out[s] = c
    return (out, silent) if return_silent else out


def _as_layers(A) -> np.ndarray:
    A = _as_float(A, "A")
    if A.ndim == 2:
        A = A[None]
    if A.ndim != 3:
        raise ValueError(f"A: must be [L, N, N] or [N, N], got shape {A.shape}")
    if A.shape[1] != A.shape[2]:
        raise ValueError(f"A: each layer must be square (N x N), got {A.shape[1]} x {A.shape[2]}")
    if A.shape[0] < 1 or A.shape[1] < 1:
        raise ValueError(f"A: needs at least one layer and one node, got shape {A.shape}")
    if not np.isfinite(A).all():
        raise ValueError(
            "A: contains NaN or infinite entries (silent units? see "
            "windowed_correlations(nan_policy='zero'))"
        )
    if np.abs(A).max() > MAX_VALUE:
        raise ValueError(f"A: weights must lie in [-1e100, 1e100], got {np.abs(A).max():g}")
    # the core's sparse supra-matrix: up to 12 bytes per entry, plus the node arrays
    check_bytes(12.0 * A.size + 64.0 * A.shape[0] * A.shape[1], "A", f"layers of shape {A.shape}")
    if not np.allclose(A, A.transpose(0, 2, 1), rtol=0, atol=1e-9):
        s = int(np.nonzero(np.abs(A - A.transpose(0, 2, 1)).max(axis=(1, 2)) > 1e-9)[0][0])
        raise ValueError(f"A: layer {s} is not symmetric")
    return np.ascontiguousarray(A)


def _check_res(gamma_pos, gamma_neg, omega):
    out = []
    for name, v in (("gamma_pos", gamma_pos), ("gamma_neg", gamma_neg), ("omega", omega)):
        v = number(v, name)
        if not 0 <= v <= MAX_RESOLUTION:
            raise ValueError(f"{name}: must be in [0, {MAX_RESOLUTION:g}], got {v}")
        out.append(v)
    return out


def _seed(seed, n: int = 1) -> int:
    """A Louvain seed: the core takes uint64, and seeds seed .. seed + n - 1 are used."""
    return integer(seed, "seed", 0, 2**64 - n)


@dataclass
class MultilayerPartition:
    """Result of :func:`multilayer_communities`: ``membership [L, N]`` (community labels shared
    across layers), modularity ``Q``, normalisation ``twomu`` and Louvain ``levels``."""

    membership: np.ndarray
    Q: float
    twomu: float
    levels: int
    seed: int

    @property
    def n_communities(self) -> int:
        """Number of distinct communities over all layers."""
        return int(len(np.unique(self.membership)))


def multilayer_communities(
    A,
    gamma_pos: float = 1.02,
    gamma_neg: float = 1.0,
    omega: float = 1.0,
    seed: int = 0,
    n_runs: int = 1,
) -> MultilayerPartition:
    """Generalized Louvain on the signed multilayer modularity of layers ``A [L, N, N]``.

    Louvain is a heuristic: with ``n_runs > 1`` it runs with seeds ``seed .. seed + n_runs - 1``
    and keeps the partition of highest Q (the first one on ties).

    >>> A = np.kron(np.eye(2), np.ones((3, 3))) * 2 - 1   # two planted blocks, signed
    >>> p = multilayer_communities(np.stack([A, A]), seed=1)
    >>> p.membership.tolist()
    [[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]]
    """
    A = _as_layers(A)
    gamma_pos, gamma_neg, omega = _check_res(gamma_pos, gamma_neg, omega)
    n_runs = integer(n_runs, "n_runs", 1, MAX_RUNS)
    seed = _seed(seed, n_runs)
    L, N, _ = A.shape
    best = None
    for s in range(seed, seed + int(n_runs)):
        memb, sum_b, twomu, levels = _community().multilayer_louvain(
            A, float(gamma_pos), float(gamma_neg), float(omega), s
        )
        Q = float(sum_b / twomu) if twomu > 0 else 0.0
        if best is None or Q > best.Q:
            best = MultilayerPartition(
                np.asarray(memb, dtype=np.int64).reshape(L, N), Q, float(twomu), int(levels), s
            )
    assert best is not None  # n_runs >= 1 was checked
    return best


def multilayer_modularity(
    A, membership, gamma_pos: float = 1.02, gamma_neg: float = 1.0, omega: float = 1.0
) -> float:
    """Q of a given partition ``membership [L, N]`` (0 when :math:`2\\mu = 0`)."""
    A = _as_layers(A)
    gamma_pos, gamma_neg, omega = _check_res(gamma_pos, gamma_neg, omega)
    m = np.asarray(membership)
    if m.dtype.kind not in "iub" and not (
        m.dtype.kind == "f" and np.all(np.isfinite(m)) and np.all(m == np.round(m))
    ):
        raise TypeError(f"membership: expected integer community labels, got dtype {m.dtype}")
    if m.shape != A.shape[:2]:
        raise ValueError(f"membership: must have shape [L, N] = {A.shape[:2]}, got {m.shape}")
    s, twomu = _community().multilayer_score(
        A,
        float(gamma_pos),
        float(gamma_neg),
        float(omega),
        np.ascontiguousarray(m.reshape(-1), dtype=np.int64),
    )
    return float(s / twomu) if twomu > 0 else 0.0


def _as_membership(membership, need_layers: int = 1, name: str = "membership") -> np.ndarray:
    m = numeric_array(membership, name, "fiubUS")
    if m.dtype.kind == "f" and not np.all(np.isfinite(m)):
        raise ValueError(f"{name}: labels must be finite")
    if m.ndim != 2:
        raise ValueError(f"{name}: must be [L layers, N nodes], got shape {m.shape}")
    if m.shape[0] < need_layers:
        raise ValueError(f"{name}: needs at least {need_layers} layers, got {m.shape[0]}")
    return m


def flexibility(membership) -> np.ndarray:
    """Node flexibility (Bassett et al. 2011): number of community changes between consecutive
    layers divided by ``L - 1``; ``membership [L, N]`` -> ``[N]`` in [0, 1].

    >>> flexibility([[0, 0], [1, 0], [1, 0]]).tolist()
    [0.5, 0.0]
    """
    m = _as_membership(membership, 2)
    return (m[1:] != m[:-1]).sum(axis=0) / (m.shape[0] - 1)


def allegiance(membership) -> np.ndarray:
    """Module allegiance ``P [N, N]``: fraction of layers in which nodes i and j share a
    community (Bassett et al. 2015). Rows of ``membership [L, N]`` may be layers or runs."""
    m = _as_membership(membership)
    L, N = m.shape
    check_bytes(16.0 * N * N, "membership", f"an allegiance matrix of {N} x {N}")
    P = np.zeros((N, N))
    for row in m:
        P += row[:, None] == row[None, :]
    return P / L


def louvain_modularity_matrix(B, seed: int = 0) -> Tuple[np.ndarray, float]:
    """Louvain on an explicit symmetric modularity matrix ``B [n, n]`` -> (membership, sum of
    ``B_ij`` over pairs in the same community)."""
    B = np.ascontiguousarray(_as_float(B, "B"))
    if B.ndim != 2 or B.shape[0] != B.shape[1]:
        raise ValueError(f"B: must be a square matrix, got shape {B.shape}")
    if B.size and np.isfinite(B).all() and np.abs(B).max() > MAX_VALUE:
        raise ValueError(f"B: entries must lie in [-1e100, 1e100], got {np.abs(B).max():g}")
    check_bytes(12.0 * B.size, "B", f"a {B.shape[0]} x {B.shape[0]} sparse copy")
    memb, s, _ = _community().louvain_dense(B, _seed(seed))
    return np.asarray(memb, dtype=np.int64), float(s)


def consensus_partition(
    partitions, tau: float = 0.5, n_runs: int = 10, seed: int = 0, max_iter: int = 20
) -> np.ndarray:
    """Consensus clustering (Lancichinetti & Fortunato 2012) of ``partitions [R, n]``.

    The agreement matrix D (fraction of partitions placing i, j together) is thresholded at
    ``tau``; Louvain (Newman modularity of D) is run ``n_runs`` times; repeat on the new agreement
    matrix until all runs agree. Rows can be repeated runs, or the layers of a multilayer
    partition (giving one static partition of the nodes).
    """
    P = _as_membership(partitions, name="partitions")
    tau = number(tau, "tau")
    if not 0.0 <= tau < 1.0:
        raise ValueError(f"tau: must be in [0, 1), got {tau}")
    n_runs = integer(n_runs, "n_runs", 1, MAX_RUNS)
    max_iter = integer(max_iter, "max_iter", 0, MAX_RUNS)
    seed = _seed(seed, 1 + max_iter * n_runs)
    n = P.shape[1]
    check_bytes(8.0 * (n_runs + 3) * n * n, "partitions", f"agreement matrices of {n} x {n}")
    for it in range(max_iter):
        D = allegiance(P)
        if np.all((D == 0) | (D == 1)):
            break
        D = np.where(D >= tau, D, 0.0)
        np.fill_diagonal(D, 0.0)
        k = D.sum(axis=1)
        two_m = k.sum()
        if two_m <= 0:
            return np.arange(n)
        Bm = D - np.outer(k, k) / two_m
        P = np.stack(
            [louvain_modularity_matrix(Bm, seed + it * n_runs + r)[0] for r in range(n_runs)]
        )
    # the (now unanimous, or last) first row, communities numbered by first appearance
    first: Dict[int, int] = {}
    return np.array([first.setdefault(int(c), len(first)) for c in P[0]], dtype=np.int64)


def distribution_entropy(activity, ridge: float = 1e-6) -> float:
    """Gaussian differential entropy of the pre-activation distribution (nats):

    .. math:: H = \\tfrac12 \\log\\det \\Sigma + \\tfrac{D}{2}(1 + \\log 2\\pi)

    ``activity [D units, T samples]``; :math:`\\Sigma` is the sample covariance plus
    ``ridge * mean(diag Sigma)`` on the diagonal (at least ``ridge``), so that constant units give a
    finite value.

    >>> rng = np.random.default_rng(0)
    >>> h = distribution_entropy(rng.normal(size=(2, 200000)))
    >>> bool(abs(h - (1 + np.log(2 * np.pi))) < 0.02)    # two unit Gaussians
    True
    """
    a = _as_activity(activity)
    D, T = a.shape
    if T < 2:
        raise ValueError(f"activity: needs at least 2 samples, got {T}")
    if D < 1:
        raise ValueError("activity: needs at least one unit")
    if a.size and np.abs(a).max() > 1e150:
        raise ValueError(
            f"activity: values must lie in [-1e150, 1e150] (the covariance), got {np.abs(a).max():g}"
        )
    ridge = number(ridge, "ridge")
    if not 0 <= ridge <= 1e100:
        raise ValueError(f"ridge: must be in [0, 1e100], got {ridge}")
    check_bytes(16.0 * D * D, "activity", f"a {D} x {D} covariance")
    S = np.atleast_2d(np.cov(a))
    eps = ridge * max(float(np.trace(S)) / D, 1.0)
    S = S + eps * np.eye(D)
    sign, logdet = np.linalg.slogdet(S)
    if not (sign > 0 and np.isfinite(logdet)):
        raise ValueError("activity: covariance is not positive definite (increase ridge)")
    return float(0.5 * logdet + 0.5 * D * (1.0 + np.log(2.0 * np.pi)))
