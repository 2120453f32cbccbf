"""Every neuron model, three ways: the engine's block step (through spikecore.sim), the fused
training kernel's forward (spikecore.nn on CPU, backend='cpp') and the pure-torch reference
(spikecore.nn.reference / celif_reference / dendritic_reference, an independent statement of the
equations), on random parameters.

The engine and the kernels call the same C++ model headers (cpp/include/spikecore/neurons/), so
they agree bit for bit; the reference uses the same operation order, so it agrees bit for bit too
where the inputs reach both unrounded. The engine receives x_t as one input event per neuron and
step (an event of time t + 1 ms is the input of step t at dt = 1 ms), which adds x_t to an empty
ring slot exactly.

MODELS lists every model; a new model adds its row (and its case below).
"""

import numpy as np
import pytest
import torch

import spikecore.nn.functional as SF
from spikecore.nn import reference
from spikecore.nn.celif import celif, celif_reference
from spikecore.nn.dendritic import DendriticLinear, dendritic_reference, has_kernel
from spikecore.nn.surrogate import get as get_surrogate
from spikecore.sim import Network

f32 = np.float32
MODELS = ("lif", "alif", "lif_discrete", "alif_discrete", "noisy_lif", "celif", "dendritic")
# The conversion neurons (forward only, no training kernel with a surrogate) have their three-way
# cases elsewhere: engine == pure-torch reference in tests/sim/test_conversion_populations.py,
# fused kernel == reference in tests/convert/test_neurons.py, engine == scalar step in
# cpp/tests/test_engine_conversion.cpp. A new model must appear in one of the two tuples.
CONVERSION_MODELS = ("if", "stdi", "max_gate")
T, N = 40, 64


def _f32(x: float) -> float:
    """A Python float exactly representable in float32 (so every side sees the same number)."""
    return float(f32(x))


def _engine(model, x, **params):
    """Run the engine with input x [T, n] (one event per neuron and step); spikes [T, n], v."""
    steps, n = x.shape
    net = Network(dt=1.0)
    pop = net.add_population(n, model, **params)
    t_idx, n_idx = np.nonzero(x != 0)
    net.add_spike_input(pop, t_idx + 1.0, n_idx, x[t_idx, n_idx])
    spk = net.record_spikes(pop)
    mon = net.record_state(pop, "v")
    net.run(float(steps))
    z = np.zeros((steps, n), np.float32)
    z[spk.steps, spk.senders] = 1
    return z, mon.v, net, pop


def _input(seed, scale=0.6, mean=0.35):
    rng = np.random.default_rng(seed)
    return rng.normal(mean, scale, (T, N)).astype(np.float32), rng


def _check(z_engine, v_engine, z_kernel, v_kernel, z_ref, v_ref):
    z_kernel, z_ref = z_kernel.numpy(), z_ref.numpy()
    assert 0 < z_ref.sum() < z_ref.size  # the case spikes, and not always
    assert np.array_equal(z_engine, z_kernel), "engine != training kernel (spikes)"
    assert np.array_equal(z_kernel, z_ref), "training kernel != torch reference (spikes)"
    assert np.array_equal(v_engine[-1], v_kernel.numpy()), "engine != kernel (final v)"
    assert np.array_equal(v_kernel.numpy(), v_ref.numpy()), "kernel != reference (final v)"


def test_every_model_is_listed():
    """Each model of the engine (spikecore.sim.MODELS, sources aside) has a case here."""
    from spikecore.sim.network import MODELS as SIM_MODELS
    from spikecore.sim.network import SOURCES

    assert set(SIM_MODELS) - set(SOURCES) <= set(MODELS) | set(CONVERSION_MODELS)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("soft", [False, True])
