r"""NIR (Neuromorphic Intermediate Representation) export and import for feedforward models.

`NIR <https://neuroir.org>`_ describes a network as a graph of continuous-time primitives that
other simulators and chips read (snnTorch, Norse, SpikingJelly, Lava, SpiNNaker2, ...). This module
maps spikecore.nn's discrete neurons onto them with the usual forward-Euler convention (the one
snnTorch and Norse use), for a time step ``dt`` (seconds, default 1e-4):

.. math::

    \tau \dot v = (v_{leak} - v) + R\,I \;\xrightarrow{\text{Euler},\ dt}\;
    v' = \beta v + (1-\beta) v_{leak} + x, \qquad \beta = 1 - dt/\tau, \quad R = \tau/dt

=======================================  =================================================
spikecore.nn                             NIR node
=======================================  =================================================
Linear / SparseLinear (bias)             ``Affine(weight [out, in], bias)``
Linear (no bias)                         ``Linear(weight)``
LIF, ParametricLIF (scalar), NoisyLIF    ``LIF(tau = dt / (1 - beta), r = tau / dt, v_leak = v_rest,
                                         v_threshold, v_reset)``
LeakyIntegrator                          ``LI(tau, r, v_leak)`` (tau = inf for a pure integrator)
=======================================  =================================================

NIR has no soft reset and no adaptive threshold: a soft-reset LIF is exported with
``metadata = {"reset": "subtract"}`` (read back by :func:`from_nir`, ignored by other tools) and
AdaptiveLIF raises. NoisyLIF is exported as its deterministic eval-mode LIF.

:func:`from_nir` builds an ``nn.Sequential`` of spikecore.nn modules from a chain
``Input -> (Affine|Linear -> LIF|LI)* -> Output``; a LIF whose ``r`` differs from ``tau/dt``
has the factor ``r dt / tau`` folded into the preceding weights. A round trip
``from_nir(to_nir(m))`` gives the same forward pass.

Example
-------
>>> import torch, spikecore.nn as snn
>>> from spikecore.io.nir import to_nir, from_nir
>>> m = torch.nn.Sequential(snn.Linear(3, 2), snn.LIF(tau=2.0))
>>> g = to_nir(m)
>>> sorted(g.nodes)
['0', '1', 'input', 'output']
>>> type(from_nir(g)[1]).__name__
'LIF'
"""
from __future__ import annotations

import math
import os
from typing import Dict, List, Union

import numpy as np

__all__ = ["to_nir", "from_nir", "save_nir", "load_nir"]


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("spikecore.io.nir needs the 'nir' package (pip install nir)") from exc
    return nir


def _check_dt(dt) -> float:
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) \
            or dt <= 0:
        raise ValueError(f"dt: must be a finite time step > 0 (seconds), got {dt!r}")
    return float(dt)


def to_nir(model, dt: float = 1e-4):
    """Export a feedforward spikecore.nn ``nn.Sequential`` to a ``nir.NIRGraph``."""
    import spikecore.nn as snn
    from spikecore.sim.convert import parse

    nir = _nir()
    dt = _check_dt(dt)
    layers = parse(model)  # validates structure and names the offending layer
    neurons = [m for m in model.modules() if getattr(m, "spiking", None) is not None
               and hasattr(m, "beta")]
    for m in neurons:
        if isinstance(m, snn.AdaptiveLIF):
            raise ValueError("model: AdaptiveLIF has no NIR primitive (NIR has no adaptive "
                             "threshold); export supports LIF, ParametricLIF, NoisyLIF, "
                             "LeakyIntegrator")
    nodes: Dict[str, object] = {}
    edges: List[tuple] = []
    nodes["input"] = nir.Input(input_type={"input": np.array([layers[0].n_in])})
    prev = "input"
    for k, L in enumerate(layers):
        w = np.zeros((L.n, L.n_in), np.float32)
        w[L.post, L.pre] = L.weight
        syn = str(2 * k)
        if L.bias is not None:
            nodes[syn] = nir.Affine(weight=w, bias=L.bias.astype(np.float32))
        else:
            nodes[syn] = nir.Linear(weight=w)
        neu = str(2 * k + 1)
        beta = L.beta
        tau = np.full(L.n, math.inf if beta >= 1.0 else dt / (1.0 - beta))
        r = np.full(L.n, 1.0) if beta >= 1.0 else tau / dt
        v_leak = np.full(L.n, L.v_rest)
        if L.kind == "li":
            nodes[neu] = nir.LI(tau=tau, r=r, v_leak=v_leak)
        else:
            meta = {"reset": "subtract"} if L.soft_reset else {}
            nodes[neu] = nir.LIF(tau=tau, r=r, v_leak=v_leak,
                                 v_threshold=np.full(L.n, L.v_threshold),
                                 v_reset=np.full(L.n, L.v_reset), metadata=meta)
        edges += [(prev, syn), (syn, neu)]
        prev = neu
    nodes["output"] = nir.Output(output_type={"output": np.array([layers[-1].n])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt, "source": "spikecore"})


