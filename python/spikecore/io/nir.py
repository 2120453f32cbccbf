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

LIF with no leak (tau = inf, v_rest = 0, hard reset)  ``IF(r = 1/dt, v_threshold, v_reset)``
LeakyIntegrator with tau = inf                         ``I(r = 1/dt)``

NIR has no soft reset and no adaptive threshold: a soft-reset LIF is exported with
``metadata = {"reset": "subtract"}`` (read back by :func:`from_nir`, ignored by other tools) and
AdaptiveLIF raises. NoisyLIF is exported as its deterministic eval-mode LIF.

:func:`from_nir` reads Input, Output, Affine, Linear, Scale, Flatten, Conv1d, Conv2d, AvgPool2d,
SumPool2d, Delay, IF, I, LI, LIF, CubaLI, CubaLIF and Threshold nodes in any feedforward graph
(convolutions and pooling run per step through ``PerStep``; Delay shifts each feature by
``delay / dt`` whole steps, ``Delay``). A neuron's input gain (``r dt / tau``;
``r dt`` for IF / I; ``w_in dt / tau_syn`` for the synaptic stage of CubaLI(F)) is folded into
the preceding Affine / Linear. Per-neuron ``tau`` gives a ``ParametricLIF(channels=n)``;
per-neuron ``v_threshold`` is normalised to 1 by dividing the neuron's input gain, ``v_leak``
and ``v_reset`` by it (the spikes are unchanged). CubaLI(F) becomes a ``LeakyIntegrator``
(the current, tau_syn) followed by the LI / LIF membrane. Threshold is a memoryless
:math:`z = H(x - \vartheta)`. A chain gives an ``nn.Sequential``; branches and skips give a
module that runs the nodes in topological order and sums the inputs of a merging node.

Peers (``peer=``; tested spike for spike against the installed libraries, see docs/interop.md):
``"nir"`` / ``"snntorch"`` / ``"spikingjelly"`` follow the NIR definitions above (snnTorch's
importer assumes dt = 1e-4). ``"norse"``: Norse's exporter writes ``tau = dt * tau_mem`` (not
seconds), so :func:`from_nir` divides tau by dt; Norse's importer ignores ``r`` (it assumes
r = 1), so :func:`to_nir` writes ``r = 1`` with ``tau/dt`` folded into the Affine.

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
from typing import Any, Dict, List, Union

import numpy as np
import torch

# the importer lives below sim (spikecore.nn._nir_import) and the engine deployment in sim
# (spikecore.sim.nir); this module is the public home of both, with the exporter
from spikecore.nn._nir_import import (  # noqa: F401 - re-exported
    Delay,
    PerStep,
    Reshape,
    SumPool2d,
    _check_dt,
    _check_peer,
    _nir,
    _pair,
    from_nir,
)
from spikecore.sim.nir import deploy_nir  # noqa: F401 - re-exported

__all__ = ["to_nir", "from_nir", "save_nir", "load_nir"]


