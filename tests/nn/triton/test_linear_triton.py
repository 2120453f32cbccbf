"""GPU spike-input linear (spikecore.nn.triton.linear), routed on CPU tensors with
SPIKECORE_TRITON=interpret: same values and gradients as F.linear, input saved as bits."""

import os

import pytest
import torch

os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

from spikecore.nn import functional as SF  # noqa: E402
from spikecore.nn.triton import linear as TL  # noqa: E402


def test_pack_unpack_roundtrip():
    x = (torch.rand(5, 13) < 0.3).float()
    bits = TL.pack_bits(x)
    assert bits.dtype == torch.uint8 and bits.shape == (5, 2)
    assert torch.equal(TL.unpack_bits(bits, 13, torch.float32), x)


def _saved_bytes(fn):
    sizes = []

    def pack(t):
        sizes.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sizes


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_dense_linear_and_saves_bits(monkeypatch, dtype):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 3, 70, generator=g) < 0.1).to(dtype)
    w = torch.randn(20, 70, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(20, generator=g, dtype=dtype, requires_grad=True)
    xr = x.clone().requires_grad_()
    ref = torch.nn.functional.linear(xr, w, b)
    gy = torch.randn(ref.shape, generator=g, dtype=dtype)
    rg = torch.autograd.grad(ref, (xr, w, b), gy)
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    xs = x.clone().requires_grad_()
    y, sizes = _saved_bytes(lambda: SF.linear(xs, w, b, spike_input=True))
    assert torch.allclose(y, ref)
    # saved: the bits (12 rows x 9 bytes) and the weight, not the float input
    assert 12 * 9 in sizes and x.numel() * x.element_size() not in sizes
    for r, t in zip(rg, torch.autograd.grad(y, (xs, w, b), gy)):
        assert torch.allclose(r, t)


def test_non_binary_input_falls_back(monkeypatch):
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    x = torch.rand(6, 10)
    w = torch.randn(4, 10, requires_grad=True)
    assert TL.spike_linear(x, w, None) is None
    assert torch.allclose(SF.linear(x, w, spike_input=True), x @ w.t())


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.float64, 1e-12)])
@pytest.mark.parametrize("R,K,O", [(12, 70, 20), (4100, 13, 3)])  # 4100 rows: 2 row chunks
def test_bit_kernels_match_dense_products(dtype, tol, R, K, O):
    """The Triton kernels reading packed spikes: forward y = x W^T + b and the weight gradient
    gy^T x against torch's dense products (K not a multiple of 8 or of the tile)."""
    g = torch.Generator().manual_seed(R)
    x = (torch.rand(R, K, generator=g) < 0.2).to(dtype)
    w = torch.randn(O, K, generator=g, dtype=dtype)
    b = torch.randn(O, generator=g, dtype=dtype)
    bits = TL.pack_bits(x)
    y = TL.bits_linear(bits, K, w, b)
    assert torch.allclose(y, x @ w.t() + b, rtol=tol, atol=tol)
    assert torch.allclose(TL.bits_linear(bits, K, w), x @ w.t(), rtol=tol, atol=tol)
    gy = torch.randn(R, O, generator=g, dtype=dtype)
    ref = gy.t() @ x
    assert torch.allclose(TL.bits_weight_grad(gy, bits, K), ref, rtol=tol, atol=tol * R**0.5)


def test_triton_weight_gradient_route(monkeypatch):
    """SPIKECORE_SPIKE_GEMM=triton: the layer's weight gradient comes from the bit kernel (same
    values as F.linear's); a bad setting is a clear error before any work."""
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(5, 3, 40, generator=g) < 0.3).double()
    w = torch.randn(9, 40, generator=g, dtype=torch.float64, requires_grad=True)
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    monkeypatch.setenv("SPIKECORE_SPIKE_GEMM", "triton")
    calls = []
    kern = TL.bits_weight_grad
    monkeypatch.setattr(TL, "bits_weight_grad", lambda *a: calls.append(1) or kern(*a))
    (gw,) = torch.autograd.grad(SF.linear(x, w, spike_input=True).square().sum(), w)
    (ref,) = torch.autograd.grad(torch.nn.functional.linear(x, w).square().sum(), w)
    assert calls == [1] and torch.allclose(gw, ref, rtol=1e-12, atol=1e-12)
    b = torch.randn(9, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda w, b: SF.linear(x[:2], w, b, spike_input=True), (w, b), fast_mode=True
    )
    assert len(calls) > 1
    monkeypatch.setenv("SPIKECORE_SPIKE_GEMM", "cuda")
    with pytest.raises(ValueError, match="SPIKECORE_SPIKE_GEMM"):
        SF.linear(x, w, spike_input=True)


def test_bit_kernels_reject_bad_input():
    x = (torch.rand(6, 13) < 0.3).float()
    bits, w = TL.pack_bits(x), torch.randn(4, 13)
    with pytest.raises(TypeError, match="bits: expected a 2-D uint8"):
        TL.bits_linear(x, 13, w)
    with pytest.raises(ValueError, match="K: 17 does not match bits of 2 bytes"):
        TL.bits_linear(bits, 17, w)
    with pytest.raises(ValueError, match=r"weight: expected shape \[out, K=13\]"):
        TL.bits_linear(bits, 13, w[:, :12])
    with pytest.raises(TypeError, match="weight: expected a float32/float64"):
        TL.bits_linear(bits, 13, w.int())
    with pytest.raises(ValueError, match=r"bias: expected shape \[out=4\]"):
        TL.bits_linear(bits, 13, w, torch.zeros(5))
    with pytest.raises(ValueError, match=r"gy: expected shape \[R=6, out\]"):
        TL.bits_weight_grad(torch.randn(5, 4), bits, 13)
