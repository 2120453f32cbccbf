"""Triton kernels (spikecore.nn.triton) against the pure-torch reference, in Triton's interpreter
on CPU tensors (SPIKECORE_TRITON=interpret): forward to float tolerance (spikes exactly),
surrogate gradients to float tolerance, exact gradients with gradcheck in float64 (smooth mode)."""

import os

import pytest
import torch

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported
pytest.importorskip("triton")

from spikecore.nn import functional as F  # noqa: E402
from spikecore.nn import surrogate as S  # noqa: E402
from spikecore.nn import triton as tr  # noqa: E402

T, B, N = 7, 3, 45  # 135 neurons: two programs of 128, the second partly masked


@pytest.fixture
def interpret(monkeypatch):
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    assert tr.wants(torch.zeros(1))
    yield


def _inputs(dtype=torch.float32, seed=0, scale=1.2):
    g = torch.Generator().manual_seed(seed)
    x = (scale * torch.rand(T, B, N, generator=g, dtype=dtype)).requires_grad_()
    v = (0.5 * torch.rand(B, N, generator=g, dtype=dtype)).requires_grad_()
    beta = (0.5 + 0.4 * torch.rand(N, generator=g, dtype=dtype)).requires_grad_()
    return x, v, beta


def _both(fn, monkeypatch, *leaves, **kw):
    """(outputs, grads) from the reference (backend='torch') and the Triton route."""
    res = []
    for route in ("torch", "triton"):
        for t in leaves:
            t.grad = None
        if route == "triton":
            monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
            out = fn(backend="auto", **kw)
        else:
            monkeypatch.setenv("SPIKECORE_TRITON", "off")
            out = fn(backend="torch", **kw)
        flat = [o for o in _flatten(out)]
        w = torch.linspace(-1, 1, flat[0].numel(), dtype=flat[0].dtype).reshape(flat[0].shape)
        loss = (flat[0] * w).sum() + sum((o * (k + 2)).sum() for k, o in enumerate(flat[1:]))
        loss.backward()
        res.append(([o.detach().clone() for o in flat], [t.grad.clone() for t in leaves]))
    return res


def _flatten(o):
    if isinstance(o, (tuple, list)):
        for i in o:
            yield from _flatten(i)
    else:
        yield o


def _close(a, b, tol=1e-5):
    for x, y in zip(a, b):
        assert torch.allclose(x, y, rtol=tol, atol=tol), (x - y).abs().max()


@pytest.mark.parametrize("kind", S.NAMES)
@pytest.mark.parametrize("v_reset,detach", [(0.0, False), (None, False), (0.1, True)])
def test_lif_matches_reference(monkeypatch, kind, v_reset, detach):
    x, v, beta = _inputs()
    (ro, rg), (to, tg) = _both(
        lambda **kw: F.lif(
            x, v, beta=beta, v_reset=v_reset, surrogate=kind, detach_reset=detach, v_rest=0.05, **kw
        ),
        monkeypatch,
        x,
        v,
        beta,
    )
    assert torch.equal(ro[0], to[0]) and 0 < ro[0].mean() < 1  # spikes bit for bit
    _close(ro[1:], to[1:])
    _close(rg, tg, 1e-4)


@pytest.mark.parametrize("noise", ["gaussian", "uniform"])
def test_noisy_lif_matches_reference_with_bits(monkeypatch, noise):
    x, v, beta = _inputs(seed=1)
    eps = 0.3 * torch.randn(T, B, N, generator=torch.Generator().manual_seed(5))
    (ro, rg), (to, tg) = _both(
        lambda **kw: F.noisy_lif(x, v, beta=beta, noise=noise, sigma=0.3, eps=eps, **kw),
        monkeypatch,
        x,
        v,
        beta,
    )
    assert torch.equal(ro[0], to[0])
    _close(ro[1:], to[1:])
    _close(rg, tg, 1e-4)


@pytest.mark.parametrize("v_reset", [0.0, None])
def test_alif_matches_reference(monkeypatch, v_reset):
    x, v, beta = _inputs(seed=2)
    a = (0.2 * torch.rand(B, N, dtype=x.dtype)).requires_grad_()
    (ro, rg), (to, tg) = _both(
        lambda **kw: F.alif(
            x, (v, a), beta=beta, rho=0.9, beta_a=0.3, v_reset=v_reset, surrogate="triangle", **kw
        ),
        monkeypatch,
        x,
        v,
        a,
        beta,
    )
    assert torch.equal(ro[0], to[0])
    _close(ro[1:], to[1:])
    _close(rg, tg, 1e-4)


def test_leaky_integrator_matches_reference(monkeypatch):
    x, v, beta = _inputs(seed=3)
    (ro, rg), (to, tg) = _both(
        lambda **kw: F.leaky_integrator(x, v, beta=beta, **kw), monkeypatch, x, v, beta
    )
    _close(ro, to)
    _close(rg, tg)


def test_inference_path_and_scalar_beta(monkeypatch, interpret):
    x, v, _ = _inputs(seed=4)
    with torch.no_grad():
        z, vT = F.lif(x, v, beta=0.8)
    monkeypatch.setenv("SPIKECORE_TRITON", "off")
    with torch.no_grad():
        z0, vT0 = F.lif(x, v, beta=0.8, backend="torch")
    assert torch.equal(z, z0) and torch.allclose(vT, vT0, atol=1e-6)


def _small(dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (1.2 * torch.rand(3, 1, 4, generator=g, dtype=dtype)).requires_grad_()
    v = (0.5 * torch.rand(1, 4, generator=g, dtype=dtype)).requires_grad_()
    beta = (0.5 + 0.4 * torch.rand(4, generator=g, dtype=dtype)).requires_grad_()
    return x, v, beta


@pytest.mark.parametrize(
    "kind,v_reset", [("sigmoid", 0.0), ("fast_sigmoid", None), ("gaussian", 0.0)]
)
def test_lif_gradcheck_float64(interpret, kind, v_reset):
    sg = S.get(kind, smooth=True)
    x, v, beta = _small()
    assert torch.autograd.gradcheck(
        lambda x, v, b: F.lif(x, v, beta=b, v_reset=v_reset, surrogate=sg),
        (x, v, beta),
        fast_mode=True,
    )


def test_alif_and_li_gradcheck_float64(interpret):
    sg = S.get("sigmoid", smooth=True)
    x, v, beta = _small(seed=1)
    a = (0.2 * torch.rand(1, 4, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, v, a, b: tuple(
            _flatten(F.alif(x, (v, a), beta=b, rho=0.9, beta_a=0.3, v_reset=None, surrogate=sg))
        ),
        (x, v, a, beta),
        fast_mode=True,
    )
    assert torch.autograd.gradcheck(
        lambda x, v, b: F.leaky_integrator(x, v, beta=b), (x, v, beta), fast_mode=True
    )


def test_routing(monkeypatch):
    monkeypatch.setenv("SPIKECORE_TRITON", "off")
    assert not tr.wants(torch.zeros(1))
    monkeypatch.setenv("SPIKECORE_TRITON", "auto")
    assert not tr.wants(torch.zeros(1))  # CPU tensors keep the C++ kernels
    assert not tr.wants(torch.zeros(1, dtype=torch.int64))
    monkeypatch.setenv("SPIKECORE_TRITON", "bogus")
    with pytest.raises(ValueError, match="SPIKECORE_TRITON"):
        tr.wants(torch.zeros(1))
