"""The engine's delivery specialisations (one weight per projection, one delay per projection)
give bitwise the results of the general path."""

import numpy as np
import pytest

from spikecore.sim import Network


def _run(extra_silent_synapses: bool, n_threads: int, delays):
    net = Network(dt=0.1, n_threads=n_threads, seed=5, max_delay=5.0)
    src = net.add_population(201, "poisson_source", rate=np.r_[0.0, np.full(200, 150.0)])
    pop = net.add_population(300, "lif", v_threshold=15.0, t_ref=2.0, synapse="exp")
    rng = np.random.default_rng(0)
    pre = rng.integers(1, 201, 6000).astype(np.int32)
    post = rng.integers(0, 300, 6000).astype(np.int32)
    w = np.full(6000, 2.5, np.float32)
    d = rng.choice(delays, 6000).astype(np.float32)
    if extra_silent_synapses:  # neuron 0 never fires: same dynamics, but weights and delays vary
        pre = np.r_[pre, np.zeros(50, np.int32)]
        post = np.r_[post, np.arange(50, dtype=np.int32)]
        w = np.r_[w, np.full(50, -3.0, np.float32)]
        d = np.r_[d, np.full(50, 4.0, np.float32)]
    net.connect(src, pop, "explicit", pre_index=pre, post_index=post, weight=w, delay=d)
    net.connect(pop, pop, "fixed_indegree", k=20, weight=-1.0, delay=1.0)
    mon = net.record_spikes(pop)
    net.run(200.0)
    return mon.steps, mon.senders, net.get_state(pop, "v"), net.get_state(pop, "i_ex")


@pytest.mark.parametrize("delays", [[1.0], [0.5, 1.0, 2.0]])
def test_constant_weight_path_equals_general_path(delays):
    fast = _run(False, 1, delays)
    general = _run(True, 2, delays)
    assert fast[0].size > 100
    for a, b in zip(fast, general):
        assert np.array_equal(a, b)


def test_set_weights_leaves_the_constant_path():
    net = Network(dt=0.1, seed=1)
    src = net.add_population(20, "poisson_source", rate=200.0)
    pop = net.add_population(5, "lif_discrete", beta=0.9, v_threshold=100.0)
    proj = net.connect(src, pop, "all_to_all", weight=1.0)
    net.run(10.0)
    proj.set_weights(np.linspace(0.0, 2.0, proj.nnz))  # no longer one weight
    v0 = net.get_state(pop, "v").copy()
    net.run(10.0)
    other = Network(dt=0.1, seed=1)
    s2 = other.add_population(20, "poisson_source", rate=200.0)
    p2 = other.add_population(5, "lif_discrete", beta=0.9, v_threshold=100.0)
    j2 = other.connect(s2, p2, "all_to_all", weight=np.ones(100, np.float32))
    other.run(10.0)
    assert np.array_equal(other.get_state(p2, "v"), v0)
    j2.set_weights(np.linspace(0.0, 2.0, j2.nnz))
    other.run(10.0)
    assert np.array_equal(other.get_state(p2, "v"), net.get_state(pop, "v"))
    assert not np.array_equal(net.get_state(pop, "v"), v0)
