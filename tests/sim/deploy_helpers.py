"""Shared helpers of the from_torch tests (test_convert.py, test_variants_deploy.py)."""

import torch


def inputs(T, n, rate, seed):
    """Bernoulli spike input [T, 1, n] of the given rate, seeded."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, 1, n, generator=g) < rate).float()


def torch_layers(model, x):
    """Outputs of every neuron layer (modules with ``spiking``) of the torch forward, [T, n]."""
    outs, h = [], x
    with torch.no_grad():
        for m in model:
            h = m(h)
            if hasattr(m, "spiking"):
                outs.append(h[:, 0].numpy())
    return outs
