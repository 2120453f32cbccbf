import doctest

import numpy as np
import pytest

from spikecore.analysis import network as nw
from spikecore.analysis.network import (
    allegiance,
    consensus_partition,
    distribution_entropy,
    flexibility,
    multilayer_communities,
    multilayer_modularity,
    windowed_correlations,
)


def test_doctests():
    assert doctest.testmod(nw).failed == 0


def _same_partition(a, b):
    a, b = np.ravel(a), np.ravel(b)
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def _planted_layers(memb, rng, noise=0.1):
    L, N = memb.shape
    A = np.empty((L, N, N))
    for s in range(L):
        same = memb[s][:, None] == memb[s][None, :]
        W = np.where(same, 0.8, -0.2) + noise * rng.normal(size=(N, N))
        W = 0.5 * (W + W.T)
        np.fill_diagonal(W, 1.0)
        A[s] = W
    return A


def test_planted_multilayer_partition_recovered_and_flexibility():
    rng = np.random.default_rng(0)
    L, N = 12, 30
    memb = np.tile(np.repeat(np.arange(3), 10), (L, 1))
    # planted switching: node 0 moves to community 1 at layer 4 and back at layer 8 (k = 2);
    # node 15 moves to community 2 from layer 6 on (k = 1); node 29 switches 3 times.
    memb[4:8, 0] = 1
    memb[6:, 15] = 2
    memb[3:5, 29] = 0
    memb[9:, 29] = 1
    A = _planted_layers(memb, rng)
    p = multilayer_communities(A, seed=3)
    assert _same_partition(p.membership, memb)
    k = np.zeros(N)
    k[0], k[15], k[29] = 2, 1, 3
    np.testing.assert_allclose(flexibility(p.membership), k / (L - 1))
    # consensus over layers gives the static partition (majority community of each node)
    cons = consensus_partition(p.membership)
    assert _same_partition(np.delete(cons, [0, 15, 29]), np.delete(memb[0], [0, 15, 29]))


def _direct_Q(A, memb, gp, gn, omega):
    """Dense supra-modularity matrix, built naively (test reference)."""
    L, N, _ = A.shape
    n = L * N
    B = np.zeros((n, n))
    two_mu = 0.0
    for s in range(L):
        W = A[s].copy()
        np.fill_diagonal(W, 0)
        Wp, Wn = np.maximum(W, 0), np.maximum(-W, 0)
        kp, kn = Wp.sum(1), Wn.sum(1)
        mp, mn = kp.sum(), kn.sum()
        Bs = Wp - Wn
        if mp > 0:
            Bs -= gp * np.outer(kp, kp) / mp
        if mn > 0:
            Bs += gn * np.outer(kn, kn) / mn
        B[s * N : (s + 1) * N, s * N : (s + 1) * N] = Bs
        two_mu += mp + mn
    for s in range(L - 1):
        for i in range(N):
            B[s * N + i, (s + 1) * N + i] = B[(s + 1) * N + i, s * N + i] = omega
    two_mu += 2 * omega * N * (L - 1)
    g = memb.reshape(-1)
    return float((B * (g[:, None] == g[None, :])).sum() / two_mu)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_Q_equals_direct_computation(seed):
    rng = np.random.default_rng(seed)
    L, N = 4, 7
    A = rng.normal(size=(L, N, N))
    A = A + A.transpose(0, 2, 1)
    memb = rng.integers(0, 3, size=(L, N))
    for gp, gn, om in [(1.02, 1.0, 1.0), (1.0, 0.5, 0.3)]:
        q = multilayer_modularity(A, memb, gp, gn, om)
        assert q == pytest.approx(_direct_Q(A, memb, gp, gn, om), abs=1e-12)
    p = multilayer_communities(A, seed=seed)
    assert p.Q == pytest.approx(_direct_Q(A, p.membership, 1.02, 1.0, 1.0), abs=1e-12)
    # Louvain is a local optimum: no single node move raises Q
    assert p.Q >= _direct_Q(A, memb, 1.02, 1.0, 1.0)


def test_deterministic_given_seed():
    rng = np.random.default_rng(5)
    C = windowed_correlations(rng.normal(size=(20, 500)), 50)
    a, b = multilayer_communities(C, seed=7), multilayer_communities(C, seed=7)
    assert np.array_equal(a.membership, b.membership) and a.Q == b.Q
    best = multilayer_communities(C, seed=7, n_runs=4)
    assert best.Q >= a.Q and best.seed in range(7, 11)
    with pytest.raises(ValueError, match="^n_runs"):
        multilayer_communities(C, n_runs=0)


