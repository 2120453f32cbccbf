r"""Building spikecore.nn modules from NIR graphs: the NIR importer (:func:`from_nir`).

It lives in ``spikecore.nn`` (below ``spikecore.sim``), so that the engine's
``spikecore.sim.from_nir`` and the file-format module ``spikecore.io.nir`` (export, save / load;
the public home of every name here) both build on it without an upward import. The mapping of
NIR nodes onto spikecore.nn modules, the peers' conventions and the examples are documented in
:mod:`spikecore.io.nir`.
"""

from __future__ import annotations

import math
import os
from typing import Any, Dict, List

import numpy as np
import torch


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("spikecore.io.nir needs the 'nir' package (pip install nir)") from exc
    return nir


def _read_file(path) -> Any:
    """``nir.read`` of an untrusted file: FileFormatError naming the file for anything that is
    not a readable NIR HDF5 file, and every dataset's size checked against the file's before
    nir reads it (a crafted dataspace cannot make the reader allocate without bound)."""
    from spikecore.data.files import check_hdf5, file_error

    path = os.fspath(path)
    check_hdf5(path, "NIR")
    try:
        return _nir().read(path)
    except Exception as exc:  # noqa: BLE001 - nir / h5py raise many kinds on damaged files
        raise file_error(path, "not a readable NIR file", exc) from None


def _check_dt(dt) -> float:
    if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt: must be a finite time step > 0 (seconds), got {dt!r}")
    return float(dt)


def _uniform(a, name: str, what: str) -> float:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size == 0 or not np.all(a == a[0]):
        raise ValueError(
            f"graph: node {name!r} has per-neuron {what}; spikecore.nn layers take "
            "one value per layer"
        )
    return float(a[0])


_SUPPORTED = (
    "Input",
    "Output",
    "Affine",
    "Linear",
    "Scale",
    "Flatten",
    "Conv1d",
    "Conv2d",
    "AvgPool2d",
    "SumPool2d",
    "Delay",
    "IF",
    "I",
    "LI",
    "LIF",
    "CubaLI",
    "CubaLIF",
    "Threshold",
)
_PEERS = ("nir", "snntorch", "norse", "spikingjelly")


def _check_peer(peer) -> str:
    if peer not in _PEERS:
        raise ValueError(f"peer: expected one of {', '.join(_PEERS)}, got {peer!r}")
    return peer


def _scale_module(s: np.ndarray):
    import torch

    class Scale(torch.nn.Module):
        r"""Per-feature gain :math:`y = s \odot x` (NIR ``Scale``; a neuron's input gain)."""

        def __init__(self, s):
            super().__init__()
            self.register_buffer("s", torch.as_tensor(np.asarray(s, np.float32)))

        def forward(self, x):
            return x * self.s

    return Scale(s)


def _threshold_module(v_th: float):
    import torch

    from spikecore.nn.surrogate import ATan

    class Threshold(torch.nn.Module):
        r"""Memoryless spike (NIR ``Threshold``): :math:`z_t = H(x_t - \vartheta)`, with the
        ATan surrogate gradient."""

        def __init__(self, v_threshold):
            super().__init__()
            self.v_threshold = v_threshold
            self.surrogate = ATan()

        def forward(self, x):
            return self.surrogate(x - self.v_threshold)

    return Threshold(v_th)