def test_lif(seed, soft):
    """Continuous LIF with delta synapses, no refractoriness: the discrete LIF with
    beta = exp(-dt / tau_m) (v_rest = 0, so the drive is exactly 0 on every side)."""
    x, rng = _input(seed, mean=2.5, scale=4.0)
    tau = float(rng.uniform(2, 30))
    v_th = _f32(rng.uniform(5, 20))
    v_reset = 0.0 if soft else _f32(rng.uniform(-5, 0.5 * v_th))
    z_e, v_e, _, _ = _engine(
        "lif",
        x,
        tau_m=tau,
        v_threshold=v_th,
        v_reset=v_reset,
        t_ref=0.0,
        soft_reset=soft,
        v_init=0.0,
    )
    beta = _f32(np.exp(-1.0 / tau))
    xt = torch.from_numpy(x)
    kw = dict(beta=beta, v_threshold=v_th, v_reset=None if soft else v_reset)
    z_k, v_k = SF.lif(xt, **kw, backend="cpp")
    z_r, v_r = SF.lif(xt, **kw, backend="torch")
    _check(z_e, v_e, z_k, v_k, z_r, v_r)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("soft", [False, True])
def test_alif(seed, soft):
    """Continuous ALIF (delta synapses, t_ref = 0): the discrete ALIF with
    beta = exp(-dt / tau_m), rho = exp(-dt / tau_a)."""
    x, rng = _input(10 + seed, mean=3.0, scale=4.0)
    tau, tau_a = float(rng.uniform(2, 30)), float(rng.uniform(20, 300))
    v_th, beta_a = _f32(rng.uniform(5, 20)), _f32(rng.uniform(0.5, 3))
    v_reset = 0.0 if soft else _f32(rng.uniform(-5, 0.5 * v_th))
    z_e, v_e, net, pop = _engine(
        "alif",
        x,
        tau_m=tau,
        tau_a=tau_a,
        beta_a=beta_a,
        v_threshold=v_th,
        v_reset=v_reset,
        t_ref=0.0,
        soft_reset=soft,
        v_init=0.0,
    )
    beta, rho = _f32(np.exp(-1.0 / tau)), _f32(np.exp(-1.0 / tau_a))
    xt = torch.from_numpy(x)
    kw = dict(
        beta=beta, rho=rho, beta_a=beta_a, v_threshold=v_th, v_reset=None if soft else v_reset
    )
    z_k, (v_k, a_k) = SF.alif(xt, **kw, backend="cpp")
    zero = torch.zeros(N)
    z_r, (v_r, a_r) = reference.alif(
        xt,
        zero,
        zero,
        beta,
        rho,
        beta_a,
        v_th,
        None if soft else v_reset,
        0.0,
        get_surrogate("atan"),
    )
    _check(z_e, v_e, z_k, v_k, z_r, v_r)
    assert np.array_equal(net.get_state(pop, "a"), a_k.numpy())
    assert np.array_equal(a_k.numpy(), a_r.numpy())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("soft", [False, True])
def test_lif_discrete(seed, soft):
    x, rng = _input(20 + seed)
    beta = _f32(rng.uniform(0.3, 0.99))
    v_rest = _f32(rng.uniform(-0.3, 0.3))
    v_th = _f32(rng.uniform(0.5, 1.5))
    v_reset = 0.0 if soft else _f32(rng.uniform(-0.5, 0.3))
    z_e, v_e, _, _ = _engine(
        "lif_discrete",
        x,
        beta=beta,
        v_rest=v_rest,
        v_threshold=v_th,
        v_reset=None if soft else v_reset,
        v_init=v_rest,
    )
    xt, v0 = torch.from_numpy(x), torch.full((N,), v_rest)
    kw = dict(beta=beta, v_threshold=v_th, v_reset=None if soft else v_reset, v_rest=v_rest)
    z_k, v_k = SF.lif(xt, v0, **kw, backend="cpp")
    z_r, v_r = SF.lif(xt, v0, **kw, backend="torch")
    _check(z_e, v_e, z_k, v_k, z_r, v_r)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("soft", [False, True])
