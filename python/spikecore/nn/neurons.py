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

Deployment: ``LIFCoeffs::discrete(beta, v_rest, v_th=v_threshold, v_reset=v_reset or 0,
soft_reset=v_reset is None)`` with ``lif_step<Delta>`` (input x = weighted spikes of the step)
computes the same numbers in the same order, so spikecore.sim.from_torch reproduces the spikes.

==============  ========  ======  =====================================================
parameter       default   unit    meaning
==============  ========  ======  =====================================================
tau             2.0       steps   membrane time constant, :math:`\beta = 1 - 1/\tau`, > 1
v_threshold     1.0       a.u.    firing threshold :math:`\vartheta`
v_reset         0.0       a.u.    hard-reset value; None = soft reset (subtract threshold)
v_rest          0.0       a.u.    leak reversal (initial membrane)
surrogate       'atan'            spike function's gradient (spikecore.nn.surrogate)
alpha           None              surrogate width (None: the surrogate's default)
detach_reset    False             no gradient through the reset term
backend         'auto'            'auto' | 'cpp' | 'torch'
==============  ========  ======  =====================================================
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import torch
from torch import nn

from . import _check
from . import functional as SF
from .surrogate import Surrogate
from .surrogate import get as get_surrogate
from .surrogate import noise as noise_surrogate

__all__ = [
    "LIF", "ParametricLIF", "AdaptiveLIF", "NoisyLIF", "LeakyIntegrator",
    "LIFState", "ALIFState", "SpikingNeuron",
]


class LIFState(NamedTuple):
    v: torch.Tensor  # membrane [B, ...]


class ALIFState(NamedTuple):
    v: torch.Tensor  # membrane [B, ...]
    a: torch.Tensor  # threshold adaptation [B, ...]


class SpikingNeuron(nn.Module):
    """Base class: validation, fresh state per call, ``state=`` / ``return_state=``."""

    spiking = True  # the SpikeMonitor counts outputs of modules with spiking = True

    def __init__(self, backend: str = "auto"):
        super().__init__()
        self.backend = _check.choice(backend, "backend", SF.BACKENDS)

    def forward(self, x: torch.Tensor, state=None, return_state: bool = False):
        _check.time_input(x, "x")
        out, new_state = self._run(x, state)
        return (out, new_state) if return_state else out

    def _run(self, x, state):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def beta(self):
        """Membrane decay per step, :math:`\\beta = 1 - 1/\\tau`."""
        return 1.0 - 1.0 / self.tau

    def _set_spike_function(self, v_threshold, v_reset, v_rest, surrogate, alpha, spike_fn,
                            detach_reset) -> None:
        """Validated thresholds, the surrogate (``spike_fn`` wins over ``surrogate``) and
        ``detach_reset``, shared by the surrogate-gradient neurons."""
        self.v_threshold, self.v_reset, self.v_rest = _check.thresholds(v_threshold, v_reset,
                                                                        v_rest)
        self.surrogate = get_surrogate(spike_fn if spike_fn is not None else surrogate, alpha)
        self.detach_reset = bool(detach_reset)


def _v_of(state, name="state"):
    if state is None:
        return None
    if isinstance(state, LIFState):
        return state.v
    if isinstance(state, torch.Tensor):
        return state
    raise TypeError(f"{name}: expected an LIFState or a membrane tensor, got {type(state).__name__}")


class LIF(SpikingNeuron):
    __doc__ = "Leaky integrate-and-fire neuron.\n" + __doc__

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, v_rest: float = 0.0, surrogate="atan",
                 alpha: Optional[float] = None, detach_reset: bool = False,
                 spike_fn: Optional[Surrogate] = None, backend: str = "auto"):
        super().__init__(backend)
        self.tau = _check.tau(tau)
        self._set_spike_function(v_threshold, v_reset, v_rest, surrogate, alpha, spike_fn,
                                 detach_reset)

    @property
    def spike_fn(self) -> Surrogate:
        return self.surrogate

    def deploy_params(self) -> dict:
        """Arguments of the engine's ``LIFCoeffs::discrete(beta, v_rest, v_th, v_reset,
        soft_reset)`` reproducing this neuron (beta: float, or a tensor for ParametricLIF)."""
        beta = self.beta
        if isinstance(beta, torch.Tensor):
            beta = beta.detach().clone()
        return {"model": "lif", "beta": beta, "v_rest": self.v_rest,
                "v_th": self.v_threshold, "v_reset": 0.0 if self.v_reset is None else self.v_reset,
                "soft_reset": self.v_reset is None}

    def _run(self, x, state):
        z, v = SF.lif(x, _v_of(state), beta=self.beta, v_threshold=self.v_threshold,
                      v_reset=self.v_reset, v_rest=self.v_rest, surrogate=self.surrogate,
                      detach_reset=self.detach_reset, backend=self.backend)
        return z, LIFState(v)

    def extra_repr(self) -> str:
        return (f"tau={self.tau:g}, v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
                f"surrogate={self.surrogate}, detach_reset={self.detach_reset}")