def _arr(a, n: int, name: str, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    if a.size == 1:
        a = np.full(n, a[0])
    if a.size != n:
        raise ValueError(f"graph: node {name!r} has {a.size} values of {what} for {n} neurons")
    return a


def _size(node, name: str):
    for attr in ("tau", "r", "v_threshold", "threshold", "scale", "bias"):
        v = getattr(node, attr, None)
        if v is not None and np.asarray(v).size > 1:
            return int(np.asarray(v).size)
    if hasattr(node, "weight"):
        return int(np.asarray(node.weight).shape[0])
    return None


def _neuron_modules(n, name: str, dt: float, peer: str, nir):
    """spikecore.nn modules (an input gain, then the neuron) for one NIR neuron node."""
    import torch

    import spikecore.nn as snn

    size = _size(n, name) or 1
    # arrays per neuron, or floats once made uniform
    tau: Any
    gain: Any
    leak: Any
    reset: Any
    th: Any
    if isinstance(n, (nir.CubaLI, nir.CubaLIF)):
        # synaptic current: tau_syn dI/dt = -I + w_in x  ->  LeakyIntegrator with input gain
        # w_in dt / tau_syn; then the membrane node (LI / LIF with tau_mem) reads I
        tau_syn = _arr(n.tau_syn, size, name, "tau_syn")
        tau_mem = _arr(n.tau_mem, size, name, "tau_mem")
        if peer == "norse":
            tau_syn, tau_mem = tau_syn / dt, tau_mem / dt
        w_in = _arr(getattr(n, "w_in", 1.0), size, name, "w_in")
        syn_steps = _uniform(tau_syn, name, "tau_syn") / dt
        if not syn_steps > 1.0:
            raise ValueError(
                f"graph: node {name!r} has tau_syn/dt = {syn_steps:g} <= 1 at "
                f"dt = {dt:g}; pass the graph's time step as dt"
            )
        g_syn = w_in * dt / tau_syn
        pre = (
            []
            if np.allclose(g_syn, 1.0, rtol=1e-7, atol=0.0)
            else [_scale_module(g_syn if np.any(g_syn != g_syn[0]) else g_syn[:1])]
        )
        pre.append(snn.LeakyIntegrator(tau=syn_steps, v_rest=0.0))
        if isinstance(n, nir.CubaLI):
            mem = nir.LI(
                tau=tau_mem,
                r=_arr(n.r, size, name, "r"),
                v_leak=_arr(n.v_leak, size, name, "v_leak"),
            )
        else:
            mem = nir.LIF(
                tau=tau_mem,
                r=_arr(n.r, size, name, "r"),
                v_leak=_arr(n.v_leak, size, name, "v_leak"),
                v_threshold=_arr(n.v_threshold, size, name, "v_threshold"),
                v_reset=_arr(getattr(n, "v_reset", 0.0), size, name, "v_reset"),
                metadata=getattr(n, "metadata", None) or {},
            )
        return pre + _neuron_modules(mem, name, dt, "nir", nir)
    if isinstance(n, nir.Threshold):
        th = _arr(n.threshold, size, name, "threshold")
        gain, tau, leak, reset, kind = 1.0 / th, np.ones(size), 0.0, 0.0, "thr"
        th = np.ones(size)
    else:
        r = _arr(n.r, size, name, "r")
        if isinstance(n, (nir.IF, nir.I)):
            tau = np.full(size, math.inf)
        else:
            tau = _arr(n.tau, size, name, "tau")
            if peer == "norse":  # Norse writes tau = dt * tau_mem (see the module docstring)
                tau = tau / dt
        if np.any(~(tau > 0)):
            raise ValueError(f"graph: node {name!r} has tau <= 0")
        fin = np.isfinite(tau)
        steps = np.where(fin, tau / dt, math.inf)
        if np.any(steps[fin] <= 1.0):
            raise ValueError(
                f"graph: node {name!r} has tau/dt = {steps[fin].min():g} <= 1 at "
                f"dt = {dt:g}; pass the graph's time step as dt (Norse graphs: "
                "peer='norse')"
            )
        # IF / I: dv/dt = R I, so v += R dt x; a LIF / LI written with tau = inf by older
        # spikecore versions carries its gain in r directly
        inf_gain = r * dt if isinstance(n, (nir.IF, nir.I)) else r
        gain = np.where(fin, r * dt / np.where(fin, tau, 1.0), inf_gain)
        tau = steps
        leak = (
            _arr(getattr(n, "v_leak", 0.0), size, name, "v_leak")
            if hasattr(n, "v_leak")
            else np.zeros(size)
        )
        kind = "li" if isinstance(n, (nir.LI, nir.I)) else "lif"
        if kind == "lif":
            th = _arr(n.v_threshold, size, name, "v_threshold")
            vr = getattr(n, "v_reset", None)
            reset = _arr(0.0 if vr is None else vr, size, name, "v_reset")
            if not np.all(th == th[0]):  # per-neuron threshold: normalise each neuron to 1
                if np.any(th <= 0):
                    raise ValueError(f"graph: node {name!r} has a per-neuron v_threshold <= 0")
                gain, leak, reset, th = gain / th, leak / th, reset / th, np.ones(size)
            reset = _uniform(reset, name, "v_reset (after normalising thresholds)")
        leak = _uniform(leak, name, "v_leak (after normalising thresholds)")
    mods = []
    if not np.allclose(gain, 1.0, rtol=1e-7, atol=0.0):
        mods.append(_scale_module(gain if np.any(gain != gain[0]) else gain[:1]))
    if kind == "li":
        mods.append(snn.LeakyIntegrator(tau=_uniform(tau, name, "tau"), v_rest=leak))
        return mods
    soft = (getattr(n, "metadata", None) or {}).get("reset") == "subtract"
    v_th = _uniform(th, name, "v_threshold")
    if kind == "thr":
        mods.append(_threshold_module(v_th))
        return mods
    if np.all(tau == tau[0]):
        lif = snn.LIF(
            tau=float(tau[0]), v_threshold=v_th, v_reset=None if soft else reset, v_rest=leak
        )
    else:
        if np.any(~np.isfinite(tau)):
            raise ValueError(f"graph: node {name!r} mixes finite and infinite per-neuron tau")
        lif = snn.ParametricLIF(
            tau=float(tau[0]),
            channels=size,
            v_threshold=v_th,
            v_reset=None if soft else reset,
            v_rest=leak,
        )
        with torch.no_grad():
            lif.w.copy_(torch.from_numpy(-np.log(tau - 1.0)).float())
    mods.append(lif)
    return mods


# -- spatial and delay nodes: Conv1d, Conv2d, AvgPool2d, SumPool2d, Flatten, Delay ------------
# (time-first [T, B, ...] tensors; NIR shapes leave out batch and time)


class PerStep(torch.nn.Module):
    """Runs a per-sample torch module (Conv1d/2d, AvgPool2d) on every step of a [T, B, ...]
    sequence (time folded into the batch)."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        y = self.module(x.reshape(-1, *x.shape[2:]))
        return y.reshape(*x.shape[:2], *y.shape[1:])


class SumPool2d(torch.nn.Module):
    r"""NIR ``SumPool2d`` per step: :math:`y = \sum_{\text{window}} x` (zero padding)."""

    def __init__(self, kernel_size, stride, padding):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        x4 = x.reshape(-1, *x.shape[-3:])
        y = torch.nn.functional.avg_pool2d(
            x4, self.kernel_size, self.stride, self.padding, divisor_override=1
        )
        return y.reshape(*x.shape[:-3], *y.shape[1:])


class Reshape(torch.nn.Module):
    """[T, B, *in] -> [T, B, *out] (NIR ``Flatten`` of the per-sample shape)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x):
        return x.reshape(*x.shape[:2], *self.shape)


