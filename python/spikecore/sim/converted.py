r"""Deploy a converted SNN (:func:`spikecore.convert.convert`'s :class:`SpikingNetwork`, rate or
STDI coding) to the event engine: ``from_torch(snn, input_shape=...)``.

The converted graph (torch.fx) alternates spiking nodes and affine ones. Each spiking node
becomes an engine population:

* a ``SpikingActivation`` -> an ``"if"`` (rate; signed for LeakyReLU) or ``"stdi"`` population
  with the activation's thresholds (per neuron, broadcast from per channel);
* a ``SpikeMaxPool2d`` -> a ``"max_gate"`` population (exact MSB-first gate under STDI, the count
  gate under rate coding: the rule of SpikeMaxPool2d), whose candidates are the pooling windows
  of the spiking node it pools (its input must be a spiking node's output);

and everything between spiking nodes must be affine (Conv2d, Linear, AvgPool2d,
AdaptiveAvgPool2d, Flatten, Upsample (nearest), BatchNorm, residual add, channel concat,
Identity, Dropout): a target population's input is :math:`x = \sum_S J_S y_S + c` over its
source populations S, with :math:`y_S` the sources' spike values. Each :math:`J_S` becomes
explicit synapses of the engine's SynapseMatrix (zero weights dropped): :math:`J_S` is read off
the bias-free affine subgraph by evaluating it on unit vectors (a convolution deploys as its
explicit synapses, an average pool as 1/k^2 synapses), and the weight of synapse
:math:`i \to j` is :math:`J_{ji} \vartheta_i` (the source's threshold folded in; the engine adds
an STDI spike's bit weight :math:`T 2^{-(t+1)}` and a negative spike's sign at delivery). The
constant :math:`c` (the biases) is a per-step current input of the target during its window.

Input (direct coding): the analog part of the graph that depends on the image only (usually the
first Conv2d / Linear, with its bias) is evaluated in torch once per image, exactly as the torch
SNN evaluates it at every step; its output is the per-step current input of the first spiking
layer for its T steps. Output: the affine head after the last spiking node (e.g. the final
Linear) is a non-spiking integrator population (``"if"`` with an unreachable threshold, v0 = 0)
whose membrane after its window, divided by T, is the network's output (the torch SNN's mean
over the T steps). If the output is a spiking node, the output is the mean of its spike values.

Timing: a population's window starts ``start`` engine steps after the run starts; its first
output step is ``start + e`` (STDI: e = D, IF / gate: e = 0). A target starts one step after its
latest source's first output, and each projection's delay aligns every source's step t with the
target's step t, so residual branches of different depth line up (rate coding: layer l starts at
step l; STDI: at l (D + 1)).

Equality with the torch SNN: the first spiking layer's input is bitwise the torch one; deeper
layers sum their synaptic input in the engine's event order instead of the BLAS order, so a
membrane within float rounding of a threshold can flip a spike (measured in the tests and
docs/convert.md: rarely, and the outputs agree to ~1e-6).
"""

from __future__ import annotations

import copy
import numbers
import operator
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from spikecore import specs
from spikecore._guards import check_bytes, integer
from spikecore.sim.network import Network

__all__ = [
    "ConvertedDeployment",
    "ConvertedResult",
    "SUPPORTED_CONVERTED",
    "is_converted",
    "unit_jacobian",
]

SUPPORTED_CONVERTED = (
    "SpikingActivation (IF / signed IF / STDI), SpikeMaxPool2d (max-pool gate), and between "
    "them affine layers: Conv2d, Linear, AvgPool2d, AdaptiveAvgPool2d, Flatten / torch.flatten, "
    "Upsample / F.interpolate (nearest), BatchNorm1d/2d, residual add, torch.cat, Identity, "
    "Dropout"
)
NEVER = 3.0e38  # threshold of the integrator readout: never reached
_CHUNK = 256  # unit vectors per evaluation of an affine subgraph


