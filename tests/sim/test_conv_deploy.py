"""from_torch deploys spikecore.nn convolutional networks (issue 16): the engine's spikes equal
the torch forward's at batch 1 (time folded into the batch for the synaptic layers)."""

import numpy as np
import pytest
import torch
from torch import nn

import spikecore.nn as snn
from spikecore.sim import from_torch


def _forward(model, x):
    """Torch forward at batch 1, x [T, 1, ...]: synaptic layers per step, neurons over time;
    returns each neuron layer's spikes [T, n]."""
    T, outs = x.shape[0], []
    with torch.no_grad():
        for m in model:
            if callable(getattr(m, "spec", None)):
                x = m(x)
                outs.append(x.reshape(T, -1).numpy())
            else:
                y = m(x.reshape((T,) + tuple(x.shape[2:])))
                x = y.reshape((T, 1) + tuple(y.shape[1:]))
    return outs


def _dyadic(model):
    """Weights on a 1/64 grid: every partial sum is exact in float32, so any summation order
    gives the same membranes."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.round(p * 64) / 64)
    for m in model.modules():
        if hasattr(m, "sync"):
            m.sync()
    return model


def _net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        snn.LIF(tau=2.0, v_threshold=0.3),
        nn.AvgPool2d(2),
        snn.SparseConv2d(4, 6, 3, padding=1, density=0.5, seed=seed),
        snn.LIF(tau=3.0, v_reset=None, v_threshold=0.2),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 10),
        snn.AdaptiveLIF(tau=2.0, v_threshold=0.2),
        snn.Linear(10, 3),
        snn.LeakyIntegrator(tau=4.0),
    ).eval()


@pytest.mark.parametrize("dyadic", [True, False])
def test_conv_net_engine_equals_torch(dyadic):
    model = _net(1)
    if dyadic:
        _dyadic(model)
    dep = from_torch(model, input_shape=(2, 8, 8))
    g = torch.Generator().manual_seed(2)
    flips = total = 0
    for _ in range(3):
        x = (torch.rand(10, 1, 2, 8, 8, generator=g) < 0.3).float()
        ref = _forward(model, x)
        r = dep.run(x)
        for z, zr in zip(r.spikes, ref[:-1]):
            flips += int((z != zr).sum())
            total += z.size
        assert all(zr.sum() > 0 for zr in ref[:-1])  # every spiking layer is active
        np.testing.assert_allclose(r.output, ref[-1], rtol=0, atol=1e-5 if not dyadic else 0)
        # SynOps = spikes x out-degree of every layer (input included)
        deg = [L.out_degree for L in dep.layers]
        want = int(x.reshape(10, -1).numpy().sum(0) @ deg[0])
        want += sum(int(z.sum(0) @ d) for z, d in zip(r.spikes, deg[1:]))
        assert r.synops == want > 0
    if dyadic:
        assert flips == 0
    else:
        assert flips <= 1e-3 * total


def test_conv_deploy_input_shapes_and_errors():
    model = _net(3)
    dep = from_torch(model, input_shape=(2, 8, 8))
    x = (torch.rand(4, 2, 8, 8) < 0.3).float()
    a, b = dep.run(x), dep.run(x.reshape(4, 1, 2, 8, 8))
    assert np.array_equal(a.output, b.output)
    assert np.array_equal(dep.run(x.reshape(4, -1)).output, a.output)
    with pytest.raises(ValueError, match="^input_shape: required"):
        from_torch(model)
    with pytest.raises(ValueError, match="do not apply to inputs of shape"):
        from_torch(model, input_shape=(3, 8, 8))
    pool = nn.Sequential(
        nn.Conv2d(1, 2, 3), snn.LIF(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2, 2), snn.LIF()
    ).eval()
    with pytest.raises(ValueError, match=r"layer 2 \(MaxPool2d\).*AvgPool2d"):
        from_torch(pool, input_shape=(1, 4, 4))