class Delay(torch.nn.Module):
    r"""NIR ``Delay``: :math:`y_t = x_{t - d}` per feature (zero before the first input), with
    ``d = delay / dt`` whole steps (``steps``: one per feature of the per-step shape)."""

    def __init__(self, steps):
        super().__init__()
        self.register_buffer("steps", torch.as_tensor(np.asarray(steps, np.int64)))

    def forward(self, x):
        T = x.shape[0]
        d = self.steps.reshape(-1).expand(int(np.prod(x.shape[2:]))).reshape(x.shape[2:])
        t = torch.arange(T).view(T, *([1] * (x.dim() - 1))) - d.unsqueeze(0).unsqueeze(0)
        src = t.clamp(min=0).expand(T, *x.shape[1:])
        return torch.where(t >= 0, torch.gather(x, 0, src), torch.zeros((), dtype=x.dtype))


def _pair(v, n: int, name: str, what: str):
    a = np.asarray(v, dtype=np.int64).reshape(-1) if not isinstance(v, str) else v
    if isinstance(a, str):
        return a
    if a.size == 1:
        a = np.full(n, int(a[0]))
    if a.size != n:
        raise ValueError(f"graph: node {name!r} has {what} {v!r}; expected {n} values")
    return tuple(int(s) for s in a)


