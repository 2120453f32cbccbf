import doctest

import numpy as np
import pytest
import torch

from spikecore.data import encoding
from spikecore.data.encoding import latency_encode, rate_encode


def test_doctests():
    assert doctest.testmod(encoding).failed == 0


def test_rate_bernoulli_mean_matches_intensity():
    x = np.linspace(0, 1, 11, dtype=np.float32)[None]
    s = rate_encode(x, steps=4000, max_prob=0.5, seed=3)
    assert s.shape == (4000, 1, 11) and s.dtype == np.float32
    assert set(np.unique(s)) <= {0.0, 1.0}
    np.testing.assert_allclose(s.mean(0)[0], 0.5 * x[0], atol=0.03)


def test_rate_poisson_mean_and_counts():
    x = np.full((2, 3), 0.8, dtype=np.float32)
    s = rate_encode(x, steps=5000, method="poisson", gain=1.5, seed=0)
    assert s.max() > 1  # counts, not bits
    np.testing.assert_allclose(s.mean(0), 1.2, atol=0.06)


def test_rate_same_seed_same_spikes_and_different_seed_differs():
    x = np.random.default_rng(0).random((4, 16)).astype(np.float32)
    a, b, c = (rate_encode(x, 20, seed=s) for s in (5, 5, 6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_torch_in_torch_out_and_trailing_shape():
    x = torch.rand(3, 2, 4, 4)
    s = rate_encode(x, steps=7, seed=1)
    assert isinstance(s, torch.Tensor) and s.shape == (7, 3, 2, 4, 4) and s.dtype == torch.float32
    lat = latency_encode(x.double(), steps=7)
    assert lat.dtype == torch.float64 and lat.shape == (7, 3, 2, 4, 4)


@pytest.mark.parametrize("method", ["linear", "log"])
def test_latency_one_spike_brighter_earlier_silent_below_threshold(method):
    x = np.array([[0.05, 0.2, 0.5, 0.8, 1.0]], dtype=np.float32)
    s = latency_encode(x, steps=50, method=method, threshold=0.1)
    counts = s.sum(0)[0]
    assert counts.tolist() == [0, 1, 1, 1, 1]
    t = s[:, 0, 1:].argmax(0)
    assert np.all(np.diff(t) < 0)  # brighter fires earlier
    assert t[-1] == 0


def test_latency_linear_exact_times():
    x = np.array([[1.0, 0.5, 0.25]], dtype=np.float32)
    s = latency_encode(x, steps=9)
    assert s[:, 0].argmax(0).tolist() == [0, 4, 6]


@pytest.mark.parametrize(
    "bad,exc,word",
    [
        (np.zeros(5, np.float32), ValueError, "x"),
        (np.zeros((2, 3), bool), TypeError, "x"),
        (np.array([[0.1, np.nan]], np.float32), ValueError, "NaN"),
        (np.array([[1.5]], np.float32), ValueError, "[0, 1]"),
        (np.array([["a"]]), TypeError, "x"),
    ],
)
def test_bad_input(bad, exc, word):
    with pytest.raises(exc, match=None) as info:
        rate_encode(bad, 4)
    assert word in str(info.value)
    with pytest.raises(exc):
        latency_encode(bad, 4)


def test_bad_arguments_name_themselves():
    x = np.zeros((1, 2), np.float32)
    for kwargs, word in [
        (dict(steps=0), "steps"),
        (dict(steps=2.5), "steps"),
        (dict(steps=3, method="gauss"), "bernoulli"),
        (dict(steps=3, max_prob=1.5), "max_prob"),
        (dict(steps=3, method="poisson", gain=-1), "gain"),
    ]:
        with pytest.raises((ValueError, TypeError), match=word):
            rate_encode(x, **kwargs)
    for kwargs, word in [
        (dict(method="exp"), "linear, log"),
        (dict(threshold=1.0), "threshold"),
        (dict(method="log", tau=0), "tau"),
    ]:
        with pytest.raises(ValueError, match=word):
            latency_encode(x, 3, **kwargs)
