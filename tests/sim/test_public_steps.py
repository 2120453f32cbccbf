"""The step-level public calls a deployed model drives the engine with (issue 11):
schedule_source_spikes, run_steps, reset_state(keep_pending=True), StateMonitor.steps."""

import inspect

import numpy as np
import pytest

from spikecore.sim import Network, convert


def _chain(dt=0.1, seed=2, plastic=False):
    net = Network(dt=dt, seed=seed)
    src = net.add_population(20, "spike_source")
    post = net.add_population(30, "lif", v_threshold=5.0, synapse="exp")
    proj = net.connect(
        src,
        post,
        "pairwise_bernoulli",
        p=0.4,
        weight=("normal", 3.0, 1.0),
        delay=("uniform", 0.2, 2.0),
    )
    net.add_poisson_input(post, rate=5000.0, weight=0.5)
    if plastic:
        net.add_structural_plasticity(proj, every=3.0, fraction=0.2, by="random", weight=2.0)
    return net, src, post


def test_schedule_source_spikes_equals_times():
    rng = np.random.default_rng(0)
    steps = rng.integers(0, 200, 300)
    ids = rng.integers(0, 20, 300)
    out = []
    for by_steps in (True, False):
        net, src, post = _chain()
        m_src, m_post = net.record_spikes(src), net.record_spikes(post)
        if by_steps:
            net.schedule_source_spikes(src, steps, ids)
        else:
            net.add_source_spikes(src, (steps + 1) * net.dt, ids)
        net.run(25.0)
        out.append(
            (m_src.steps, m_src.senders, m_post.steps, m_post.senders, net.get_state(post, "v"))
        )
    for a, b in zip(*out):
        assert a.tobytes() == b.tobytes()
    # a repeated (step, neuron) pair is one spike; order does not matter
    net, src, _ = _chain()
    mon = net.record_spikes(src)
    net.schedule_source_spikes(src, [5, 1, 5, 5], [3, 2, 3, 0])
    net.run_steps(10)
    assert mon.steps.tolist() == [1, 5, 5] and mon.senders.tolist() == [2, 0, 3]


def test_schedule_source_spikes_bad_input():
    net, src, post = _chain()
    net.run_steps(5)
    with pytest.raises(ValueError, match="population"):
        net.schedule_source_spikes(post, [6], [0])
    with pytest.raises(ValueError, match="steps"):
        net.schedule_source_spikes(src, [4], [0])  # in the past
    with pytest.raises(TypeError, match="steps"):
        net.schedule_source_spikes(src, [6.0], [0])
    with pytest.raises(ValueError, match="neurons"):
        net.schedule_source_spikes(src, [6, 7], [0])
    with pytest.raises(IndexError, match="neurons"):
        net.schedule_source_spikes(src, [6], [20])
    with pytest.raises(ValueError, match="steps"):
        net.schedule_source_spikes(src, [2**60], [0])
    net.schedule_source_spikes(src, [], [])  # nothing to do


@pytest.mark.parametrize("plastic", [False, True])
def test_run_steps_equals_run(plastic):
    states = []
    for split in (False, True):
        net, src, post = _chain(plastic=plastic)
        net.schedule_source_spikes(src, np.arange(0, 400, 7), np.arange(0, 400, 7) % 20)
        mon = net.record_spikes(post)
        if split:
            for n in (1, 37, 2, 160):
                net.run_steps(n)
        else:
            net.run(20.0)
        assert net.step == 200
        states.append(
            (
                mon.steps,
                mon.senders,
                net.get_state(post, "v"),
                net.projections[0].to_coo()[2],
                net.events,
            )
        )
    for a, b in zip(*states):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_run_steps_bad_input():
    net = Network()
    for bad, err in ((-1, ValueError), (1.5, TypeError), ("3", TypeError), (2**53, ValueError)):
        with pytest.raises(err, match="n_steps"):
            net.run_steps(bad)
    net.run_steps(0)
    assert net.step == 0


def test_reset_state_keep_pending():
    v = {}
    for keep in (False, True):
        net = Network(dt=1.0)
        src = net.add_population(1, "spike_source")
        post = net.add_population(1, "lif_discrete", beta=1.0, v_threshold=1e6)
        net.connect(src, post, "all_to_all", weight=2.0, delay=3.0)
        net.schedule_source_spikes(src, [0], [0])
        net.set_state(post, "v", 0.5)
        net.run_steps(1)  # the spike is in flight
        net.reset_state(post, keep_pending=keep)
        assert net.get_state(post, "v")[0] == 0.0  # the state is at rest either way
        net.run_steps(4)
        v[keep] = float(net.get_state(post, "v")[0])
    assert v == {False: 0.0, True: 2.0}
    with pytest.raises(TypeError, match="keep_pending"):
        Network().reset_state(keep_pending=1)


def test_state_monitor_steps():
    net = Network(dt=0.25)
    pop = net.add_population(3, "lif")
    mon = net.record_state(pop, "v", every=0.5)
    net.run_steps(7)
    assert mon.steps.tolist() == [0, 2, 4, 6]
    assert np.array_equal(mon.times, (mon.steps + 1) * 0.25)


def test_deployed_uses_public_engine_calls_only():
    src = inspect.getsource(convert.Deployed)
    assert "._c" not in src and "_core" not in src