def _spatial_types(nir) -> tuple:
    return (nir.Conv1d, nir.Conv2d, nir.AvgPool2d, nir.SumPool2d, nir.Flatten, nir.Delay)


def _spatial_node(n, name: str, pred: str, shape_in: tuple, dt: float, nir):
    """(modules, output shape) of a Conv1d / Conv2d / AvgPool2d / SumPool2d / Flatten / Delay
    node that receives per-sample shape ``shape_in`` from node ``pred``."""
    if isinstance(n, nir.Delay):
        d = np.asarray(n.delay, np.float64).reshape(-1)
        steps = d / dt
        if (
            np.any(~np.isfinite(steps))
            or np.any(steps < 0)
            or np.any(np.abs(steps - np.round(steps)) > 1e-6 * np.maximum(1.0, steps))
        ):
            raise ValueError(
                f"graph: node {name!r} (Delay) has delays {d.tolist()[:4]} s that are not "
                f"whole non-negative multiples of dt = {dt:g}"
            )
        size = int(np.prod(shape_in)) if shape_in else d.size
        if d.size not in (1, size):
            raise ValueError(
                f"graph: node {name!r} (Delay, {d.size} delays) does not match node {pred!r} "
                f"({size} outputs)"
            )
        return [Delay(np.round(steps).astype(np.int64))], shape_in or (d.size,)
    if isinstance(n, nir.Flatten):
        if not shape_in:
            raise ValueError(
                f"graph: node {name!r} (Flatten) follows node {pred!r} of unknown shape"
            )
        nd = len(shape_in)
        s, e = int(n.start_dim), int(n.end_dim)
        s, e = s + nd if s < 0 else s, e + nd if e < 0 else e
        if not 0 <= s <= e < nd:
            raise ValueError(
                f"graph: node {name!r} (Flatten start_dim={n.start_dim}, end_dim={n.end_dim}) "
                f"does not fit the shape {shape_in} of node {pred!r}"
            )
        out = (*shape_in[:s], int(np.prod(shape_in[s : e + 1])), *shape_in[e + 1 :])
        return ([Reshape(out)] if out != shape_in else []), out
    conv1 = isinstance(n, nir.Conv1d)
    dims = 1 if conv1 else 2
    if isinstance(n, (nir.Conv1d, nir.Conv2d)):
        w = np.asarray(n.weight, np.float32)
        if w.ndim != dims + 2:
            raise ValueError(f"graph: node {name!r} weight must be {dims + 2}-D, got {w.shape}")
        groups = int(n.groups)
        c_in = w.shape[1] * groups
        if len(shape_in) != dims + 1 or shape_in[0] != c_in:
            raise ValueError(
                f"graph: node {name!r} ({type(n).__name__}, input [{c_in}, ...] with "
                f"{dims} spatial dims) does not match node {pred!r} (output shape {shape_in})"
            )
        cls = torch.nn.Conv1d if conv1 else torch.nn.Conv2d
        bias = getattr(n, "bias", None)
        b = None if bias is None else np.asarray(bias, np.float32).reshape(-1)
        if b is not None and not np.any(b):
            b = None  # NIR writes a zero bias for bias=False layers
        conv = cls(
            c_in,
            w.shape[0],
            tuple(w.shape[2:]),
            stride=_pair(n.stride, dims, name, "stride"),
            padding=_pair(n.padding, dims, name, "padding"),
            dilation=_pair(n.dilation, dims, name, "dilation"),
            groups=groups,
            bias=b is not None,
        )
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            if b is not None:
                conv.bias.copy_(torch.from_numpy(b))
        mod: torch.nn.Module = PerStep(conv)
        inner = conv
    else:  # AvgPool2d / SumPool2d
        if len(shape_in) != 3:
            raise ValueError(
                f"graph: node {name!r} ({type(n).__name__}) needs a [C, H, W] input; node "
                f"{pred!r} gives shape {shape_in}"
            )
        k = _pair(n.kernel_size, 2, name, "kernel_size")
        s = _pair(n.stride, 2, name, "stride")
        p = _pair(n.padding, 2, name, "padding")
        if isinstance(n, nir.AvgPool2d):
            inner = torch.nn.AvgPool2d(k, s, p)
            mod = PerStep(inner)
        else:
            mod = inner = SumPool2d(k, s, p)
    with torch.no_grad():
        out = tuple(int(v) for v in inner(torch.zeros(1, *shape_in)).shape[1:])
    return [mod], out


