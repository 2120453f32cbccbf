"""Fuzzing of the spike encoders of spikecore.data.encoding (issue 20): rate_encode and
latency_encode with hostile intensities, step counts, methods and parameters, through the one
harness (tests/fuzzing.py). The memory ceiling is lowered to 256 MiB (tests/conftest.py), so a huge step count must
raise MemoryError naming ``steps`` before allocating."""

import numpy as np
from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_ints,
    hostile_numbers,
    sizes,
    wrong_types,
)
from hypothesis import example, given
from hypothesis import strategies as st

from spikecore.data.encoding import latency_encode, rate_encode

X = st.one_of(
    hostile_arrays(shape=st.sampled_from([(2, 3), (0, 3), (3,), (), (2, 2, 2), (1, 0)])),
    st.just(np.random.default_rng(0).random((2, 3))),
    wrong_types(),
)


def _spikes(out):
    """Spikes are counts >= 0 (0/1 for bernoulli and latency) of shape [steps, *x.shape]."""
    a = np.asarray(out)
    assert np.isfinite(a).all() and (a >= 0).all()


@FUZZ
@given(
    x=X,
    steps=st.one_of(sizes(small=6), wrong_types(), hostile_numbers()),
    max_prob=hostile_numbers(),
    gain=hostile_numbers(),
    method=st.one_of(st.sampled_from(["bernoulli", "poisson", "x"]), wrong_types()),
    seed=st.one_of(hostile_ints(), wrong_types()),
)
@example(x=np.ones((2, 3)), steps=1, max_prob="1", gain=1.0, method="bernoulli", seed=0)
@example(x=np.ones((2, 3)), steps=1, max_prob=1.0, gain="1", method="poisson", seed=0)
@example(x=np.ones((2, 3)), steps=1, max_prob=1.0, gain=1.0, method="bernoulli", seed=-1)
@example(x=np.ones((2, 3)), steps=1, max_prob=1.0, gain=1e300, method="poisson", seed=0)
@example(x=np.ones((2, 3)), steps=2**40, max_prob=1.0, gain=1.0, method="bernoulli", seed=0)
def test_fuzz_rate_encode(x, steps, max_prob, gain, method, seed):
    expect_clean(
        lambda: rate_encode(x, steps, max_prob=max_prob, gain=gain, method=method, seed=seed),
        names=["x:", "steps", "max_prob", "gain", "method", "seed"],
        inputs=x,
        entry="data.rate_encode",
        check_result=_spikes,
    )


@FUZZ
@given(
    x=X,
    steps=st.one_of(sizes(small=6), wrong_types(), hostile_numbers()),
    method=st.one_of(st.sampled_from(["linear", "log", "x"]), wrong_types()),
    threshold=hostile_numbers(),
    tau=hostile_numbers(),
)
def test_fuzz_latency_encode(x, steps, method, threshold, tau):
    def check(out):
        _spikes(out)
        assert (np.asarray(out).sum(0) <= 1).all()  # each channel fires at most once

    expect_clean(
        lambda: latency_encode(x, steps, method=method, threshold=threshold, tau=tau),
        names=["x:", "steps", "method", "threshold", "tau"],
        inputs=x,
        entry="data.latency_encode",
        check_result=check,
    )
