r"""Spiking neuron modules: multi-step, time-first [T, B, ...], stateless across calls.

Every module's ``forward(x, state=None, return_state=False)`` starts from a fresh state
(membrane at ``v_rest``) unless ``state`` is given, and returns the output [T, B, ...] (and the
final state when ``return_state=True``). Any batch size and trailing shape work, so a neuron can
follow ``Linear`` ([T, B, N]) or a time-distributed ``Conv2d`` ([T, B, C, H, W]).

Common discrete dynamics (one step = one time bin; :math:`\beta = 1 - 1/\tau`):

.. math::

    h_t &= \big((1 - \beta) v_\mathrm{rest} + \beta v_{t-1}\big) + x_t \\
    z_t &= H(h_t - \vartheta) \\
    v_t &= \begin{cases} v_\mathrm{reset} & z_t = 1,\ \text{hard reset} \\
                         h_t - \vartheta & z_t = 1,\ \text{soft reset } (v_\mathrm{reset} = \text{None}) \\
                         h_t & z_t = 0 \end{cases}

Deployment: ``spec()`` returns the model's :mod:`spikecore.specs` spec (the same parameter names
and defaults as ``Network.add_population(n, "lif_discrete")``); its engine population,
``LIFCoeffs::discrete(beta, v_rest, v_th=v_threshold, v_reset=v_reset or 0,
soft_reset=v_reset is None)`` with ``lif_step<Delta>`` (input x = weighted spikes of the step),
computes the same numbers in the same order, so spikecore.sim.from_torch reproduces the spikes.

==============  ========  ======  ========================================================
parameter       default   unit    meaning
==============  ========  ======  ========================================================
tau             2.0       steps   membrane time constant, :math:`\beta = 1 - 1/\tau`, > 1
v_threshold     1.0       a.u.    firing threshold :math:`\vartheta`
v_reset         0.0       a.u.    hard-reset value; None = soft reset (subtract threshold)
v_rest          0.0       a.u.    leak reversal (initial membrane)
surrogate       'atan'            spike function's gradient (spikecore.nn.surrogate)
alpha           None              surrogate width (None: the surrogate's default)
detach_reset    False             no gradient through the reset term
backend         'auto'            'auto' | 'cpp' | 'torch'
==============  ========  ======  ========================================================
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, cast

import torch
from torch import nn

from spikecore import specs as _specs

from . import _check
from . import functional as SF
from .surrogate import Surrogate
from .surrogate import get as get_surrogate
from .surrogate import noise as noise_surrogate


def _legacy_params(spec) -> dict:
    """The dict of the deprecated ``deploy_params()`` (kept for one release)."""
    e = spec.engine(1).args
    if not spec.spiking:
        return {"model": "li", "beta": e["beta"], "v_rest": e["v_rest"]}
    out = {
        "model": "alif" if e["rho"] >= 0 else "lif",
        "beta": e["beta"],
        "v_rest": e["v_rest"],
        "v_th": e["v_th"],
        "v_reset": e["v_reset"],
        "soft_reset": e["soft_reset"],
    }
    if e["rho"] >= 0:
        out.update(p_a=e["rho"], beta_a=e["beta_a"])
    return out


__all__ = [
    "LIF",
    "ParametricLIF",
    "AdaptiveLIF",
    "NoisyLIF",
    "LeakyIntegrator",
    "LIFState",
    "ALIFState",
    "SpikingNeuron",
]


class LIFState(NamedTuple):
    v: torch.Tensor  # membrane [B, ...]


class ALIFState(NamedTuple):
    v: torch.Tensor  # membrane [B, ...]
    a: torch.Tensor  # threshold adaptation [B, ...]


class SpikingNeuron(nn.Module):
    """Base class: validation, fresh state per call, ``state=`` / ``return_state=``."""

    spiking = True  # the ActivityMonitor counts outputs of modules with spiking = True

    def __init__(self, backend: str = "auto"):
        super().__init__()
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        _check.time_input(x, "x")
        with _check.nan_checked(x):  # the functional op inside need not read x again
            out, new_state = self._run(x, state)
        return (out, new_state) if return_state else out

    def _run(self, x, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def spec(self) -> "_specs.NeuronSpec":
        """This neuron's :mod:`spikecore.specs` spec (parameters, engine population): the one
        contract spikecore.sim.from_torch reads. Raises ValueError where the engine has no
        population for it."""
        raise NotImplementedError  # pragma: no cover - abstract

    def deploy_params(self) -> dict:
        """Deprecated: use :meth:`spec` (``spec().engine(n)`` holds the engine arguments)."""
        _specs.warn_renamed("deploy_params()", "spec()", type(self).__name__)
        beta = self.beta
        if isinstance(beta, torch.Tensor) and beta.numel() != 1:  # per-channel ParametricLIF
            return {
                "model": "lif",
                "beta": beta.detach().clone(),
                "v_rest": self.v_rest,
                "v_th": self.v_threshold,
                "v_reset": 0.0 if self.v_reset is None else self.v_reset,
                "soft_reset": self.v_reset is None,
            }
        out = _legacy_params(self.spec())
        if isinstance(beta, torch.Tensor):
            out["beta"] = beta.detach().clone()
        return out

    @property
    def beta(self):
        """Membrane decay per step, :math:`\\beta = 1 - 1/\\tau`."""
        return 1.0 - 1.0 / self.tau

    def _set_spike_function(self, spec, surrogate, alpha, spike_fn, detach_reset) -> None:
        """Thresholds from the validated ``spec``, the surrogate (the deprecated ``spike_fn``
        wins over ``surrogate``) and ``detach_reset``, shared by the surrogate-gradient neurons."""
        self.v_threshold, self.v_reset, self.v_rest = spec.v_threshold, spec.v_reset, spec.v_rest
        if spike_fn is not None:
            _specs.warn_renamed("spike_fn", "surrogate", type(self).__name__, stacklevel=4)
        self.surrogate = get_surrogate(spike_fn if spike_fn is not None else surrogate, alpha)
        self.detach_reset = bool(detach_reset)


def _v_of(state, name="state"):
    if state is None:
        return None
    if isinstance(state, LIFState):
        return state.v
    if isinstance(state, torch.Tensor):
        return state
    raise TypeError(
        f"{name}: expected an LIFState or a membrane tensor, got {type(state).__name__}"
    )


class LIF(SpikingNeuron):
    __doc__ = "Leaky integrate-and-fire neuron.\n" + __doc__

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: Optional[float] = 0.0,
        v_rest: float = 0.0,
        surrogate="atan",
        alpha: Optional[float] = None,
        detach_reset: bool = False,
        spike_fn: Optional[Surrogate] = None,
        backend: str = "auto",
    ):
        super().__init__(backend)
        spec = _specs.DiscreteLIFSpec(
            tau=tau, v_threshold=v_threshold, v_reset=v_reset, v_rest=v_rest
        )
        self.tau = cast(float, spec.tau)  # filled by the spec
        self._set_spike_function(spec, surrogate, alpha, spike_fn, detach_reset)

    @property
    def spike_fn(self) -> Surrogate:
        """Deprecated name of :attr:`surrogate`."""
        _specs.warn_renamed("spike_fn", "surrogate", type(self).__name__)
        return self.surrogate

    def spec(self) -> "_specs.DiscreteLIFSpec":
        """:class:`spikecore.specs.DiscreteLIFSpec` (``lif_discrete``) of this neuron."""
        return _specs.DiscreteLIFSpec(
            tau=self.tau, v_threshold=self.v_threshold, v_reset=self.v_reset, v_rest=self.v_rest
        )

    def _run(self, x, state):
        z, v = SF.lif(
            x,
            _v_of(state),
            beta=self.beta,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            v_rest=self.v_rest,
            surrogate=self.surrogate,
            detach_reset=self.detach_reset,
            backend=self.backend,
        )
        return z, LIFState(v)

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau:g}, v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
            f"surrogate={self.surrogate}, detach_reset={self.detach_reset}"
        )


class ParametricLIF(LIF):
    r"""LIF with a learnable time constant (Fang et al. 2021, PLIF).

    :math:`\beta = 1 - \sigma(w)` (so :math:`\tau = 1/\sigma(w) > 1` always), with ``w``
    initialised from ``tau``. ``channels=None``: one scalar ``w``; ``channels=C``: one per
    channel, the first dimension after batch (dim 2 of [T, B, C, ...]).
    Other parameters as :class:`LIF`.
    """

    def __init__(self, tau: float = 2.0, channels: Optional[int] = None, **kw):
        super().__init__(tau=tau, **kw)
        if channels is not None:
            channels = _check.alloc(_check.features(channels, "channels"), "channels")
        self.channels = channels
        w0 = -math.log(self.tau - 1.0) if math.isfinite(self.tau) else -30.0
        self.w = nn.Parameter(torch.full(() if channels is None else (channels,), w0))

    @property
    def beta(self) -> torch.Tensor:  # type: ignore[override]
        return 1.0 - torch.sigmoid(self.w)

    @property
    def tau_learned(self) -> torch.Tensor:
        """The learned time constant (steps), tau = 1 / sigmoid(w), per neuron (detached)."""
        return 1.0 / torch.sigmoid(self.w.detach())

    def spec(self) -> "_specs.DiscreteLIFSpec":
        """The LIF spec with the learned decay (the float32 beta the forward multiplies by).
        A per-channel tau (``channels=C``) has no engine population: ValueError."""
        if self.channels is not None:
            raise ValueError(
                "channels: a per-channel tau cannot deploy; the engine's "
                "populations take one beta (use channels=None)"
            )
        beta = float(self.beta.detach().float())
        return _specs.DiscreteLIFSpec(
            beta=beta, v_threshold=self.v_threshold, v_reset=self.v_reset, v_rest=self.v_rest
        )

    def _run(self, x, state):
        b = self.beta.to(x.dtype)
        if self.channels is not None:
            if x.dim() < 3 or x.shape[2] != self.channels:
                raise ValueError(
                    f"x: dim 2 (channels) of shape {tuple(x.shape)} must equal "
                    f"channels={self.channels}"
                )
            b = b.view(self.channels, *([1] * (x.dim() - 3)))
        z, v = SF.lif(
            x,
            _v_of(state),
            beta=b,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            v_rest=self.v_rest,
            surrogate=self.surrogate,
            detach_reset=self.detach_reset,
            backend=self.backend,
        )
        return z, LIFState(v)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", channels={self.channels}"


class AdaptiveLIF(SpikingNeuron):
    r"""LIF with an adaptive threshold (Bellec et al. 2018; the core's ALIF).

    .. math::

        \vartheta_t = \vartheta + a_{t-1}, \quad z_t = H(h_t - \vartheta_t), \quad
        a_t = \rho a_{t-1} + \beta_a z_t, \quad \rho = 1 - 1/\tau_a

    The soft reset subtracts :math:`\vartheta_t - v_\mathrm{reset}`. State: :class:`ALIFState`.

    ==========  =======  ======  ==========================================
    tau_a       200.0    steps   adaptation time constant (> 1)
    beta_a      0.2      a.u.    threshold increment per spike (>= 0)
    ==========  =======  ======  ==========================================

    Other parameters as :class:`LIF`.
    """

    def __init__(
        self,
        tau: float = 2.0,
        tau_a: float = 200.0,
        beta_a: float = 0.2,
        v_threshold: float = 1.0,
        v_reset: Optional[float] = 0.0,
        v_rest: float = 0.0,
        surrogate="atan",
        alpha: Optional[float] = None,
        detach_reset: bool = False,
        spike_fn: Optional[Surrogate] = None,
        backend: str = "auto",
    ):
        super().__init__(backend)
        spec = _specs.DiscreteALIFSpec(
            tau=tau,
            tau_a=tau_a,
            beta_a=beta_a,
            v_threshold=v_threshold,
            v_reset=v_reset,
            v_rest=v_rest,
        )
        self.tau, self.tau_a = cast(float, spec.tau), cast(float, spec.tau_a)
        self.beta_a = spec.beta_a
        self._set_spike_function(spec, surrogate, alpha, spike_fn, detach_reset)

    @property
    def rho(self) -> float:
        r"""Adaptation decay per step, :math:`\rho = 1 - 1/\tau_a`."""
        return 1.0 - 1.0 / self.tau_a

    @property
    def spike_fn(self) -> Surrogate:
        """Deprecated name of :attr:`surrogate`."""
        _specs.warn_renamed("spike_fn", "surrogate", type(self).__name__)
        return self.surrogate

    def spec(self) -> "_specs.DiscreteALIFSpec":
        """:class:`spikecore.specs.DiscreteALIFSpec` (``alif_discrete``) of this neuron."""
        return _specs.DiscreteALIFSpec(
            tau=self.tau,
            tau_a=self.tau_a,
            beta_a=self.beta_a,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            v_rest=self.v_rest,
        )

    def _run(self, x, state):
        if state is not None and not isinstance(state, tuple):
            raise TypeError(f"state: expected an ALIFState, got {type(state).__name__}")
        z, (v, a) = SF.alif(
            x,
            state,
            beta=self.beta,
            rho=self.rho,
            beta_a=self.beta_a,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            v_rest=self.v_rest,
            surrogate=self.surrogate,
            detach_reset=self.detach_reset,
            backend=self.backend,
        )
        return z, ALIFState(v, a)

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau:g}, tau_a={self.tau_a:g}, beta_a={self.beta_a:g}, "
            f"v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
            f"surrogate={self.surrogate}"
        )


class NoisyLIF(SpikingNeuron):
    r"""Noisy LIF of NSNN trained by noise-driven learning (arXiv 2305.16044; METHODS.md 8).

    Threshold noise :math:`\epsilon_t` with CDF :math:`F` and density :math:`f` of scale sigma:

    .. math::

        z_t = H\big((h_t - \vartheta) + \epsilon_t\big) \sim \mathrm{Bernoulli}\big(F(h_t - \vartheta)\big),
        \qquad \partial z_t / \partial h_t := f(h_t - \vartheta)

    and the membrane update/reset of :class:`LIF` (NSNN: hard reset to 0, tau = 2 so
    kappa = 0.5). In training mode spikes are sampled (``sample=True``) or deterministic
    :math:`H(h - \vartheta)`; in eval mode ``eval_mode`` picks ``'deterministic'`` (default: the
    plain LIF that spikecore.sim.from_torch deploys) or ``'sample'``. The gradient is always the
    noise density (NDL).

    ==========  ===============  ======  ==================================================
    noise       'gaussian'               'gaussian' | 'logistic' | 'uniform' | 'triangular'
    sigma       0.3              a.u.    noise scale (std, logistic scale, half-width), > 0
    sample      True                     sample spikes in training mode
    eval_mode   'deterministic'          'deterministic' | 'sample'
    ==========  ===============  ======  ==================================================

    Other parameters as :class:`LIF` (no surrogate: the noise density is the gradient).
    """

    EVAL_MODES = ("deterministic", "sample")

    def __init__(
        self,
        tau: float = 2.0,
        v_threshold: float = 1.0,
        v_reset: Optional[float] = 0.0,
        v_rest: float = 0.0,
        noise: str = "gaussian",
        sigma: float = 0.3,
        sample: bool = True,
        eval_mode: str = "deterministic",
        detach_reset: bool = False,
        generator: Optional[torch.Generator] = None,
        backend: str = "auto",
    ):
        super().__init__(backend)
        self.surrogate = noise_surrogate(noise, sigma)  # validates noise and sigma first
        spec = _specs.NoisyLIFSpec(
            tau=tau,
            v_threshold=v_threshold,
            v_reset=v_reset,
            v_rest=v_rest,
            noise=noise,
            sigma=sigma,
        )
        self.tau = cast(float, spec.tau)  # filled by the spec
        self.v_threshold, self.v_reset, self.v_rest = spec.v_threshold, spec.v_reset, spec.v_rest
        self.noise, self.sigma = noise, float(sigma)
        self.sample = bool(sample)
        self.eval_mode = _check.choice(eval_mode, "eval_mode", self.EVAL_MODES)
        self.detach_reset = bool(detach_reset)
        self.generator = generator

    def spec(self) -> "_specs.NoisyLIFSpec":
        """:class:`spikecore.specs.NoisyLIFSpec`; it deploys as the deterministic LIF
        (``lif_discrete``), with a warning when ``eval_mode='sample'``."""
        return _specs.NoisyLIFSpec(
            tau=self.tau,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            v_rest=self.v_rest,
            noise=self.noise,
            sigma=self.sigma,
            eval_mode=self.eval_mode,
        )

    def _run(self, x, state):
        sample = self.sample if self.training else self.eval_mode == "sample"
        z, v = SF.noisy_lif(
            x,
            _v_of(state),
            beta=self.beta,
            v_threshold=self.v_threshold,
            v_reset=self.v_reset,
            v_rest=self.v_rest,
            noise=self.noise,
            sigma=self.sigma,
            sample=sample,
            detach_reset=self.detach_reset,
            generator=self.generator,
            backend=self.backend,
        )
        return z, LIFState(v)

    def extra_repr(self) -> str:
        return (
            f"tau={self.tau:g}, v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
            f"noise={self.noise!r}, sigma={self.sigma:g}, sample={self.sample}, "
            f"eval_mode={self.eval_mode!r}"
        )


class LeakyIntegrator(SpikingNeuron):
    r"""Non-spiking leaky-integrator readout; returns the membrane [T, B, ...].

    .. math:: v_t = \big((1 - \beta) v_\mathrm{rest} + \beta v_{t-1}\big) + x_t, \quad \beta = 1 - 1/\tau

    ``tau=float('inf')`` gives a pure integrator. Typical readouts: ``out.mean(0)`` or ``out[-1]``.
    """

    spiking = False

    def __init__(self, tau: float = 2.0, v_rest: float = 0.0, backend: str = "auto"):
        super().__init__(backend)
        spec = _specs.LeakyIntegratorSpec(tau=tau, v_rest=v_rest)
        self.tau, self.v_rest = cast(float, spec.tau), spec.v_rest

    def spec(self) -> "_specs.LeakyIntegratorSpec":
        """:class:`spikecore.specs.LeakyIntegratorSpec`: a ``lif_discrete`` population that
        never fires (its membrane is the output)."""
        return _specs.LeakyIntegratorSpec(tau=self.tau, v_rest=self.v_rest)

    def _run(self, x, state):
        out, v = SF.leaky_integrator(
            x, _v_of(state), beta=self.beta, v_rest=self.v_rest, backend=self.backend
        )
        return out, LIFState(v)

    def extra_repr(self) -> str:
        return f"tau={self.tau:g}, v_rest={self.v_rest:g}"