def _fold_into_conv(prev, s) -> bool:
    """Fold a gain ``s`` (scalar, or one value per output channel) into the per-step
    convolution ``prev``: s * (W * x + b). False (nothing changed) if it cannot."""
    conv = getattr(prev, "module", None)
    if not isinstance(prev, PerStep) or not isinstance(conv, (torch.nn.Conv1d, torch.nn.Conv2d)):
        return False
    if s.numel() > 1:
        c = s.reshape(s.shape[0], -1) if s.dim() > 1 else None
        if c is None or s.shape[0] != conv.out_channels or not bool((c == c[:, :1]).all()):
            return False
        s = c[:, 0]
    with torch.no_grad():
        conv.weight.mul_(s.reshape(-1, *([1] * (conv.weight.dim() - 1))))
        if conv.bias is not None:
            conv.bias.mul_(s.reshape(-1))
    return True


def _fit_shape(mods, shape: tuple, name: str) -> None:
    """Per-neuron values of a node with a multi-dimensional shape ([C, H, W] after a conv):
    Scale gains take the shape; a per-neuron tau must be one value per channel (it becomes
    ``ParametricLIF(channels=C)``), else ValueError."""
    import spikecore.nn as snn

    if len(shape) < 2:
        return
    for m in mods:
        if type(m).__name__ == "Scale" and m.s.numel() > 1:
            m.s = m.s.reshape(shape)
        elif isinstance(m, snn.ParametricLIF) and m.channels is not None:
            w = m.w.detach().reshape(shape)
            per_c = w.reshape(shape[0], -1)
            if not bool((per_c == per_c[:, :1]).all()):
                raise ValueError(
                    f"graph: node {name!r} has a per-neuron tau that varies within a channel "
                    f"(shape {shape}); spikecore.nn takes one tau per layer or per channel"
                )
            m.channels = shape[0]
            m.w = torch.nn.Parameter(per_c[:, 0].clone())


def _shape_of(node) -> tuple:
    t = getattr(node, "input_type", None) or getattr(node, "output_type", None) or {}
    v = next(iter(t.values()), None) if isinstance(t, dict) else None
    return tuple(int(s) for s in np.asarray(v).reshape(-1)) if v is not None else ()


def _graph_module(order, preds, mods, out_name):
    import torch

    class NIRGraphModule(torch.nn.Module):
        r"""A feedforward NIR graph with branches/skips: nodes run in topological order on
        [T, B, ...] sequences; a node with several inputs receives their sum
        (NIR's edge semantics), :math:`x_v = \sum_{u \to v} y_u`."""

        def __init__(self):
            super().__init__()
            self.order = list(order)
            self.preds = {k: list(v) for k, v in preds.items()}
            self.nodes = torch.nn.ModuleDict({k: torch.nn.Sequential(*m) for k, m in mods.items()})
            self.output = out_name

        def forward(self, x):
            vals: Dict[str, Any] = {}
            for k in self.order:
                p = self.preds.get(k, [])
                h = x if not p else vals[p[0]] if len(p) == 1 else sum(vals[q] for q in p)
                vals[k] = self.nodes[k](h) if k in self.nodes else h
            return vals[self.output]

    return NIRGraphModule()