def test_alif_discrete(seed, soft):
    x, rng = _input(30 + seed)
    beta, rho = _f32(rng.uniform(0.3, 0.99)), _f32(rng.uniform(0.8, 0.999))
    beta_a, v_th = _f32(rng.uniform(0.05, 0.5)), _f32(rng.uniform(0.5, 1.5))
    v_reset = 0.0 if soft else _f32(rng.uniform(-0.5, 0.3))
    z_e, v_e, net, pop = _engine(
        "alif_discrete",
        x,
        beta=beta,
        rho=rho,
        beta_a=beta_a,
        v_threshold=v_th,
        v_reset=None if soft else v_reset,
    )
    xt = torch.from_numpy(x)
    kw = dict(
        beta=beta, rho=rho, beta_a=beta_a, v_threshold=v_th, v_reset=None if soft else v_reset
    )
    z_k, (v_k, a_k) = SF.alif(xt, **kw, backend="cpp")
    z_r, (v_r, a_r) = SF.alif(xt, **kw, backend="torch")
    _check(z_e, v_e, z_k, v_k, z_r, v_r)
    assert np.array_equal(net.get_state(pop, "a"), a_k.numpy())
    assert np.array_equal(a_k.numpy(), a_r.numpy())


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("soft", [False, True])
def test_noisy_lif(seed, soft):
    """NoisyLIF: kernel == reference for a given noise sample eps; with eps = 0 it is the
    deterministic discrete LIF the engine deploys (from_torch: 'lif_discrete')."""
    x, rng = _input(40 + seed)
    beta, v_th = _f32(rng.uniform(0.3, 0.99)), _f32(rng.uniform(0.5, 1.5))
    v_reset = None if soft else 0.0
    xt = torch.from_numpy(x)
    eps = torch.from_numpy(rng.normal(0, 0.3, (T, N)).astype(np.float32))
    kw = dict(beta=beta, v_threshold=v_th, v_reset=v_reset, noise="gaussian", sigma=0.3)
    z_k, v_k = SF.noisy_lif(xt, **kw, eps=eps, backend="cpp")
    z_r, v_r = SF.noisy_lif(xt, **kw, eps=eps, backend="torch")
    assert 0 < z_r.sum() < z_r.numel()
    assert torch.equal(z_k, z_r) and torch.equal(v_k, v_r)
    # eps = 0: the engine's deterministic deployment
    z_e, v_e, _, _ = _engine(
        "lif_discrete", x, beta=beta, v_threshold=v_th, v_reset=None if soft else 0.0
    )
    zero = torch.zeros_like(eps)
    z_k0, v_k0 = SF.noisy_lif(xt, **kw, eps=zero, backend="cpp")
    z_r0, v_r0 = SF.noisy_lif(xt, **kw, eps=zero, backend="torch")
    _check(z_e, v_e, z_k0, v_k0, z_r0, v_r0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_celif(seed):
    """CE-LIF with a shared context (q = I, so one event per neuron and step carries both)."""
    x, rng = _input(50 + seed, mean=0.5, scale=0.8)
    prm = dict(
        beta=_f32(rng.uniform(0.3, 0.95)),
        rho=_f32(rng.uniform(0.7, 0.99)),
        beta_a=_f32(rng.uniform(0.1, 0.8)),
        gamma=_f32(rng.uniform(0.5, 4)),
        v_threshold=_f32(rng.uniform(0.5, 1.5)),
    )
    lam = rng.uniform(0.5, 0.99, N).astype(np.float32)
    net = Network(dt=1.0)
    pop = net.add_population(N, "celif", lambda_c=lam, context="shared", **prm)
    t_idx, n_idx = np.nonzero(x)
    net.add_spike_input(pop, t_idx + 1.0, n_idx, x[t_idx, n_idx])
    spk = net.record_spikes(pop)
    mon = net.record_state(pop, ["v", "a", "c"])
    net.run(float(T))
    z_e = np.zeros((T, N), np.float32)
    z_e[spk.steps, spk.senders] = 1
    xt, lam_t = torch.from_numpy(x), torch.from_numpy(lam)
    kw = dict(
        beta=prm["beta"],
        rho=prm["rho"],
        beta_a=prm["beta_a"],
        lambda_c=lam_t,
        gamma=prm["gamma"],
        v_threshold=prm["v_threshold"],
    )
    z_k, st_k = celif(xt, xt, **kw, backend="cpp")
    zero = torch.zeros(N)
    z_r, st_r = celif_reference(
        xt,
        xt,
        zero,
        zero,
        zero,
        prm["beta"],
        prm["rho"],
        prm["beta_a"],
        lam_t,
        prm["gamma"],
        prm["v_threshold"],
        get_surrogate("atan"),
    )
    vals = mon.values
    _check(z_e, vals["v"], z_k, st_k.v, z_r, st_r.v)
    for name in ("a", "c"):
        assert np.array_equal(vals[name][-1], getattr(st_k, name).numpy()), name
        assert torch.equal(getattr(st_k, name), getattr(st_r, name)), name


def _seq_sum(xs, w, idx):
    """s_jk = sum_i w_jki x[idx_jki] in index order, float32 (the kernel's summation order)."""
    s = np.zeros(idx.shape[:2], np.float32)
    for i in range(idx.shape[2]):
        s = (s + w[:, :, i] * xs[idx[:, :, i]]).astype(np.float32)
    return s


@pytest.mark.skipif(not has_kernel(), reason="dendritic kernel not built")
@pytest.mark.parametrize("fn", ["relu", "sigmoid", "identity"])
def test_dendritic(fn):
    """Dendritic neurons: the branch potential u includes the bias (u = s + b) in the engine,
    the training kernel and the reference; y = sum_k g(u_k) drives a discrete LIF soma."""
    torch.manual_seed(0)
    n_in, n, K = 24, 8, 3
    layer = DendriticLinear(n_in, n, branches=K, nonlinearity=fn, backend="cpp")
    with torch.no_grad():
        layer.bias.normal_(0, 0.5)
    rng = np.random.default_rng(60)
    x = (rng.random((T, n_in)) < 0.4).astype(np.float32) * rng.normal(1, 0.5, (T, n_in)).astype(
        np.float32
    )
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    idx = layer.index.numpy()
    y_k = layer(torch.from_numpy(x))  # the training kernel
    y_r = dendritic_reference(torch.from_numpy(x), layer.weight, layer.bias, layer.index, fn)
    torch.testing.assert_close(y_k, y_r, rtol=1e-5, atol=1e-5)  # gather order vs kernel order
    # engine: the branch sums s as events into the compartments j K + k
    s = np.stack([_seq_sum(x[t], w, idx) for t in range(T)]).reshape(T, n * K)
    beta, v_th = 0.5, 1e9  # a silent soma: v_t = beta v_{t-1} + y_t exposes y
    net = Network(dt=1.0)
    pop = net.add_population(
        n,
        "lif_discrete",
        beta=beta,
        v_threshold=v_th,
        branches=K,
        branch_fn=fn,
        branch_bias=b.reshape(-1),
    )
    t_idx, c_idx = np.nonzero(s)
    net.add_spike_input(pop, t_idx + 1.0, c_idx, s[t_idx, c_idx])
    mon = net.record_state(pop, "v")
    net.run(float(T))
    # u after the last step, bitwise: s + b (the kernel's definition)
    u_last = (s[-1].reshape(n, K) + b).astype(np.float32)
    assert np.array_equal(net.get_state(pop, "u"), u_last)
    # the soma's input y through the LIF: kernel y (same summation order) -> same v, bitwise
    v = np.zeros(n, np.float32)
    vs = []
    for t in range(T):
        v = (f32(0) + v * f32(beta) + y_k[t].detach().numpy()).astype(np.float32)
        vs.append(v)
    assert np.array_equal(mon.v, np.array(vs))


def test_dendritic_leaky_branch_rests_at_the_bias():
    """branch_decay delta > 0: u_t = (s_t + b) + delta (u_{t-1} - b), u_0 = b (the bias is the
    branch's resting potential); reset_state returns u to b."""
    n, K, delta = 4, 2, 0.7
    rng = np.random.default_rng(7)
    b = rng.normal(0, 0.5, n * K).astype(np.float32)
    s = (rng.random((T, n * K)) < 0.3) * rng.normal(0.5, 0.5, (T, n * K))
    s = s.astype(np.float32)
    net = Network(dt=1.0)
    pop = net.add_population(
        n,
        "lif_discrete",
        beta=0.5,
        v_threshold=1e9,
        branches=K,
        branch_fn="identity",
        branch_decay=delta,
        branch_bias=b,
    )
    assert np.array_equal(net.get_state(pop, "u").reshape(-1), b)
    t_idx, c_idx = np.nonzero(s)
    net.add_spike_input(pop, t_idx + 1.0, c_idx, s[t_idx, c_idx])
    net.run(float(T))
    u = b.copy()
    for t in range(T):
        u = ((s[t] + b) + f32(delta) * (u - b)).astype(np.float32)
    assert np.array_equal(net.get_state(pop, "u").reshape(-1), u)
    net.reset_state(pop)
    assert np.array_equal(net.get_state(pop, "u").reshape(-1), b)
