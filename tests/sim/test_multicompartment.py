"""Engine populations of the model variants: dendritic (multi-compartment) LIF / ALIF and CE-LIF,
checked against step-by-step references, across thread counts, through save/load, and on bad
input."""

import numpy as np
import pytest
import torch

from spikecore.nn.celif import celif_reference
from spikecore.nn.surrogate import get as get_surrogate
from spikecore.sim import Network

f32 = np.float32


def _dyadic(rng, shape, scale=64):
    """Weights on a 2^-6 grid: every partial sum is exact, so any summation order agrees."""
    return (rng.integers(-scale, 2 * scale, size=shape) / scale).astype(np.float32)


def test_dendritic_population_matches_a_numpy_reference():
    n, K, T, beta, decay = 5, 3, 30, 0.75, 0.5
    rng = np.random.default_rng(0)
    bias = rng.normal(0, 0.2, n * K).astype(np.float32)
    net = Network(dt=1.0)
    pop = net.add_population(
        n,
        "lif_discrete",
        beta=beta,
        v_threshold=1.0,
        branches=K,
        branch_fn="relu",
        branch_decay=decay,
        branch_bias=bias,
    )
    assert pop.n_targets == n * K
    # events straight into branch compartments: t ms -> input of step t - 1
    steps = rng.integers(1, T, 60)
    comp = rng.integers(0, n * K, 60)
    w = rng.normal(0.3, 0.5, 60).astype(np.float32)
    net.add_spike_input(pop, steps.astype(float), comp, w)
    mon = net.record_state(pop, "v")
    spk = net.record_spikes(pop)
    net.run(float(T))
    # reference: float32, the engine's operation order
    s = np.zeros((T, n * K), np.float32)
    for t, c, x in sorted(zip(steps - 1, comp, w), key=lambda e: e[0]):  # stable per step
        s[t, c] = f32(s[t, c] + x)
    u = bias.copy()  # the branch potential includes the bias and rests at it
    v = np.zeros(n, np.float32)
    vs, zs = [], []
    for t in range(T):
        u = ((s[t] + bias) + f32(decay) * (u - bias)).astype(np.float32)
        g = np.maximum(u, f32(0)).reshape(n, K)
        y = np.zeros(n, np.float32)
        for k in range(K):
            y = (y + g[:, k]).astype(np.float32)
        h = (f32(0) + v * f32(beta) + y).astype(np.float32)
        z = h >= f32(1.0)
        v = np.where(z, f32(0), h).astype(np.float32)
        vs.append(v.copy())
        zs.append(z)
    assert np.array_equal(mon.v, np.array(vs))
    ref_steps, ref_ids = np.nonzero(np.array(zs))
    assert ref_steps.size > 3
    assert np.array_equal(spk.steps, ref_steps) and np.array_equal(spk.senders, ref_ids)
    assert np.array_equal(net.get_state(pop, "u"), u.reshape(n, K))


@pytest.mark.parametrize("context", ["separate", "shared"])
def test_celif_population_matches_the_torch_reference(context):
    n_src, n, T = 12, 6, 60
    rng = np.random.default_rng(1)
    raster = rng.random((T, n_src)) < 0.2
    W = _dyadic(rng, (n_src, n))
    Wc = _dyadic(rng, (n_src, n))
    lam = np.array([0.9, 0.95, 0.99, 0.8, 0.97, 0.5], np.float32)
    prm = dict(beta=0.5, rho=0.9, beta_a=0.5, gamma=3.0, v_threshold=1.0)
    net = Network(dt=1.0)
    t_idx, n_idx = np.nonzero(raster)
    src = net.add_population(n_src, "spike_source", spike_times=t_idx + 1.0, spike_neurons=n_idx)
    pop = net.add_population(n, "celif", lambda_c=lam, context=context, **prm)
    net.connect(src, pop, "all_to_all", weight=W, receptor="current")
    if context == "separate":
        net.connect(src, pop, "all_to_all", weight=Wc, receptor="context")
    spk = net.record_spikes(pop)
    mon = net.record_state(pop, ["v", "a", "c"])
    net.run(float(T + 1))
    # the torch reference sees the input one step later (one synaptic hop)
    x = torch.from_numpy(raster.astype(np.float32))
    I = x @ torch.from_numpy(W)
    q = I if context == "shared" else x @ torch.from_numpy(Wc)
    lam_t = torch.from_numpy(lam)
    zero = torch.zeros(n)
    z, st = celif_reference(
        I,
        q,
        zero,
        zero,
        zero,
        torch.tensor(f32(prm["beta"])),
        prm["rho"],
        prm["beta_a"],
        lam_t,
        prm["gamma"],
        prm["v_threshold"],
        get_surrogate("atan"),
    )
    z = z.numpy()
    assert z.sum() > 3
    got = np.zeros((T + 1, n), np.float32)
    got[spk.steps, spk.senders] = 1
    assert np.array_equal(got[1:], z) and got[0].sum() == 0
    vals = mon.values
    assert np.array_equal(vals["v"][-1], st.v.numpy())
    assert np.array_equal(vals["a"][-1], st.a.numpy())
    assert np.array_equal(vals["c"][-1], st.c.numpy())