def to_nir(model, dt: float = 1e-4, peer: str = "nir", input_shape=None):
    """Export a feedforward spikecore.nn ``nn.Sequential`` (or a graph module from
    :func:`from_nir`) to a ``nir.NIRGraph``.

    Chains of Linear / SparseLinear and neurons map layer by layer; models with convolutions,
    pooling, Flatten, Scale, Threshold or Delay, and graphs with branches, go through the
    general exporter, which needs ``input_shape`` (the per-sample shape, e.g. ``(2, 16, 16)``)
    unless the model starts with a Linear.

    ``peer='norse'`` writes ``r = 1`` with the input resistance ``tau/dt`` folded into the
    preceding Affine (Norse's importer ignores ``r``) and always Affine (zero bias if none);
    the graph describes the same dynamics.
    """
    import spikecore.nn as snn
    from spikecore.sim.convert import parse

    nir = _nir()
    dt = _check_dt(dt)
    peer = _check_peer(peer)
    if _general(model):  # convolutions, pooling, Flatten, Scale, Delay, graphs
        return _to_nir_general(model, dt, peer, input_shape)
    layers = parse(model)  # validates structure and names the offending layer
    neurons = [
        m for m in model.modules() if getattr(m, "spiking", None) is not None and hasattr(m, "beta")
    ]
    for m in neurons:
        if isinstance(m, snn.AdaptiveLIF):
            raise ValueError(
                "model: AdaptiveLIF has no NIR primitive (NIR has no adaptive "
                "threshold); export supports LIF, ParametricLIF, NoisyLIF, "
                "LeakyIntegrator"
            )
    nodes: Dict[str, object] = {}
    edges: List[tuple] = []
    nodes["input"] = nir.Input(input_type={"input": np.array([layers[0].n_in])})
    prev = "input"
    for k, L in enumerate(layers):
        w = np.zeros((L.n, L.n_in), np.float32)
        w[L.post, L.pre] = L.weight
        syn = str(2 * k)
        beta = L.beta
        b = None if L.bias is None else L.bias.astype(np.float32)
        if peer == "norse":
            if beta < 1.0:  # r = 1: the input resistance tau/dt = 1/(1-beta) goes into W, b
                w = (w / np.float32(1.0 - beta)).astype(np.float32)
                b = None if b is None else (b / np.float32(1.0 - beta)).astype(np.float32)
            if b is None:
                b = np.zeros(L.n, np.float32)
        if b is not None:
            nodes[syn] = nir.Affine(weight=w, bias=b)
        else:
            nodes[syn] = nir.Linear(weight=w)
        neu = str(2 * k + 1)
        tau = np.full(L.n, math.inf if beta >= 1.0 else dt / (1.0 - beta))
        r = np.full(L.n, 1.0) if beta >= 1.0 or peer == "norse" else tau / dt
        v_leak = np.full(L.n, L.v_rest)
        if beta >= 1.0 and L.kind == "li":  # pure integrator: NIR I, dv/dt = R x
            nodes[neu] = nir.I(r=np.full(L.n, 1.0 / dt))
        elif beta >= 1.0 and not L.soft_reset and L.v_rest == 0.0:
            nodes[neu] = nir.IF(
                r=np.full(L.n, 1.0 / dt),
                v_threshold=np.full(L.n, L.v_threshold),
                v_reset=np.full(L.n, L.v_reset),
            )
        elif L.kind == "li":
            nodes[neu] = nir.LI(tau=tau, r=r, v_leak=v_leak)
        else:
            meta = {"reset": "subtract"} if L.soft_reset else {}
            nodes[neu] = nir.LIF(
                tau=tau,
                r=r,
                v_leak=v_leak,
                v_threshold=np.full(L.n, L.v_threshold),
                v_reset=np.full(L.n, L.v_reset),
                metadata=meta,
            )
        edges += [(prev, syn), (syn, neu)]
        edges += _export_recurrent(nodes, neu, L, peer, nir)
        prev = neu
    nodes["output"] = nir.Output(output_type={"output": np.array([layers[-1].n])})
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt, "source": "spikecore"})


# -- export of general models: convolutions, pooling, Flatten, Scale, Threshold, Delay, graphs --


def _items(model):
    """[(node name, module, [predecessor names])] of a Sequential (nested ones flattened) or
    an imported graph module, in execution order; "input" is the graph input."""
    if type(model).__name__ == "NIRGraphModule":
        out: List[Any] = []
        last: Dict[str, List[str]] = {}
        for k in model.order:
            ps = [s for p in model.preds.get(k, []) for s in last.get(p, ["input"])]
            if not model.preds.get(k):
                last[k] = ["input"]
                continue
            sub = list(model.nodes[k]) if k in model.nodes else []
            if not sub:  # pass-through (Output, a no-op Flatten): its inputs' sum flows on
                last[k] = ps
                continue
            for j, m in enumerate(sub):
                name = k if len(sub) == 1 else f"{k}_{j}"
                out.append((name, m, ps))
                ps = [name]
            last[k] = ps
        return out, last[model.output]
    mods: List[Any] = []

    def flat(m):
        for c in m:
            flat(c) if isinstance(c, torch.nn.Sequential) else mods.append(c)

    flat(model if isinstance(model, torch.nn.Sequential) else [model])
    out, prev = [], ["input"]
    for i, m in enumerate(mods):
        out.append((str(i), m, prev))
        prev = [str(i)]
    return out, prev


def _shapes(model, items, input_shape):
    """Per-sample input and output shapes of every module (one forward on zeros)."""
    seen: Dict[int, tuple] = {}

    def hook(key):
        def f(mod, a, y):
            seen.setdefault(key, (tuple(a[0].shape[2:]), tuple(y.shape[2:])))

        return f

    hooks = [m.register_forward_hook(hook(id(m))) for _, m, _ in items]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
    return seen


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _neuron_export(m, shp, dt, peer, nir):
    """(NIR node, input gain folded into the synapse before it for peer='norse' or None)."""
    import spikecore.nn as snn

    if isinstance(m, snn.AdaptiveLIF):
        raise ValueError("model: AdaptiveLIF has no NIR primitive (NIR has no adaptive threshold)")
    beta = _np(m.beta).astype(np.float64)
    if isinstance(m, snn.ParametricLIF) and m.channels is not None:
        beta = beta.reshape(-1, *([1] * (len(shp) - 1)))
    beta = np.broadcast_to(beta, shp).astype(np.float64)
    leaky = beta < 1.0
    tau = np.where(leaky, dt / np.where(leaky, 1.0 - beta, 1.0), math.inf)
    gain = None
    if peer == "norse" and np.any(leaky):
        gain = np.where(leaky, 1.0 / np.where(leaky, 1.0 - beta, 1.0), 1.0)
    r = np.where(leaky & (peer != "norse"), tau / dt, 1.0)
    v_rest = float(m.v_rest)
    if not m.spiking:
        if not np.any(leaky):
            return nir.I(r=np.full(shp, 1.0 / dt)), None
        return nir.LI(tau=tau, r=r, v_leak=np.full(shp, v_rest)), gain
    soft = m.v_reset is None
    reset = 0.0 if soft else float(m.v_reset)
    if not np.any(leaky) and not soft and v_rest == 0.0:
        return (
            nir.IF(
                r=np.full(shp, 1.0 / dt),
                v_threshold=np.full(shp, float(m.v_threshold)),
                v_reset=np.full(shp, reset),
            ),
            None,
        )
    return (
        nir.LIF(
            tau=tau,
            r=r,
            v_leak=np.full(shp, v_rest),
            v_threshold=np.full(shp, float(m.v_threshold)),
            v_reset=np.full(shp, reset),
            metadata={"reset": "subtract"} if soft else {},
        ),
        gain,
    )


