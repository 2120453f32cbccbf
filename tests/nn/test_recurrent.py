"""spikecore.nn.Recurrent: fused C++ kernel == pure-torch reference, gradcheck in float64,
thread-count determinism, state in/out, sparse masks, validation, training."""

import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import _recurrent_kernels, reference, surrogate
from spikecore.nn.recurrent import RecurrentState

needs_cpp = pytest.mark.skipif(not _recurrent_kernels.has(), reason="C++ kernels not built")


def _neuron(kind, reset="hard", sg="atan", smooth=False, detach=False):
    s = surrogate.get(sg, smooth=smooth)
    vr = None if reset == "soft" else -0.1
    if kind == "lif":
        return snn.LIF(tau=3.0, v_reset=vr, v_rest=0.05, surrogate=s, detach_reset=detach)
    if kind == "plif":
        return snn.ParametricLIF(
            tau=3.0, channels=6, v_reset=vr, v_rest=0.05, surrogate=s, detach_reset=detach
        )
    if kind == "alif":
        return snn.AdaptiveLIF(
            tau=3.0,
            tau_a=8.0,
            beta_a=0.3,
            v_reset=vr,
            v_rest=0.05,
            surrogate=s,
            detach_reset=detach,
        )
    return snn.NoisyLIF(tau=3.0, v_reset=vr, v_rest=0.05, sigma=0.3, detach_reset=detach)


def _layer(kind, dtype, backend, density=1.0, **kw):
    torch.manual_seed(3)
    m = snn.Recurrent(5, 6, _neuron(kind, **kw), recurrent_density=density, seed=2, backend=backend)
    with torch.no_grad():
        m.weight_rec.mul_(2.5)  # strong recurrence: it must matter
    if kind == "plif":
        with torch.no_grad():
            m.neuron.w.copy_(torch.linspace(-1.0, 0.5, 6))
    return m.to(dtype)


def _inputs(dtype, T=12, B=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, 5, generator=g, dtype=dtype) * 0.8 + 0.6
    v0 = torch.rand(B, 6, generator=g, dtype=dtype) * 0.3
    z0 = (torch.rand(B, 6, generator=g) < 0.5).to(dtype)
    a0 = torch.rand(B, 6, generator=g, dtype=dtype) * 0.1
    return x, v0, z0, a0


def _run(m, x, state, seed=5):
    """Outputs and gradients (inputs, state, parameters) of a random linear loss."""
    x = x.detach().clone().requires_grad_()
    st = [s.detach().clone().requires_grad_() if s is not None else None for s in state]
    z, (vT, zT, aT) = m(x, RecurrentState(*st), return_state=True)
    g = torch.Generator().manual_seed(seed)
    outs = [z, vT] + ([aT] if aT is not None else [])
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    params = [p for p in m.parameters()]
    leaves = [x] + [s for s in st if s is not None] + params
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [o.detach() for o in outs], grads


def _pair(kind, dtype, density=1.0, **kw):
    x, v0, z0, a0 = _inputs(dtype)
    state = (v0, z0, a0 if kind == "alif" else None)
    out = {}
    for backend in ("cpp", "torch"):
        m = _layer(kind, dtype, backend, density, **kw)
        if kind == "noisy":
            m.neuron.generator = torch.Generator().manual_seed(11)
        out[backend] = _run(m, x, state)
    return out["cpp"], out["torch"]


def _close(ga, gb, dtype):
    tol = dict(atol=2e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-11, rtol=1e-9)
    for a, b in zip(ga, gb):
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert torch.allclose(a, b, **tol), (a - b).abs().max()


@needs_cpp
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", ["lif", "plif", "alif", "noisy"])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("density", [1.0, 0.4])
def test_kernel_equals_reference(dtype, kind, reset, density):
    (oc, gc), (orf, gr) = _pair(kind, dtype, density, reset=reset)
    assert oc[0].sum() > 5 and oc[0].mean() < 0.9  # spikes, not saturated
    for a, b in zip(oc, orf):
        assert torch.allclose(a, b, atol=1e-5 if dtype == torch.float32 else 1e-12)
    _close(gc, gr, dtype)


@needs_cpp
@pytest.mark.parametrize("sg", surrogate.NAMES)
@pytest.mark.parametrize("detach", [False, True])
def test_kernel_equals_reference_surrogates(sg, detach):
    (oc, gc), (orf, gr) = _pair("alif", torch.float64, 0.6, sg=sg, detach=detach)
    assert torch.equal(oc[0], orf[0])
    _close(gc, gr, torch.float64)


