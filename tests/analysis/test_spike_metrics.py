"""Spike-train metrics against test-only oracles (elephant, PySpike) and analytic cases."""

import numpy as np
import pytest

from spikecore.analysis import spike_metrics as sm


def _trains(rng, n_pairs=30, t_end=100.0):
    out = []
    for k in range(n_pairs):
        na, nb = rng.integers(0, 40, 2)
        if k == 0:
            na, nb = 0, 5  # an empty train
        a = np.sort(rng.uniform(0, t_end, na))
        b = np.sort(rng.uniform(0, t_end, nb))
        if k == 1 and na and nb:
            b[0] = a[0]  # a coincident spike
        out.append((a, b))
    return out


def test_van_rossum_and_victor_purpura_match_elephant():
    neo = pytest.importorskip("neo", reason="elephant's spike trains need neo")
    pq = pytest.importorskip("quantities")
    std = pytest.importorskip(
        "elephant.spike_train_dissimilarity", reason="elephant is the test oracle"
    )
    rng = np.random.default_rng(0)
    for a, b in _trains(rng):
        A = neo.SpikeTrain(a * pq.ms, t_stop=100 * pq.ms)
        B = neo.SpikeTrain(b * pq.ms, t_stop=100 * pq.ms)
        for tau in (0.5, 5.0, 40.0):
            ref = std.van_rossum_distance([A, B], time_constant=tau * pq.ms)[0, 1]
            assert sm.van_rossum_distance(a, b, tau) == pytest.approx(ref, abs=1e-6, rel=1e-9)
        for q in (0.0, 0.1, 2.0):
            ref = std.victor_purpura_distance([A, B], cost_factor=q / pq.ms)[0, 1]
            assert sm.victor_purpura_distance(a, b, q) == pytest.approx(ref, abs=1e-6)


def test_isi_and_spike_distance_match_pyspike():
    spk = pytest.importorskip("pyspike", reason="PySpike is the test oracle")
    rng = np.random.default_rng(1)
    for k, (a, b) in enumerate(_trains(rng)):
        if k == 2 and a.size:
            a[0] = 0.0  # a spike exactly at t_start
        sa, sb = spk.SpikeTrain(a, [0, 100]), spk.SpikeTrain(b, [0, 100])
        assert sm.isi_distance(a, b, 0, 100) == pytest.approx(spk.isi_distance(sa, sb), abs=1e-6)
        assert sm.spike_distance(a, b, 0, 100) == pytest.approx(
            spk.spike_distance(sa, sb), abs=1e-6
        )


@pytest.mark.parametrize(
    "a, b",
    [
        ([], []),  # both empty: both read as spikes {t_start, t_end}
        ([], [3.0]),
        ([4.0], []),
        ([2.0], [7.0]),  # one spike each
        ([0.0], [6.0]),  # a lone spike at t_start
        ([10.0], [0.0]),  # lone spikes at the two edges
        ([0.0, 10.0], [5.0]),
        ([0.0, 2.5, 10.0], [0.0, 4.0, 10.0]),  # coincident spikes on the edges
        ([1.0, 3.0, 6.0], [3.0, 6.0, 9.5]),  # coincident spikes inside
        ([1.0, 3.0, 6.0], [1.0, 3.0, 6.0]),  # identical trains
        ([0.0, 1.0, 2.0, 9.0, 10.0], [0.5]),
    ],
)
def test_isi_and_spike_distance_edge_cases_match_pyspike(a, b):
    spk = pytest.importorskip("pyspike", reason="PySpike is the test oracle")
    sa, sb = (
        spk.SpikeTrain(np.array(a, float), [0, 10]),
        spk.SpikeTrain(np.array(b, float), [0, 10]),
    )
    d_isi, d_spike = sm.isi_distance(a, b, 0, 10), sm.spike_distance(a, b, 0, 10)
    assert d_isi == pytest.approx(spk.isi_distance(sa, sb), abs=1e-12)
    assert d_spike == pytest.approx(spk.spike_distance(sa, sb), abs=1e-12)
    assert sm.isi_distance(b, a, 0, 10) == pytest.approx(d_isi, abs=1e-12)  # symmetric
    assert sm.spike_distance(b, a, 0, 10) == pytest.approx(d_spike, abs=1e-12)
    if a == b:
        assert d_isi == 0.0 and d_spike == 0.0


