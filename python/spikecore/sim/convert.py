r"""Deploy a trained spikecore.nn model to the event-driven engine: :func:`from_torch`.

A feedforward ``torch.nn.Sequential`` of synaptic layers (``torch.nn.Linear``,
``spikecore.nn.Linear``, ``spikecore.nn.SparseLinear``, ``spikecore.nn.DendriticLinear``), each
followed by a neuron layer (``LIF``, ``ParametricLIF`` with a scalar tau, ``AdaptiveLIF``,
``NoisyLIF`` -- deployed as its deterministic eval-mode LIF -- or a ``LeakyIntegrator``
readout), and self-contained spiking layers (``spikecore.nn.CELIF``, ``spikecore.nn.DendriticLIF``)
becomes a :class:`spikecore.sim.Network`. Modules are read through their public methods only:
``spec()`` (a neuron's :mod:`spikecore.specs` spec, added with ``add_population(n, spec)``) and
``synapses()`` (a synaptic layer's :class:`~spikecore.specs.SynapseSpec` tuple):

* the input is a ``spike_source`` population; each neuron layer is a ``lif_discrete`` /
  ``alif_discrete`` population with the module's :math:`\beta = 1 - 1/\tau`, :math:`v_{rest}`,
  :math:`\vartheta` and reset (a ``LeakyIntegrator`` is a ``lif_discrete`` population whose
  threshold is never reached; its membrane is recorded every step);
* each synaptic layer is one explicit projection (zero weights dropped, delay one step);
* a convolutional chain (``torch.nn.Conv2d``, ``spikecore.nn.SparseConv2d``, ``AvgPool2d``,
  ``AdaptiveAvgPool2d``, ``Flatten``, then optionally Linear layers, with ``input_shape``) is
  one explicit projection too: its Jacobian read off the bias-free chain on unit vectors (a
  convolution's synapses are its kernel entries at every position), its bias = chain(0);
* a converted network (:func:`spikecore.convert.convert`) deploys through
  :mod:`spikecore.sim.converted` (IF / STDI / max-pool gate populations);
* a dendritic layer (``DendriticLinear`` + soma, or ``DendriticLIF``) becomes a population with
  ``branches=K`` (the engine's multi-compartment neuron): synapse :math:`(i \to j, k)` targets
  branch compartment :math:`jK + k`, the branch biases are the population's ``branch_bias``,
  and the soma is the following neuron layer;
* a ``CELIF`` layer becomes a ``celif`` population: its ``fc`` weights (and bias) act on the
  ``"current"`` receptor, its context weights on ``"context"`` (none with ``context='shared'``),
  with its learned per-neuron :math:`\lambda_c = \sigma(\ell)`;
* a ``Recurrent`` layer (spikecore.nn) becomes its neuron's population with its input
  synapses and one more projection from the population onto itself, delay one step, holding
  the nonzero :math:`W_\mathrm{rec}`: a spike of torch step :math:`t` arrives in step
  :math:`t + 1`, as :math:`W_\mathrm{rec} z_{t-1}` in the torch forward (the engine adds
  those events into the step's one input sum, torch adds :math:`W_\mathrm{rec} z_{t-1}` to
  :math:`W x_t + b`: spike for spike where the partial sums are exact, e.g. dyadic weights,
  else up to float rounding at the threshold);
* a bias :math:`b_j` is a synapse from an always-on ``bias`` source neuron, connected *after*
  the layer's weights, so the engine sums a neuron's input of a step in the order
  :math:`((0 + w_{i_1 j}) + w_{i_2 j} + \dots) + b_j` over active inputs
  :math:`i_1 < i_2 < \dots` -- the order of spikecore.nn's event-driven product -- and then
  updates the neuron exactly as the torch reference does:

.. math::

    h_t = \big((1-\beta) v_{rest} + \beta v_{t-1}\big) + x_t, \qquad z_t = H(h_t - \vartheta),
    \qquad v_t = \begin{cases} v_{reset} & \text{hard reset} \\ h_t - \vartheta & \text{soft}
    \end{cases}

Every synaptic hop costs the engine one step, so layer :math:`l` of torch step :math:`t` runs in
engine step :math:`t + l`; :meth:`Deployed.run` undoes the shift and returns spikes ``[T, n]``
aligned with the torch forward.

Exactness: with the same input spikes the engine reproduces the torch forward at batch 1 spike
for spike (bitwise equal membranes) whenever the torch forward sums each neuron's input in the
same order -- spikecore.nn.Linear / SparseLinear on spike inputs with the C++ kernels (the
event-driven path: at most 12 % active inputs, or always with ``spike_input=True``), or any
weights whose partial sums are exact in float32 (e.g. dyadic weights). For dendritic layers the
same holds with ``backend='cpp'`` (the index-gather kernel sums each branch's inputs in
ascending input order, as the engine does); the default masked dense product rounds in BLAS
order. A dense BLAS product (``torch.nn.Linear``) rounds in another order; then a spike can
flip only where a membrane lies within float rounding of the threshold. Layer :math:`l` is held
at rest (its state reset after each step) until its first input step, so branch biases,
sigmoid branches or :math:`v_{rest} \ne 0` cannot drive it early.

SynOps: the number of synaptic events of a run (each presynaptic spike times its out-degree,
bias synapses not counted), reported by :meth:`Deployed.run` and equal to what the engine
delivers inside the aligned window.

Example
-------
>>> import torch, spikecore.nn as snn
>>> from spikecore.sim import from_torch
>>> model = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF(tau=2.0)).eval()
>>> dep = from_torch(model)
>>> res = dep.run(torch.ones(5, 1, 4))
>>> res.output.shape, res.synops >= 0
((5, 3), True)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, cast

import numpy as np

from spikecore._guards import threads as _threads
from spikecore.sim.network import Network
from spikecore.specs import (
    Branches,
    CELIFSpec,
    DendriticSpec,
    DiscreteALIFSpec,
    DiscreteLIFSpec,
    NeuronSpec,
    SynapseSpec,
)

__all__ = ["from_torch", "Deployed", "DeployResult", "LayerSpec"]


@dataclass
class LayerSpec:
    """One synaptic layer + neuron layer, as deployed."""

    kind: str  # "lif" | "alif" | "li" | "celif"
    n_in: int
    n: int
    pre: np.ndarray  # int32 [nnz] presynaptic index (into the previous layer)
    post: np.ndarray  # int32 [nnz]
    weight: np.ndarray  # float32 [nnz]
    bias: Optional[np.ndarray]  # float32 [n] or None
    beta: float
    v_rest: float
    v_threshold: float
    v_reset: float
    soft_reset: bool
    rho: float = -1.0
    beta_a: float = 0.0
    out_degree: Optional[np.ndarray] = None  # int64 [n_in]
    # dendritic branches: post indices are compartments j K + k
    branches: int = 1
    branch_fn: str = "relu"
    branch_bias: Optional[np.ndarray] = None  # float32 [n K]
    # CE-LIF: neuron parameters (beta, rho, beta_a, gamma, v_threshold, lambda_c [n], context) and
    # the context synapses (separate context)
    celif: Optional[dict] = None
    ctx_pre: Optional[np.ndarray] = None
    ctx_post: Optional[np.ndarray] = None
    ctx_weight: Optional[np.ndarray] = None
    # the neuron's spec (spikecore.specs): what the engine population is built from
    neuron: Optional[NeuronSpec] = None
    # recurrent layer (spikecore.nn.Recurrent): synapses of the population onto itself
    rec_pre: Optional[np.ndarray] = None
    rec_post: Optional[np.ndarray] = None
    rec_weight: Optional[np.ndarray] = None

    @property
    def n_synapses(self) -> int:
        return (
            self.weight.size
            + (0 if self.ctx_weight is None else self.ctx_weight.size)
            + (0 if self.rec_weight is None else self.rec_weight.size)
        )


@dataclass
class DeployResult:
    """Output of :meth:`Deployed.run` (numpy, time-first, aligned with the torch forward).

    ``output``: ``[T, n_out]`` spikes of the last layer, or the membrane of a leaky-integrator
    readout. ``spikes``: one ``[T, n]`` spike array per spiking layer. ``synops``: synaptic
    events. ``engine_events``: events the engine delivered in the run (equal to ``synops`` plus
    the bias events, unless a layer fired after its window).
    """

    output: np.ndarray
    spikes: List[np.ndarray]
    synops: int
    engine_events: int

    @property
    def spike_count(self) -> int:
        return int(sum(int(s.sum()) for s in self.spikes))


def _flatten(model) -> List[Any]:
    import torch

    if isinstance(model, torch.nn.Sequential):
        out = []
        for m in model:
            out.extend(_flatten(m))
        return out
    return [model]


def _layer_error(i: int, m, e: Exception) -> ValueError:
    msg = str(e)
    if msg.startswith("model: "):
        msg = msg[len("model: ") :]
    return ValueError(f"model: layer {i} ({type(m).__name__}): {msg}")


def _synapses_of(m, i: int) -> Tuple[SynapseSpec, ...]:
    """A layer's deployable synapses through its public ``synapses()`` (a plain
    ``torch.nn.Linear``, which has none, through spikecore.nn.linear.synapse_spec)."""
    import torch

    from spikecore.nn.linear import synapse_spec

    try:
        if callable(getattr(m, "synapses", None)):
            return tuple(m.synapses())
        return (synapse_spec(m),) if isinstance(m, torch.nn.Linear) else ()
    except (ValueError, TypeError, IndexError) as e:
        raise _layer_error(i, m, e) from None


def _spec_of(m, i: int) -> NeuronSpec:
    """A neuron layer's spec through its public ``spec()``, checked for deployment."""
    try:
        spec = m.spec()
        if not isinstance(spec, NeuronSpec):
            raise TypeError(f"spec() returned {type(spec).__name__}, not a spikecore.specs spec")
    except (ValueError, TypeError) as e:
        raise _layer_error(i, m, e) from None
    return spec


