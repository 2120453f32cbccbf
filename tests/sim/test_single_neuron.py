"""One neuron against the closed-form solution (delta and exponential synapses)."""

import math

import numpy as np
import pytest

from spikecore.sim import Network


def test_delta_psp_trace_matches_exponential_decay():
    net = Network(dt=0.1, seed=0)
    pop = net.add_population(1, "lif", tau_m=20.0, v_rest=0.0, v_threshold=100.0, synapse="delta")
    net.add_spike_input(pop, [5.0], [0], weight=2.0)
    mon = net.record_state(pop, "v")
    net.run(50.0)
    t, v = mon.times, mon.v[:, 0]
    expected = np.where(t >= 5.0 - 1e-9, 2.0 * np.exp(-(t - 5.0) / 20.0), 0.0)
    np.testing.assert_allclose(v, expected, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("tau_s", [5.0, 10.0, 20.0])  # 20 = tau_m: the degenerate propagator
def test_exp_psp_trace_matches_closed_form(tau_s):
    tau_m, w, ta = 20.0, 3.0, 2.0
    net = Network(dt=0.1, seed=0)
    pop = net.add_population(
        1, "lif", tau_m=tau_m, v_threshold=100.0, synapse="exp", tau_syn_ex=tau_s, tau_syn_in=tau_s
    )
    net.add_spike_input(pop, [ta], [0], weight=w)
    mon = net.record_state(pop, ("v", "i_ex"))
    net.run(80.0)
    t = mon.times
    s = np.maximum(t - ta, 0.0)
    if tau_s == tau_m:
        v_ref = w * s / tau_m * np.exp(-s / tau_m)
    else:
        v_ref = w * tau_s / (tau_s - tau_m) * (np.exp(-s / tau_s) - np.exp(-s / tau_m))
    i_ref = np.where(t >= ta - 1e-9, w * np.exp(-s / tau_s), 0.0)
    np.testing.assert_allclose(mon.v[:, 0], v_ref, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(mon.i_ex[:, 0], i_ref, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("synapse", ["delta", "exp"])
def test_constant_drive_spike_times(synapse):
    # v(t) = i_e (1 - exp(-t/tau)) from v_reset after each refractory period: regular spiking
    tau, ie, vth, vr, tref, dt = 20.0, 25.0, 20.0, 10.0, 2.0, 0.1
    net = Network(dt=dt)
    pop = net.add_population(
        1,
        "lif",
        tau_m=tau,
        v_rest=0.0,
        v_reset=vr,
        v_threshold=vth,
        t_ref=tref,
        i_e=ie,
        synapse=synapse,
        v_init=0.0,
    )
    spikes = net.record_spikes(pop)
    mon = net.record_state(pop, "v")
    net.run(200.0)
    first = -tau * math.log(1.0 - vth / ie)  # from v = 0
    interval = -tau * math.log((ie - vth) / (ie - vr))  # from v_reset
    grid = lambda x: math.ceil(x / dt - 1e-6) * dt  # noqa: E731  first step at or after x
    expect = [grid(first)]
    while expect[-1] + tref + interval < 200.0:
        expect.append(expect[-1] + tref + grid(interval))
    got = spikes.times
    assert len(got) == len(expect)
    np.testing.assert_allclose(got, expect, atol=1e-6)
    # membrane trace before the first spike equals the closed form
    t = mon.times
    pre = t < first - dt
    np.testing.assert_allclose(
        mon.v[pre, 0], ie * (1 - np.exp(-t[pre] / tau)), rtol=1e-5, atol=1e-5
    )
    # clamped to v_reset while refractory
    k = int(round(got[0] / dt)) - 1
    assert np.all(mon.v[k : k + int(tref / dt) + 1, 0] == np.float32(vr))


def test_soft_reset_subtracts_threshold_gap():
    net = Network(dt=0.1)
    pop = net.add_population(
        1, "lif", v_threshold=1.0, v_reset=0.0, t_ref=0.0, soft_reset=True, tau_m=1e9
    )
    net.add_spike_input(pop, [1.0], [0], weight=1.5)
    mon = net.record_state(pop, "v")
    net.run(2.0)
    assert mon.v[9, 0] == pytest.approx(0.5, abs=1e-6)


def test_discrete_lif_matches_recurrence():
    beta, vth = 0.8, 1.0
    net = Network(dt=1.0)
    pop = net.add_population(1, "lif_discrete", beta=beta, v_threshold=vth, v_reset=0.0)
    x = np.array([0.3, 0.5, 0.0, 0.9, 0.1, 0.0, 0.7, 0.6], np.float32)
    net.add_current_input(pop, x[:, None], start=0.0)
    mon = net.record_state(pop, "v")
    sp = net.record_spikes(pop)
    net.run(len(x) * 1.0)
    v, vs, steps = np.float32(0), [], []
    for k, xk in enumerate(x):
        v = np.float32(np.float32(beta) * v) + xk
        if v >= vth:
            v = np.float32(0)
            steps.append(k)
        vs.append(v)
    np.testing.assert_array_equal(mon.v[:, 0], np.array(vs, np.float32))
    np.testing.assert_array_equal(sp.steps, steps)


def test_alif_threshold_adapts():
    net = Network(dt=0.1)
    pop = net.add_population(2, "alif", i_e=40.0, tau_a=100.0, beta_a=2.0)
    ref = net.add_population(2, "lif", i_e=40.0)
    s1, s2 = net.record_spikes(pop), net.record_spikes(ref)
    mon = net.record_state(pop, ("v", "a"), neurons=[0])
    net.run(300.0)
    assert 0 < s1.count < s2.count
    assert mon.a.max() > 2.0
