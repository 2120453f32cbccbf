"""Conversion neurons: claim 1 (one STDI layer is the quantiser), C++ kernel == torch reference."""

import pytest
import torch

from spikecore.nn import _conversion_kernels as K
from spikecore.nn.conversion import IFNeuron, STDINeuron, if_reference, stdi_reference, stdi_value

needs_cpp = pytest.mark.skipif(not K.usable(torch.zeros(1))[0], reason="C++ kernels not built")


@pytest.mark.parametrize("backend", ["torch", pytest.param("cpp", marks=needs_cpp)])
@pytest.mark.parametrize("T", [1, 2, 4, 5, 8, 12])
def test_claim1_stdi_layer_is_the_quantiser(T, backend):
    g = torch.Generator().manual_seed(T)
    a = torch.cat([torch.rand(20000, generator=g), torch.arange(2 ** min(T, 10)) / 2 ** min(T, 10)])
    x = a.expand(T, -1).contiguous().unsqueeze(1)
    n = STDINeuron(1.0, rounding=False, backend=backend)
    with torch.no_grad():
        y = n.value(n(x)).mean(0).flatten()
    assert (y - torch.floor(a * 2**T) / 2**T).abs().max() < 1e-6
    # rounding mode: the QCFS quantiser with L = 2^T - 1 and clip lambda
    lam, L = 1.7, 2**T - 1
    z = torch.rand(5000, generator=g) * 2.4 - 0.2
    n = STDINeuron(lam * 2**T / L, backend=backend)
    y = n.value(n(z.expand(T, -1).contiguous().unsqueeze(1))).mean(0).flatten()
    q = lam * torch.clamp(torch.floor(z * L / lam + 0.5) / L, 0, 1)
    assert (y - q).abs().max() < 1e-5


@needs_cpp
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("slope", [None, 0.1, 0.5])
def test_kernels_equal_reference(dtype, slope):
    g = torch.Generator().manual_seed(0)
    for T in (1, 3, 6):
        x = torch.randn(T, 4, 33, generator=g, dtype=dtype)
        th = torch.rand(33, generator=g, dtype=dtype) + 0.2
        for D in (None, 1, T):
            for rnd in (True, False):
                ref = stdi_reference(x, th, D, rnd, slope)
                got = STDINeuron(th, D, rnd, slope, backend="cpp")(x)
                assert torch.equal(ref, got), (T, D, rnd)
        for v0 in (0.0, 0.5):
            assert torch.equal(
                if_reference(x, th, v0, slope), IFNeuron(th, v0, slope, backend="cpp")(x)
            )


def test_signed_stdi_codes_leaky_relu():
    T, alpha = 6, 0.25
    z = torch.linspace(-3, 1, 4001)
    y = stdi_value(stdi_reference(z.expand(T, -1).contiguous(), 1.0, negative_slope=alpha), 1.0)
    y = y.mean(0)
    want = torch.where(z >= 0, z, alpha * z).clamp(-(1 - 2**-T), 1 - 2**-T)
    assert (y - want).abs().max() <= 2 ** -(T + 1) + 1e-6


def test_if_rate_converges():
    a = torch.rand(1000)
    for T, tol in ((8, 1 / 8), (256, 1 / 256)):
        z = if_reference(a.expand(T, -1).contiguous(), 1.0, 0.5)
        assert (z.mean(0) - a).abs().max() <= tol + 1e-6
    # signed IF: negative side with slope alpha
    x = -torch.rand(1000)
    z = if_reference(x.expand(64, -1).contiguous(), 1.0, 0.0, negative_slope=0.5)
    assert (z.mean(0) - 0.5 * x).abs().max() <= 1 / 64 + 1e-6


def test_delay_less_than_T_is_causal():
    T = 4
    x = torch.zeros(T, 1, 1)
    x[3] = 0.9 * T  # arrives after bit 0 is decided when D = 1
    z = stdi_reference(x, 1.0, delay=1, rounding=False)
    assert z[0].item() == 0


def test_bad_input():
    with pytest.raises(ValueError, match="v_threshold"):
        STDINeuron(0.0)
    with pytest.raises(ValueError, match="v_threshold"):
        IFNeuron(torch.tensor([1.0, float("nan")]))
    with pytest.raises(ValueError, match="negative_slope"):
        IFNeuron(1.0, negative_slope=-0.1)
    with pytest.raises(ValueError, match="delay"):
        STDINeuron(1.0, delay=0)
    with pytest.raises(ValueError, match="delay"):
        STDINeuron(1.0, delay=5)(torch.zeros(3, 1, 2))
    with pytest.raises(ValueError, match="v0"):
        IFNeuron(1.0, v0=1.5)
    with pytest.raises(ValueError, match="NaN"):
        STDINeuron(1.0)(torch.full((2, 1, 2), float("nan")))
    assert not STDINeuron(1.0)(torch.zeros(2, 1, 2, requires_grad=True)).requires_grad