class ParametricLIF(LIF):
    r"""LIF with a learnable time constant (Fang et al. 2021, PLIF).

    :math:`\beta = 1 - \sigma(w)` (so :math:`\tau = 1/\sigma(w) > 1` always), with ``w``
    initialised from ``tau``. ``channels=None``: one scalar ``w``; ``channels=C``: one per
    channel, the first dimension after batch (dim 2 of [T, B, C, ...]).
    Other parameters as :class:`LIF`.
    """

    def __init__(self, tau: float = 2.0, channels: Optional[int] = None, **kw):
        super().__init__(tau=tau, **kw)
        if channels is not None and (isinstance(channels, bool) or not isinstance(channels, int)
                                     or channels <= 0):
            raise ValueError(f"channels: expected None or a positive int, got {channels!r}")
        self.channels = channels
        w0 = -math.log(self.tau - 1.0) if math.isfinite(self.tau) else -30.0
        self.w = nn.Parameter(torch.full(() if channels is None else (channels,), w0))

    @property
    def beta(self) -> torch.Tensor:  # type: ignore[override]
        return 1.0 - torch.sigmoid(self.w)

    @property
    def tau_learned(self) -> torch.Tensor:
        return 1.0 / torch.sigmoid(self.w.detach())

    def _run(self, x, state):
        b = self.beta.to(x.dtype)
        if self.channels is not None:
            if x.dim() < 3 or x.shape[2] != self.channels:
                raise ValueError(
                    f"x: dim 2 (channels) of shape {tuple(x.shape)} must equal "
                    f"channels={self.channels}")
            b = b.view(self.channels, *([1] * (x.dim() - 3)))
        z, v = SF.lif(x, _v_of(state), beta=b, v_threshold=self.v_threshold,
                      v_reset=self.v_reset, v_rest=self.v_rest, surrogate=self.surrogate,
                      detach_reset=self.detach_reset, backend=self.backend)
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

    def __init__(self, tau: float = 2.0, tau_a: float = 200.0, beta_a: float = 0.2,
                 v_threshold: float = 1.0, v_reset: Optional[float] = 0.0, v_rest: float = 0.0,
                 surrogate="atan", alpha: Optional[float] = None, detach_reset: bool = False,
                 spike_fn: Optional[Surrogate] = None, backend: str = "auto"):
        super().__init__(backend)
        self.tau = _check.tau(tau)
        self.tau_a = _check.tau(tau_a, "tau_a")
        self.beta_a = _check.finite(beta_a, "beta_a")
        if self.beta_a < 0:
            raise ValueError(f"beta_a: threshold increment must be >= 0, got {beta_a}")
        self._set_spike_function(v_threshold, v_reset, v_rest, surrogate, alpha, spike_fn,
                                 detach_reset)

    @property
    def rho(self) -> float:
        return 1.0 - 1.0 / self.tau_a

    def deploy_params(self) -> dict:
        """``LIFCoeffs::discrete`` arguments plus the ALIF adaptation (p_a = rho, beta_a)."""
        return {"model": "alif", "beta": self.beta, "v_rest": self.v_rest,
                "v_th": self.v_threshold, "v_reset": 0.0 if self.v_reset is None else self.v_reset,
                "soft_reset": self.v_reset is None, "p_a": self.rho, "beta_a": self.beta_a}

    def _run(self, x, state):
        if state is not None and not isinstance(state, tuple):
            raise TypeError(f"state: expected an ALIFState, got {type(state).__name__}")
        z, (v, a) = SF.alif(x, state, beta=self.beta, rho=self.rho, beta_a=self.beta_a,
                            v_threshold=self.v_threshold, v_reset=self.v_reset,
                            v_rest=self.v_rest, surrogate=self.surrogate,
                            detach_reset=self.detach_reset, backend=self.backend)
        return z, ALIFState(v, a)

    def extra_repr(self) -> str:
        return (f"tau={self.tau:g}, tau_a={self.tau_a:g}, beta_a={self.beta_a:g}, "
                f"v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
                f"surrogate={self.surrogate}")


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

    ==========  ============  ======  ==================================================
    noise       'gaussian'            'gaussian' | 'logistic' | 'uniform' | 'triangular'
    sigma       0.3           a.u.    noise scale (std, logistic scale, half-width), > 0
    sample      True                  sample spikes in training mode
    eval_mode   'deterministic'       'deterministic' | 'sample'
    ==========  ============  ======  ==================================================

    Other parameters as :class:`LIF` (no surrogate: the noise density is the gradient).
    """

    EVAL_MODES = ("deterministic", "sample")

    def __init__(self, tau: float = 2.0, v_threshold: float = 1.0,
                 v_reset: Optional[float] = 0.0, v_rest: float = 0.0, noise: str = "gaussian",
                 sigma: float = 0.3, sample: bool = True, eval_mode: str = "deterministic",
                 detach_reset: bool = False, generator: Optional[torch.Generator] = None,
                 backend: str = "auto"):
        super().__init__(backend)
        self.tau = _check.tau(tau)
        self.v_threshold, self.v_reset, self.v_rest = _check.thresholds(v_threshold, v_reset,
                                                                        v_rest)
        self.surrogate = noise_surrogate(noise, sigma)
        self.noise, self.sigma = noise, float(sigma)
        self.sample = bool(sample)
        self.eval_mode = _check.choice(eval_mode, "eval_mode", self.EVAL_MODES)
        self.detach_reset = bool(detach_reset)
        self.generator = generator

    def deploy_params(self) -> dict:
        """The deterministic (eval_mode='deterministic') neuron as ``LIFCoeffs::discrete``."""
        return {"model": "lif", "beta": self.beta, "v_rest": self.v_rest,
                "v_th": self.v_threshold, "v_reset": 0.0 if self.v_reset is None else self.v_reset,
                "soft_reset": self.v_reset is None}

    def _run(self, x, state):
        sample = self.sample if self.training else self.eval_mode == "sample"
        z, v = SF.noisy_lif(x, _v_of(state), beta=self.beta, v_threshold=self.v_threshold,
                            v_reset=self.v_reset, v_rest=self.v_rest, noise=self.noise,
                            sigma=self.sigma, sample=sample, detach_reset=self.detach_reset,
                            generator=self.generator, backend=self.backend)
        return z, LIFState(v)

    def extra_repr(self) -> str:
        return (f"tau={self.tau:g}, v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
                f"noise={self.noise!r}, sigma={self.sigma:g}, sample={self.sample}, "
                f"eval_mode={self.eval_mode!r}")


class LeakyIntegrator(SpikingNeuron):
    r"""Non-spiking leaky-integrator readout; returns the membrane [T, B, ...].

    .. math:: v_t = \big((1 - \beta) v_\mathrm{rest} + \beta v_{t-1}\big) + x_t, \quad \beta = 1 - 1/\tau

    ``tau=float('inf')`` gives a pure integrator. Typical readouts: ``out.mean(0)`` or ``out[-1]``.
    """

    spiking = False

    def __init__(self, tau: float = 2.0, v_rest: float = 0.0, backend: str = "auto"):
        super().__init__(backend)
        self.tau = _check.tau(tau)
        self.v_rest = _check.finite(v_rest, "v_rest")

    def deploy_params(self) -> dict:
        """A leaky integrator is ``LIFCoeffs::discrete(beta, v_rest, ...)`` that never fires."""
        return {"model": "li", "beta": self.beta, "v_rest": self.v_rest}

    def _run(self, x, state):
        out, v = SF.leaky_integrator(x, _v_of(state), beta=self.beta, v_rest=self.v_rest,
                                     backend=self.backend)
        return out, LIFState(v)

    def extra_repr(self) -> str:
        return f"tau={self.tau:g}, v_rest={self.v_rest:g}"