def _kind(spec: NeuronSpec) -> str:
    if not spec.spiking:
        return "li"
    return {"alif_discrete": "alif", "celif": "celif"}.get(spec.deployable().model_name(), "lif")


def _layer(
    spec: NeuronSpec, syns: Tuple[SynapseSpec, ...], i: int, m, warn: bool = True
) -> LayerSpec:
    """LayerSpec of neuron ``spec`` fed by ``syns`` (the first: the layer's main synapses)."""
    main = syns[0]
    if main.dendrites is not None and not isinstance(spec, DendriticSpec):
        spec = DendriticSpec(spec, main.dendrites)
    if spec.deploy_note and warn:
        warnings.warn(f"model: layer {i} {spec.deploy_note}", stacklevel=4)
    kind = _kind(spec)
    try:
        spec = spec.deployable()
        e = spec.engine(main.n_out).args  # a spec without an engine population raises here
    except (ValueError, TypeError) as err:
        raise _layer_error(i, m, err) from None
    br = spec.dendrites if isinstance(spec, DendriticSpec) else None
    ctx = syns[1] if len(syns) > 1 else None
    pre_all = np.concatenate([s.pre for s in syns])
    extra: Dict[str, Any] = {}
    if kind == "celif":
        c = cast(CELIFSpec, spec.soma if isinstance(spec, DendriticSpec) else spec)
        extra["celif"] = dict(
            beta=c.beta,
            rho=c.rho,
            beta_a=c.beta_a,
            gamma=c.gamma,
            v_threshold=c.v_threshold,
            lambda_c=c.lambda_c,
            context=c.context,
        )
        e = dict(e, v_rest=0.0, v_reset=0.0, soft_reset=False)
    if kind == "alif":
        extra.update(rho=e["rho"], beta_a=e["beta_a"])
    if br is not None:
        extra.update(branches=br.branches, branch_fn=br.branch_fn, branch_bias=br.branch_bias)
    return LayerSpec(
        kind=kind,
        n_in=main.n_in,
        n=main.n_out,
        pre=main.pre,
        post=main.post,
        weight=main.weight,
        bias=main.bias,
        beta=float(e["beta"]),
        v_rest=float(e["v_rest"]),
        v_threshold=float(e["v_th"]),
        v_reset=float(e["v_reset"]),
        soft_reset=bool(e["soft_reset"]),
        out_degree=np.bincount(pre_all, minlength=main.n_in).astype(np.int64),
        ctx_pre=None if ctx is None else ctx.pre,
        ctx_post=None if ctx is None else ctx.post,
        ctx_weight=None if ctx is None else ctx.weight,
        neuron=spec,
        **extra,
    )