def _module_export(m, shp_in, shp_out, dt, peer, nir):
    """The NIR node of one non-neuron module."""
    import spikecore.nn as snn

    inner = m.module if isinstance(m, PerStep) else m
    if isinstance(inner, (torch.nn.Linear, snn.SparseLinear)):
        w = _np(inner.weight if isinstance(inner, torch.nn.Linear) else inner.dense_weight())
        w = w.astype(np.float32)
        if inner.bias is None and peer != "norse":
            return nir.Linear(weight=w)
        b = np.zeros(w.shape[0], np.float32) if inner.bias is None else _np(inner.bias)
        return nir.Affine(weight=w, bias=b.astype(np.float32))
    if isinstance(inner, (torch.nn.Conv1d, torch.nn.Conv2d)):
        cls = nir.Conv1d if isinstance(inner, torch.nn.Conv1d) else nir.Conv2d
        one = isinstance(inner, torch.nn.Conv1d)
        c_out = inner.out_channels
        return cls(
            input_shape=shp_in[1] if one else tuple(shp_in[1:]),
            weight=_np(inner.weight).astype(np.float32),
            stride=inner.stride[0] if one else inner.stride,
            padding=inner.padding
            if isinstance(inner.padding, str)
            else (inner.padding[0] if one else inner.padding),
            dilation=inner.dilation[0] if one else inner.dilation,
            groups=inner.groups,
            bias=(np.zeros(c_out) if inner.bias is None else _np(inner.bias)).astype(np.float32),
        )
    if isinstance(inner, torch.nn.AvgPool2d) or isinstance(m, SumPool2d):
        cls = nir.SumPool2d if isinstance(m, SumPool2d) else nir.AvgPool2d
        return cls(
            kernel_size=np.array(torch.nn.modules.utils._pair(inner.kernel_size)),
            stride=np.array(torch.nn.modules.utils._pair(inner.stride or inner.kernel_size)),
            padding=np.array(torch.nn.modules.utils._pair(inner.padding)),
        )
    if isinstance(m, (Reshape, torch.nn.Flatten)):
        if len(shp_out) != 1 and not (len(shp_out) < len(shp_in)):
            raise ValueError(f"model: {type(m).__name__} to shape {shp_out} has no NIR Flatten")
        # the flattened block: the dims where input and output shapes first differ
        s = next((i for i, (a, b) in enumerate(zip(shp_in, shp_out)) if a != b), 0)
        e = s + len(shp_in) - len(shp_out)
        return nir.Flatten(input_type={"input": np.array(shp_in)}, start_dim=s, end_dim=e)
    if type(m).__name__ == "Scale":
        return nir.Scale(scale=np.broadcast_to(_np(m.s), shp_out).astype(np.float32).copy())
    if type(m).__name__ == "Threshold":
        return nir.Threshold(threshold=np.full(shp_out, float(m.v_threshold)))
    if isinstance(m, Delay):
        d = np.broadcast_to(_np(m.steps).reshape(-1), (int(np.prod(shp_out)),))
        return nir.Delay(delay=(d * dt).reshape(shp_out))
    raise ValueError(
        f"model: {type(m).__name__} has no NIR node; export supports Linear, SparseLinear, "
        "Conv1d, Conv2d, AvgPool2d, SumPool2d, Flatten, Scale, Threshold, Delay and the "
        "LIF / ParametricLIF / NoisyLIF / LeakyIntegrator neurons"
    )


