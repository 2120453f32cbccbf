"""Small networks learn (surrogate gradients and NDL) on the C++ path."""
import pytest
import torch

from spikecore import nn as snn


def _task(n=256, T=12, seed=0):
    # two classes of rate-coded inputs: class k fires the k-th half of the inputs more often
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    rate = torch.full((n, 20), 0.1)
    rate[y == 0, :10] = 0.4
    rate[y == 1, 10:] = 0.4
    x = (torch.rand(T, n, 20, generator=g) < rate).float()
    return x, y


@pytest.mark.parametrize("neuron", ["lif", "noisy", "alif", "plif"])
def test_small_snn_learns(neuron):
    torch.manual_seed(0)
    make = {"lif": lambda: snn.LIF(), "noisy": lambda: snn.NoisyLIF(sigma=0.3),
            "alif": lambda: snn.AdaptiveLIF(tau_a=20.0), "plif": lambda: snn.ParametricLIF()}
    model = torch.nn.Sequential(snn.Linear(20, 32), make[neuron](), snn.Linear(32, 2),
                                snn.LeakyIntegrator())
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    x, y = _task()
    for _ in range(40):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).mean(0), y)
        loss.backward()
        opt.step()
    model.eval()
    xt, yt = _task(seed=1)
    with torch.no_grad():
        acc = (model(xt).mean(0).argmax(1) == yt).float().mean()
    assert acc > 0.9