@needs_cpp
def test_recurrence_changes_the_output():
    x, v0, z0, _ = _inputs(torch.float64)
    m = _layer("lif", torch.float64, "cpp")
    z1 = m(x)
    with torch.no_grad():
        m.weight_rec.zero_()
    z2 = m(x)
    ref, _ = reference.lif(
        torch.nn.functional.linear(x, m.weight, m.bias),
        torch.full((3, 6), 0.05, dtype=torch.float64),
        m.neuron.beta,
        1.0,
        -0.1,
        0.05,
        m.neuron.surrogate,
    )
    assert torch.equal(z2, ref)  # no recurrence: the feedforward LIF
    assert not torch.equal(z1, z2)


@needs_cpp
@pytest.mark.parametrize("kind", ["lif", "plif", "alif", "noisy"])
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_gradcheck_float64(kind, reset):
    m = _layer(kind, torch.float64, "cpp", 0.5, reset=reset, smooth=True)
    if kind == "noisy":
        m.neuron.surrogate = surrogate.noise("gaussian", 0.3)
        m.neuron.surrogate.smooth = True
        m.neuron.sample = False
    x, v0, z0, a0 = _inputs(torch.float64, T=6, B=2)
    x, v0, z0, a0 = (t.requires_grad_() for t in (x, v0, z0, a0))
    names = ["weight", "bias", "weight_rec"] + (["neuron.w"] if kind == "plif" else [])
    ps = [m.get_parameter(k).detach().clone().requires_grad_() for k in names]

    def f(x, v0, z0, a0, *ps):
        st = RecurrentState(v0, z0, a0 if kind == "alif" else None)
        z, s = torch.func.functional_call(m, dict(zip(names, ps)), (x, st), {"return_state": True})
        return (z, s.v) if s.a is None else (z, s.v, s.a)

    assert torch.autograd.gradcheck(f, (x, v0, z0, a0, *ps), eps=1e-6, atol=1e-6)


@needs_cpp
@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_thread_count_determinism(kind):
    x, v0, z0, a0 = _inputs(torch.float32, T=30, B=40, seed=4)
    state = (v0, z0, a0 if kind == "alif" else None)
    old = torch.get_num_threads()
    res = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            m = _layer(kind, torch.float32, "cpp", 0.5)
            res.append(_run(m, x, state))
    finally:
        torch.set_num_threads(old)
    (o1, g1) = res[0]
    for o, g in res[1:]:
        for a, b in zip(o1, o):
            assert torch.equal(a, b)
        # the kernel's own gradients (state, W_rec) are bitwise equal; W and x's go through
        # torch's BLAS, which is not ours to pin
        ns = 3 if kind == "alif" else 2
        for a, b in zip(g1[1 : 1 + ns] + g1[-1:], g[1 : 1 + ns] + g[-1:]):
            assert torch.equal(a, b)


def test_state_continues_a_sequence():
    m = _layer("alif", torch.float64, "auto")
    x, *_ = _inputs(torch.float64, T=10)
    z_all = m(x)
    z1, s = m(x[:4], return_state=True)
    z2 = m(x[4:], s)
    assert torch.equal(torch.cat([z1, z2]), z_all)
    assert torch.equal(s.z, z1[-1])


def test_sparse_mask_keeps_zeros_and_self_connections():
    m = snn.Recurrent(3, 20, recurrent_density=0.25, self_connections=False, seed=1)
    mask = m.mask_rec.bool()
    assert not mask.diagonal().any()
    assert 0.15 < m.recurrent_density < 0.35
    assert torch.all(m.weight_rec[~mask] == 0)
    x = (torch.rand(15, 4, 3) < 0.5).float()
    m(x).sum().backward()
    assert torch.all(m.weight_rec.grad[~mask] == 0)
    assert m.weight_rec.grad[mask].abs().sum() > 0
    full = torch.ones(20, 20, dtype=torch.bool).triu()
    m2 = snn.Recurrent(3, 20, recurrent_mask=full)
    assert torch.equal(m2.mask_rec.bool(), full)
    assert m2.recurrent_synapses().weight.size == int((m2.weight_rec != 0).sum())


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(v=torch.zeros(2, 5)), "state.v"),
        (dict(z=torch.zeros(3, 6)), "state.z"),
        (dict(a=torch.zeros(2, 7)), "state.a"),
    ],
)
def test_wrong_state_shape_names_the_argument(bad, match):
    m = snn.Recurrent(4, 6, snn.AdaptiveLIF())
    st = dict(v=torch.zeros(2, 6), z=torch.zeros(2, 6), a=torch.zeros(2, 6))
    st.update(bad)
    with pytest.raises(ValueError, match=match):
        m(torch.rand(5, 2, 4), RecurrentState(**st))