def _fold_gain(node, gain: np.ndarray, name: str, nir) -> None:
    """peer='norse': multiply the input resistance into the synapse node before a neuron."""
    if not isinstance(node, (nir.Affine, nir.Linear, nir.Conv1d, nir.Conv2d)):
        raise ValueError(
            f"model: peer='norse' folds the neuron's input gain into the synapse before it, "
            f"but node {name!r} is a {type(node).__name__}"
        )
    c = node.weight.shape[0]
    g = gain.reshape(c, -1)
    if not np.all(g == g[:, :1]):
        raise ValueError(f"model: node {name!r}: the gain varies within an output channel")
    g = g[:, 0].astype(np.float32)
    node.weight = (node.weight * g.reshape(-1, *([1] * (node.weight.ndim - 1)))).astype(np.float32)
    if getattr(node, "bias", None) is not None:
        node.bias = (np.asarray(node.bias) * g).astype(np.float32)


def _to_nir_general(model, dt: float, peer: str, input_shape):
    """to_nir for any Sequential / imported graph of the supported modules (see to_nir)."""
    nir = _nir()
    items, outs = _items(model)
    if not items:
        raise ValueError("model: has no layers")
    if input_shape is None:
        first = items[0][1]
        n_in = getattr(first, "in_features", None)
        if n_in is None:
            raise ValueError(
                "input_shape: needed for a model that does not start with a Linear layer "
                "(the per-sample shape, e.g. (2, 16, 16))"
            )
        input_shape = (int(n_in),)
    input_shape = tuple(int(s) for s in np.atleast_1d(input_shape))
    shapes = _shapes(model, items, input_shape)
    nodes: Dict[str, Any] = {"input": nir.Input(input_type={"input": np.array(input_shape)})}
    edges: List[tuple] = []
    for name, m, preds in items:
        shp_in, shp_out = shapes[id(m)]
        if getattr(m, "spiking", None) is not None and hasattr(m, "beta"):
            node, gain = _neuron_export(m, shp_out, dt, peer, nir)
            if gain is not None:
                if len(preds) != 1 or preds[0] == "input":
                    raise ValueError(
                        f"model: peer='norse' needs a synapse node right before neuron {name!r}"
                    )
                _fold_gain(nodes[preds[0]], gain, preds[0], nir)
        else:
            node = _module_export(m, shp_in, shp_out, dt, peer, nir)
        nodes[name] = node
        edges += [(p, name) for p in preds]
    out_shape = shapes[id(items[-1][1])][1] if len(outs) == 1 else shapes[id(items[-1][1])][1]
    nodes["output"] = nir.Output(output_type={"output": np.array(out_shape)})
    edges += [(p, "output") for p in outs]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": dt, "source": "spikecore"})


def _general(model) -> bool:
    """Does ``model`` need the general exporter: a graph module, or a Sequential holding a
    convolution, pooling, Flatten, Scale, Threshold or Delay (chains of synapse and neuron
    layers, recurrent ones included, keep the layer-by-layer export)?"""
    if not isinstance(model, torch.nn.Sequential):
        return type(model).__name__ == "NIRGraphModule"
    spatial = (
        PerStep, SumPool2d, Reshape, Delay,
        torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.AvgPool2d, torch.nn.Flatten,
    )  # fmt: skip
    items, _ = _items(model)
    return any(
        isinstance(m, spatial) or type(m).__name__ in ("Scale", "Threshold", "NIRGraphModule")
        for _, m, _ in items
    )


def save_nir(model, path: Union[str, os.PathLike], dt: float = 1e-4, peer: str = "nir") -> None:
    """Export ``model`` (see :func:`to_nir`) and write it as a NIR HDF5 file."""
    _nir().write(path, to_nir(model, dt=dt, peer=peer))


def load_nir(path: Union[str, os.PathLike], dt: float = 1e-4, peer: str = "nir"):
    """Read a NIR file and build the spikecore.nn model (see :func:`from_nir`)."""
    return from_nir(path, dt=dt, peer=peer)


def _export_recurrent(nodes: Dict[str, object], neu: str, L, peer: str, nir) -> List[tuple]:
    """The recurrent projection of a spikecore.nn.Recurrent layer as NIR: a ``Linear`` node
    ``W_rec`` on a cycle with the neuron node (``neu -> neu.rec -> neu``), the flat form that
    snnTorch's importer collapses into an RLeaky. The neuron node's input gain (1 with
    ``r = tau/dt``) applies to it as to the input Affine; ``peer='norse'`` folds ``tau/dt`` into
    it likewise."""
    if L.rec_weight is None:
        return []
    w = np.zeros((L.n, L.n), np.float32)
    w[L.rec_post, L.rec_pre] = L.rec_weight
    if peer == "norse" and L.beta < 1.0:
        w = (w / np.float32(1.0 - L.beta)).astype(np.float32)
    rec = f"{neu}.rec"
    nodes[rec] = nir.Linear(weight=w)
    return [(neu, rec), (rec, neu)]