def from_nir(graph, dt: float = 1e-4, peer: str = "nir"):
    """Build spikecore.nn modules from a NIR graph (or a file path).

    A chain gives an ``nn.Sequential`` (deployable with ``spikecore.sim.from_torch``); a graph
    with branches or skips gives a module that runs its nodes in topological order, summing
    the inputs of merging nodes. ``peer='norse'`` reads graphs written by Norse's ``to_nir``
    (see the module docstring for each peer's conventions).
    """
    import torch

    import spikecore.nn as snn

    nir = _nir()
    dt = _check_dt(dt)
    peer = _check_peer(peer)
    if isinstance(graph, (str, os.PathLike)):
        from spikecore.data.files import FileFormatError, file_error

        path, graph = graph, _read_file(graph)
        try:
            return from_nir(graph, dt=dt, peer=peer)
        except FileFormatError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RuntimeError, AttributeError) as exc:
            # a file from outside: name it (the graph's own checks say what is wrong)
            raise file_error(path, "holds a NIR graph spikecore cannot import", exc) from None
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph: expected a nir.NIRGraph or a path, got {type(graph).__name__}")
    graph, recurrent = _split_recurrent(graph, nir)
    supported = tuple(getattr(nir, s) for s in _SUPPORTED)
    for name, n in graph.nodes.items():
        if not isinstance(n, supported):
            raise ValueError(
                f"graph: node {name!r} is a {type(n).__name__}, which spikecore "
                f"cannot import; supported node types: {', '.join(_SUPPORTED)}"
            )
    preds: Dict[str, List[str]] = {k: [] for k in graph.nodes}
    succ: Dict[str, List[str]] = {k: [] for k in graph.nodes}
    for a, b in graph.edges:
        for e in (a, b):
            if e not in graph.nodes:
                raise ValueError(f"graph: edge ({a!r}, {b!r}) names no node {e!r}")
        succ[a].append(b)
        preds[b].append(a)
    starts = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    ends = [k for k, v in graph.nodes.items() if isinstance(v, nir.Output)]
    if len(starts) != 1 or len(ends) != 1:
        raise ValueError(
            f"graph: needs exactly one Input and one Output node, found "
            f"{len(starts)} and {len(ends)}"
        )
    indeg = {k: len(v) for k, v in preds.items()}
    order, ready = [], [starts[0]]
    while ready:
        k = ready.pop(0)
        order.append(k)
        for s in succ[k]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if len(order) != len(graph.nodes):
        left = sorted(set(graph.nodes) - set(order))
        raise ValueError(
            f"graph: nodes {left} are on a cycle or unreachable from the Input; "
            "only feedforward graphs can be imported"
        )
    size: Dict[str, int] = {}
    shapes: Dict[str, tuple] = {}  # per-sample shape of each node's output (no batch, time)
    mods: Dict[str, list] = {}
    for k in order:
        n = graph.nodes[k]
        if isinstance(n, nir.Input):
            shp = _shape_of(n)
            size[k] = int(np.prod(shp)) if shp else 0
            shapes[k] = shp
            continue
        ins = {p: size[p] for p in preds[k]}
        known = {p: s for p, s in ins.items() if s}
        if len(set(known.values())) > 1:
            (a, sa), (b, sb) = list(known.items())[:2]
            raise ValueError(
                f"graph: node {k!r} receives {sa} features from {a!r} but {sb} from {b!r}"
            )
        s_in = next(iter(known.values()), 0)
        p0 = next(iter(known), preds[k][0] if preds[k] else "")
        shape_in = shapes.get(p0) or ((s_in,) if s_in else ())
        if isinstance(n, _spatial_types(nir)):
            mods[k], shapes[k] = _spatial_node(n, k, p0, shape_in, dt, nir)
            size[k] = int(np.prod(shapes[k])) if shapes[k] else 0
            continue
        if isinstance(n, (nir.Affine, nir.Linear)):
            w = np.asarray(n.weight, np.float32)
            if w.ndim != 2:
                raise ValueError(f"graph: node {k!r} weight must be 2-D, got {w.shape}")
            if any(d != 1 for d in shape_in[:-1]):  # (Norse writes Input [1, n])
                raise ValueError(
                    f"graph: node {k!r} ({type(n).__name__}) needs a flat input but node "
                    f"{p0!r} gives shape {shape_in}; insert a Flatten node"
                )
            if s_in and w.shape[1] != s_in:
                p = next(iter(known))
                raise ValueError(
                    f"graph: node {k!r} ({type(n).__name__}, {w.shape[1]} inputs) "
                    f"does not match node {p!r} ({s_in} outputs)"
                )
            b = (
                np.asarray(n.bias, np.float32).reshape(-1)
                if isinstance(n, nir.Affine) and n.bias is not None
                else None
            )
            lin = snn.Linear(w.shape[1], w.shape[0], bias=b is not None)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
                if b is not None:
                    lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
            mods[k], size[k], shapes[k] = [lin], w.shape[0], (w.shape[0],)
            continue
        if isinstance(n, nir.Output):
            mods[k], size[k], shapes[k] = [], s_in, shape_in
            continue
        own = _size(n, k)
        if own and s_in and own != s_in:
            p = next(iter(known))
            raise ValueError(
                f"graph: node {k!r} ({type(n).__name__}, {own} neurons) does not "
                f"match node {p!r} ({s_in} outputs)"
            )
        if isinstance(n, nir.Scale):
            mods[k] = [_scale_module(np.asarray(n.scale, np.float32).reshape(-1))]
        else:
            if not (own or s_in):
                raise ValueError(f"graph: node {k!r} has no known size")
            mods[k] = _neuron_modules(n, k, dt, peer, nir)
        size[k] = own or s_in
        shapes[k] = shape_in if s_in else (size[k],)
        _fit_shape(mods[k], shapes[k], k)
    _fuse_recurrent(mods, preds, succ, recurrent, graph, nir)
    chain = all(len(succ[k]) <= 1 and len(preds[k]) <= 1 for k in graph.nodes)
    if not chain:
        return _graph_module(order, preds, {k: m for k, m in mods.items() if m}, ends[0])
    seq: List[torch.nn.Module] = []
    for k in order:
        for m in mods.get(k, []):
            if (
                type(m).__name__ == "Scale"
                and seq
                and isinstance(seq[-1], snn.Linear)
                and m.s.numel() in (1, seq[-1].out_features)
            ):
                lin = seq[-1]  # fold the gain into the synapse: s * (W x + b)
                with torch.no_grad():
                    lin.weight.mul_(m.s.view(-1, 1) if m.s.numel() > 1 else m.s)
                    if lin.bias is not None:
                        lin.bias.mul_(m.s)
                continue
            if type(m).__name__ == "Scale" and seq and _fold_into_conv(seq[-1], m.s):
                continue
            seq.append(m)
    if not seq:
        raise ValueError("graph: has no layers between Input and Output")
    return torch.nn.Sequential(*seq)


