r"""Recurrent spiking layers: a LIF-family population with input and recurrent weights.

``Recurrent(in_features, out_features, neuron)`` is one layer: an input projection
:math:`W x_t + b` (a spikecore.nn.Linear product, spike-sparse on spike inputs) and a recurrent
projection :math:`W_\mathrm{rec} z_{t-1}` of the population's own spikes of the previous step
onto a LIF-family neuron (:class:`~spikecore.nn.LIF`, :class:`~spikecore.nn.ParametricLIF`,
:class:`~spikecore.nn.AdaptiveLIF` -- an LSNN layer -- or :class:`~spikecore.nn.NoisyLIF`).
Per batch entry, neuron and step (decay :math:`\beta = 1 - 1/\tau`):

.. math::

    h_t &= \beta v_{t-1} + (1 - \beta) v_\mathrm{rest} + W x_t + b + W_\mathrm{rec} z_{t-1} \\
    z_t &= H(h_t - \vartheta_t), \qquad \vartheta_t = \vartheta \ \text{(LIF)}, \quad
           \vartheta_t = \vartheta + a_{t-1},\ a_t = \rho a_{t-1} + \beta_a z_t \ \text{(ALIF)} \\
    v_t &= v_\mathrm{reset} \text{ if } z_t \text{ (hard reset)}, \quad
           h_t - (\vartheta_t - v_\mathrm{reset}) z_t \text{ (soft reset)}, \quad
           h_t \text{ otherwise}

(NoisyLIF: :math:`z_t = H(h_t - \vartheta + \epsilon_t)` in sampling mode, the noise density as
gradient.) The state is :class:`RecurrentState` ``(v, z, a)``: the membrane, the spikes of the
last step (what :math:`W_\mathrm{rec}` reads next) and the ALIF adaptation (None for the other
neurons); it starts at ``(v_rest, 0, 0)`` unless ``state=`` is passed.

Sparse recurrence: ``recurrent_density < 1`` draws a fixed random mask (``seed``), or
``recurrent_mask`` [out, out] (post, pre) gives one; masked weights are zero and stay zero (the
mask multiplies the weight in the forward, so their gradient is zero). ``self_connections=False``
removes the diagonal.

==================  =========  =====================================================
parameter           default    meaning
==================  =========  =====================================================
in_features                    inputs per step
out_features                   neurons n
neuron              LIF()      the LIF-family neuron (its parameters and surrogate)
bias                True       input bias b
recurrent_density   1.0        fraction of the n x n recurrent synapses kept, (0, 1]
recurrent_mask      None       explicit bool mask [n, n] (post, pre); overrides density
self_connections    True       keep :math:`W_\mathrm{rec}[j, j]`
seed                0          seed of the random recurrent mask
spike_input         'auto'     input product: see spikecore.nn.Linear
backend             'auto'     'auto' (fused C++ kernel on CPU) | 'cpp' | 'torch'
==================  =========  =====================================================

Initialisation: ``weight`` and ``bias`` as torch.nn.Linear; ``weight_rec`` uniform in
:math:`\pm 1/\sqrt{k}` with :math:`k` = the expected recurrent fan-in (density x n).

Backends: on CPU (float32 / float64, a built-in surrogate) the whole time loop runs in one
fused C++ kernel (spikecore._core.train.recurrent_forward / _backward: the recurrent product is
event-driven over the previous step's spikes, BPTT through it in C++); elsewhere the pure-torch
:func:`spikecore.nn.reference.recurrent`. ``spikecore.sim.from_torch`` deploys the layer as a
population with a projection onto itself (delay one step).

Example
-------
>>> import torch, spikecore.nn as snn
>>> layer = snn.Recurrent(4, 8, snn.AdaptiveLIF(tau=5.0, tau_a=50.0), recurrent_density=0.5)
>>> z, state = layer(torch.rand(10, 2, 4), return_state=True)
>>> z.shape, state.v.shape, state.a.shape
(torch.Size([10, 2, 8]), torch.Size([2, 8]), torch.Size([2, 8]))
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Union

import numpy as np
import torch
from torch import nn

from spikecore.specs import SynapseSpec

from . import _check, _kernels, _recurrent_kernels, reference
from . import functional as SF
from .linear import _np32
from .neurons import LIF, AdaptiveLIF, NoisyLIF, ParametricLIF

__all__ = ["Recurrent", "RecurrentState"]


class RecurrentState(NamedTuple):
    v: torch.Tensor  # membrane [B, n]
    z: torch.Tensor  # spikes of the last step [B, n]
    a: Optional[torch.Tensor] = None  # threshold adaptation [B, n] (AdaptiveLIF), else None


def _check_neuron(neuron):
    if neuron is None:
        return LIF()
    if not isinstance(neuron, (LIF, AdaptiveLIF, NoisyLIF)):
        raise TypeError(
            f"neuron: expected a LIF-family neuron module (LIF, ParametricLIF, AdaptiveLIF, "
            f"NoisyLIF), got {type(neuron).__name__}"
        )
    return neuron


class Recurrent(nn.Module):
    __doc__ = __doc__

    spiking = True  # the ActivityMonitor counts its outputs

    def __init__(
        self,
        in_features: int,
        out_features: int,
        neuron: Optional[nn.Module] = None,
        *,
        bias: bool = True,
        recurrent_density: float = 1.0,
        recurrent_mask: Optional[torch.Tensor] = None,
        self_connections: bool = True,
        seed: int = 0,
        spike_input: Union[bool, str] = "auto",
        backend: str = "auto",
        device=None,
        dtype=None,
    ):
        super().__init__()
        self.in_features = _check.features(in_features, "in_features")
        self.out_features = n = _check.features(out_features, "out_features")
        _check.alloc(
            (self.in_features + 2 * n) * n, "in_features, out_features", what="W and W_rec"
        )
        self.neuron = _check_neuron(neuron)
        if isinstance(self.neuron, ParametricLIF) and self.neuron.channels not in (None, n):
            raise ValueError(
                f"neuron: ParametricLIF(channels={self.neuron.channels}) must have channels=None "
                f"or channels=out_features={n}"
            )
        if spike_input not in (True, False, "auto"):
            raise ValueError(
                f"spike_input: valid choices: True, False, 'auto'; got {spike_input!r}"
            )
        self.spike_input = spike_input
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)
        density = _check.number(recurrent_density, "recurrent_density")
        if not 0.0 < density <= 1.0:
            raise ValueError(f"recurrent_density: must lie in (0, 1], got {density:g}")
        self.seed = _check.seed(seed)
        kw = dict(device=device, dtype=dtype)
        lin = nn.Linear(self.in_features, n, bias=bias, **kw)  # torch.nn.Linear's initialisation
        self.weight = nn.Parameter(lin.weight.detach().clone())
        self.bias = nn.Parameter(lin.bias.detach().clone()) if bias else None
        mask = self._make_mask(recurrent_mask, density, bool(self_connections))
        k = n * (density if mask is None or recurrent_mask is None else float(mask.mean()))
        bound = 1.0 / math.sqrt(max(1.0, k))
        g = torch.Generator().manual_seed(self.seed + 1)
        w_rec = torch.empty(n, n, dtype=torch.float32).uniform_(-bound, bound, generator=g)
        if mask is not None:
            w_rec = w_rec * mask
        self.weight_rec = nn.Parameter(w_rec.to(device=lin.weight.device, dtype=lin.weight.dtype))
        if mask is None:
            self.mask_rec: Optional[torch.Tensor]
            self.register_buffer("mask_rec", None)
        else:
            self.register_buffer("mask_rec", mask.to(self.weight_rec.dtype).to(device))

    def _make_mask(self, mask, density: float, self_conn: bool) -> Optional[torch.Tensor]:
        n = self.out_features
        if mask is not None:
            if not isinstance(mask, torch.Tensor):
                mask = torch.as_tensor(np.asarray(mask))
            if tuple(mask.shape) != (n, n):
                raise ValueError(
                    f"recurrent_mask: shape {tuple(mask.shape)} must be (out_features, "
                    f"out_features) = ({n}, {n}) (post, pre)"
                )
            m = mask.detach().to("cpu") != 0
        elif density < 1.0:
            g = torch.Generator().manual_seed(self.seed)
            m = torch.rand(n, n, generator=g) < density
        elif self_conn:
            return None
        else:
            m = torch.ones(n, n, dtype=torch.bool)
        if not self_conn:
            m = m & ~torch.eye(n, dtype=torch.bool)
        return m.float()

    # ---- parameters as the kernels see them ----------------------------------------------
    def effective_weight_rec(self) -> torch.Tensor:
        """:math:`W_\\mathrm{rec}` as used (masked), [out, out] (post, pre)."""
        return self.weight_rec if self.mask_rec is None else self.weight_rec * self.mask_rec

    @property
    def adaptive(self) -> bool:
        """Whether the recurrent neuron is an :class:`AdaptiveLIF` (an adaptation state)."""
        return isinstance(self.neuron, AdaptiveLIF)

    @property
    def recurrent_density(self) -> float:
        """Fraction of the n x n recurrent positions that hold a synapse."""
        return 1.0 if self.mask_rec is None else float(self.mask_rec.mean())

    def _initial(self, x: torch.Tensor, state):
        B, n = x.shape[1], self.out_features
        kw = dict(dtype=x.dtype, device=x.device)
        v_rest = float(self.neuron.v_rest)
        if state is None:
            v = torch.full((B, n), v_rest, **kw)
            z = torch.zeros(B, n, **kw)
            a = torch.zeros(B, n, **kw) if self.adaptive else None
            return v, z, a
        if not isinstance(state, tuple) or len(state) not in (2, 3):
            raise TypeError(
                f"state: expected a RecurrentState (v, z, a), got {type(state).__name__}"
            )
        v, z = state[0], state[1]
        a = state[2] if len(state) == 3 else None
        v = self._state_tensor(v, x, "state.v")
        z = self._state_tensor(z, x, "state.z")
        if self.adaptive:
            a = torch.zeros(B, n, **kw) if a is None else self._state_tensor(a, x, "state.a")
        elif a is not None:
            raise ValueError(
                f"state.a: {type(self.neuron).__name__} has no threshold adaptation; pass a=None"
            )
        return v, z, a

    def _state_tensor(self, s, x, name):
        want = (x.shape[1], self.out_features)
        if isinstance(s, torch.Tensor) and tuple(s.shape) != want:
            raise ValueError(
                f"{name}: shape {tuple(s.shape)} must be [batch, out_features] = {want} "
                f"(x has shape {tuple(x.shape)})"
            )
        return _check.state_tensor(s, x[:, :, :1].expand(-1, -1, self.out_features), name)

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        _check.time_input(x, "x")
        if x.dim() != 3 or x.shape[2] != self.in_features:
            raise ValueError(
                f"x: expected shape [T, B, {self.in_features}] (time, batch, in_features), "
                f"got {tuple(x.shape)}"
            )
        if x.dtype != self.weight.dtype:
            raise TypeError(
                f"x: dtype {x.dtype} differs from the layer's {self.weight.dtype}; convert "
                "one of them (layer.to(x.dtype))"
            )
        v, z0, a = self._initial(x, state)
        current = SF.linear(
            x, self.weight, self.bias, spike_input=self.spike_input, backend=self.backend
        )
        z, (vT, zT, aT) = self._run(current, v, z0, a)
        new_state = RecurrentState(vT, zT, aT)
        return (z, new_state) if return_state else z

    def _noise(self, current):
        m = self.neuron
        if not isinstance(m, NoisyLIF):
            return None
        sample = m.sample if self.training else m.eval_mode == "sample"
        if not sample:
            return None
        return SF.sample_noise(
            m.noise,
            m.sigma,
            current.shape,
            dtype=current.dtype,
            device=current.device,
            generator=m.generator,
        ).detach()

    def _run(self, current, v, z0, a):
        m = self.neuron
        n = self.out_features
        sg = m.surrogate
        beta = m.beta
        if isinstance(beta, torch.Tensor):
            beta = beta.to(current.dtype)
        v_reset = m.v_reset
        rho = m.rho if self.adaptive else 1.0
        beta_a = m.beta_a if self.adaptive else 0.0
        eps = self._noise(current)
        w = self.effective_weight_rec().to(current.dtype)
        if self._use_cpp(current, sg, v, w, beta):
            b = (
                beta.reshape(-1).expand(n).contiguous()
                if isinstance(beta, torch.Tensor)
                else torch.full((n,), beta, dtype=current.dtype)
            )
            d = (1.0 - b) * m.v_rest if m.v_rest != 0.0 else torch.zeros_like(b)
            cfg = _kernels._cfg(m.v_threshold, v_reset, sg, m.detach_reset)
            cfg.update(adaptive=self.adaptive, rho=float(rho), beta_a=float(beta_a))
            z, vT, aT = _recurrent_kernels.recurrent(current, w, v, a, z0, b, d, eps, cfg)
            return z, (vT, z[-1], aT)
        return reference.recurrent(
            current,
            w,
            v,
            z0,
            beta,
            m.v_threshold,
            v_reset,
            m.v_rest,
            sg,
            m.detach_reset,
            a=a,
            rho=rho,
            beta_a=beta_a,
            noise=eps,
        )

    def _use_cpp(self, x, sg, *tensors) -> bool:
        if self.backend == "torch":
            return False
        ok, why = _kernels.usable(x, sg, *tensors)
        if ok and not _recurrent_kernels.has():
            ok, why = False, "the recurrent kernels are not built"
        if self.backend == "cpp" and not ok:
            raise ValueError(f"backend: 'cpp' cannot run this call ({why}); use 'auto' or 'torch'")
        return ok

    # ---- deployment (spikecore.sim.from_torch, spikecore.io.nir) ----------------------------
    def spec(self):
        """The neuron's :mod:`spikecore.specs` spec (the population the layer deploys to)."""
        return self.neuron.spec()

    def synapses(self, receptor=None):
        """The input synapses, ``(SynapseSpec,)`` (nonzero weights in row order)."""
        return (
            SynapseSpec.from_dense(
                _np32(self.weight), None if self.bias is None else _np32(self.bias), receptor
            ),
        )

    def recurrent_synapses(self) -> SynapseSpec:
        """The recurrent synapses (population onto itself, nonzero weights; delay one step)."""
        return SynapseSpec.from_dense(_np32(self.effective_weight_rec()), None, None)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, recurrent_density={self.recurrent_density:.3g}"
        )
