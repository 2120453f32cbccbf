"""NIR against the real peers, both directions, spike for spike (snnTorch, Norse, SpikingJelly).

The peers are test-only dependencies (tests/requirements-peers.txt, installed with --no-deps);
each test skips with the reason when its peer is absent.
"""

import logging
import warnings

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

import spikecore.nn as snn  # noqa: E402
from spikecore.io.nir import from_nir, to_nir  # noqa: E402

T, B = 40, 3


def _peer(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip(
            name,
            reason=f"{name} not installed (pip install --no-deps -r tests/requirements-peers.txt)",
        )


def _x(seed, n=6):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, B, n, generator=g) < 0.4).float()


def _sc_model(seed, li_last=False, tau_last=8.0):
    torch.manual_seed(seed)
    last = snn.LeakyIntegrator(tau=tau_last) if li_last else snn.LIF(tau=tau_last)
    m = torch.nn.Sequential(
        snn.Linear(6, 5), snn.LIF(tau=4.0, v_threshold=0.8), snn.Linear(5, 4, bias=False), last
    )
    with torch.no_grad():
        m[0].weight.mul_(3)
        m[2].weight.mul_(3)
    return m.eval()


def _step(net, x):
    """Run a stateful peer module step by step: ``net(x_t, state) -> (z_t, state)``."""
    outs, s = [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            z, s = net(x[t], s)
            outs.append(z)
    return torch.stack(outs)


def _same(ref, got):
    assert ref.shape == got.shape
    assert ref.sum() > 0, "vacuous: no spikes"
    assert torch.equal(ref, got), f"{int((ref != got).sum())} of {ref.numel()} differ"


# ---------------------------------------------------------------- snnTorch (dt fixed at 1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_snntorch_export_imports_same_spikes(seed):
    snt = _peer("snntorch")
    from snntorch import utils as su
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(seed)
    # snnTorch exports scalar beta/threshold with inconsistent shapes (nir rejects the graph),
    # so its NIR path needs per-neuron tensors: exactly what the per-neuron import must handle
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        snt.Leaky(
            beta=torch.rand(5) * 0.3 + 0.6,
            threshold=torch.rand(5) * 0.5 + 0.5,
            init_hidden=True,
            reset_mechanism="zero",
        ),
        torch.nn.Linear(5, 4),
        snt.Leaky(
            beta=torch.full((4,), 0.9),
            threshold=torch.ones(4),
            init_hidden=True,
            output=True,
            reset_mechanism="zero",
        ),
    )
    with torch.no_grad():
        net[0].weight.mul_(4)
        net[2].weight.mul_(4)
    g = export_to_nir(net, torch.zeros(6))
    x = _x(seed)
    su.reset(net)
    outs = []
    with torch.no_grad():
        for t in range(T):
            outs.append(net(x[t])[0])
    ref = torch.stack(outs)
    with torch.no_grad():
        got = from_nir(g, dt=1e-4)(x)
    _same(ref, got)


def test_snntorch_synaptic_export_imports_same_spikes():
    snt = _peer("snntorch")
    from snntorch import utils as su
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(4)
    # reset_delay=False: snnTorch's delayed zero reset also clears the synaptic current
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        snt.Synaptic(
            alpha=torch.full((5,), 0.7),
            beta=torch.rand(5) * 0.3 + 0.6,
            threshold=torch.ones(5),
            init_hidden=True,
            reset_mechanism="zero",
            reset_delay=False,
        ),
        torch.nn.Linear(5, 4),
        snt.Leaky(
            beta=torch.full((4,), 0.9),
            threshold=torch.ones(4),
            init_hidden=True,
            output=True,
            reset_mechanism="zero",
            reset_delay=False,
        ),
    )
    with torch.no_grad():
        net[0].weight.mul_(3)
        net[2].weight.mul_(3)
    g = export_to_nir(net, torch.zeros(6))
    assert isinstance(g.nodes["1"], nir.CubaLIF)
    x = _x(4)
    su.reset(net)
    with torch.no_grad():
        ref = torch.stack([net(x[t])[0] for t in range(T)])
        got = from_nir(g, dt=1e-4)(x)
    _same(ref, got)