def test_single_layer_agrees_with_bctpy():
    bct = pytest.importorskip("bct")
    rng = np.random.default_rng(1)
    N = 40
    g = np.repeat(np.arange(4), 10)
    for trial in range(3):
        lat = rng.normal(size=(4, 200))
        C = windowed_correlations(lat[g] + 1.5 * rng.normal(size=(N, 200)), 200)[0]
        np.fill_diagonal(C, 0)
        ci, q_bct = bct.modularity_louvain_und_sign(C, gamma=1.0, qtype="gja", seed=trial)
        # same Q formula: our Q of bctpy's partition equals bctpy's Q
        q_of_bct = multilayer_modularity(C[None], (ci - 1)[None], 1.0, 1.0, 1.0)
        assert q_of_bct == pytest.approx(q_bct, abs=1e-10)
        p = multilayer_communities(C, gamma_pos=1.0, gamma_neg=1.0, seed=trial)
        assert p.Q >= q_bct - 1e-3
        assert _same_partition(p.membership[0], ci)


def test_flexibility_allegiance_basics():
    m = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 1]])
    np.testing.assert_allclose(flexibility(m), [0.5, 0.5, 0.0])
    P = allegiance(m)
    np.testing.assert_allclose(np.diag(P), 1.0)
    assert P[0, 1] == pytest.approx(2 / 3) and P[0, 2] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="^membership"):
        flexibility([[0, 1, 2]])


def test_entropy_gaussian():
    rng = np.random.default_rng(0)
    Sigma = np.array([[2.0, 0.5], [0.5, 1.0]])
    x = rng.multivariate_normal([0, 0], Sigma, size=100000).T
    expected = 0.5 * np.log(np.linalg.det(Sigma)) + (1 + np.log(2 * np.pi))
    assert distribution_entropy(x) == pytest.approx(expected, abs=0.02)
    assert np.isfinite(distribution_entropy(np.zeros((3, 10))))  # constant units: ridge


def test_silent_units_handled():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 100))
    a[2, :50] = 0.3  # silent in the first window
    C, silent = windowed_correlations(a, 50, return_silent=True)
    assert np.isfinite(C).all()
    assert silent[0, 2] and not silent[1, 2]
    assert (C[0, 2] == 0).all() and (C[0, :, 2] == 0).all()
    p = multilayer_communities(C)
    assert p.membership.shape == (2, 5)
    with pytest.raises(ValueError, match="^activity.*silent"):
        windowed_correlations(a, 50, nan_policy="raise")


def test_bad_input():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 60))
    with pytest.raises(ValueError, match="^window.*longer than the sequence"):
        windowed_correlations(a, 61)
    with pytest.raises(ValueError, match="^window"):
        windowed_correlations(a, 1)
    with pytest.raises(ValueError, match="^activity"):
        windowed_correlations(np.full((3, 60), np.nan), 20)
    with pytest.raises(ValueError, match="^nan_policy"):
        windowed_correlations(a, 20, nan_policy="ignore")
    with pytest.raises(ValueError, match="^A.*square"):
        multilayer_communities(np.zeros((2, 3, 4)))
    ns = rng.normal(size=(2, 4, 4))
    with pytest.raises(ValueError, match="^A.*symmetric"):
        multilayer_communities(ns)
    bad = np.zeros((2, 3, 3))
    bad[1, 0, 1] = bad[1, 1, 0] = np.nan
    with pytest.raises(ValueError, match="^A.*NaN"):
        multilayer_communities(bad)
    with pytest.raises(ValueError, match="^omega"):
        multilayer_communities(np.zeros((2, 3, 3)), omega=-1)
    with pytest.raises(ValueError, match="^membership"):
        multilayer_modularity(np.zeros((2, 3, 3)), np.zeros((3, 3), dtype=int))


def test_cpp_layer_checks_reach_python():
    # the C++ core validates too (not only the Python wrapper)
    from spikecore import _core

    ns = np.ascontiguousarray(np.random.default_rng(0).normal(size=(1, 3, 3)))
    with pytest.raises(ValueError, match="^A: layer 0 is not symmetric"):
        _core.analysis.multilayer_louvain(ns, 1.0, 1.0, 1.0, 0)


def test_empty_layers_give_zero_Q():
    p = multilayer_communities(np.zeros((1, 4, 4)))
    assert p.Q == 0.0 and p.membership.shape == (1, 4)


def test_plots(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spikecore.analysis.plots import consensus_order, plot_allegiance, plot_multilayer_partition

    m = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1]])
    order = consensus_order(m)
    assert sorted(order.tolist()) == [0, 1, 2, 3] and set(order[:2]) == {0, 1}
    fig, axes = plt.subplots(1, 2)
    plot_multilayer_partition(m, axes[0])
    plot_allegiance(m, axes[1])
    fig.savefig(tmp_path / "p.png")
    plt.close(fig)
    assert (tmp_path / "p.png").stat().st_size > 0
    with pytest.raises(ValueError, match="^membership"):
        plot_multilayer_partition(np.zeros(3))


def test_windowed_correlations_of_no_unit():
    """An activity of no unit [0, T] gives L empty matrices (was numpy's "zero-size array to
    reduction operation maximum", found by the 500-example fuzz campaign)."""
    C, silent = windowed_correlations(np.zeros((0, 10)), window=5, return_silent=True)
    assert C.shape == (2, 0, 0) and silent.shape == (2, 0)
