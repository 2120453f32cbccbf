"""Neuron modules on every available backend: equations, state handling, gradients."""

import numpy as np
import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import _kernels, surrogate
from spikecore.nn import functional as SF

BACKENDS = ["torch"] + (["cpp"] if _kernels.has("lif") else [])


def engine_lif(x, beta, v_th, v_reset, v_rest, soft, v0=None):
    """float32 transcription of lif_step<Delta> with LIFCoeffs::discrete (no refractoriness)."""
    f = np.float32
    p22 = f(beta)
    v_drive = f((1.0 - beta) * v_rest)
    jump = f(v_th - (0.0 if soft else v_reset))
    x = x.numpy().astype(np.float32)
    v = np.full(x.shape[1:], f(v_rest), np.float32) if v0 is None else v0.copy()
    z = np.zeros_like(x)
    for t in range(x.shape[0]):
        v = (v_drive + v * p22) + x[t]
        s = v >= f(v_th)
        v = np.where(s, (v - jump) if soft else f(0.0 if soft else v_reset), v).astype(np.float32)
        z[t] = s
    return z, v


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("v_reset", [0.0, -0.3, None])
@pytest.mark.parametrize("v_rest", [0.0, 0.2])
def test_lif_matches_engine_step_exactly(backend, v_reset, v_rest):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 3, 7, generator=g) * 0.8
    tau = 3.0
    m = snn.LIF(tau=tau, v_threshold=1.0, v_reset=v_reset, v_rest=v_rest, backend=backend)
    z, st = m(x, return_state=True)
    ez, ev = engine_lif(x, 1 - 1 / tau, 1.0, v_reset, v_rest, v_reset is None)
    assert z.sum() > 10
    assert np.array_equal(z.numpy(), ez)
    assert np.array_equal(st.v.numpy(), ev)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "cls", ["LIF", "ParametricLIF", "AdaptiveLIF", "NoisyLIF", "LeakyIntegrator"]
)
def test_fresh_state_and_continuation(backend, cls):
    kw = {"backend": backend}
    m = getattr(snn, cls)(**kw)
    m.eval()  # NoisyLIF deterministic
    x = torch.randn(12, 2, 5, generator=torch.Generator().manual_seed(3)) + 0.5
    a = m(x)
    b = m(x)
    assert torch.equal(a, b), "each call starts from a fresh state"
    first, st = m(x[:5], return_state=True)
    second = m(x[5:], state=st)
    assert torch.equal(torch.cat([first, second]), a)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(4, 1, 3), (4, 5, 2, 3, 3), (4, 2, 6)])
def test_any_batch_and_trailing_shape(backend, shape):
    x = torch.randn(*shape) + 0.7
    for m in (
        snn.LIF(backend=backend),
        snn.AdaptiveLIF(backend=backend),
        snn.LeakyIntegrator(backend=backend),
    ):
        y = m(x)
        assert y.shape == x.shape
    # per-sample results do not depend on the batch
    y = snn.LIF(backend=backend)(x)
    assert torch.equal(y[:, :1], snn.LIF(backend=backend)(x[:, :1]))


def smooth_sg(name):
    return surrogate.get(name, smooth=True)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("name", surrogate.NAMES)
