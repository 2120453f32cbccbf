"""from_torch deploys spikecore.nn.Recurrent layers: the population projects onto itself with a
one-step delay, and the engine reproduces the torch forward at batch 1 spike for spike."""

import numpy as np
import pytest
import torch
from deploy_helpers import inputs as _inputs
from deploy_helpers import torch_layers as _torch_layers

import spikecore.nn as snn
from spikecore.sim import from_torch


def _dyadic(model, scale=1.0):
    # multiples of 2^-8: every partial sum is exact in float32, whatever the summation order
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") or name.endswith("weight_rec"):
                q = torch.randint(-96, 160, p.shape, generator=g) / 256.0 * scale
                p.copy_(q * (p != 0) if name.endswith("weight_rec") else q)
            elif name.endswith("bias"):
                p.copy_(torch.randint(-16, 16, p.shape, generator=g) / 256.0)
    return model


def _check(model, x):
    model.eval()
    ref = _torch_layers(model, x)
    res = from_torch(model).run(x)
    assert len(res.spikes) == len(ref)
    for a, b in zip(res.spikes, ref):
        assert a.shape == b.shape and np.array_equal(a, b)
    assert sum(s.sum() for s in ref) > 20
    return res


@pytest.mark.parametrize(
    "neuron",
    [
        lambda: snn.LIF(tau=3.0),
        lambda: snn.LIF(tau=2.0, v_reset=None),
        lambda: snn.ParametricLIF(tau=4.0),
        lambda: snn.AdaptiveLIF(tau=3.0, tau_a=20.0, beta_a=0.25),
        lambda: snn.NoisyLIF(tau=2.0, sigma=0.3),
    ],
)
@pytest.mark.parametrize("density", [1.0, 0.3])
def test_recurrent_layer_deploys_exactly(neuron, density):
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        snn.Recurrent(40, 30, neuron(), recurrent_density=density, seed=3),
        snn.Linear(30, 12),
        snn.LIF(tau=2.0),
    )
    _dyadic(model, 1.5)
    x = _inputs(40, 40, 0.2, 2)
    _check(model, x)
    # the recurrence matters: without it the spikes differ
    dep = from_torch(model).run(x)
    with torch.no_grad():
        model[0].weight_rec.zero_()
    assert not np.array_equal(from_torch(model).run(x).spikes[0], dep.spikes[0])


def test_two_recurrent_layers_and_synops():
    torch.manual_seed(2)
    model = torch.nn.Sequential(
        snn.Linear(30, 20),
        snn.LIF(tau=2.0),
        snn.Recurrent(20, 25, snn.LIF(tau=3.0), recurrent_density=0.5, self_connections=False),
        snn.Recurrent(25, 10, snn.AdaptiveLIF(tau=2.0, tau_a=10.0)),
    )
    _dyadic(model, 2.0)
    x = _inputs(30, 30, 0.25, 4)
    res = _check(model, x)
    ref = _torch_layers(model.eval(), x)
    # SynOps: input, feedforward and recurrent events (spikes of steps 0..T-2 onto the layer)
    w = [model[0].weight, model[2].weight, model[3].weight]
    deg = [(m != 0).sum(0).numpy() for m in w]
    rec = [(model[k].effective_weight_rec() != 0).sum(0).detach().numpy() for k in (2, 3)]
    want = x[:, 0].sum(0).numpy() @ deg[0] + ref[0].sum(0) @ deg[1] + ref[1].sum(0) @ deg[2]
    want += ref[1][:-1].sum(0) @ rec[0] + ref[2][:-1].sum(0) @ rec[1]
    assert res.synops == int(want)