def test_isi_and_spike_distance_hand_computed():
    # a = {5}, b = {} on [0, 10]: x_isi = 5, y_isi = 10 everywhere, so I = 1/2; S_b = 0 and
    # S_a = 5, so S = 5 * 10 / (2 * 7.5^2) = 4/9 (derivation in cpp/tests/test_spike_distances.cpp)
    assert sm.isi_distance([5.0], [], 0, 10) == pytest.approx(0.5, abs=1e-15)
    assert sm.spike_distance([5.0], [], 0, 10) == pytest.approx(4 / 9, abs=1e-15)
    # periodic trains shifted by half a period, inside the window: ISI-distance 0 away from
    # the edges; SPIKE-distance positive
    a = np.arange(1.0, 10.0)
    assert sm.isi_distance(a, a + 0.5, 0, 10.5) < 0.1
    assert sm.spike_distance(a, a + 0.5, 0, 10.5) > 0.1


def test_long_trains_match_oracles():
    spk = pytest.importorskip("pyspike", reason="PySpike is the test oracle")
    rng = np.random.default_rng(2)
    a = np.sort(rng.uniform(0, 1000, 3000))
    b = np.sort(rng.uniform(0, 1000, 2500))
    sa, sb = spk.SpikeTrain(a, [0, 1000]), spk.SpikeTrain(b, [0, 1000])
    assert sm.spike_distance(a, b, 0, 1000) == pytest.approx(spk.spike_distance(sa, sb), abs=1e-6)
    assert sm.isi_distance(a, b, 0, 1000) == pytest.approx(spk.isi_distance(sa, sb), abs=1e-6)
    # van Rossum: the O(n) recursion against the O(n^2) definition
    tau = 3.0

    def K(x, y):
        return np.exp(-np.abs(x[:, None] - y[None, :]) / tau).sum()

    ref = np.sqrt(K(a, a) + K(b, b) - 2 * K(a, b))
    assert sm.van_rossum_distance(a, b, tau) == pytest.approx(ref, rel=1e-9)


def test_distance_matrix_is_pairwise_and_thread_independent():
    rng = np.random.default_rng(3)
    trains = [np.sort(rng.uniform(0, 50, rng.integers(0, 30))) for _ in range(7)]
    for metric, kw, f in (
        ("van_rossum", {"tau": 2.0}, lambda a, b: sm.van_rossum_distance(a, b, 2)),
        ("victor_purpura", {"q": 0.5}, lambda a, b: sm.victor_purpura_distance(a, b, 0.5)),
        ("isi", {"t_start": 0, "t_end": 50}, lambda a, b: sm.isi_distance(a, b, 0, 50)),
        ("spike", {"t_start": 0, "t_end": 50}, lambda a, b: sm.spike_distance(a, b, 0, 50)),
    ):
        D1 = sm.distance_matrix(trains, metric, **kw, n_threads=1)
        D3 = sm.distance_matrix(trains, metric, **kw, n_threads=3)
        assert np.array_equal(D1, D3)
        assert np.allclose(D1, D1.T) and np.all(np.diag(D1) == 0)
        assert D1[1, 4] == pytest.approx(f(trains[1], trains[4]), abs=1e-12)


def test_fano_factor_matches_elephant():
    neo = pytest.importorskip("neo")
    pq = pytest.importorskip("quantities")
    stats = pytest.importorskip("elephant.statistics", reason="elephant is the test oracle")
    rng = np.random.default_rng(4)
    y = (rng.random((15, 200)) < 0.1).astype(float)
    trains = [neo.SpikeTrain(np.nonzero(r)[0] * pq.ms, t_stop=200 * pq.ms) for r in y]
    assert sm.fano_factor(y, window=200)[0] == pytest.approx(stats.fanofactor(trains), abs=1e-9)


def test_psth_and_noise_ceiling():
    rng = np.random.default_rng(5)
    T, N, R = 2000, 4, 20
    rate = np.clip(0.15 + 0.12 * np.sin(np.arange(T)[:, None] / (7.0 + np.arange(N))), 0, 1)
    y = (rng.random((R, T, N)) < rate).astype(float)
    p = sm.psth(y, dt=0.01)
    assert np.allclose(p, y.mean(0) / 0.01)
    ps = sm.psth(y, dt=0.01, sigma=2)
    assert ps.sum() == pytest.approx(p.sum(), rel=1e-6)  # smoothing keeps the count
    assert ps.std() < p.std()
    cc_norm, cc, ceil = sm.normalised_psth_correlation(rate, y)
    assert np.all(np.abs(cc_norm - 1) < 0.06)  # the truth sits at the ceiling
    assert np.all(ceil < 1) and np.all(cc < ceil + 0.02)
    shuffled = rate[rng.permutation(T)]
    assert np.all(np.abs(sm.normalised_psth_correlation(shuffled, y)[0]) < 0.15)
    r_half, r_sb = sm.split_half_reliability(y)
    assert np.allclose(r_sb, 2 * r_half / (1 + r_half))


