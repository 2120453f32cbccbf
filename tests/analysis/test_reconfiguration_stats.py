import numpy as np
import pytest

pytest.importorskip("scipy")

from spikecore.analysis.network import multilayer_communities, windowed_correlations  # noqa: E402
from spikecore.analysis.reconfiguration_stats import (  # noqa: E402
    cluster_corr_ci,
    corr_ci,
    fisher_ci,
    null_test,
    random_partition_null,
    shuffled_time_null,
)


def test_planted_correlation_ci_excludes_zero_null_includes_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = x + 0.5 * rng.normal(size=40)
    for m in ("pearson", "spearman"):
        c = corr_ci(x, y, m, n_boot=500)
        assert c["r"] > 0.5
        assert 0 < c["fisher_lo"] < c["r"] < c["fisher_hi"]
        assert 0 < c["boot_lo"] < c["r"] < c["boot_hi"]
        z = corr_ci(x, rng.normal(size=40), m, n_boot=500)
        assert z["fisher_lo"] < 0 < z["fisher_hi"] and z["boot_lo"] < 0 < z["boot_hi"]
    # Fisher z: r = 0.5, n = 28 -> artanh(0.5) +- 1.96 / 5
    lo, hi = fisher_ci(0.5, 28)
    assert lo == pytest.approx(np.tanh(np.arctanh(0.5) - 1.959964 / 5), abs=1e-5)
    assert hi == pytest.approx(np.tanh(np.arctanh(0.5) + 1.959964 / 5), abs=1e-5)
    # the vectorised bootstrap statistic is the plain correlation
    from scipy import stats

    from spikecore.analysis.reconfiguration_stats import _r_vec

    assert _r_vec(x, y, "pearson") == pytest.approx(stats.pearsonr(x, y)[0])
    assert _r_vec(x, y, "spearman") == pytest.approx(stats.spearmanr(x, y)[0])
    assert corr_ci([1, 2, 3], [1, 2, 4])["r"] is None  # too few pairs: None, never NaN
    assert corr_ci([1, 1, 1, 1, 1], [1, 2, 3, 4, 5])["r"] is None
    with pytest.raises(ValueError, match="^method"):
        corr_ci(x, y, "kendall")
    with pytest.raises(ValueError, match="^level"):
        corr_ci(x, y, level=1.5)
    with pytest.raises(ValueError, match="^y"):
        corr_ci(x, y[:-1])


def test_cluster_bootstrap_is_wider_for_dependent_points():
    """Six runs whose checkpoints share a run-level offset: pooled over 60 points the naive
    interval is narrow, but only six independent units exist; the cluster interval says so."""
    rng = np.random.default_rng(1)
    xs, ys = [], []
    for _g in range(6):
        ox, oy = rng.normal(size=2) * 3
        xs.append(ox + 0.1 * rng.normal(size=10))
        ys.append(oy + 0.1 * rng.normal(size=10))
    naive = corr_ci(np.concatenate(xs), np.concatenate(ys), n_boot=500)
    clus = cluster_corr_ci(xs, ys, n_boot=500)
    assert clus["groups"] == 6 and clus["n"] == 60
    assert clus["r"] == pytest.approx(naive["r"])
    assert clus["boot_hi"] - clus["boot_lo"] > 2 * (naive["boot_hi"] - naive["boot_lo"])
    with pytest.raises(ValueError, match="^ys"):
        cluster_corr_ci(xs, ys[:-1])


def _switching_modules(N=12, T=600, seed=0):
    """Two modules of 6 units in the first half of the recording, a different split after."""
    rng = np.random.default_rng(seed)
    a = 0.3 * rng.normal(size=(N, T))
    h = T // 2
    drive = rng.normal(size=(2, T))
    a[:6, :h] += drive[0, :h]
    a[6:, :h] += drive[1, :h]
    a[::2, h:] += drive[0, h:]
    a[1::2, h:] += drive[1, h:]
    return a


def test_nulls_detect_planted_reconfiguration():
    a = _switching_modules()
    C = windowed_correlations(a, 50)
    p = multilayer_communities(C, omega=0.5, seed=0)
    t = shuffled_time_null(a, 50, omega=0.5, n_null=8, seed=0)
    r = null_test(p.Q, t["Q"])
    assert r["observed"] > r["null_mean"] and r["p"] <= 1 / 9 + 1e-12  # beats every shuffle
    part = random_partition_null(C, p.membership, omega=0.5, n_null=20, seed=0)
    assert p.Q > part.max()
    # a stationary recording: the observed Q is inside its shuffled-time null
    rng = np.random.default_rng(3)
    drive = rng.normal(size=(2, 600))
    b = 0.3 * rng.normal(size=(12, 600))
    b[:6] += drive[0]
    b[6:] += drive[1]
    pb = multilayer_communities(windowed_correlations(b, 50), omega=0.5, seed=0)
    tb = shuffled_time_null(b, 50, omega=0.5, n_null=8, seed=0)
    assert null_test(pb.Q, tb["Q"])["p"] > 0.05
    with pytest.raises(ValueError, match="^n_null"):
        shuffled_time_null(a, 50, n_null=0)
    with pytest.raises(ValueError, match="^alternative"):
        null_test(1.0, [0.0, 1.0], "two")
    assert null_test(1.0, [0.5, 0.5])["z"] is None
