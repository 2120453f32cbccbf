"""Deploying a NIR graph to the event engine (``spikecore.sim.from_nir``, also
``spikecore.io.nir.deploy_nir``): the graph is imported by :func:`spikecore.io.nir.from_nir`
and deployed by :func:`spikecore.sim.convert.from_torch`."""

from __future__ import annotations

import os

import torch

from spikecore.nn._nir_import import PerStep, Reshape, _nir, _read_file, _shape_of, from_nir

__all__ = ["deploy_nir"]


def deploy_nir(graph, dt: float = 1e-4, peer: str = "nir", *, n_threads: int = 1):
    """Deploy a NIR graph (or file path) to the event engine: :func:`from_nir`, then
    ``spikecore.sim.from_torch``. The graph must import as a chain of synapse + LIF / IF /
    Threshold layers with one tau per layer, optionally ending in an LI / I readout (what the
    engine's populations take); per-neuron thresholds are folded into the weights. Synapse
    stages may be convolutional (Conv2d, AvgPool2d, Flatten, then Affine / Linear): they deploy
    as explicit synapses, with the graph's Input shape as ``input_shape``.
    Also available as ``spikecore.sim.from_nir``."""
    from spikecore.sim.convert import from_torch

    nir = _nir()
    if isinstance(graph, (str, os.PathLike)):
        graph = _read_file(graph)
    model = from_nir(graph, dt=dt, peer=peer)
    if not isinstance(model, torch.nn.Sequential):
        raise ValueError(
            "graph: has branches or skips; the engine deploys chains only "
            "(use from_nir for the torch model)"
        )
    layers, shape = _engine_layers(model), None
    if any(isinstance(m, (torch.nn.Conv2d, torch.nn.AvgPool2d)) for m in layers):
        shape = next(_shape_of(n) for n in graph.nodes.values() if isinstance(n, nir.Input))
    return from_torch(torch.nn.Sequential(*layers).eval(), n_threads=n_threads, input_shape=shape)


def _engine_layers(model) -> list:
    """The imported chain in the form from_torch deploys: per-step Conv2d / AvgPool2d as the
    torch layers themselves (from_torch folds time into the batch), a flattening Reshape as
    ``torch.nn.Flatten``; anything else unchanged (from_torch names what it cannot place)."""
    out: list = []
    for m in model:
        if isinstance(m, PerStep) and isinstance(m.module, (torch.nn.Conv2d, torch.nn.AvgPool2d)):
            out.append(m.module)
        elif isinstance(m, Reshape) and len(m.shape) == 1:
            out.append(torch.nn.Flatten())
        else:
            out.append(m)
    return out


# ---- recurrent subgraphs: LIF -> Linear/Affine (W_rec) -> LIF --------------------------------