def test_gradcheck_lif(backend, reset, name):
    # smooth mode (forward g instead of H) makes the op differentiable, so gradcheck verifies
    # the whole BPTT chain including the reset terms. detach_reset is not a true gradient and
    # is checked against the reference in test_kernels.py instead.
    g = torch.Generator().manual_seed(11)
    x = (torch.randn(6, 2, 3, generator=g, dtype=torch.float64) * 0.7 + 0.6).requires_grad_()
    v0 = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    beta = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.5 + 0.3).requires_grad_()
    v_reset = None if reset.startswith("soft") else -0.1

    def f(x, v0, beta):
        z, v = SF.lif(
            x,
            v0,
            beta=beta,
            v_threshold=1.0,
            v_reset=v_reset,
            v_rest=0.1,
            surrogate=smooth_sg(name),
            backend=backend,
        )
        return z, v

    assert torch.autograd.gradcheck(f, (x, v0, beta), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("name", surrogate.NAMES)
def test_gradcheck_alif(backend, reset, name):
    g = torch.Generator().manual_seed(12)
    x = (torch.randn(6, 2, 3, generator=g, dtype=torch.float64) * 0.7 + 0.6).requires_grad_()
    v0 = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    a0 = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.2).requires_grad_()
    beta = torch.full((3,), 0.6, dtype=torch.float64, requires_grad=True)

    def f(x, v0, a0, beta):
        z, (v, a) = SF.alif(
            x,
            (v0, a0),
            beta=beta,
            rho=0.9,
            beta_a=0.3,
            v_threshold=1.0,
            v_reset=None if reset == "soft" else 0.0,
            surrogate=smooth_sg(name),
            backend=backend,
        )
        return z, v, a

    assert torch.autograd.gradcheck(f, (x, v0, a0, beta), atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_leaky_integrator(backend):
    g = torch.Generator().manual_seed(13)
    x = torch.randn(6, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    v0 = torch.randn(2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    beta = torch.full((2, 3), 0.7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, v0, beta: SF.leaky_integrator(x, v0, beta=beta, v_rest=0.3, backend=backend),
        (x, v0, beta),
    )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("noise", surrogate.NOISES)
def test_noisy_lif_sampling_and_ndl_gradient(backend, noise):
    # constant drive: spike probability of the first step is F(x - theta)
    x = torch.full((1, 40000, 1), 0.9, dtype=torch.float64, requires_grad=True)
    z, _ = SF.noisy_lif(
        x, noise=noise, sigma=0.3, generator=torch.Generator().manual_seed(2), backend=backend
    )
    sg = surrogate.noise(noise, 0.3)
    p = float(sg.cdf(torch.tensor(-0.1, dtype=torch.float64)))
    assert float(z.detach().mean()) == pytest.approx(p, abs=0.01)
    z.sum().backward()
    assert torch.allclose(x.grad, sg.grad(torch.tensor(-0.1, dtype=torch.float64)).expand_as(x))


def test_noisy_lif_modes():
    x = torch.randn(20, 4, 8) * 0.5 + 0.8
    m = snn.NoisyLIF(sigma=0.3)
    m.train()
    assert not torch.equal(m(x), m(x))  # sampled
    m.eval()
    det = snn.LIF()(x)
    assert torch.equal(m(x), det)  # eval: deterministic = plain LIF
    m.eval_mode = "sample"
    assert not torch.equal(m(x), m(x))
    m2 = snn.NoisyLIF(sample=False)
    assert torch.equal(m2(x), det)


def test_plif_per_channel_learns_tau():
    m = snn.ParametricLIF(tau=2.0, channels=3)
    x = torch.rand(8, 2, 3, 4, 4) + 0.5
    m(x).sum().backward()
    assert m.w.grad.shape == (3,) and torch.all(m.w.grad != 0)
    assert torch.allclose(m.tau_learned, torch.full((3,), 2.0))
    scalar = snn.ParametricLIF(tau=4.0)
    assert scalar.w.shape == () and float(scalar.beta.detach()) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="channels"):
        m(torch.rand(8, 2, 5))


def test_alif_threshold_adapts():
    x = torch.full((50, 1, 1), 0.6)
    z_lif = snn.LIF(tau=2.0)(x)
    z_alif = snn.AdaptiveLIF(tau=2.0, tau_a=20.0, beta_a=0.5)(x)
    assert z_alif.sum() < z_lif.sum()
    zz, st = snn.AdaptiveLIF(tau=2.0, tau_a=20.0, beta_a=0.5)(x, return_state=True)
    assert float(st.a.max()) > 0


def test_leaky_integrator_returns_membrane():
    x = torch.ones(3, 1, 1)
    y = snn.LeakyIntegrator(tau=2.0)(x)
    assert y.flatten().tolist() == [1.0, 1.5, 1.75]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("noise", surrogate.NOISES)
def test_gradcheck_noisy_lif(backend, reset, noise):
    """NoisyLIF's op (LIF with threshold noise eps) in smooth mode: z = F(h - v_th + eps)."""
    from spikecore.nn import _kernels, reference

    g = torch.Generator().manual_seed(14)
    x = (torch.randn(6, 2, 3, generator=g, dtype=torch.float64) * 0.7 + 0.6).requires_grad_()
    v0 = (torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    eps = SF.sample_noise(noise, 0.3, x.shape, dtype=torch.float64, generator=g)
    sg = surrogate.get(surrogate.noise(noise, 0.3), smooth=True)
    v_reset = None if reset == "soft" else 0.0

    def f(x, v0):
        if backend == "cpp":
            return _kernels.lif(x, v0, 0.6, 1.0, v_reset, 0.0, sg, False, eps)
        return reference.lif(x, v0, 0.6, 1.0, v_reset, 0.0, sg, False, noise=eps)

    assert torch.autograd.gradcheck(f, (x, v0), atol=1e-6)


def test_spec_is_the_deployment_contract():
    from spikecore import specs

    s = snn.LIF(tau=4.0, v_threshold=0.5, v_reset=None).spec()
    assert isinstance(s, specs.DiscreteLIFSpec) and s.beta == 0.75 and s.v_reset is None
    assert s.engine(3).args == {
        "beta": 0.75,
        "v_rest": 0.0,
        "v_th": 0.5,
        "v_reset": 0.0,
        "soft_reset": True,
        "rho": -1.0,
        "beta_a": 0.0,
    }
    a = snn.AdaptiveLIF(tau=2.0, tau_a=10.0, beta_a=0.3).spec()
    assert a.rho == pytest.approx(0.9) and a.beta_a == 0.3 and a.v_reset == 0.0
    plif = snn.ParametricLIF(tau=3.0)
    p = plif.spec()  # the float32 beta the forward multiplies by
    assert p.beta == float(plif.beta.detach().float()) and p.beta == pytest.approx(2.0 / 3.0)
    with pytest.raises(ValueError, match="channels"):
        snn.ParametricLIF(tau=2.0, channels=2).spec()
    n = snn.NoisyLIF(eval_mode="sample").spec()
    assert n.deployable().model == "lif_discrete" and "deterministic" in n.deploy_note
    li = snn.LeakyIntegrator(tau=2.0).spec()
    assert not li.spiking and li.engine(1).args["v_th"] > 1e30
    # the spec follows the module's attributes (changed after construction)
    m = snn.LIF(tau=2.0)
    m.tau = 5.0
    assert m.spec().beta == pytest.approx(0.8)


def test_state_dict_round_trip_exact(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        snn.Linear(6, 5),
        snn.ParametricLIF(channels=5),
        snn.SparseLinear(5, 4, density=0.5),
        snn.AdaptiveLIF(),
        snn.Linear(4, 3),
        snn.LeakyIntegrator(),
    )
    with torch.no_grad():
        model[1].w.fill_(0.3)
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    torch.manual_seed(1)
    other = torch.nn.Sequential(
        snn.Linear(6, 5),
        snn.ParametricLIF(channels=5),
        snn.SparseLinear(5, 4, density=0.5, seed=3),
        snn.AdaptiveLIF(),
        snn.Linear(4, 3),
        snn.LeakyIntegrator(),
    )
    other.load_state_dict(torch.load(tmp_path / "sd.pt"))
    x = (torch.rand(10, 2, 6) < 0.4).float()
    assert torch.equal(model(x), other(x))
