"""Same seed, same raster: for 1, 2, 3 and 4 threads, across run() calls and through save/load."""

import numpy as np
import pytest

from spikecore.sim import Network, networks


def _raster(model):
    e, i = model.monitors["E"], model.monitors["I"]
    return (e.steps, e.senders, i.steps, i.senders, model.net.get_state(model["E"], "v"))


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("builder", ["brunel", "cuba"])
def test_bitwise_identical_for_1_2_3_4_threads(builder):
    out = []
    for t in (1, 2, 3, 4):
        m = getattr(networks, builder)(0.1 if builder == "brunel" else 0.5, n_threads=t, seed=7)
        m.net.run(100.0)
        out.append(_raster(m))
    assert out[0][0].size > 100
    assert all(_same(out[0], o) for o in out[1:])


@pytest.mark.parametrize("scale", [0.002, 0.0065])
def test_bitwise_identical_for_small_populations(scale):
    # thread blocks are cut at multiples of 16 neurons: with populations of 20 / 5 and 65 / 16
    # neurons some threads get an empty or a partial block
    out = []
    for t in (1, 2, 3):
        m = networks.brunel(scale, n_threads=t, seed=3)
        m.net.run(200.0)
        out.append(_raster(m))
    assert out[0][0].size > 10
    assert all(_same(out[0], o) for o in out[1:])


def test_connectivity_independent_of_threads():
    a = networks.brunel(0.05, n_threads=1, seed=5)
    b = networks.brunel(0.05, n_threads=3, seed=5)
    for k in a.projections:
        for x, y in zip(a.projections[k].to_coo(), b.projections[k].to_coo()):
            assert np.array_equal(x, y)
    c = networks.brunel(0.05, n_threads=1, seed=6)
    assert not np.array_equal(a.projections["EE"].to_coo()[0], c.projections["EE"].to_coo()[0])


def test_run_continues_exactly():
    a = networks.brunel(0.1, seed=1)
    a.net.run(100.0)
    b = networks.brunel(0.1, seed=1)
    b.net.run(50.0)
    b.net.run(30.0)
    b.net.run(20.0)
    assert _same(_raster(a), _raster(b))
    assert a.net.events == b.net.events


def test_changing_threads_between_runs_keeps_results():
    a = networks.brunel(0.1, seed=4)
    a.net.run(60.0)
    b = networks.brunel(0.1, seed=4)
    b.net.run(30.0)
    b.net.n_threads = 3
    b.net.run(30.0)
    assert _same(_raster(a), _raster(b))


def test_save_load_continues_bitwise(tmp_path):
    ref = networks.brunel(0.1, seed=9)
    ref.net.run(100.0)
    m = networks.brunel(0.1, seed=9)
    vm = m.net.record_state(m["E"], ("v",), neurons=[0, 5, 17], every=0.5)
    rm = m.net.record_rate(m["I"])
    m.net.run(50.0)
    path = tmp_path / "net.npz"
    m.net.save(str(path))
    loaded = Network.load(str(path), n_threads=2)
    loaded.run(50.0)
    le, li = loaded.spike_monitors
    got = (le.steps, le.senders, li.steps, li.senders, loaded.get_state(0, "v"))
    assert _same(_raster(ref), got)
    # the original continues identically too, and so do the other monitors
    m.net.run(50.0)
    np.testing.assert_array_equal(vm.v, loaded.state_monitors[0].v)
    np.testing.assert_array_equal(rm.counts, loaded.rate_monitors[0].counts)
    assert loaded.events == ref.net.events


def test_save_load_exp_synapses_inputs_and_sources(tmp_path):
    def build():
        net = Network(dt=0.1, seed=3)
        src = net.add_population(
            5, "spike_source", spike_times=[1.0, 2.0, 3.5, 60.0], spike_neurons=[0, 1, 2, 4]
        )
        pop = net.add_population(
            20, "lif", synapse="exp", v_threshold=5.0, v_init=("uniform", 0, 4)
        )
        net.connect(
            src, pop, "all_to_all", weight={"normal": (1.0, 2.0)}, delay={"uniform": (0.1, 20.0)}
        )
        net.connect(pop, pop, "pairwise_bernoulli", p=0.3, weight=-0.5, delay=3.0)
        net.add_current_input(pop, np.linspace(0, 2, 20))
        net.add_current_input(pop, np.ones((300, 20)), start=10.0)
        net.add_spike_input(pop, [40.0, 70.0], [3, 4], weight=[5.0, 6.0])
        net.add_poisson_input(pop, 800.0, 1.0)
        ps = net.add_population(10, "poisson_source", rate=np.linspace(10.0, 200.0, 10))
        net.connect(ps, pop, "fixed_outdegree", k=3, weight=2.0, delay=0.7)
        net.record_spikes(pop)
        net.record_spikes(ps)
        return net

    a = build()
    a.run(80.0)
    b = build()
    b.run(30.0)
    b.save(str(tmp_path / "x.npz"))
    c = Network.load(str(tmp_path / "x.npz"))
    c.run(50.0)
    assert a.spike_monitors[0].count > 10
    np.testing.assert_array_equal(a.spike_monitors[0].steps, c.spike_monitors[0].steps)
    np.testing.assert_array_equal(a.spike_monitors[0].senders, c.spike_monitors[0].senders)
    np.testing.assert_array_equal(a.spike_monitors[1].steps, c.spike_monitors[1].steps)
    assert a.spike_monitors[1].count > 20
    for v in ("v", "i_ex", "i_in", "ref"):
        np.testing.assert_array_equal(a.get_state(1, v), c.get_state(1, v))


def test_spike_exchange_window_does_not_change_results():
    # Brunel's minimum delay is 1.5 ms: threads exchange spikes every 15 steps. A projection with
    # a one-step delay into a separate population forces an exchange every step.
    out = []
    for extra in (False, True):
        m = networks.brunel(0.1, seed=2, n_threads=2)
        if extra:
            sink = m.net.add_population(3, "lif")
            m.net.connect(m["E"], sink, "fixed_indegree", k=2, weight=0.1, delay=0.1)
        m.net.run(60.0)
        out.append(_raster(m))
    assert _same(out[0], out[1])