def _neuron_of(L: LayerSpec) -> NeuronSpec:
    """The spec of a LayerSpec's population (built from its fields if made by hand)."""
    if L.neuron is not None:
        return L.neuron
    if L.kind == "celif":
        if L.celif is None:
            raise ValueError("celif: a 'celif' layer needs its parameters (LayerSpec.celif)")
        spec: NeuronSpec = CELIFSpec(**L.celif)
    else:
        kw: Dict[str, Any] = dict(
            beta=L.beta,
            v_threshold=L.v_threshold,
            v_rest=L.v_rest,
            v_reset=None if L.soft_reset and L.v_reset == 0.0 else L.v_reset,
        )
        spec = (
            DiscreteALIFSpec(rho=L.rho, beta_a=L.beta_a, **kw)
            if L.kind == "alif"
            else DiscreteLIFSpec(**kw)
        )
    if L.branches > 1:
        spec = DendriticSpec(spec, Branches(L.branches, L.branch_fn, 0.0, L.branch_bias))
    return spec


_SHAPE_LAYERS = "torch.nn.Conv2d, spikecore.nn.SparseConv2d, AvgPool2d, AdaptiveAvgPool2d, Flatten"


def _add_recurrent(L: LayerSpec, m, i: int) -> None:
    """A recurrent layer (``recurrent_synapses()``, spikecore.nn.Recurrent): its population
    projects onto itself with delay one step, so a spike of torch step t arrives in step t + 1."""
    if not callable(getattr(m, "recurrent_synapses", None)):
        return
    try:
        rec = m.recurrent_synapses()
    except (ValueError, TypeError) as e:
        raise _layer_error(i, m, e) from None
    L.rec_pre, L.rec_post, L.rec_weight = rec.pre, rec.post, rec.weight