def test_isi_statistics():
    a = [np.array([0.0, 1.0, 1.5, 4.0]), np.array([2.0, 2.2])]
    assert np.allclose(sm.isis(a), [1.0, 0.5, 2.5, 0.2])
    assert sm.refractory_violation_rate(a, 0.6) == pytest.approx(0.5)
    assert sm.isi_ks_distance(a, a) == 0.0
    b = [np.arange(0, 100, 10.0)]
    assert sm.isi_ks_distance(a, b) == 1.0
    tr = sm.binned_to_trains(np.array([0, 2, 0, 1]), dt=2.0)
    assert np.allclose(tr, [2.5, 3.5, 7.0])


def test_response_metrics_prefer_the_truth():
    rng = np.random.default_rng(6)
    T, N = 400, 3
    rate = np.clip(0.1 + 0.1 * np.sin(np.arange(T)[:, None] / 5.0 + np.arange(N)), 0, 1)
    data = (rng.random((10, T, N)) < rate).astype(float)
    good = (rng.random((10, T, N)) < rate).astype(float)
    bad = rng.poisson(np.full((10, T, N), rate.mean()))
    mg, mb = sm.response_metrics(good, data, 0.01), sm.response_metrics(bad, data, 0.01)
    assert mg["cc_norm"] > 0.8 > mb["cc_norm"]
    assert mg["van_rossum"] < mb["van_rossum"]
    assert mg["van_rossum"] == pytest.approx(mg["van_rossum_floor"], rel=0.1)


def test_bad_input():
    a = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="tau"):
        sm.van_rossum_distance(a, a, -1.0)
    with pytest.raises(ValueError, match="q"):
        sm.victor_purpura_distance(a, a, -0.1)
    with pytest.raises(ValueError, match="a"):
        sm.van_rossum_distance([1.0, np.nan], a, 1.0)
    with pytest.raises(ValueError, match="t_end"):
        sm.spike_distance(a, a, 5.0, 1.0)
    with pytest.raises(ValueError, match="b"):
        sm.isi_distance(a, [1.0, 7.0], 0.0, 5.0)  # a spike outside the window
    with pytest.raises(ValueError, match="t_end"):
        sm.isi_distance([], [])  # no window can be inferred
    # empty trains are defined
    assert sm.van_rossum_distance([], [], 1.0) == 0.0
    assert sm.van_rossum_distance([], [1.0], 1.0) == pytest.approx(1.0)
    assert sm.victor_purpura_distance([], [1.0, 2.0], 1.0) == 2.0
    assert sm.spike_distance([], [], 0, 10) == 0.0
    y1 = np.zeros((1, 10, 2))
    with pytest.raises(ValueError, match="repeats"):
        sm.split_half_reliability(y1)
    with pytest.raises(ValueError, match="repeats"):
        sm.normalised_psth_correlation(np.zeros((10, 2)), y1)
    with pytest.raises(ValueError, match="dt"):
        sm.psth(np.zeros((2, 10)), dt=-0.01)
    with pytest.raises(ValueError, match="pred_rate"):
        sm.normalised_psth_correlation(np.zeros((9, 2)), np.zeros((3, 10, 2)))
    with pytest.raises(ValueError, match="refractory"):
        sm.refractory_violation_rate([a], 0.0)
    with pytest.raises(ValueError, match="metric"):
        sm.distance_matrix([a], "bogus")
    with pytest.raises(ValueError, match="trains_a"):
        sm.isi_ks_distance([np.array([1.0])], [a])


def _raises(exc, start, call):
    """``call()`` raises ``exc`` whose message begins with the argument name ``start``."""
    with pytest.raises(exc) as e:
        call()
    assert str(e.value).startswith(start), str(e.value)