def _split_recurrent(graph, nir):
    """A copy of ``graph`` without its recurrent cycles, and ``{neuron node: W_rec node}``.

    Two forms are read: a flat cycle ``LIF -> Affine/Linear -> LIF`` whose synapse node has
    no other edge (spikecore, snnTorch's importer), and a nested ``NIRGraph`` node of exactly
    Input, Output, one LIF and one Affine/Linear on such a cycle (snnTorch's RLeaky export);
    the nested node is replaced by its LIF under the outer node's name."""
    nodes = dict(graph.nodes)
    edges = list(dict.fromkeys(tuple(e) for e in graph.edges))
    rec: Dict[str, Any] = {}
    for k, n in list(nodes.items()):
        if not isinstance(n, nir.NIRGraph):
            continue
        inner = list(n.nodes.values())
        neu = [m for m in inner if isinstance(m, (nir.LIF, nir.CubaLIF))]
        syn = [m for m in inner if isinstance(m, (nir.Affine, nir.Linear))]
        ends = [m for m in inner if isinstance(m, (nir.Input, nir.Output))]
        if len(inner) != 4 or len(neu) != 1 or len(syn) != 1 or len(ends) != 2:
            raise ValueError(
                f"graph: node {k!r} is a nested NIRGraph ({', '.join(sorted(n.nodes))}) that "
                "is not a recurrent subgraph (Input, Output, one LIF and one Affine/Linear "
                "on a cycle); spikecore imports nested graphs of that form only"
            )
        nodes[k], rec[k] = neu[0], syn[0]
    for a, b in list(edges):
        if (b, a) not in edges or a not in nodes or b not in nodes:
            continue
        na, nb = nodes[a], nodes[b]
        if not (
            isinstance(na, (nir.LIF, nir.CubaLIF)) and isinstance(nb, (nir.Affine, nir.Linear))
        ):
            continue
        if [e for e in edges if b in e and e not in ((a, b), (b, a))]:
            continue  # the synapse node feeds or reads something else: not a plain recurrence
        if a in rec:
            raise ValueError(f"graph: node {a!r} has more than one recurrent synapse node")
        rec[a] = nb
        del nodes[b]
        edges = [e for e in edges if b not in e]
    for k, w in rec.items():
        if isinstance(nodes[k], nir.CubaLIF):
            raise ValueError(
                f"graph: node {k!r} is a recurrent CubaLIF (snnTorch RSynaptic: W_rec feeds the "
                "synaptic current); spikecore.nn.Recurrent feeds the membrane and imports "
                "recurrent LIF nodes only"
            )
        wr = np.asarray(w.weight)
        if wr.ndim != 2 or wr.shape[0] != wr.shape[1]:
            raise ValueError(
                f"graph: the recurrent synapse of node {k!r} must be square [n, n], got {wr.shape}"
            )
    if not rec:
        return graph, rec
    meta = getattr(graph, "metadata", None) or {}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False), rec


