"""The engine's vectorised LIF update against a float32 re-implementation of lif_step, bitwise
(many neurons: several 512-neuron chunks and 16-neuron flag groups; refractoriness; both resets)."""

import math

import numpy as np
import pytest

from spikecore.sim import Network


def _reference(
    n, steps, x0, x1, v, synapse, soft, dt, tau_m, tau_ex, tau_in, v_rest, v_reset, v_th, t_ref, i_e
):
    f = np.float32
    p22d = math.exp(-dt / tau_m)
    p22, vd = f(p22d), f((v_rest + i_e) * (1.0 - p22d))

    def p21(ts):
        return ts / (ts - tau_m) * (math.exp(-dt / ts) - p22d)

    p11ex, p11in = f(math.exp(-dt / tau_ex)), f(math.exp(-dt / tau_in))
    p21ex, p21in = f(p21(tau_ex)), f(p21(tau_in))
    vr, vth, jump, nref = f(v_reset), f(v_th), f(v_th - v_reset), int(round(t_ref / dt))
    v = v.astype(np.float32).copy()
    iex = np.zeros(n, np.float32)
    iin = np.zeros(n, np.float32)
    ref = np.zeros(n, np.int32)
    out_v, out_ref, spikes = [], [], []
    for k in range(steps):
        refr = ref > 0
        if synapse == "exp":
            vn = vd + v * p22 + iex * p21ex + iin * p21in
            v = np.where(refr, vr, vn).astype(np.float32)
            iex = (iex * p11ex + x0[k]).astype(np.float32)
            iin = (iin * p11in + x1[k]).astype(np.float32)
            s = v >= vth
        else:
            vn = vd + v * p22 + x0[k]
            v = np.where(refr, vr, vn).astype(np.float32)
            s = ~refr & (v >= vth)
        ref = np.where(refr, ref - 1, ref)
        v = np.where(s, (v - jump) if soft else vr, v).astype(np.float32)
        ref = np.where(s, nref, ref).astype(np.int32)
        out_v.append(v.copy())
        out_ref.append(ref.copy())
        spikes.append(np.flatnonzero(s))
    return np.array(out_v), np.array(out_ref), spikes


@pytest.mark.parametrize(
    "synapse,soft", [("exp", False), ("exp", True), ("delta", False), ("delta", True)]
)
def test_lif_update_matches_float32_reference_bitwise(synapse, soft):
    rng = np.random.default_rng(3)
    n, steps, dt = 1100, 60, 0.1
    par = dict(
        tau_m=20.0,
        tau_syn_ex=5.0,
        tau_syn_in=10.0,
        v_rest=-49.0,
        v_reset=-60.0,
        v_threshold=-50.0,
        t_ref=0.5,
        i_e=3.0,
    )
    v0 = rng.uniform(-60.0, -50.0, n).astype(np.float32)
    net = Network(dt=dt, seed=0)
    pop = net.add_population(n, "lif", v_init=v0, synapse=synapse, soft_reset=soft, **par)
    # at most one event per (step, neuron): the ring slot holds exactly the event's weight
    x0 = np.zeros((steps, n), np.float32)
    x1 = np.zeros((steps, n), np.float32)
    ev_t, ev_i, ev_w = [], [], []
    for k in range(1, steps):
        ids = np.flatnonzero(rng.random(n) < 0.3)
        w = rng.choice(np.float32([2.5, 0.8, -3.0]), ids.size)
        ev_t.append(np.full(ids.size, (k + 1) * dt))
        ev_i.append(ids)
        ev_w.append(w)
        if synapse == "exp":
            x0[k, ids] = np.where(w > 0, w, 0)
            x1[k, ids] = np.where(w < 0, w, 0)
        else:
            x0[k, ids] = w
    net.add_spike_input(pop, np.concatenate(ev_t), np.concatenate(ev_i), np.concatenate(ev_w))
    mon = net.record_state(pop, ("v", "ref"))
    spk = net.record_spikes(pop)
    net.run(steps * dt)
    rv, rref, rs = _reference(
        n,
        steps,
        x0,
        x1,
        v0,
        synapse,
        soft,
        dt,
        par["tau_m"],
        par["tau_syn_ex"],
        par["tau_syn_in"],
        par["v_rest"],
        par["v_reset"],
        par["v_threshold"],
        par["t_ref"],
        par["i_e"],
    )
    assert sum(len(s) for s in rs) > 50  # the test exercises spikes and refractoriness
    np.testing.assert_array_equal(mon.v, rv)
    np.testing.assert_array_equal(mon.ref, rref.astype(mon.ref.dtype))
    np.testing.assert_array_equal(spk.senders, np.concatenate(rs))
    np.testing.assert_array_equal(
        spk.steps, np.concatenate([np.full(len(s), k) for k, s in enumerate(rs)])
    )