def _mixed_network(n_threads, seed=3):
    net = Network(dt=0.5, n_threads=n_threads, seed=seed, max_delay=5.0)
    drive = net.add_population(200, "poisson_source", rate=40.0)
    den = net.add_population(
        150,
        "lif",
        branches=4,
        branch_fn="sigmoid",
        branch_decay=0.8,
        tau_m=10.0,
        v_threshold=8.0,
        t_ref=1.0,
    )
    ce = net.add_population(90, "celif", lambda_c=0.95, gamma=2.0)
    net.connect(
        drive,
        den,
        "fixed_indegree",
        k=20,
        weight={"normal": (1.0, 0.5)},
        delay={"uniform": (0.5, 3.0)},
    )
    net.connect(den, den, "pairwise_bernoulli", p=0.02, weight=-0.5, delay=1.5)
    net.connect(den, ce, "fixed_indegree", k=10, weight=0.4, receptor="current")
    net.connect(drive, ce, "fixed_indegree", k=10, weight=0.2, receptor="context")
    net.add_poisson_input(den, rate=100.0, weight=0.5, neurons=(0, 300))
    return net, net.record_spikes(den), net.record_spikes(ce)


def test_threads_give_identical_rasters_and_states():
    out = []
    for T in (1, 2, 3):
        net, a, b = _mixed_network(T)
        net.run(100.0)
        out.append(
            (a.steps, a.senders, b.steps, b.senders, net.get_state(1, "u"), net.get_state(2, "c"))
        )
    assert out[0][0].size > 100 and out[0][2].size > 10
    for o in out[1:]:
        for x, y in zip(out[0], o):
            assert np.array_equal(x, y)


def test_save_load_continues_bitwise(tmp_path):
    net, a, b = _mixed_network(2)
    net.run(40.0)
    path = tmp_path / "net.npz"
    net.save(str(path))
    other = Network.load(str(path), n_threads=1)
    assert other.populations[1].branches == 4
    net.run(40.0)
    other.run(40.0)
    for i, name in ((1, "u"), (1, "v"), (2, "c"), (2, "a"), (2, "v")):
        assert np.array_equal(net.get_state(i, name), other.get_state(i, name))
    assert np.array_equal(a.steps, other.spike_monitors[0].steps)
    assert np.array_equal(b.senders, other.spike_monitors[1].senders)


def test_state_access_and_reset():
    net = Network(dt=1.0)
    d = net.add_population(4, "alif_discrete", branches=2)
    c = net.add_population(3, "celif")
    net.set_state(d, "u", np.ones((4, 2)))
    assert net.get_state(d, "u").shape == (4, 2) and net.get_state(d, "u").sum() == 8
    net.set_state(c, "c", 0.5)
    net.reset_state()
    assert net.get_state(d, "u").sum() == 0 and net.get_state(c, "c").sum() == 0
    mon = net.record_state(c, "c")
    net.run(2.0)
    assert mon.c.shape == (2, 3)


@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        (dict(branches=0), ValueError, "branches"),
        (dict(branches=2.5), TypeError, "branches"),
        (dict(branches=2, branch_fn="tanh"), ValueError, "branch_fn"),
        (dict(branches=2, branch_decay=1.5), ValueError, "branch_decay"),
        (dict(branches=2, branch_decay=float("nan")), ValueError, "branch_decay"),
        (dict(branches=2, branch_bias=np.zeros(5)), ValueError, "branch_bias"),
        (dict(branches=2, branch_bias=np.full(8, np.inf)), ValueError, "branch_bias"),
        (dict(branch_bias=np.zeros(4)), ValueError, "branches"),
    ],
)
def test_bad_branch_parameters(kwargs, exc, word):
    net = Network(dt=1.0)
    with pytest.raises(exc, match=word):
        net.add_population(4, "lif_discrete", **kwargs)


def test_bad_variant_input():
    net = Network(dt=1.0)
    with pytest.raises(ValueError, match="synapse"):
        net.add_population(4, "lif", branches=2, synapse="exp")
    for lam in (0.0, 1.5, float("nan"), np.array([0.5, 2.0, 0.5])):
        with pytest.raises(ValueError, match="lambda_c"):
            net.add_population(3, "celif", lambda_c=lam)
    with pytest.raises(ValueError, match="lambda_c"):
        net.add_population(3, "celif", lambda_c=np.full(4, 0.9))
    for k, v in (("beta", 0.0), ("rho", 1.2), ("beta_a", -1.0), ("context", "both")):
        with pytest.raises(ValueError, match=k):
            net.add_population(3, "celif", **{k: v})
    with pytest.raises(TypeError, match="tau_m"):
        net.add_population(3, "celif", tau_m=10.0)
    src = net.add_population(3, "spike_source")
    d = net.add_population(2, "lif_discrete", branches=3)
    c = net.add_population(2, "celif", context="shared")
    with pytest.raises(IndexError, match="post_index"):
        net.connect(src, d, "explicit", pre_index=[0], post_index=[6])
    net.connect(src, d, "explicit", pre_index=[0], post_index=[5])  # last compartment
    with pytest.raises(ValueError, match="receptor"):
        net.connect(src, c, receptor="context")  # shared context: one receptor
    with pytest.raises(ValueError, match="receptor"):
        net.connect(src, d, receptor="in")
    with pytest.raises(ValueError, match="receptor"):
        net.connect(src, d, receptor=1)
    with pytest.raises(IndexError, match="neurons"):
        net.add_spike_input(d, [2.0], [6])
    with pytest.raises(IndexError, match="neurons"):
        net.add_poisson_input(d, 10.0, 1.0, neurons=(0, 7))
    with pytest.raises(ValueError, match="variable"):
        net.get_state(d, "c")
    with pytest.raises(ValueError, match="variable"):
        net.get_state(c, "u")
    with pytest.raises(ValueError, match="u"):
        net.set_state(d, "u", np.zeros(5))
    with pytest.raises(ValueError, match="variables"):
        net.record_state(d, "u")
    with pytest.raises(ValueError, match="variables"):
        net.record_state(d, "c")
    net.run(3.0)  # still usable