def test_bad_arguments():
    with pytest.raises(TypeError, match="neuron"):
        snn.Recurrent(4, 6, snn.LeakyIntegrator())
    with pytest.raises(ValueError, match="recurrent_density"):
        snn.Recurrent(4, 6, recurrent_density=0.0)
    with pytest.raises(ValueError, match="recurrent_mask"):
        snn.Recurrent(4, 6, recurrent_mask=torch.ones(6, 5))
    with pytest.raises(ValueError, match="channels"):
        snn.Recurrent(4, 6, snn.ParametricLIF(channels=5))
    with pytest.raises(ValueError, match="x: expected shape"):
        snn.Recurrent(4, 6)(torch.rand(5, 2, 3))
    with pytest.raises(ValueError, match="state.a"):
        snn.Recurrent(4, 6)(
            torch.rand(5, 2, 4),
            RecurrentState(torch.zeros(2, 6), torch.zeros(2, 6), torch.zeros(2, 6)),
        )
    with pytest.raises(ValueError, match="backend"):
        snn.Recurrent(4, 6, backend="bogus")


def test_trains_on_both_backends_alike():
    """A few Adam steps of an LSNN-style classifier: cpp and torch follow the same loss."""

    def train(backend):
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            snn.Recurrent(
                10, 24, snn.AdaptiveLIF(tau=5.0, tau_a=20.0), backend=backend, recurrent_density=0.5
            ),
            snn.Linear(24, 3),
            snn.LeakyIntegrator(tau=4.0, backend=backend),
        )
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        g = torch.Generator().manual_seed(1)
        x = (torch.rand(20, 16, 10, generator=g) < 0.3).float()
        y = torch.randint(0, 3, (16,), generator=g)
        losses = []
        for _ in range(8):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x).mean(0), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    lc = train("auto")
    lt = train("torch")
    assert lc[-1] < lc[0]
    assert all(abs(a - b) < 1e-3 for a, b in zip(lc, lt)), (lc, lt)


@needs_cpp
@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_torch_compile_fullgraph_same_outputs_and_gradients(kind):
    """torch.compile(fullgraph=True) traces the layer through the registered custom ops
    (spikecore::recurrent_fwd / recurrent_bwd) and gives the eager numbers."""
    torch.manual_seed(0)
    neuron = snn.LIF() if kind == "lif" else snn.AdaptiveLIF(tau=3.0, tau_a=10.0)
    m = torch.nn.Sequential(
        snn.Recurrent(6, 8, neuron, recurrent_density=0.5),
        snn.Linear(8, 3),
        snn.LeakyIntegrator(),
    )
    x = (torch.rand(10, 4, 6) < 0.3).float()
    out = m(x)
    out.sum().backward()
    g1 = [p.grad.clone() for p in m.parameters()]
    m.zero_grad(set_to_none=True)
    out2 = torch.compile(m, fullgraph=True)(x)
    out2.sum().backward()
    assert torch.equal(out, out2)
    for p, g in zip(m.parameters(), g1):
        assert torch.allclose(p.grad, g, atol=1e-6, rtol=1e-5)


@needs_cpp
@pytest.mark.parametrize("adaptive", [False, True])
def test_opcheck_recurrent_ops(adaptive):
    from spikecore.nn import _kernels, _ops

    g = torch.Generator().manual_seed(2)
    T, B, n = 5, 3, 6
    I = torch.randn(T, B, n, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(n, n, generator=g, dtype=torch.float64, requires_grad=True)
    v0 = torch.rand(B, n, generator=g, dtype=torch.float64)
    z0 = (torch.rand(B, n, generator=g) < 0.5).double()
    a0 = torch.rand(B, n, generator=g, dtype=torch.float64) if adaptive else None
    beta = torch.full((n,), 0.7, dtype=torch.float64)
    drive = torch.zeros(n, dtype=torch.float64)
    cfg = _kernels._cfg(1.0, 0.0, surrogate.get("atan", smooth=True), False)
    cfg.update(adaptive=adaptive, rho=0.9, beta_a=0.2)
    c = _ops.pack(cfg, _recurrent_kernels._KEYS)
    torch.library.opcheck(
        _recurrent_kernels.recurrent_fwd, (I, w, v0, a0, z0, beta, drive, None, c)
    )
