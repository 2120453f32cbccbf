"""spikecore.experiments.brunel: the demo's Brunel run gives the network the benchmark builds."""

import numpy as np
import pytest

from spikecore.experiments.brunel import run_brunel


def test_brunel_small_matches_bench_protocol():
    from spikecore.bench.engine import run_ours
    from spikecore.bench.peers import models

    r = run_brunel(0.1, 100.0, threads=1, seed=3)
    b = run_ours("brunel", models.brunel(0.1), 100.0, threads=1, seed=3)
    assert (r.n_neurons, r.n_synapses, r.events) == (b.n_neurons, b.n_synapses, b.events)
    np.testing.assert_array_equal(r.times_ms, b.times_ms)
    np.testing.assert_array_equal(r.senders, b.senders)
    assert r.stats == b.stats
    assert r.stats_exc.n_spikes + r.stats_inh.n_spikes == r.stats.n_spikes


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"scale": 0}, "scale"),
        ({"duration_ms": -1}, "duration_ms"),
        ({"duration_ms": float("nan")}, "duration_ms"),
    ],
)
def test_brunel_bad_input(kw, name):
    with pytest.raises(ValueError, match=name):
        run_brunel(**{"scale": 0.1, "duration_ms": 10.0, **kw})
