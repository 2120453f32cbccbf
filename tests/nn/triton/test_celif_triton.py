"""Triton CE-LIF kernel (spikecore.nn.triton.celif) against the pure-torch reference
(celif_reference), in Triton's interpreter on CPU tensors (SPIKECORE_TRITON=interpret): spikes bit
for bit, states and surrogate gradients to float tolerance, exact gradients with gradcheck in
float64 (smooth mode)."""

import os

import pytest
import torch

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported
pytest.importorskip("triton")

from spikecore.nn import surrogate as S  # noqa: E402
from spikecore.nn import triton as tr  # noqa: E402
from spikecore.nn.celif import CELIF, celif  # noqa: E402

T, B, N = 9, 3, 45  # 135 neurons: two programs of 128, the second partly masked


def _leaves(dtype=torch.float32, seed=0, t=T, b=B, n=N):
    g = torch.Generator().manual_seed(seed)
    cur = (1.5 * torch.rand(t, b, n, generator=g, dtype=dtype)).requires_grad_()
    ctx = (torch.rand(t, b, n, generator=g, dtype=dtype) - 0.5).requires_grad_()
    v = (0.5 * torch.rand(b, n, generator=g, dtype=dtype)).requires_grad_()
    a = (0.2 * torch.rand(b, n, generator=g, dtype=dtype)).requires_grad_()
    c = (0.1 * torch.rand(b, n, generator=g, dtype=dtype)).requires_grad_()
    beta = (0.5 + 0.4 * torch.rand(n, generator=g, dtype=dtype)).requires_grad_()
    lam = (0.8 + 0.19 * torch.rand(n, generator=g, dtype=dtype)).requires_grad_()
    return cur, ctx, v, a, c, beta, lam


def _run(route, monkeypatch, leaves, shared=False, **kw):
    cur, ctx, v, a, c, beta, lam = leaves
    for t in leaves:
        t.grad = None
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret" if route == "triton" else "off")
    z, st = celif(
        cur,
        cur if shared else ctx,
        (v, a, c),
        beta=beta,
        lambda_c=lam,
        gamma=2.0,
        rho=0.9,
        beta_a=0.3,
        backend="auto" if route == "triton" else "torch",
        **kw,
    )
    w = torch.linspace(-1, 1, z.numel(), dtype=z.dtype).reshape(z.shape)
    loss = (z * w).sum() + 2 * st.v.sum() + 3 * st.a.sum() + 4 * st.c.sum()
    loss.backward()
    grads = [torch.zeros(0) if t.grad is None else t.grad.clone() for t in leaves]
    return [z.detach(), *(s.detach() for s in st)], grads


def _close(a, b, tol):
    for x, y in zip(a, b):
        assert torch.allclose(x, y, rtol=tol, atol=tol), (x - y).abs().max()


@pytest.mark.parametrize("kind", S.NAMES)
@pytest.mark.parametrize("shared,detach", [(False, False), (True, False), (False, True)])
def test_celif_matches_reference(monkeypatch, kind, shared, detach):
    leaves = _leaves()
    ro, rg = _run("torch", monkeypatch, leaves, shared, surrogate=kind, detach_reset=detach)
    to, tg = _run("triton", monkeypatch, leaves, shared, surrogate=kind, detach_reset=detach)
    assert torch.equal(ro[0], to[0]) and 0.02 < ro[0].mean() < 0.98  # spikes bit for bit
    _close(ro[1:], to[1:], 1e-5)
    _close(rg, tg, 1e-4)


@pytest.mark.parametrize("noise", ["gaussian", "logistic"])
def test_noisy_celif_saves_bits_and_matches(monkeypatch, noise):
    leaves = _leaves(seed=1)
    kw = dict(noise=noise, sigma=0.3)
    ro, rg = _run("torch", monkeypatch, leaves, generator=torch.Generator().manual_seed(3), **kw)
    sizes = []

    def pack(t):
        sizes.append((t.dtype, t.numel()))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        to, tg = _run(
            "triton", monkeypatch, leaves, generator=torch.Generator().manual_seed(3), **kw
        )
    assert torch.equal(ro[0], to[0])
    _close(ro[1:], to[1:], 1e-5)
    _close(rg, tg, 1e-4)
    # the spikes as bits (T rows of ceil(135 / 8) bytes), not the float noise
    assert (torch.uint8, T * 17) in sizes


def test_scalar_decays_inference_and_module(monkeypatch):
    cur, ctx, v, a, c, _, _ = _leaves(seed=2)
    monkeypatch.setenv("SPIKECORE_TRITON", "off")
    with torch.no_grad():
        z0, s0 = celif(cur, ctx, (v, a, c), beta=0.7, lambda_c=0.95, backend="torch")
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    assert tr.wants(cur)
    with torch.no_grad():
        z1, s1 = celif(cur, ctx, (v, a, c), beta=0.7, lambda_c=0.95)
    assert torch.equal(z0, z1)
    _close(s0, s1, 1e-6)
    # the module on the Triton route: same spikes as the reference backend
    torch.manual_seed(0)
    layer = CELIF(20, 30, gamma=2.0)
    x = (torch.rand(12, 2, 20) < 0.3).float()
    ref = CELIF(20, 30, gamma=2.0, backend="torch")
    ref.load_state_dict(layer.state_dict())
    monkeypatch.setenv("SPIKECORE_TRITON", "off")
    zr = ref(x)
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    calls = []
    k = tr.kernels("celif")
    fwd = k.CELIFFn.forward
    monkeypatch.setattr(
        k.CELIFFn, "forward", staticmethod(lambda ctx, *a: calls.append(1) or fwd(ctx, *a))
    )
    zt = layer(x)
    assert torch.equal(zr, zt) and calls == [1]
    zt.sum().backward()
    assert layer.fc.weight.grad is not None and torch.isfinite(layer.fc.weight.grad).all()


@pytest.mark.parametrize("kind,shared", [("sigmoid", False), ("gaussian", True)])
def test_celif_gradcheck_float64(monkeypatch, kind, shared):
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    sg = S.get(kind, smooth=True)
    cur, ctx, v, a, c, beta, lam = _leaves(torch.float64, seed=4, t=3, b=1, n=4)

    def f(cur, v, a, c, beta, lam, *ctx):
        z, st = celif(
            cur,
            ctx[0] if ctx else cur,
            (v, a, c),
            beta=beta,
            lambda_c=lam,
            gamma=2.0,
            beta_a=0.3,
            surrogate=sg,
        )
        return (z, *st)

    args = (cur, v, a, c, beta, lam) + (() if shared else (ctx,))
    assert torch.autograd.gradcheck(f, args, fast_mode=True)