def is_converted(model: Any) -> bool:
    """Whether ``model`` is a converted SNN (spikecore.convert.SpikingNetwork)."""
    from spikecore.convert.converter import SpikingNetwork

    return isinstance(model, SpikingNetwork)


@dataclass
class ConvertedResult:
    """Output of :meth:`ConvertedDeployment.run` (one image).

    ``output``: the network output (the torch SNN's mean over the T steps), shaped like the
    torch output without the batch dimension. ``spikes``: per spiking node (graph order), its
    spikes ``[T, n]`` in its window (-1 for negative spikes). ``synops``: synaptic events of
    the run (spikes times their out-degree, within the windows). ``engine_events``: events the
    engine delivered (spikes after a window included).
    """

    output: np.ndarray
    spikes: Dict[str, np.ndarray]
    synops: int
    engine_events: int


@dataclass
class _Pop:
    node: Any  # fx node
    kind: str  # "if" | "stdi" | "max_gate" | "readout"
    shape: Tuple[int, ...]
    n: int
    value: np.ndarray  # [n] spike value scale (threshold) folded into outgoing weights
    start: int = 0
    emit: int = 0  # first output step relative to start
    spec: Any = None
    index: int = -1  # engine population
    out_degree: Optional[np.ndarray] = None
    const: Optional[np.ndarray] = None  # constant input (biases) per neuron
    analog: bool = False  # driven by the image (the stem's output as current input)