_VALID = (
    "valid: torch.nn.Linear, spikecore.nn.Linear, spikecore.nn.SparseLinear, "
    "spikecore.nn.DendriticLinear (layers with synapses()), or a convolutional chain ("
    + _SHAPE_LAYERS
    + ", then Linear; needs input_shape), followed by a neuron with "
    "spec() (LIF, ParametricLIF with scalar tau, AdaptiveLIF, NoisyLIF, LeakyIntegrator), "
    "or CELIF / DendriticLIF / Recurrent"
)


def _is_shape_layer(m) -> bool:
    """A layer acting on [C, H, W] maps that deploys as explicit synapses (its Jacobian)."""
    import torch

    from spikecore.nn.sparse_conv import SparseConv2d

    return isinstance(
        m,
        (
            torch.nn.Conv2d,
            SparseConv2d,
            torch.nn.AvgPool2d,
            torch.nn.AdaptiveAvgPool2d,
            torch.nn.Flatten,
        ),
    )


class _Chain:
    r"""Consecutive affine layers between two neuron layers of a convolutional network
    (convolutions, average pools, Flatten, then optionally Linear layers), deployed as one
    explicit projection: the chain is :math:`x \mapsto J x + c`; :math:`J` is read off the
    bias-free chain on unit vectors (each weight of a single convolution is exactly its kernel
    entry; zero weights dropped), :math:`c` = chain(0) is the bias."""

    def __init__(self, mods: List[Any], shape: Tuple[int, ...]):
        import copy

        import torch

        from spikecore.sim.converted import unit_jacobian

        self.mods, self.shape = mods, shape
        n_in = int(np.prod(shape))
        seq = torch.nn.Sequential(*mods).eval()
        nobias = copy.deepcopy(seq)
        for m in nobias.modules():
            b = getattr(m, "bias", None)
            if isinstance(b, torch.Tensor):
                with torch.no_grad():
                    b.zero_()
        with torch.no_grad():
            c = seq(torch.zeros((1,) + shape, dtype=torch.float32))
        self.out_shape = tuple(c.shape[1:])
        pre, post, w = unit_jacobian(nobias, shape)
        c = c.reshape(-1).numpy()
        self.spec = SynapseSpec(n_in, int(c.size), pre, post, w, c if np.any(c != 0) else None)

    def synapses(self) -> Tuple[SynapseSpec, ...]:
        return (self.spec,)


