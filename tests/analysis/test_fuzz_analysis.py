"""Fuzzing of every public entry of spikecore.analysis (issue 20), with the shared harness:
a valid result without new NaN/inf, or ValueError / TypeError / IndexError / MemoryError naming
the argument; never a crash, a hang or an internal error."""

import numpy as np
from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_ints,
    hostile_numbers,
    shapes,
    wrong_types,
)
from hypothesis import example, given
from hypothesis import strategies as st

from spikecore.analysis import network as nw
from spikecore.analysis import reconfiguration_stats as rs
from spikecore.analysis import report
from spikecore.analysis import spike_metrics as sm
from spikecore.analysis.spikestats import spike_stats


def counts():
    """Loop counts: small ones (the work is real) or sizes that cannot fit."""
    return st.one_of(st.integers(-2, 4), st.sampled_from([2**40, 2**62, 2**64]), wrong_types())


def arrays(max_dims=3, max_side=6):
    return st.one_of(hostile_arrays(shapes(max_dims, max_side)), wrong_types())


ACT = np.random.default_rng(0).normal(size=(4, 40))
LAYERS = nw.windowed_correlations(ACT, window=10)
MEMB = nw.multilayer_communities(LAYERS).membership


@FUZZ
@given(
    a=arrays(),
    window=st.one_of(st.integers(-1, 12), hostile_ints(), wrong_types()),
    step=st.one_of(st.none(), st.integers(-1, 5), hostile_ints(), wrong_types()),
    nan_policy=st.sampled_from(["zero", "raise", "x"]),
)
@example(a=np.zeros((0, 2), np.float32), window=2, step=None, nan_policy="zero")  # max of none
def test_fuzz_windowed_correlations(a, window, step, nan_policy):
    expect_clean(
        lambda: nw.windowed_correlations(a, window, step, nan_policy),
        names=["activity", "window", "step", "nan_policy"],
        inputs=(a,),
    )


@FUZZ
@given(
    A=st.one_of(arrays(3, 5), st.just(LAYERS)),
    g=hostile_numbers(),
    which=st.sampled_from(["gamma_pos", "gamma_neg", "omega", "seed", "n_runs", "A"]),
    n=st.one_of(counts(), hostile_ints()),
)
def test_fuzz_multilayer_communities(A, g, which, n):
    kw = dict(gamma_pos=1.0, gamma_neg=1.0, omega=1.0, seed=0, n_runs=1)
    if which in ("gamma_pos", "gamma_neg", "omega"):
        kw[which] = g
    elif which == "seed":
        kw["seed"] = n
    elif which == "n_runs":
        kw["n_runs"] = n if not isinstance(n, int) or n < 5 or n > 2**40 else 2
    expect_clean(
        lambda: nw.multilayer_communities(A, **kw),
        names=["a", "gamma_pos", "gamma_neg", "omega", "seed", "n_runs"],
        inputs=(A, g),
    )


@FUZZ
@given(
    A=st.one_of(arrays(3, 5), st.just(LAYERS)),
    membership=st.one_of(arrays(2, 6), st.just(MEMB)),
    g=hostile_numbers(),
)
def test_fuzz_multilayer_modularity(A, membership, g):
    expect_clean(
        lambda: nw.multilayer_modularity(A, membership, gamma_pos=g),
        names=["a", "membership", "gamma_pos"],
        inputs=(A, g),
    )


@FUZZ
@given(m=st.one_of(arrays(3, 6), st.just(MEMB)))
def test_fuzz_flexibility_allegiance(m):
    expect_clean(lambda: nw.flexibility(m), names=["membership"], inputs=(m,))
    expect_clean(lambda: nw.allegiance(m), names=["membership"], inputs=(m,))


@FUZZ
@given(B=arrays(2, 6), seed=st.one_of(hostile_ints(), wrong_types()))
def test_fuzz_louvain_modularity_matrix(B, seed):
    expect_clean(lambda: nw.louvain_modularity_matrix(B, seed), names=["b", "seed"], inputs=(B,))


@FUZZ
@given(
    P=st.one_of(arrays(2, 6), st.just(MEMB)),
    tau=hostile_numbers(),
    n_runs=counts(),
    seed=st.one_of(hostile_ints(), wrong_types()),
    max_iter=counts(),
)
def test_fuzz_consensus_partition(P, tau, n_runs, seed, max_iter):
    expect_clean(
        lambda: nw.consensus_partition(P, tau, n_runs, seed, max_iter),
        names=["partitions", "tau", "n_runs", "seed", "max_iter"],
        inputs=(P,),
    )