class ConvertedDeployment:
    """A converted SNN on the engine. ``run(image)`` -> :class:`ConvertedResult`.

    Attributes: ``net`` (the :class:`~spikecore.sim.Network`), ``T``, ``coding``,
    ``populations`` (name -> engine population), ``n_synapses``, ``latency`` (engine steps of
    one image).
    """

    def __init__(self, snn, input_shape: Sequence[int], n_threads: int = 1):
        import torch

        self.snn = snn
        self.T = int(snn.T)
        self.coding = snn.coding
        self.input_shape = _shape(input_shape)
        self.gm = snn.graph_module
        with torch.no_grad():
            try:
                self._analyse()
            except RuntimeError as e:  # torch's shape errors: the input does not fit the model
                raise ValueError(
                    f"input_shape: the model cannot evaluate an input of shape "
                    f"{self.input_shape}: {e}"
                ) from None
            self._build(n_threads)

    # ------------------------------------------------------------------ graph analysis
    def _analyse(self) -> None:
        import torch
        import torch.nn.functional as F

        from spikecore.convert.layers import SpikeMaxPool2d, SpikingActivation

        gm = self.gm
        nodes = list(gm.graph.nodes)
        placeholders = [n for n in nodes if n.op == "placeholder"]
        if len(placeholders) != 1:
            raise ValueError(f"model: expected one input, got {len(placeholders)}")
        self._x = placeholders[0]
        out_nodes = [n for n in nodes if n.op == "output"]
        out = out_nodes[0].args[0]
        if not hasattr(out, "op"):
            raise ValueError(
                "model: the engine deploys a network with one tensor output; this one returns "
                f"{type(out).__name__}"
            )
        self._out = out
        # shapes (per sample) and node classes
        shapes: Dict[Any, Tuple[int, ...]] = {}
        env: Dict[Any, Any] = {}
        self.pops: List[_Pop] = []
        self._pop_of: Dict[Any, _Pop] = {}
        depends: Dict[Any, set] = {}  # node -> the population nodes it depends on
        analog: Dict[Any, bool] = {}  # node depends on the image (not through a population)
        for n in nodes:
            if n.op == "placeholder":
                env[n] = torch.zeros((1,) + self.input_shape)
                depends[n], analog[n] = set(), True
            elif n.op == "output":
                continue
            elif n.op == "get_attr":
                env[n] = _fetch_attr(gm, n.target)
                depends[n], analog[n] = set(), False
            else:
                ins = [a for a in n.all_input_nodes]
                dep = set().union(*[depends[a] for a in ins]) if ins else set()
                ana = any(analog[a] for a in ins)
                m = gm.get_submodule(n.target) if n.op == "call_module" else None
                if isinstance(m, SpikingActivation):
                    x = env[n.args[0]]
                    env[n] = torch.zeros_like(x)
                    self._add_pop(n, m, tuple(x.shape[1:]))
                    dep, ana = {n}, False
                elif isinstance(m, SpikeMaxPool2d):
                    src = _skip_identity(n.args[0], gm)
                    if src not in self._pop_of or self._pop_of[src].kind == "readout":
                        raise ValueError(
                            f"model: layer {n.target!r} (SpikeMaxPool2d) pools {src.name!r}, "
                            "which is not a spiking layer's output; the engine's max-pool "
                            "gate needs spike codes (put the pool after an activation, or "
                            "convert with maxpool='avg')"
                        )
                    y = F.max_pool2d(env[n.args[0]], **m._pool_args())
                    env[n] = y
                    self._add_gate(n, m, src, tuple(y.shape[1:]))
                    dep, ana = {n}, False
                else:
                    _check_affine(n, m)
                    env[n] = _eval_node(n, env, gm, {})
                    if ana and dep:
                        raise ValueError(
                            f"model: node {n.name!r} mixes the analog input with spikes; the "
                            "engine takes the image only as the first layer's input current"
                        )
                depends[n], analog[n] = dep, ana
            if isinstance(env.get(n), torch.Tensor):
                shapes[n] = tuple(env[n].shape[1:])
        if not self.pops:
            raise ValueError("model: has no spiking activation to deploy")
        self._depends, self._analog, self._shapes = depends, analog, shapes
        # the output: a spiking node, or an affine head -> integrator readout
        if out in self._pop_of and self._pop_of[out].kind != "readout":
            self.readout = None
        else:
            if self._analog.get(out, False):
                raise ValueError("model: the output does not depend on any spiking layer")
            shp = shapes[out]
            n = int(np.prod(shp))
            self.readout = _Pop(out, "readout", shp, n, np.ones(n, np.float32))
        # timing: start of each population's window (graph order is topological)
        for p in self.pops + ([self.readout] if self.readout else []):
            srcs = self._sources(p)
            if not srcs:
                p.start = 0
            else:
                p.start = max(s.start + s.emit for s in srcs) + 1
        self.latency = max(p.start + p.emit for p in self.pops) + self.T
        if self.readout is not None:
            self.latency = self.readout.start + self.T

    def _add_pop(self, n, m, shape) -> None:
        import torch

        neuron = m.neuron
        th = neuron.v_threshold.detach().float()
        theta = torch.broadcast_to(th, shape).reshape(-1).numpy().astype(np.float32).copy()
        slope = neuron.negative_slope
        if m.coding == "stdi":
            kind, emit = "stdi", neuron.delay or self.T
        else:
            kind, emit = "if", 0
        p = _Pop(n, kind, shape, int(np.prod(shape)), theta, emit=emit)
        p.spec = dict(
            theta=theta,
            slope=slope,
            v0=getattr(neuron, "v0", 0.5),
            delay=getattr(neuron, "delay", None),
            rounding=getattr(neuron, "rounding", True),
        )
        self.pops.append(p)
        self._pop_of[n] = p

    def _add_gate(self, n, m, src, shape) -> None:
        import torch
        import torch.nn.functional as F

        sp = self._pop_of[src]
        C_in = sp.shape
        if len(C_in) != 3:
            raise ValueError(f"model: layer {n.target!r} (SpikeMaxPool2d) needs [C, H, W] input")
        args = m._pool_args()
        # candidate map: unfold the index image of the source (padding: -1)
        idx = torch.arange(sp.n, dtype=torch.float64).reshape((1,) + C_in) + 1.0
        k = args["kernel_size"]
        k = (k, k) if isinstance(k, int) else tuple(k)
        st = args["stride"] or k
        st = (st, st) if isinstance(st, int) else tuple(st)
        pd = args["padding"]
        pd = (pd, pd) if isinstance(pd, int) else tuple(pd)
        dl = args["dilation"]
        dl = (dl, dl) if isinstance(dl, int) else tuple(dl)
        C = C_in[0]
        cols = F.unfold(
            idx.reshape(C, 1, C_in[1], C_in[2]), k, dilation=dl, padding=pd, stride=st
        )  # [C, K, L]
        K, L = cols.shape[1], cols.shape[2]
        if C * L != int(np.prod(shape)):
            raise ValueError(
                f"model: layer {n.target!r} (SpikeMaxPool2d, ceil_mode?) has an output size the "
                "engine gate cannot map; use ceil_mode=False"
            )
        cand = cols.permute(0, 2, 1).reshape(C * L, K).numpy().astype(np.int64) - 1  # -1: pad
        valid = cand >= 0
        count = valid.sum(1).astype(np.int32)
        # pack the valid candidates first, in scan order (max_pool2d's first-max tie rule)
        order = np.argsort(~valid, axis=1, kind="stable")
        cand = np.take_along_axis(cand, order, 1)
        p = _Pop(n, "max_gate", shape, C * L, sp.value[cand[:, 0]].copy(), emit=0)
        p.spec = dict(kernel=K, count=count, cand=cand, src=sp)
        self.pops.append(p)
        self._pop_of[n] = p

    def _sources(self, p: _Pop) -> List[_Pop]:
        if p.kind == "max_gate":
            return [p.spec["src"]]
        x = p.node if p.kind == "readout" else p.node.args[0]
        return [self._pop_of[s] for s in sorted(self._depends[x], key=_order(self.gm))]

    # ------------------------------------------------------------------ synapses
    def _affine_input(self, p: _Pop):
        """(list of (source, pre, post, J), constant c [n] or None, analog) of a population's
        input node."""
        import torch

        if p.kind == "max_gate":
            sp = p.spec["src"]
            cand = p.spec["cand"]
            post = np.arange(p.n)[:, None] * p.spec["kernel"] + np.arange(cand.shape[1])[None]
            ok = cand >= 0
            return (
                [
                    (
                        sp,
                        cand[ok].astype(np.int32),
                        post[ok].astype(np.int32),
                        np.ones(int(ok.sum()), np.float32),
                    )
                ],
                None,
                False,
            )
        x = p.node if p.kind == "readout" else p.node.args[0]
        if self._analog[x]:
            return [], None, True
        srcs = self._sources(p)
        gm = self.gm
        # constant: the subgraph on zero spikes (the biases)
        env0 = {s.node: torch.zeros((1,) + s.shape) for s in srcs}
        c = _eval_to(x, env0, gm, {}).reshape(-1).numpy().astype(np.float32)
        nobias = _bias_free(gm, x)
        out = []
        for s in srcs:

            def f(e, s=s):
                env = {q.node: torch.zeros((e.shape[0],) + q.shape) for q in srcs}
                env[s.node] = e
                return _eval_to(x, env, gm, nobias)

            out.append((s,) + unit_jacobian(f, s.shape))
        return out, (c if np.any(c != 0) else None), False

    # ------------------------------------------------------------------ engine network
    def _build(self, n_threads: int) -> None:
        T = self.T
        every = self.pops + ([self.readout] if self.readout else [])
        conns = []
        max_d = 1
        for p in every:
            syn, c, ana = self._affine_input(p)
            p.const, p.analog = c, ana
            for s, pre, post, J in syn:
                d = p.start - (s.start + s.emit)
                max_d = max(max_d, d)
                w = (J * s.value[pre]).astype(np.float32)
                keep = w != 0
                conns.append((s, p, pre[keep], post[keep], w[keep], d))
        self.net = net = Network(dt=1.0, n_threads=n_threads, seed=0, max_delay=float(max_d))
        self.populations = {}
        for p in every:
            name = p.node.name
            spec: specs.NeuronSpec
            if p.kind == "if":
                spec = specs.IFSpec(
                    v_threshold=p.value, v0=p.spec["v0"], negative_slope=p.spec["slope"]
                )
            elif p.kind == "stdi":
                spec = specs.STDISpec(
                    T=T,
                    delay=p.spec["delay"],
                    v_threshold=p.value,
                    rounding=p.spec["rounding"],
                    negative_slope=p.spec["slope"],
                    start=p.start,
                )
            elif p.kind == "max_gate":
                src = p.spec["src"]
                spec = specs.MaxGateSpec(
                    kernel=p.spec["kernel"],
                    T=T if self.coding == "stdi" else 0,
                    count=p.spec["count"],
                    signed=src.kind != "max_gate" and src.spec["slope"] is not None,
                    start=p.start,
                )
            else:
                spec = specs.IFSpec(v_threshold=NEVER, v0=0.0)
            p.index = net.add_population(p.n, spec, name=name).index
            self.populations[name] = net.populations[p.index]
        self.n_synapses = 0
        for p in every:
            p.out_degree = np.zeros(p.n, np.int64)
        for s, p, pre, post, w, d in conns:
            if w.size == 0:
                continue
            net.connect(
                s.index,
                p.index,
                "explicit",
                pre_index=pre,
                post_index=post,
                weight=w,
                delay=float(d),
            )
            s.out_degree += np.bincount(pre, minlength=s.n)
            self.n_synapses += int(w.size)
        self._mons = {p.node.name: net.record_spikes(p.index) for p in self.pops}

    # ------------------------------------------------------------------ running
    def _stem(self, image) -> Dict[Any, np.ndarray]:
        """The analog inputs (per-step currents) of the image-driven populations."""
        import torch

        x = image
        if hasattr(x, "detach"):
            x = x.detach().to("cpu")
        if not isinstance(x, torch.Tensor):
            a = np.asarray(x)
            if a.dtype.kind != "f":
                raise TypeError(f"image: expected floats, got dtype {a.dtype}")
            x = torch.as_tensor(a)
        if not torch.is_floating_point(x):
            raise TypeError(f"image: expected floats, got {x.dtype}")
        if tuple(x.shape) == (1,) + self.input_shape:
            x = x[0]
        if tuple(x.shape) != self.input_shape:
            raise ValueError(
                f"image: expected shape {self.input_shape} (or [1, ...]), got {tuple(x.shape)}"
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError("image: contains NaN or infinite values")
        x = x.float()
        out = {}
        with torch.no_grad():
            env = {self._x: x.unsqueeze(0)}
            for p in self.pops + ([self.readout] if self.readout else []):
                if getattr(p, "analog", False):
                    src = p.node if p.kind == "readout" else p.node.args[0]
                    cur = _eval_to(src, env, self.gm, {}).reshape(-1).numpy()
                    if not np.all(np.abs(cur) <= specs.MAX_VALUE):  # NaN / inf included
                        raise ValueError(
                            "image: the first layer's output overflows the float32 range "
                            f"of the engine's state (|x| > 1e30) at node {p.node.name!r}"
                        )
                    out[p.node] = cur
        return out

    def run(self, image) -> ConvertedResult:
        """Run one image ``[C, H, W]`` (or ``[1, C, H, W]``; ``[n_in]`` for a dense net)."""
        T = self.T
        stem = self._stem(image)
        net = self.net
        net.reset_state()
        for mon in self._mons.values():
            mon.clear()
        s0 = net.step
        every = self.pops + ([self.readout] if self.readout else [])
        for p in every:
            cur = stem.get(p.node)
            if cur is None:
                cur = p.const
            if cur is not None:
                rows = np.broadcast_to(cur.astype(np.float32), (T, p.n))
                net._c.set_current_steps(p.index, s0 + p.start, np.ascontiguousarray(rows))
        ev0 = net.events
        net.run_steps(self.latency)
        spikes: Dict[str, np.ndarray] = {}
        synops = 0
        for p in self.pops:
            mon = self._mons[p.node.name]
            lo = s0 + p.start + p.emit
            st, ids = mon.steps, mon.senders
            sel = (st >= lo) & (st < lo + T)
            z = np.zeros((T, p.n), np.float32)
            i = ids[sel]
            z[st[sel] - lo, i % p.n] = np.where(i >= p.n, -1.0, 1.0)
            spikes[p.node.name] = z
            synops += int(np.abs(z).sum(0) @ p.out_degree)
        if self.readout is not None:
            v = net.get_state(self.readout.index, "v")
            out = (v / np.float32(T)).astype(np.float32).reshape(self.readout.shape)
        else:
            p = self._pop_of[self._out]
            out = self._values(p, spikes[p.node.name]).mean(0).reshape(p.shape)
        return ConvertedResult(out, spikes, synops, int(net.events - ev0))

    def _values(self, p: _Pop, z: np.ndarray) -> np.ndarray:
        w = np.ones(self.T, np.float32)
        if self.coding == "stdi":
            w = (self.T * 2.0 ** -np.arange(1, self.T + 1)).astype(np.float32)
        return z * w[:, None] * p.value[None]

    def __repr__(self) -> str:
        sizes = " -> ".join(f"{p.node.name}:{p.kind}[{p.n}]" for p in self.pops)
        return (
            f"ConvertedDeployment({self.coding}, T={self.T}, {sizes}, "
            f"synapses={self.n_synapses}, latency={self.latency})"
        )


# ---------------------------------------------------------------------- fx helpers


def unit_jacobian(f, shape: Tuple[int, ...]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synapses (pre, post, weight; row order, zeros dropped) of a linear map ``f`` on inputs
    of per-sample ``shape``, read off ``f`` on the unit vectors (chunks of 256)."""
    import torch

    n_in = int(np.prod(shape))
    pres, posts, ws = [], [], []
    with torch.no_grad():
        for a in range(0, n_in, _CHUNK):
            b = min(n_in, a + _CHUNK)
            e = torch.zeros((b - a, n_in))
            e[torch.arange(b - a), torch.arange(a, b)] = 1.0
            J = f(e.reshape((b - a,) + tuple(shape))).reshape(b - a, -1).numpy()
            i, j = np.nonzero(J)
            pres.append((i + a).astype(np.int32))
            posts.append(j.astype(np.int32))
            ws.append(J[i, j].astype(np.float32))
    pre, post, w = np.concatenate(pres), np.concatenate(posts), np.concatenate(ws)
    order = np.lexsort((post, pre))
    return pre[order], post[order], w[order]


def _shape(s) -> Tuple[int, ...]:
    """``input_shape`` as a tuple of ints >= 1, small enough to allocate one image."""
    if isinstance(s, numbers.Integral) and not isinstance(s, bool):
        s = (int(s),)
    if isinstance(s, (str, bytes)) or not hasattr(s, "__iter__"):
        raise TypeError(f"input_shape: expected a sequence of ints, got {type(s).__name__}")
    t = tuple(s)
    if not t:
        raise ValueError("input_shape: expected at least one dimension, got ()")
    t = tuple(integer(v, "input_shape", 1) for v in t)
    size = float(np.prod([float(v) for v in t]))
    check_bytes(4.0 * size, "input_shape", f"an input of {size:.4g} values")
    return t


def _order(gm):
    pos = {n: i for i, n in enumerate(gm.graph.nodes)}
    return lambda n: pos[n]


def _fetch_attr(gm, target: str):
    obj = gm
    for a in target.split("."):
        obj = getattr(obj, a)
    return obj


def _skip_identity(n, gm):
    from torch import nn

    while n.op == "call_module" and isinstance(
        gm.get_submodule(n.target), (nn.Identity, nn.Dropout)
    ):
        n = n.args[0]
    return n


def _check_affine(n, m) -> None:
    import torch
    import torch.nn.functional as F
    from torch import nn

    if n.op == "call_module":
        ok = (
            nn.Conv2d,
            nn.Linear,
            nn.AvgPool2d,
            nn.AdaptiveAvgPool2d,
            nn.Flatten,
            nn.Upsample,
            nn.BatchNorm1d,
            nn.BatchNorm2d,
            nn.Identity,
            nn.Dropout,
        )
        if not isinstance(m, ok):
            raise ValueError(
                f"model: layer {n.target!r} ({type(m).__name__}) has no engine deployment; "
                f"supported: {SUPPORTED_CONVERTED}"
            )
        if isinstance(m, nn.Upsample) and m.mode != "nearest":
            raise ValueError(f"model: layer {n.target!r} (Upsample mode {m.mode!r}): only nearest")
        return
    if n.op == "call_function":
        fns = (
            operator.add,
            torch.add,
            torch.cat,
            torch.concat,
            torch.flatten,
            F.interpolate,
            getattr,
            operator.getitem,
        )
        if n.target not in fns:
            raise ValueError(
                f"model: node {n.name!r} ({getattr(n.target, '__name__', n.target)}) has no "
                f"engine deployment; supported: {SUPPORTED_CONVERTED}"
            )
        if n.target is F.interpolate and n.kwargs.get("mode", "nearest") != "nearest":
            raise ValueError(f"model: node {n.name!r} (F.interpolate): only mode='nearest'")
        return
    if n.op == "call_method" and n.target in ("flatten", "size", "view", "reshape"):
        return
    raise ValueError(
        f"model: node {n.name!r} ({n.op} {n.target}) has no engine deployment; "
        f"supported: {SUPPORTED_CONVERTED}"
    )


def _eval_node(n, env, gm, override):
    from torch import fx

    args = fx.node.map_arg(n.args, lambda a: env[a])
    kwargs = fx.node.map_arg(n.kwargs, lambda a: env[a])
    if n.op == "call_module":
        m = override.get(n.target) or gm.get_submodule(n.target)
        return m(*args, **kwargs)
    if n.op == "call_function":
        return n.target(*args, **kwargs)
    if n.op == "call_method":
        return getattr(args[0], n.target)(*args[1:], **kwargs)
    if n.op == "get_attr":
        return _fetch_attr(gm, n.target)
    raise ValueError(f"model: cannot evaluate node {n.name!r}")


def _eval_to(target, env: Dict[Any, Any], gm, override):
    """Evaluate ``target`` from the values in ``env`` (nodes not reached from env: error)."""
    env = dict(env)

    def ev(n):
        if n in env:
            return env[n]
        for a in n.all_input_nodes:
            ev(a)
        env[n] = _eval_node(n, env, gm, override)
        return env[n]

    return ev(target)


def _bias_free(gm, target) -> Dict[str, Any]:
    """Copies of the biased modules on the way to ``target`` with the bias (and BN shift)
    removed: the linear part of the affine subgraph."""
    import torch
    from torch import nn

    out: Dict[str, Any] = {}
    seen = set()
    stack = [target]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.op == "call_module":
            m = gm.get_submodule(n.target)
            if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                c = copy.deepcopy(m)
                with torch.no_grad():
                    c.bias.zero_()
                out[n.target] = c
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = copy.deepcopy(m)
                with torch.no_grad():
                    if c.running_mean is not None:
                        c.running_mean.zero_()
                    if c.bias is not None:
                        c.bias.zero_()
                out[n.target] = c
            from spikecore.convert.layers import SpikeMaxPool2d, SpikingActivation

            if isinstance(m, (SpikingActivation, SpikeMaxPool2d)):
                continue
        stack.extend(n.all_input_nodes)
    return out