def _uniform(a, name: str, what: str) -> float:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.all(a == a[0]):
        raise ValueError(f"graph: node {name!r} has per-neuron {what}; spikecore.nn layers take "
                         "one value per layer")
    return float(a[0])


def from_nir(graph, dt: float = 1e-4):
    """Build an ``nn.Sequential`` of spikecore.nn modules from a NIR graph (or a file path)."""
    import torch

    import spikecore.nn as snn

    nir = _nir()
    dt = _check_dt(dt)
    if isinstance(graph, (str, os.PathLike)):
        graph = nir.read(graph)
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph: expected a nir.NIRGraph or a path, got {type(graph).__name__}")
    succ: Dict[str, List[str]] = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    starts = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(starts) != 1:
        raise ValueError(f"graph: needs exactly one Input node, found {len(starts)}")
    chain, node, seen = [], starts[0], set()
    while True:
        nxt = succ.get(node, [])
        if len(nxt) != 1:
            raise ValueError(f"graph: node {node!r} has {len(nxt)} successors; only feedforward "
                             "chains can be imported")
        node = nxt[0]
        if node in seen:
            raise ValueError("graph: has a cycle; only feedforward chains can be imported")
        seen.add(node)
        if isinstance(graph.nodes[node], nir.Output):
            break
        chain.append(node)
    mods: List[torch.nn.Module] = []
    pending = None  # (weight [out, in], bias or None)
    for name in chain:
        n = graph.nodes[name]
        if isinstance(n, (nir.Affine, nir.Linear)):
            if pending is not None:
                raise ValueError(f"graph: node {name!r} follows another synaptic node")
            w = np.asarray(n.weight, np.float32)
            b = np.asarray(n.bias, np.float32) if isinstance(n, nir.Affine) else None
            if w.ndim != 2:
                raise ValueError(f"graph: node {name!r} weight must be 2-D, got {w.shape}")
            pending = (w, b)
            continue
        if not isinstance(n, (nir.LIF, nir.LI)):
            raise ValueError(f"graph: node {name!r} is a {type(n).__name__}; importable: Affine, "
                             "Linear, LIF, LI")
        if pending is None:
            raise ValueError(f"graph: neuron node {name!r} has no synaptic node before it")
        w, b = pending
        pending = None
        tau = _uniform(n.tau, name, "tau")
        r = np.asarray(n.r, np.float64).reshape(-1)
        if not (tau > 0):
            raise ValueError(f"graph: node {name!r} has tau <= 0")
        if math.isinf(tau):
            tau_steps, gain = math.inf, r
        else:
            tau_steps = tau / dt
            if tau_steps <= 1.0:
                raise ValueError(f"graph: node {name!r} has tau/dt = {tau_steps:g} <= 1 at "
                                 f"dt = {dt:g}; pass the graph's time step as dt")
            gain = r * dt / tau
        if not np.allclose(gain, 1.0, rtol=1e-6):
            w = (w * gain[:, None].astype(np.float32)) if gain.size > 1 else w * np.float32(gain[0])
            if b is not None:
                b = b * gain.astype(np.float32)
        lin = snn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            if b is not None:
                lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
        mods.append(lin)
        v_leak = _uniform(n.v_leak, name, "v_leak")
        if isinstance(n, nir.LI):
            mods.append(snn.LeakyIntegrator(tau=tau_steps, v_rest=v_leak))
        else:
            soft = (getattr(n, "metadata", None) or {}).get("reset") == "subtract"
            v_th = _uniform(n.v_threshold, name, "v_threshold")
            v_reset = 0.0 if n.v_reset is None else _uniform(n.v_reset, name, "v_reset")
            mods.append(snn.LIF(tau=tau_steps, v_threshold=v_th,
                                v_reset=None if soft else v_reset, v_rest=v_leak))
    if pending is not None:
        raise ValueError("graph: ends with a synaptic node; add a LIF or LI node before Output")
    if not mods:
        raise ValueError("graph: has no layers between Input and Output")
    return torch.nn.Sequential(*mods)


def save_nir(model, path: Union[str, os.PathLike], dt: float = 1e-4) -> None:
    """Export ``model`` (see :func:`to_nir`) and write it as a NIR HDF5 file."""
    _nir().write(path, to_nir(model, dt=dt))


def load_nir(path: Union[str, os.PathLike], dt: float = 1e-4):
    """Read a NIR file and build the spikecore.nn model (see :func:`from_nir`)."""
    return from_nir(path, dt=dt)
