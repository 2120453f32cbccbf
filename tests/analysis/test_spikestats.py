import numpy as np
import pytest

from spikecore.analysis.spikestats import spike_stats


def test_regular_trains_have_zero_cv_and_exact_rate():
    # neuron 0 spikes every 10 ms, neuron 1 every 20 ms, over 1 s; neuron 2 is silent
    t0 = np.arange(0, 1000, 10.0)
    t1 = np.arange(5, 1000, 20.0)
    times = np.concatenate([t1, t0])
    senders = np.concatenate([np.ones(len(t1), int), np.zeros(len(t0), int)])
    s = spike_stats(times, senders, n_neurons=3, duration_ms=1000.0)
    assert s.n_spikes == 150
    assert s.rate_hz == pytest.approx(50.0)
    assert s.cv_isi == pytest.approx(0.0, abs=1e-12)
    assert s.n_cv == 2


def test_poisson_trains_have_cv_near_one():
    rng = np.random.default_rng(0)
    times, senders = [], []
    for i in range(200):
        t = np.cumsum(rng.exponential(10.0, size=400))
        times.append(t)
        senders.append(np.full(len(t), i))
    times, senders = np.concatenate(times), np.concatenate(senders)
    perm = rng.permutation(len(times))  # order must not matter
    s = spike_stats(times[perm], senders[perm], n_neurons=200, duration_ms=float(times.max()))
    assert s.cv_isi == pytest.approx(1.0, abs=0.03)


def test_cv_matches_a_direct_computation():
    rng = np.random.default_rng(1)
    times = rng.uniform(0, 500, size=300)
    senders = rng.integers(0, 7, size=300)
    s = spike_stats(times, senders, 7, 500.0)
    cvs = []
    for i in range(7):
        isi = np.diff(np.sort(times[senders == i]))
        if len(isi) >= 2:
            cvs.append(isi.std() / isi.mean())
    assert s.cv_isi == pytest.approx(np.mean(cvs), rel=1e-9)


def test_too_few_spikes_gives_nan_cv():
    s = spike_stats([1.0, 2.0], [0, 1], 2, 10.0)
    assert np.isnan(s.cv_isi) and s.n_cv == 0 and s.rate_hz == pytest.approx(100.0)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(times_ms=[1.0, 2.0], senders=[0], n_neurons=2, duration_ms=1.0), "times_ms"),
        (dict(times_ms=[1.0], senders=[0], n_neurons=0, duration_ms=1.0), "n_neurons"),
        (dict(times_ms=[1.0], senders=[0], n_neurons=1, duration_ms=0.0), "duration_ms"),
        (dict(times_ms=[1.0], senders=[0], n_neurons=1, duration_ms=float("nan")), "duration_ms"),
    ],
)
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        spike_stats(**kwargs)