def test_errors_name_the_callers_argument():
    """Every error of a public function names that function's own argument, never the argument
    of a function it calls inside (the fuzzer found response_metrics raising the inner
    "trains_a: at least two trains ..." for max_trials=1)."""
    a, bad = np.array([1.0, 2.0]), np.array([1.0, np.nan])
    # mean_pairwise_distance: the set and the train within it, not distance_matrix's "trains[k]"
    _raises(
        ValueError, "trains_a: at least two", lambda: sm.mean_pairwise_distance([a], None, "spike")
    )
    _raises(
        ValueError,
        "trains_b[1]",
        lambda: sm.mean_pairwise_distance([a], [a, bad], "van_rossum", tau=1.0),
    )
    _raises(
        ValueError,
        "trains_a[0]",
        lambda: sm.mean_pairwise_distance([[[1.0]]], [a], "van_rossum", tau=1.0),
    )
    _raises(
        TypeError,
        "trains_b[0]",
        lambda: sm.mean_pairwise_distance([a], ["x"], "van_rossum", tau=1.0),
    )
    _raises(
        ValueError,
        "trains_b[0]",
        lambda: sm.mean_pairwise_distance([a], [[1e301]], "isi", t_start=0.0, t_end=1.0),
    )
    _raises(ValueError, "metric", lambda: sm.mean_pairwise_distance([a], [a], "bogus"))
    _raises(
        TypeError, "n_threads", lambda: sm.mean_pairwise_distance([a], [a], "spike", n_threads="2")
    )
    _raises(
        TypeError,
        "sigma: not a keyword",
        lambda: sm.mean_pairwise_distance([a], [a], "van_rossum", tau=1.0, sigma=2.0),
    )
    # isi_ks_distance: the set, not isis' "trains"
    _raises(TypeError, "trains_b: expected a sequence", lambda: sm.isi_ks_distance([a], None))
    _raises(ValueError, "trains_a[1]", lambda: sm.isi_ks_distance([a, bad], [a]))
    _raises(ValueError, "trains_b: no inter-spike", lambda: sm.isi_ks_distance([a], [[1.0]]))
    # distance_matrix / isis keep their own names, per train
    _raises(ValueError, "trains[1]", lambda: sm.distance_matrix([a, bad], "van_rossum", tau=1.0))
    _raises(ValueError, "trains[0]", lambda: sm.isis([bad]))
    _raises(
        ValueError,
        "trains[1]: spike time 7 lies outside",
        lambda: sm.distance_matrix([a, [7.0]], "isi", t_start=0.0, t_end=5.0),
    )
    _raises(
        ValueError,
        "trains_b[0]: spike time -1 lies outside",
        lambda: sm.mean_pairwise_distance([a], [[-1.0]], "spike", t_start=0.0, t_end=5.0),
    )
    # binned_to_trains: "y" for the whole array, rows included
    _raises(ValueError, "y: spike counts", lambda: sm.binned_to_trains(np.array([[1.0], [-1.0]])))
    # response_metrics: its own arguments only
    y = np.ones((2, 12, 1))
    _raises(
        ValueError, "max_trials: must be >= 2", lambda: sm.response_metrics(y, y, 1.0, max_trials=1)
    )
    _raises(ValueError, "tau_bins", lambda: sm.response_metrics(y, y, 1e-100, tau_bins=1e-250))
    _raises(
        ValueError,
        "refractory_bins",
        lambda: sm.response_metrics(y, y, 1e100, refractory_bins=1e300),
    )
    _raises(ValueError, "sigma", lambda: sm.response_metrics(y, y, 1.0, sigma=-1.0))
    _raises(ValueError, "fano_window", lambda: sm.response_metrics(y, y, 1.0, fano_window=13))


def test_response_metrics_memory_errors_name_pred_data_max_trials():
    """The spike-time and distance-matrix sizes are charged to ``pred`` / ``data`` /
    ``max_trials`` (was the inner ``y`` / ``trains_a``)."""
    from fuzzing import small_memory_limit

    lim = small_memory_limit(1 << 20)
    next(lim)
    try:
        big = np.zeros((2, 12, 1))
        big[0, 0, 0] = 1e6  # 1e6 spike times of 48 B: more than 1 MiB
        ok = np.ones((2, 12, 1))
        _raises(MemoryError, "pred", lambda: sm.response_metrics(big, ok, 1.0))
        _raises(MemoryError, "data", lambda: sm.response_metrics(ok, big, 1.0))
        many = np.random.default_rng(0).poisson(1.0, (300, 12, 1)).astype(float)
        _raises(
            MemoryError, "max_trials", lambda: sm.response_metrics(many, many, 1.0, max_trials=300)
        )
        assert np.isfinite(sm.response_metrics(many, many, 1.0)["van_rossum"])  # 20 trials fit
    finally:
        next(lim, None)


def test_response_metrics_max_trials_two_is_the_floor_of_two_trials():
    rng = np.random.default_rng(3)
    y = rng.poisson(1.0, (4, 30, 2)).astype(float)
    m = sm.response_metrics(y, y, 1.0, max_trials=2)
    trains = [sm.binned_to_trains(y[:2, :, n], 1.0) for n in range(2)]
    floor = np.mean([sm.mean_pairwise_distance(t, None, "van_rossum", tau=2.0) for t in trains])
    assert m["van_rossum_floor"] == pytest.approx(floor, rel=1e-12)
