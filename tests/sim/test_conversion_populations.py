"""Engine populations of the conversion neurons (if, stdi, max_gate) against the pure-torch
references of spikecore.nn.conversion / spikecore.convert.layers."""

import numpy as np
import pytest
import torch

from spikecore import specs
from spikecore.convert.layers import SpikeMaxPool2d
from spikecore.nn.conversion import if_reference, stdi_reference, stdi_weights
from spikecore.sim import Network


def _raster(mon, n, lo, T, signed):
    z = np.zeros((T, n), np.float32)
    for s, i in zip(mon.steps, mon.senders):
        if lo <= s < lo + T:
            z[s - lo, i % n] = -1.0 if i >= n else 1.0
    return z


def _drive(model, x, **kw):
    """Population driven by current input x [T, n] from step 0; returns (net, pop, monitor)."""
    net = Network(dt=1.0, n_threads=1, seed=0, max_delay=4.0)
    pop = net.add_population(x.shape[1], model, **kw)
    net._c.set_current_steps(pop.index, 0, np.ascontiguousarray(x, np.float32))
    return net, pop, net.record_spikes(pop)


@pytest.mark.parametrize("slope", [None, 0.25])
def test_if_population_equals_reference(slope):
    g = np.random.default_rng(1)
    x = g.uniform(-1.0, 1.5, (12, 40)).astype(np.float32)
    th = g.uniform(0.3, 1.2, 40).astype(np.float32)
    net, pop, mon = _drive("if", x, v_threshold=th, negative_slope=slope)
    net.run_steps(12)
    ref = if_reference(torch.tensor(x), torch.tensor(th), 0.5, slope).numpy()
    assert np.array_equal(_raster(mon, 40, 0, 12, slope), ref)
    assert ref.any() and (slope is None or (ref < 0).any())


@pytest.mark.parametrize("T,D", [(1, None), (3, None), (4, 2), (6, 1), (8, None)])
@pytest.mark.parametrize("slope", [None, 0.5])
def test_stdi_population_equals_reference(T, D, slope):
    g = np.random.default_rng(T * 10 + (D or 0))
    x = g.uniform(-0.5, 1.2, (T, 64)).astype(np.float32)
    th = g.uniform(0.5, 1.5, 64).astype(np.float32)
    net, pop, mon = _drive("stdi", x, T=T, delay=D, v_threshold=th, negative_slope=slope)
    net.run_steps(3 * T + 2)
    Dv = T if D is None else D
    ref = stdi_reference(torch.tensor(x), torch.tensor(th), D, True, slope).numpy()
    assert np.array_equal(_raster(mon, 64, Dv, T, slope), ref)
    assert mon.steps.min() >= Dv and mon.steps.max() < Dv + T  # one window, then silent


def test_stdi_phase_weights_downstream():
    """A spike of bit t weighs T 2^-(t+1): an IF readout with a huge threshold integrates the
    window's value sum_t T theta_t z_t."""
    T = 5
    x = np.random.default_rng(3).uniform(0, 1, (T, 8)).astype(np.float32)
    net = Network(dt=1.0, n_threads=1, seed=0, max_delay=4.0)
    src = net.add_population(8, "stdi", T=T, v_threshold=1.0)
    net._c.set_current_steps(src.index, 0, np.ascontiguousarray(x))
    out = net.add_population(8, "if", v_threshold=1e30, v0=0.0)
    ids = np.arange(8, dtype=np.int32)
    net.connect(src, out, "explicit", pre_index=ids, post_index=ids, weight=1.0, delay=1.0)
    net.run_steps(2 * T + 1)
    z = stdi_reference(torch.tensor(x)).numpy()
    want = (z * stdi_weights(T).numpy()[:, None]).sum(0)
    assert np.array_equal(net.get_state(out, "v"), want.astype(np.float32))