def _fuse_recurrent(mods, preds, succ, rec, graph, nir) -> None:
    """Replace each recurrent neuron's modules and its input synapse's Linear by one
    spikecore.nn.Recurrent: the neuron's input gain (a Scale module) multiplies the input
    weights, the input bias, W_rec and a recurrent Affine's bias (added to the input bias:
    it enters every step)."""
    import torch

    import spikecore.nn as snn

    for k, wnode in rec.items():
        p = preds.get(k, [])
        lin = mods.get(p[0], []) if len(p) == 1 else []
        if len(p) != 1 or len(lin) != 1 or not isinstance(lin[0], snn.Linear) or succ[p[0]] != [k]:
            raise ValueError(
                f"graph: recurrent node {k!r} must be fed by exactly one Affine/Linear node "
                f"that feeds nothing else; its inputs are {p}"
            )
        lin = lin[0]
        ms = list(mods[k])
        gain = torch.ones(1)
        if ms and type(ms[0]).__name__ == "Scale":
            gain = ms.pop(0).s.float()
        if len(ms) != 1 or not isinstance(ms[0], snn.LIF):
            raise ValueError(f"graph: recurrent node {k!r} does not import as one LIF layer")
        n = lin.out_features
        wr = torch.from_numpy(np.asarray(wnode.weight, np.float32).copy())
        if wr.shape[0] != n:
            raise ValueError(
                f"graph: the recurrent synapse of node {k!r} ({wr.shape[0]} neurons) does not "
                f"match node {p[0]!r} ({n} outputs)"
            )
        b = torch.zeros(n) if lin.bias is None else lin.bias.detach().float().clone()
        if isinstance(wnode, nir.Affine) and wnode.bias is not None:
            b = b + torch.from_numpy(np.asarray(wnode.bias, np.float32).reshape(-1))
        has_bias = lin.bias is not None or bool(b.ne(0).any())
        layer = snn.Recurrent(lin.in_features, n, ms[0], bias=has_bias)
        g = gain.view(-1, 1) if gain.numel() > 1 else gain
        with torch.no_grad():
            layer.weight.copy_(lin.weight.detach() * g)
            layer.weight_rec.copy_(wr * g)
            if layer.bias is not None:
                layer.bias.copy_(b * gain)
        mods[p[0]], mods[k] = [], [layer]