@pytest.mark.parametrize("seed", [0, 1])
def test_snntorch_imports_spikecore_export(seed):
    _peer("snntorch")
    from snntorch.import_nir import import_from_nir

    m = _sc_model(seed)
    x = _x(seed)
    with torch.no_grad():
        ref = m(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = import_from_nir(to_nir(m, dt=1e-4))  # snnTorch's importer assumes dt = 1e-4
    _same(ref, _step(net, x))


# ---------------------------------------------------------------- Norse


@pytest.mark.parametrize("dt", [1e-3, 1e-4])
def test_norse_export_imports_same_spikes(dt):
    _peer("norse")
    import norse.torch as nt

    torch.manual_seed(0)
    net = nt.SequentialState(
        torch.nn.Linear(6, 5),
        nt.LIFBoxCell(
            nt.LIFBoxParameters(tau_mem_inv=torch.tensor(0.2 / dt), v_th=torch.tensor(0.5)), dt=dt
        ),
        torch.nn.Linear(5, 4),
        nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=torch.tensor(0.1 / dt)), dt=dt),
    )
    with torch.no_grad():
        net[0].weight.mul_(20)
        net[2].weight.mul_(20)
    g = nt.to_nir(net, torch.zeros(1, 6), dt=dt)
    x = _x(3)
    ref = _step(net, x)
    with pytest.raises(ValueError, match="tau/dt"):  # Norse writes tau = dt * tau_mem
        from_nir(g, dt=dt)
    with torch.no_grad():
        got = from_nir(g, dt=dt, peer="norse")(x)
    _same(ref, got)


@pytest.mark.parametrize("seed", [0, 1])
def test_norse_imports_spikecore_export(seed):
    _peer("norse")
    import norse.torch as nt

    dt = 1e-3
    m = _sc_model(seed)
    x = _x(seed)
    with torch.no_grad():
        ref = m(x)
    # the plain NIR graph: Norse ignores r, and its input is scaled by dt/tau -> fewer spikes
    logging.disable(logging.WARNING)
    try:
        plain = _step(nt.from_nir(to_nir(m, dt=dt), dt=dt), x)
        net = nt.from_nir(to_nir(m, dt=dt, peer="norse"), dt=dt)
    finally:
        logging.disable(logging.NOTSET)
    assert plain.sum() < ref.sum()
    _same(ref, _step(net, x))


def test_cubalif_matches_norse_import():
    """A standard NIR CubaLIF graph: spikecore and Norse's importer (synapse LI then LIF, v
    reset only, NIR's semantics) give the same spikes."""
    _peer("norse")
    import norse.torch as nt

    dt = 1e-3
    rng = np.random.default_rng(0)
    n = 5
    g = nir.NIRGraph(
        nodes={
            "in": nir.Input({"input": np.array([6])}),
            "a": nir.Affine(
                weight=(rng.normal(size=(n, 6)) * 3).astype(np.float32),
                bias=np.zeros(n, np.float32),
            ),
            "c": nir.CubaLIF(
                tau_syn=np.full(n, 3e-3),
                tau_mem=np.full(n, 6e-3),
                r=np.full(n, 2.0),
                v_leak=np.zeros(n),
                v_threshold=np.full(n, 0.5),
                v_reset=np.zeros(n),
                w_in=np.full(n, 1.5),
            ),
            "out": nir.Output({"output": np.array([n])}),
        },
        edges=[("in", "a"), ("a", "c"), ("c", "out")],
    )
    x = _x(4)
    logging.disable(logging.WARNING)
    try:
        ref = _step(nt.from_nir(g, dt=dt), x)
    finally:
        logging.disable(logging.NOTSET)
    with torch.no_grad():
        got = from_nir(g, dt=dt)(x)
    _same(ref, got)


# ---------------------------------------------------------------- SpikingJelly 2.0.0


@pytest.mark.parametrize("decay_input", [True, False])
def test_spikingjelly_export_imports_same_spikes(decay_input):
    _peer("spikingjelly")
    from spikingjelly.activation_based import functional, layer, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    torch.manual_seed(1)
    net = torch.nn.Sequential(
        layer.Linear(6, 5),
        neuron.LIFNode(tau=4.0, decay_input=decay_input, v_threshold=0.8),
        layer.Linear(5, 4),
        neuron.IFNode(),
    )
    with torch.no_grad():
        net[0].weight.mul_(6 if decay_input else 3)
        net[2].weight.mul_(3)
    dt = 1e-4
    g = export_to_nir(net, torch.zeros(B, 6), dt=dt)
    x = _x(5)
    functional.reset_net(net)
    with torch.no_grad():
        ref = torch.stack([net(x[t]) for t in range(T)])
        got = from_nir(g, dt=dt)(x)
    _same(ref, got)


def test_spikingjelly_imports_spikecore_export():
    _peer("spikingjelly")
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    m = torch.nn.Sequential(*list(_sc_model(2))[:3], snn.LIF(tau=float("inf"))).eval()
    x = _x(2)
    with torch.no_grad():
        ref = m(x)
    dt = 1e-4
    g = to_nir(m, dt=dt)
    assert isinstance(g.nodes["3"], nir.IF)
    _same(ref, _step(import_from_nir(g, dt=dt), x))