@pytest.mark.parametrize("coding", ["stdi", "rate"])
def test_max_gate_equals_spike_maxpool(coding):
    """The gate population pools 2x2 windows of a 4x4 map exactly as SpikeMaxPool2d does."""
    T = 4
    g = np.random.default_rng(7)
    x = g.uniform(0, 1, (T, 16)).astype(np.float32)
    net = Network(dt=1.0, n_threads=1, seed=0, max_delay=4.0)
    if coding == "stdi":
        src = net.add_population(16, "stdi", T=T, v_threshold=1.0)
        z = stdi_reference(torch.tensor(x)).numpy()
        y = z * stdi_weights(T).numpy()[:, None]
        lo = T + 1  # the gate's window: one hop after the first bit
    else:
        src = net.add_population(16, "if", v_threshold=0.5)
        z = if_reference(torch.tensor(x), 0.5).numpy()
        y = z * 0.5
        lo = 1
    net._c.set_current_steps(src.index, 0, np.ascontiguousarray(x))
    gate = net.add_population(
        4, "max_gate", kernel=4, T=T if coding == "stdi" else 0, start=lo if coding == "stdi" else 0
    )
    pre, post = [], []
    for j in range(4):
        oy, ox = divmod(j, 2)
        for k in range(4):
            ky, kx = divmod(k, 2)
            pre.append((2 * oy + ky) * 4 + 2 * ox + kx)
            post.append(j * 4 + k)
    net.connect(
        src,
        gate,
        "explicit",
        pre_index=np.array(pre, np.int32),
        post_index=np.array(post, np.int32),
        weight=1.0,
        delay=1.0,
    )
    mon = net.record_spikes(gate)
    net.run_steps(3 * T + 2)
    pool = SpikeMaxPool2d(torch.nn.MaxPool2d(2), T, "stdi" if coding == "stdi" else "gate")
    ref = pool(torch.tensor(y).reshape(T, 1, 4, 4)).reshape(T, 4).numpy()
    assert np.array_equal(_raster(mon, 4, lo, T, False), (ref != 0).astype(np.float32))


def test_conversion_populations_save_load_round_trip(tmp_path):
    T = 4
    g = np.random.default_rng(5)
    x = g.uniform(-0.3, 1, (T, 6)).astype(np.float32)

    def build():
        net = Network(dt=1.0, n_threads=1, seed=0, max_delay=4.0)
        a = net.add_population(
            6, "stdi", T=T, delay=2, v_threshold=g2.uniform(0.5, 1, 6), negative_slope=0.5
        )
        b = net.add_population(6, "if", v_threshold=0.4, negative_slope=0.5)
        c = net.add_population(3, "max_gate", kernel=2, T=T, start=3, signed=True)
        ids = np.arange(6, dtype=np.int32)
        net.connect(a, b, "explicit", pre_index=ids, post_index=ids, weight=0.7, delay=1.0)
        net.connect(a, c, "explicit", pre_index=ids, post_index=ids, weight=1.0, delay=1.0)
        net._c.set_current_steps(a.index, 0, np.ascontiguousarray(x))
        for p in (a, b, c):
            net.record_spikes(p)
        return net

    g2 = np.random.default_rng(9)
    ref = build()
    ref.run_steps(3)
    ref.save(str(tmp_path / "n.npz"))
    ref.run_steps(8)
    back = Network.load(str(tmp_path / "n.npz"))
    assert back.populations[0].model == "stdi" and back.populations[2].model == "max_gate"
    assert back.get_state(0, "phase")[0] == 3.0
    back.run_steps(8)
    for m1, m2 in zip(ref.spike_monitors, back.spike_monitors):
        assert np.array_equal(m1.steps, m2.steps) and np.array_equal(m1.senders, m2.senders)
    assert any(m.steps.size for m in ref.spike_monitors[1:])
    for k in range(3):
        assert np.array_equal(ref.get_state(k, "v"), back.get_state(k, "v"))


def test_specs_bad_input():
    with pytest.raises(ValueError, match="^T:"):
        specs.STDISpec(T=0)
    with pytest.raises(TypeError, match="^T:"):
        specs.STDISpec(T=2.5)
    with pytest.raises(ValueError, match="^delay:"):
        specs.STDISpec(T=4, delay=5)
    with pytest.raises(ValueError, match="^delay:"):
        specs.STDISpec(T=4, delay=0)
    for bad in (0.0, -1.0, float("nan"), [1.0, 0.0]):
        with pytest.raises(ValueError, match="^v_threshold:"):
            specs.IFSpec(v_threshold=bad)
    with pytest.raises(ValueError, match="^v0:"):
        specs.IFSpec(v0=1.0)
    with pytest.raises(ValueError, match="^negative_slope:"):
        specs.STDISpec(negative_slope=0.0)
    with pytest.raises(ValueError, match="^count:"):
        specs.MaxGateSpec(kernel=2, count=[3])
    net = Network(dt=1.0, n_threads=1, seed=0, max_delay=4.0)
    with pytest.raises(ValueError, match="^v_threshold:"):
        net.add_population(3, "if", v_threshold=[1.0, 2.0])
    with pytest.raises(ValueError, match="^T:"):
        net.add_population(3, "stdi", T=30)
    s = specs.STDISpec(T=3, v_threshold=np.array([1.0, 2.0], np.float32))
    assert type(s)(**s.params()) == s