@FUZZ
@given(a=arrays(), ridge=hostile_numbers())
def test_fuzz_distribution_entropy(a, ridge):
    expect_clean(
        lambda: nw.distribution_entropy(a, ridge), names=["activity", "ridge"], inputs=(a, ridge)
    )


@FUZZ
@given(
    x=arrays(2, 8),
    y=arrays(2, 8),
    method=st.sampled_from(["pearson", "spearman", "x"]),
    level=hostile_numbers(),
    n_boot=counts(),
    seed=st.one_of(hostile_ints(), wrong_types()),
)
def test_fuzz_corr_ci(x, y, method, level, n_boot, seed):
    n_boot = n_boot if not isinstance(n_boot, int) or n_boot < 5 or n_boot > 2**40 else 20
    expect_clean(
        lambda: rs.corr_ci(x, y, method, level, n_boot, seed),
        names=["x", "y", "method", "level", "n_boot", "seed"],
    )


@FUZZ
@given(r=hostile_numbers(), n=st.one_of(hostile_ints(), wrong_types()), level=hostile_numbers())
def test_fuzz_fisher_ci(r, n, level):
    # (nan, nan) is the documented result for n <= 3 or a non-finite r
    res = expect_clean(
        lambda: rs.fisher_ci(r, n, level), names=["r", "n", "level"], inputs=(float("nan"),)
    )
    if isinstance(res, tuple) and isinstance(n, int) and n > 3 and np.isfinite(r):
        assert np.isfinite(res).all()


@FUZZ
@given(
    xs=st.one_of(st.lists(arrays(1, 6), max_size=4), wrong_types()),
    ys=st.one_of(st.lists(arrays(1, 6), max_size=4), wrong_types()),
    n_boot=counts(),
)
def test_fuzz_cluster_corr_ci(xs, ys, n_boot):
    n_boot = n_boot if not isinstance(n_boot, int) or n_boot < 5 or n_boot > 2**40 else 20
    expect_clean(lambda: rs.cluster_corr_ci(xs, ys, n_boot=n_boot), names=["xs", "ys", "n_boot"])


@FUZZ
@given(
    a=st.one_of(arrays(2, 12), st.just(ACT)),
    n_null=counts(),
    seed=st.one_of(hostile_ints(), wrong_types()),
    window=st.integers(2, 12),
)
def test_fuzz_nulls(a, n_null, seed, window):
    expect_clean(
        lambda: rs.shuffled_time_null(a, window, n_null=n_null, seed=seed),
        names=["a", "activity", "window", "n_null", "seed"],
        inputs=(a,),
    )
    expect_clean(
        lambda: rs.random_partition_null(LAYERS, MEMB, n_null=n_null, seed=seed),
        names=["n_null", "seed"],
    )


@FUZZ
@given(
    observed=hostile_numbers(),
    null=arrays(2, 6),
    alternative=st.sampled_from(["greater", "less", "x"]),
)
def test_fuzz_null_test(observed, null, alternative):
    expect_clean(
        lambda: rs.null_test(observed, null, alternative), names=["observed", "null", "alternative"]
    )


@FUZZ
@given(xs=arrays(1, 8), ys=arrays(1, 8))
def test_fuzz_report_correlation(xs, ys):
    expect_clean(lambda: report.correlation(xs, ys), names=["xs", "ys"])


TRAIN = st.one_of(arrays(2, 8), st.lists(st.floats(-5, 5), max_size=8))


@FUZZ
@given(
    a=TRAIN,
    b=TRAIN,
    p=hostile_numbers(),
    t0=st.one_of(st.none(), hostile_numbers()),
    t1=st.one_of(st.none(), hostile_numbers()),
)
@example(a=[8.214099056669181e-217], b=np.zeros(0, np.float32), p=0.0, t0=None, t1=None)  # NaN
@example(a=[-1e308, 1e308], b=[0.0], p=1.0, t0=None, t1=None)  # t1 - t0 overflows
@example(a=[0.0], b=[0.0, -1.0], p=0.0, t0=None, t1=1.8961503816218352e154)  # NaN: intervals^2
@example(a=[], b=[0.0, 1.0], p=0.0, t0=-(2**63), t1=1.0000000000000002e100)
def test_fuzz_spike_distances(a, b, p, t0, t1):
    names = ["a", "b", "tau", "q", "t_start", "t_end"]
    ins = (a, b, p, t0, t1)
    expect_clean(lambda: sm.van_rossum_distance(a, b, p), names=names, inputs=ins, leading=True)
    expect_clean(lambda: sm.victor_purpura_distance(a, b, p), names=names, inputs=ins, leading=True)
    expect_clean(lambda: sm.isi_distance(a, b, t0, t1), names=names, inputs=ins, leading=True)
    expect_clean(lambda: sm.spike_distance(a, b, t0, t1), names=names, inputs=ins, leading=True)


