"""Structural plasticity: prune / regrow at fixed density, in-flight spikes, schedules."""

import numpy as np
import pytest

from spikecore.sim import Network, networks


def test_in_flight_spikes_survive_prune_and_skip_new_synapses():
    net = Network(dt=0.1)
    src = net.add_population(1, "spike_source", spike_times=[1.0, 12.0], spike_neurons=[0, 0])
    post = net.add_population(2, "lif", tau_m=1e9, v_threshold=1e6, t_ref=0.0)
    proj = net.connect(
        src, post, "explicit", pre_index=[0, 0], post_index=[0, 1], weight=[1.0, 2.0], delay=5.0
    )
    net.run(2.0)  # the spike of t = 1 ms is in flight until t = 6 ms
    assert net.prune(proj, fraction=0.5) == 1  # removes the |w| = 1 synapse (0 -> 0)
    scores = np.array([[1.0, 0.0]], np.float32)
    assert net.regrow(proj, 1, method="scores", scores=scores, weight=10.0, delay=5.0) == 1
    assert proj.nnz == 2
    pre, post_i, w, d = proj.to_coo()
    assert list(post_i) == [0, 1] and list(w) == [10.0, 2.0]
    net.run(8.0)  # t = 10 ms
    v = net.get_state(post, "v")
    # the surviving synapse delivered its in-flight spike; the new one did not carry it;
    # the pruned synapse's spike was already in the delay ring and still arrives
    assert v[1] == pytest.approx(2.0)
    assert v[0] == pytest.approx(1.0)
    net.run(10.0)  # the spike of t = 12 ms goes through the new synapse
    v = net.get_state(post, "v")
    assert v[0] == pytest.approx(11.0) and v[1] == pytest.approx(4.0)


def test_prune_regrow_keeps_density_and_rules():
    m = networks.brunel(0.05, seed=1)
    net, ee = m.net, m.projections["EE"]
    n0 = ee.nnz
    removed = net.prune(ee, fraction=0.1)
    assert removed == round(0.1 * n0) and ee.nnz == n0 - removed
    w = ee.weights
    assert net.regrow(ee, removed, weight=0.05, delay=1.5) == removed
    assert ee.nnz == n0
    pre, post, w, d = ee.to_coo()
    assert not np.any(pre == post)  # autapses stay forbidden
    assert np.count_nonzero(w == np.float32(0.05)) == removed
    assert np.allclose(d, 1.5)
    # random pruning and threshold pruning
    k = net.prune(ee, fraction=0.25, by="random")
    assert k == round(0.25 * n0) and ee.nnz == n0 - k
    small = np.count_nonzero(np.abs(ee.weights) < 0.07)
    assert 0 < small < removed
    k2 = net.prune(ee, threshold=0.07)
    assert k2 == small and ee.nnz == n0 - k - k2
    net.run(20.0)  # still runs after structural changes


def test_regrow_without_multapses_makes_unique_pairs():
    net = Network(seed=2)
    a = net.add_population(30, "lif")
    proj = net.connect(
        a, a, "pairwise_bernoulli", p=0.2, allow_multapses=False, allow_autapses=False
    )
    net.prune(proj, fraction=0.5, by="random")
    net.regrow(proj, 300, weight=1.0)
    pre, post, _, _ = proj.to_coo()
    pairs = set(zip(pre.tolist(), post.tolist()))
    assert len(pairs) == pre.size and not np.any(pre == post)


def test_schedule_during_run_fixed_density_and_thread_independent():
    out = []
    for t in (1, 2):
        m = networks.brunel(0.05, seed=3, n_threads=t)
        n0 = m.projections["EE"].nnz
        m.net.add_structural_plasticity(
            m.projections["EE"], every=20.0, fraction=0.1, weight=0.1, delay=1.5
        )
        m.net.run(100.0)
        assert m.projections["EE"].nnz == n0
        out.append((m.projections["EE"].to_coo(), m.monitors["E"].steps, m.monitors["E"].senders))
    for x, y in zip(out[0][0], out[1][0]):
        assert np.array_equal(x, y)
    assert np.array_equal(out[0][1], out[1][1]) and np.array_equal(out[0][2], out[1][2])


def test_regrow_with_longer_delay_grows_ring():
    net = Network(dt=0.1, max_delay=50.0)
    src = net.add_population(1, "spike_source", spike_times=[1.0, 2.0], spike_neurons=[0, 0])
    post = net.add_population(1, "lif", tau_m=1e9, v_threshold=1e6, t_ref=0.0)
    proj = net.connect(src, post, weight=1.0, delay=2.0)
    net.run(1.5)  # first spike in flight (arrives 3 ms)
    net.regrow(proj, 1, weight=5.0, delay=30.0)  # multapse (allowed), longer delay
    net.run(40.0)
    # spike 1: only old synapse (1); spike 2: old (1) + new (5, at 32 ms)
    assert net.get_state(post, "v")[0] == pytest.approx(7.0)
