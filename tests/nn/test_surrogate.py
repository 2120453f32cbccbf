import pytest
import torch

from spikecore.nn import surrogate

torch.set_num_threads(1)


@pytest.mark.parametrize("name", surrogate.NAMES)
@pytest.mark.parametrize("alpha", [None, 0.7, 3.0])
def test_grad_matches_numerical_derivative_of_cdf(name, alpha):
    s = surrogate.get(name, alpha)
    x = torch.linspace(-4, 4, 2001, dtype=torch.float64)
    h = 1e-6
    num = (s.cdf(x + h) - s.cdf(x - h)) / (2 * h)
    ana = s.grad(x)
    # piecewise surrogates have kinks; skip points within h of them
    kinks = {"triangle": [0.0, 1.0, -1.0], "rectangle": [0.5, -0.5]}.get(s.name, [])
    ok = torch.ones_like(x, dtype=torch.bool)
    for k in kinks:
        ok &= (s.alpha * x - k).abs() > 1e-4
    assert torch.allclose(num[ok], ana[ok], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", surrogate.NAMES)
def test_cdf_is_a_distribution_with_unit_area(name):
    s = surrogate.get(name)
    x = torch.linspace(-200, 200, 400001, dtype=torch.float64)
    assert float(s.cdf(torch.tensor(-1e4, dtype=torch.float64))) == pytest.approx(0, abs=1e-3)
    assert float(s.cdf(torch.tensor(1e4, dtype=torch.float64))) == pytest.approx(1, abs=1e-3)
    area = torch.trapezoid(s.grad(x), x)
    assert float(area) == pytest.approx(1.0, abs=2e-3)
    assert float(s.cdf(torch.tensor(0.0, dtype=torch.float64))) == pytest.approx(0.5)


@pytest.mark.parametrize("name", surrogate.NAMES)
def test_spike_forward_is_heaviside_and_backward_is_grad(name):
    s = surrogate.get(name)
    x = torch.tensor([-1.0, -0.1, 0.0, 0.1, 1.0], dtype=torch.float64, requires_grad=True)
    z = s(x)
    assert z.tolist() == [0, 0, 1, 1, 1]
    z.sum().backward()
    assert torch.allclose(x.grad, s.grad(x.detach()))


def test_smooth_mode_emits_cdf():
    s = surrogate.get("sigmoid", 2.0, smooth=True)
    x = torch.randn(10, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(s(x), torch.sigmoid(2 * x))
    assert torch.autograd.gradcheck(lambda a: surrogate.spike(a, s), (x,))


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="surrogate.*valid names: atan, sigmoid"):
        surrogate.get("relu")
    with pytest.raises(TypeError, match="surrogate"):
        surrogate.get(3)
    with pytest.raises(ValueError, match="alpha"):
        surrogate.get("atan", -1.0)


@pytest.mark.parametrize("name", surrogate.NOISES)
def test_noise_surrogate_is_noise_cdf_and_monte_carlo_mean(name):
    from spikecore.nn.functional import sample_noise

    sigma = 0.3
    s = surrogate.noise(name, sigma)
    g = torch.Generator().manual_seed(1)
    eps = sample_noise(name, sigma, (200000,), dtype=torch.float64, generator=g)
    for x in (-0.3, -0.1, 0.0, 0.15, 0.4):
        p = float(((x + eps) >= 0).double().mean())
        assert p == pytest.approx(float(s.cdf(torch.tensor(x, dtype=torch.float64))), abs=4e-3)
    if name == "gaussian":
        assert float(eps.std()) == pytest.approx(sigma, rel=0.02)


def test_noise_bad_input():
    with pytest.raises(ValueError, match="noise.*valid noises: gaussian, logistic"):
        surrogate.noise("poisson", 0.3)
    with pytest.raises(ValueError, match="sigma"):
        surrogate.noise("gaussian", 0.0)
    with pytest.raises(ValueError, match="sigma"):
        surrogate.noise("gaussian", -1.0)