@FUZZ
@given(
    trains=st.one_of(st.lists(TRAIN, max_size=4), wrong_types()),
    metric=st.sampled_from(["van_rossum", "victor_purpura", "isi", "spike", "x"]),
    p=hostile_numbers(),
    t0=hostile_numbers(),
    t1=hostile_numbers(),
    n_threads=st.one_of(st.integers(-1, 3), hostile_ints(), wrong_types()),
)
def test_fuzz_distance_matrix(trains, metric, p, t0, t1, n_threads):
    expect_clean(
        lambda: sm.distance_matrix(
            trains, metric, tau=p, q=p, t_start=t0, t_end=t1, n_threads=n_threads
        ),
        names=["trains", "metric", "tau", "q", "t_start", "t_end", "n_threads"],
        inputs=(trains, p, t0, t1),
        leading=True,
    )


COUNTS = st.one_of(arrays(3, 6), st.just(np.random.default_rng(1).poisson(1.0, (4, 20, 2))))


@FUZZ
@given(
    y=COUNTS,
    dt=hostile_numbers(),
    sigma=hostile_numbers(),
    seed=st.one_of(hostile_ints(), wrong_types()),
    n_splits=st.one_of(st.integers(-1, 4), wrong_types()),
)
@example(
    y=np.random.default_rng(1).poisson(1.0, (4, 20, 2)),
    dt=1.0,
    sigma=2.4230857729073797e-173,
    seed=0,
    n_splits=2,
)  # 0 / 0
def test_fuzz_psth_and_reliability(y, dt, sigma, seed, n_splits):
    names = ["y", "dt", "sigma", "seed", "n_splits"]
    expect_clean(lambda: sm.psth(y, dt, sigma), names=names, inputs=(y,), leading=True)
    # r_half is NaN where a neuron's PSTH is constant (documented): only errors are checked
    expect_clean(
        lambda: sm.split_half_reliability(y, sigma, n_splits, seed),
        names=names,
        inputs=(float("nan"),),
        leading=True,
    )


@FUZZ
@given(pred=st.one_of(arrays(2, 20), st.just(np.ones((20, 2)))), y=COUNTS, sigma=hostile_numbers())
def test_fuzz_normalised_psth_correlation(pred, y, sigma):
    expect_clean(
        lambda: sm.normalised_psth_correlation(pred, y, sigma, n_splits=3),
        names=["pred_rate", "y", "sigma"],
        inputs=(float("nan"),),
        leading=True,
    )


@FUZZ
@given(
    y=st.one_of(arrays(2, 8), st.just(np.array([0, 2, 1, 3]))),
    dt=hostile_numbers(),
    window=st.one_of(st.integers(-1, 30), hostile_ints(), wrong_types()),
    refractory=hostile_numbers(),
)
def test_fuzz_binned_fano_refractory(y, dt, window, refractory):
    trains = expect_clean(
        lambda: sm.binned_to_trains(y, dt), names=["y", "dt"], inputs=(y,), leading=True
    )
    expect_clean(
        lambda: sm.fano_factor(y, window),
        names=["y", "window"],
        inputs=(float("nan"),),
        leading=True,
    )
    if isinstance(trains, list):
        expect_clean(
            lambda: sm.refractory_violation_rate(trains, refractory),
            names=["trains", "refractory"],
            leading=True,
        )
        expect_clean(lambda: sm.isis(trains), names=["trains"], leading=True)


