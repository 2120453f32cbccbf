"""HebbFF plastic recurrence: Triton kernels (interpreter, CPU tensors) against the reference."""

import os

import pytest
import torch

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported
pytest.importorskip("triton")

from spikecore.models.hebbff import hebbff_plastic, hebbff_plastic_reference  # noqa: E402


def _inputs(T, B, d, N, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(T, B, d, generator=g, dtype=dtype).requires_grad_()
    W1 = (torch.randn(N, d, generator=g, dtype=dtype) / d**0.5).requires_grad_()
    b1 = (0.1 * torch.randn(N, generator=g, dtype=dtype)).requires_grad_()
    eta = torch.tensor(-0.3, dtype=dtype, requires_grad=True)
    lam = torch.tensor(0.9, dtype=dtype, requires_grad=True)
    return x, W1, b1, eta, lam


@pytest.mark.parametrize("T,B,d,N", [(7, 2, 6, 5), (10, 1, 130, 40)])
def test_forward_and_gradients_match_reference(monkeypatch, T, B, d, N):
    # T = 7 and 10: checkpoint segments of 2 and 3 steps, the last one partial; d = 130 (padded
    # to 256) gives row blocks of 16, so N = 40 spans three whose input gradients are summed
    from spikecore.models import hebbff_triton as ht

    calls = []
    fwd = ht.HebbFFTriton.forward
    monkeypatch.setattr(
        ht.HebbFFTriton, "forward", staticmethod(lambda ctx, *a: calls.append(1) or fwd(ctx, *a))
    )
    assert ht._blocks(N, d)[0] < N or d < 100
    leaves = _inputs(T, B, d, N, torch.float64)
    w = torch.randn(T, B, N, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    res = []
    for mode in ("off", "interpret"):
        monkeypatch.setenv("SPIKECORE_TRITON", mode)
        for t in leaves:
            t.grad = None
        a = hebbff_plastic(*leaves)
        (a * w).sum().backward()
        res.append((a.detach(), [t.grad.clone() for t in leaves]))
    (ra, rg), (ta, tg) = res
    assert len(calls) == 1  # the Triton route ran once, the reference once
    assert torch.allclose(ra, ta, rtol=1e-10, atol=1e-12)
    for name, r, t in zip(("x", "W1", "b1", "eta", "lam"), rg, tg):
        assert torch.allclose(r, t, rtol=1e-9, atol=1e-11), name
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    with torch.no_grad():  # inference path (no checkpoints)
        assert torch.allclose(hebbff_plastic(*leaves), ra, rtol=1e-10, atol=1e-12)


def test_gradcheck_float64(monkeypatch):
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    assert torch.autograd.gradcheck(
        hebbff_plastic, _inputs(5, 1, 3, 2, torch.float64), fast_mode=True
    )


def test_float32_close_to_reference(monkeypatch):
    x, W1, b1, eta, lam = (t.detach() for t in _inputs(6, 2, 8, 4, torch.float32))
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    from spikecore.models import hebbff_triton as ht

    calls = []
    fwd = ht.hebbff_plastic
    monkeypatch.setattr(ht, "hebbff_plastic", lambda *a: calls.append(1) or fwd(*a))
    a = hebbff_plastic(x, W1, b1, float(eta), float(lam))  # plain floats route too
    assert calls == [1]
    assert torch.allclose(a, hebbff_plastic_reference(x, W1, b1, eta, lam), atol=1e-5)