def _group(mods: List[Any], input_shape: Optional[Tuple[int, ...]]) -> List[Any]:
    """Replace each run of convolutional-chain layers (with any Linear layers right after it)
    by a :class:`_Chain`, tracking the per-sample shape from ``input_shape``."""
    import torch

    out: List[Any] = []
    shape = input_shape
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, torch.nn.MaxPool2d):
            raise ValueError(
                f"model: layer {i} (MaxPool2d): max-pooling of spikes is not a weighted sum "
                "and has no engine deployment; use AvgPool2d or a strided convolution"
            )
        if _is_shape_layer(m):
            if shape is None:
                raise ValueError(
                    f"input_shape: required to deploy layer {i} ({type(m).__name__}); pass the "
                    "input's shape without time and batch, e.g. input_shape=(2, 16, 16)"
                )
            j = i
            while j < len(mods) and (
                _is_shape_layer(mods[j]) or isinstance(mods[j], torch.nn.Linear)
            ):
                j += 1
            try:
                ch = _Chain(mods[i:j], shape)
            except (RuntimeError, ValueError) as e:
                raise ValueError(
                    f"model: layers {i}..{j - 1} ({', '.join(type(x).__name__ for x in mods[i:j])})"
                    f" do not apply to inputs of shape {shape}: {e}"
                ) from None
            out.append(ch)
            shape = ch.out_shape
            i = j
            continue
        own = callable(getattr(m, "synapses", None)) or isinstance(m, torch.nn.Linear)
        if own and not callable(getattr(m, "spec", None)):
            n_out = getattr(m, "out_features", None)
            shape = (int(n_out),) if n_out else None
        out.append(m)
        i += 1
    return out