@FUZZ
@given(
    pred=COUNTS,
    data=COUNTS,
    dt=hostile_numbers(),
    which=st.sampled_from(
        ["sigma", "refractory_bins", "tau_bins", "fano_window", "max_trials", "seed"]
    ),
    v=st.one_of(hostile_numbers(), st.integers(-1, 5)),
)
@example(
    pred=np.random.default_rng(1).poisson(1.0, (4, 20, 2)),
    data=np.random.default_rng(1).poisson(1.0, (4, 20, 2)),
    dt=1.0,
    which="fano_window",
    v=3.5e38,
)  # named window
@example(pred=np.ones((2, 3, 1)), data=np.ones((2, 3, 1)), dt=1.0, which="sigma", v=1.0)
@example(
    pred=np.ones((2, 12, 1)), data=np.ones((2, 12, 1)), dt=1.0, which="max_trials", v=1
)  # was the inner "trains_a: at least two trains ..."
@example(
    pred=np.ones((2, 12, 1)), data=np.ones((2, 12, 1)), dt=1e-100, which="tau_bins", v=1e-250
)  # was the inner "tau: must be >= 1e-300"
@example(
    pred=np.ones((2, 12, 1)), data=np.ones((2, 12, 1)), dt=1e100, which="refractory_bins", v=1e300
)  # was the inner "refractory: must be a finite number > 0, got inf"
def test_fuzz_response_metrics(pred, data, dt, which, v):
    # isi_ks and Fano are NaN where undefined (documented): only errors are checked
    expect_clean(
        lambda: sm.response_metrics(pred, data, dt, **{which: v}),
        # responses shorter than the default fano_window (10 bins) name it (was fano_factor's
        # inner "window")
        names=["pred", "data", "dt", which, "fano_window"],
        inputs=(float("nan"),),
        leading=True,
    )


@FUZZ
@given(
    times=arrays(1, 8),
    senders=arrays(1, 8),
    n=st.one_of(hostile_ints(), wrong_types()),
    duration=hostile_numbers(),
)
def test_fuzz_spike_stats(times, senders, n, duration):
    # cv_isi is NaN when no neuron has three spikes (documented)
    expect_clean(
        lambda: spike_stats(times, senders, n, duration),
        names=["times_ms", "senders", "n_neurons", "duration_ms"],
        inputs=(float("nan"),),
    )


@FUZZ
@given(
    a=st.one_of(st.lists(TRAIN, max_size=3), wrong_types()),
    b=st.one_of(st.none(), st.lists(TRAIN, max_size=3), wrong_types()),
    metric=st.sampled_from(["van_rossum", "victor_purpura", "isi", "spike", "x"]),
    p=hostile_numbers(),
)
@example(a=None, b=[], metric="van_rossum", p=1.0)  # len(None)
@example(a=[], b=[], metric="van_rossum", p=1.0)  # mean of no pair: NaN
def test_fuzz_mean_pairwise_and_ks(a, b, metric, p):
    """The model-vs-data summaries over sets of trains (distance_matrix in C++, scipy's KS)."""
    kw = {"van_rossum": dict(tau=p), "victor_purpura": dict(q=p)}.get(
        metric, dict(t_start=0.0, t_end=p)
    )
    names = ["trains_a", "trains_b", "metric", "tau", "q", "t_start", "t_end"]
    expect_clean(
        lambda: sm.mean_pairwise_distance(a, b, metric, **kw),
        names=names,
        inputs=(a, b, p),
        entry="analysis.mean_pairwise_distance",
        leading=True,
    )
    if b is not None:
        expect_clean(
            lambda: sm.isi_ks_distance(a, b),
            names=["trains_a", "trains_b"],
            inputs=(a, b),
            entry="analysis.isi_ks_distance",
            leading=True,
        )


@FUZZ
@given(
    y=COUNTS,
    sigma=hostile_numbers(),
    # a loop count as the other tests draw it (counts()): small, or too big for any memory; one
    # in between (hostile_ints() drew 1e6-1e7) is honoured, one split after another (minutes)
    n_splits=st.one_of(counts(), st.sampled_from([2**31 - 1, 2**63, -(2**31) - 1])),
    seed=st.one_of(hostile_ints(), wrong_types()),
)
def test_fuzz_ceiling_stats(y, sigma, n_splits, seed):
    # NaN where a neuron never fires (documented): only errors are checked
    expect_clean(
        lambda: sm.ceiling_stats(y, sigma, n_splits, seed),
        names=["y", "sigma", "n_splits", "seed"],
        inputs=(float("nan"),),
        entry="analysis.ceiling_stats",
        leading=True,
    )