def parse(model, input_shape: Optional[Tuple[int, ...]] = None) -> List[LayerSpec]:
    """The deployable layers of ``model`` (see the module docstring for what is accepted).

    Each module is read through its public methods only: ``spec()`` (a neuron: its
    :mod:`spikecore.specs` spec) and ``synapses()`` (its :class:`~spikecore.specs.SynapseSpec`
    tuple); a module with both (CELIF, DendriticLIF) is a whole layer.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model: expected a torch.nn.Module (nn.Sequential), got {type(model).__name__}"
        )
    mods = [m for m in _flatten(model) if not isinstance(m, (torch.nn.Identity, torch.nn.Dropout))]
    mods = _group(mods, input_shape)
    layers: List[LayerSpec] = []
    syn: Optional[Tuple[SynapseSpec, ...]] = None
    n_prev: Optional[int] = None
    for i, m in enumerate(mods):
        is_neuron = callable(getattr(m, "spec", None))
        own = _synapses_of(m, i)
        if not is_neuron and not own:
            raise ValueError(
                f"model: layer {i} ({type(m).__name__}) is neither a synaptic "
                f"layer nor a neuron; {_VALID}"
            )
        if own and syn is not None:
            raise ValueError(
                f"model: layer {i} ({type(m).__name__}) follows a synaptic layer "
                "without a neuron layer in between; put a neuron after each Linear"
            )
        if own:
            if n_prev is not None and own[0].n_in != n_prev:
                raise ValueError(
                    f"model: layer {i} expects {own[0].n_in} inputs but the "
                    f"previous layer has {n_prev}"
                )
            if not is_neuron:
                syn = own
                continue
            syn = own
        if syn is None:
            raise ValueError(
                f"model: layer {i} ({type(m).__name__}) has no synaptic layer "
                "before it; each neuron layer must follow a Linear/SparseLinear"
            )
        if layers and layers[-1].kind == "li":
            raise ValueError("model: a LeakyIntegrator readout must be the last layer")
        layers.append(_layer(_spec_of(m, i), syn, i, m))
        _add_recurrent(layers[-1], m, i)
        syn, n_prev = None, layers[-1].n
    if syn is not None:
        raise ValueError(
            "model: ends with a synaptic layer; add a neuron layer or a "
            "LeakyIntegrator readout after the last Linear"
        )
    if not layers:
        raise ValueError("model: has no Linear + neuron layers to deploy")
    return layers


def _explicit(net: Network, pre, post, pre_index, post_index, weight, receptor=None) -> None:
    """One projection of a deployed model: explicit synapses ``pre_index -> post_index`` with
    ``weight``, delay one step (a spike of torch step t is the target's input of step t + 1),
    onto ``receptor`` (None: the default)."""
    net.connect(
        pre,
        post,
        "explicit",
        pre_index=pre_index,
        post_index=post_index,
        weight=weight,
        delay=1.0,
        receptor=receptor,
    )


class Deployed:
    """A deployed model: the engine :class:`~spikecore.sim.Network` plus its input/output map.

    Attributes: ``net`` (the Network), ``layers`` (:class:`LayerSpec` list), ``populations``,
    ``n_in``, ``n_out``. :meth:`run` may be called repeatedly; each call starts from rest.
    """

    def __init__(
        self,
        layers: List[LayerSpec],
        n_threads: int = 1,
        comm=None,
        input_shape: Optional[Tuple[int, ...]] = None,
    ):
        self.layers = layers
        self.input_shape = input_shape
        self.n_in = layers[0].n_in
        self.n_out = layers[-1].n
        self._build(n_threads, comm)

    def _build(self, n_threads: int, comm=None) -> None:
        layers = self.layers
        self.net = net = Network(dt=1.0, n_threads=n_threads, seed=0, max_delay=4.0, comm=comm)
        self.input = net.add_population(self.n_in, "spike_source", name="input")
        has_bias = any(L.bias is not None for L in layers)
        self.bias = (
            net.add_population(len(layers), "spike_source", name="bias") if has_bias else None
        )
        self.populations = []
        self._monitors = []
        prev = self.input
        for li, L in enumerate(layers):
            pop = net.add_population(L.n, _neuron_of(L), name=f"layer{li}")
            rec = "current" if L.kind == "celif" else None
            if L.weight.size:
                _explicit(net, prev, pop, L.pre, L.post, L.weight, rec)
            if L.bias is not None:  # after the weights: the bias is summed last
                nz = np.nonzero(L.bias)[0].astype(np.int32)
                _explicit(net, self.bias, pop, np.full(nz.size, li, np.int32), nz, L.bias[nz], rec)
            if L.ctx_weight is not None and L.ctx_weight.size:
                _explicit(net, prev, pop, L.ctx_pre, L.ctx_post, L.ctx_weight, "context")
            if L.rec_weight is not None and L.rec_weight.size:  # z_{t-1} -> step t
                _explicit(net, pop, pop, L.rec_pre, L.rec_post, L.rec_weight)
            if L.kind == "li":
                self._monitors.append(net.record_state(pop, "v"))
            else:
                self._monitors.append(net.record_spikes(pop))
            self.populations.append(pop)
            prev = pop

    @property
    def n_threads(self) -> int:
        return self.net.n_threads

    @n_threads.setter
    def n_threads(self, n: int) -> None:
        self.net.n_threads = n

    def _input_array(self, spikes) -> np.ndarray:
        if hasattr(spikes, "detach"):
            spikes = spikes.detach().to("cpu").numpy()
        s = np.asarray(spikes)
        if s.dtype == np.bool_:
            s = s.astype(np.float32)
        sh = self.input_shape
        if sh is not None and len(sh) > 1 and s.ndim >= 2:
            if s.shape[1:] == sh:
                s = s.reshape(s.shape[0], -1)
            elif s.shape[1:] == (1,) + sh:
                s = s.reshape(s.shape[0], 1, -1)
        if not (np.issubdtype(s.dtype, np.floating) or np.issubdtype(s.dtype, np.integer)):
            raise TypeError(f"spikes: expected numbers (0/1), got dtype {s.dtype}")
        if s.ndim == 3:
            if s.shape[1] != 1:
                raise ValueError(
                    f"spikes: the engine runs batch 1; got shape {s.shape} "
                    "(pass [T, 1, n_in] or [T, n_in])"
                )
            s = s[:, 0]
        if s.ndim != 2 or s.shape[1] != self.n_in:
            raise ValueError(
                f"spikes: expected shape [T, {self.n_in}] or [T, 1, {self.n_in}], "
                f"got {tuple(np.shape(spikes))}"
            )
        if s.shape[0] < 1:
            raise ValueError("spikes: needs at least one time step")
        if not np.all(np.isfinite(s)):
            raise ValueError("spikes: contains NaN or infinite values")
        if not np.all((s == 0) | (s == 1)):
            raise ValueError("spikes: must be binary (0 or 1); the engine carries unit events")
        return s

    def _reset(self) -> None:
        self.net.reset_state()  # v = v_rest, a = 0, delay rings emptied
        for mon in self._monitors:  # drop the records of earlier runs
            mon.clear()

    def run(self, spikes) -> DeployResult:
        """Run one sample: ``spikes`` ``[T, n_in]`` or ``[T, 1, n_in]`` (0/1, numpy or torch).

        Returns a :class:`DeployResult` with outputs aligned to the torch forward's steps.
        """
        s = self._input_array(spikes)
        T, nL = s.shape[0], len(self.layers)
        self._reset()
        net = self.net
        s0 = net.step
        # input spike (k, i) fires in engine step s0 + k (flatnonzero of the boolean raster: in
        # step order, several times faster than np.nonzero)
        flat = np.flatnonzero(s != 0)
        if flat.size:
            t_idx = flat // self.n_in
            net.schedule_source_spikes(self.input, s0 + t_idx, flat - t_idx * self.n_in)
        if self.bias is not None:
            ids = np.repeat(np.arange(nL), T)
            steps = (np.arange(T)[None, :] + np.arange(nL)[:, None]).reshape(-1) + s0
            net.schedule_source_spikes(self.bias, steps, ids)
        ev0 = net.events
        # Layer li starts at engine step li + 1; until then it is held at rest (state reset
        # after each of its idle steps, pending inputs kept), so that branch biases, sigmoid
        # branches or v_rest != 0 cannot drive it before its first input.
        for k in range(min(nL, T + nL)):
            net.run_steps(1)
            for li in range(k, nL):
                net.reset_state(self.populations[li], keep_pending=True)
        if T > 0:
            net.run_steps(T)
        events = net.events - ev0
        outs: List[np.ndarray] = []
        for li, (L, mon) in enumerate(zip(self.layers, self._monitors)):
            lo = s0 + li + 1  # engine step of torch step 0 for this layer
            if L.kind == "li":
                steps, data = mon.steps, mon.values["v"]
                sel = (steps >= lo) & (steps < lo + T)
                outs.append(data[sel].astype(np.float32))
            else:
                st, ids = mon.steps, mon.senders
                sel = (st >= lo) & (st < lo + T)
                z = np.zeros((T, L.n), np.float32)
                z[st[sel] - lo, ids[sel]] = 1.0
                outs.append(z)
        # synaptic events inside the aligned windows: spikes x out-degree of the next layer
        synops = int(s.sum(0) @ self.layers[0].out_degree)
        for li in range(nL - 1):
            if self.layers[li].kind != "li":
                synops += int(outs[li].sum(0) @ self.layers[li + 1].out_degree)
        for li, L in enumerate(self.layers):  # recurrent events of steps 0..T-2 (in the window)
            if L.rec_pre is not None and T > 1:
                deg = np.bincount(L.rec_pre, minlength=L.n)
                synops += int(outs[li][:-1].sum(0) @ deg)
        spikes_out = [o for o, L in zip(outs, self.layers) if L.kind != "li"]
        return DeployResult(
            output=outs[-1], spikes=spikes_out, synops=synops, engine_events=int(events)
        )

    def run_spikes(self, spikes) -> DeployResult:
        """Alias of :meth:`run`."""
        return self.run(spikes)

    def __repr__(self) -> str:
        sizes = " -> ".join([str(self.n_in)] + [f"{L.n} {L.kind}" for L in self.layers])
        return f"Deployed({sizes}, synapses={sum(L.n_synapses for L in self.layers)})"


def from_torch(model, *, n_threads: int = 1, comm=None, input_shape=None):
    """Turn a trained feedforward spikecore.nn model into an engine network (see module doc),
    or a converted SNN (:func:`spikecore.convert.convert`) into a
    :class:`~spikecore.sim.converted.ConvertedDeployment` (``input_shape``: the image shape
    without the batch dimension, required there; see :mod:`spikecore.sim.converted`).

    Parameters
    ----------
    model : torch.nn.Sequential
        Synaptic layers (Linear / SparseLinear), each followed by a neuron layer (LIF,
        ParametricLIF with scalar tau, AdaptiveLIF, NoisyLIF, or a final LeakyIntegrator).
        Nested Sequentials are flattened; Identity and Dropout are skipped.
    n_threads : int, default 1
        Engine threads (results do not depend on it).
    comm : mpi4py communicator, optional
        Split the engine network across its ranks (every rank calls ``from_torch`` and ``run``
        with the same model and input; results do not depend on it): see docs/distributed.md.
    input_shape : tuple of int, optional
        The per-sample input shape (no time / batch dimension), e.g. ``(2, 16, 16)``: required
        for convolutional networks (runs of Conv2d / SparseConv2d / AvgPool2d /
        AdaptiveAvgPool2d / Flatten, then optionally Linear, between neuron layers deploy as one
        explicit projection; MaxPool2d of spikes raises) and for converted networks.

    Returns
    -------
    Deployed
        ``.run(spikes [T, n_in])`` -> :class:`DeployResult` (output, per-layer spikes, SynOps);
        spikes may also be ``[T, *input_shape]`` or ``[T, 1, *input_shape]``.
    ConvertedDeployment
        for a converted network: ``.run(image)`` -> ConvertedResult (output, spikes, SynOps).
    """
    n_threads = _threads(n_threads)
    from spikecore.sim.converted import ConvertedDeployment, is_converted

    if is_converted(model):
        if comm is not None:
            raise ValueError("comm: converted networks deploy on one rank")
        if input_shape is None:
            raise ValueError(
                "input_shape: required for a converted network (the image shape without the "
                "batch dimension, e.g. (1, 8, 8))"
            )
        return ConvertedDeployment(model, input_shape, n_threads=int(n_threads))
    shape = None
    if input_shape is not None:
        from spikecore.sim.converted import _shape

        shape = _shape(input_shape)
    return Deployed(parse(model, shape), n_threads=int(n_threads), comm=comm, input_shape=shape)
