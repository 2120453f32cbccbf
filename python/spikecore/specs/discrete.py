r"""Discrete-time neurons: one step = one time bin, the neurons of trained models.

.. math::

    h_t &= \big((1 - \beta) v_\mathrm{rest} + \beta v_{t-1}\big) + x_t, \qquad
    \beta = 1 - 1/\tau \\
    z_t &= H(h_t - \vartheta_t), \qquad
    \vartheta_t = \vartheta + a_{t-1} \ \text{(ALIF; else } \vartheta) \\
    v_t &= \begin{cases} v_\mathrm{reset} & z_t = 1,\ \text{hard reset} \\
                         h_t - \vartheta_t & z_t = 1,\ \text{soft reset}
                                             (v_\mathrm{reset} = \text{None}) \\
                         h_t & z_t = 0 \end{cases} \\
    a_t &= \rho\, a_{t-1} + \beta_a z_t, \qquad \rho = 1 - 1/\tau_a \quad \text{(ALIF)}

``tau`` and ``beta`` (``tau_a`` and ``rho``) are two spellings of one decay: give either; the
other is derived (:math:`\tau = 1 / (1 - \beta)`). The engine runs ``LIFCoeffs::discrete(beta,
v_rest, v_th=v_threshold, v_reset or 0, soft_reset=v_reset is None)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional

from ._base import (
    EngineCall,
    NeuronSpec,
    decay,
    finite32,
    nonnegative,
    param,
    tau_steps,
    thresholds,
)

__all__ = [
    "DiscreteLIFSpec",
    "DiscreteALIFSpec",
    "NoisyLIFSpec",
    "LeakyIntegratorSpec",
    "NOISES",
    "EVAL_MODES",
    "NEVER",
]

NOISES = ("gaussian", "logistic", "uniform", "triangular")
EVAL_MODES = ("deterministic", "sample")
NEVER = 3.0e38  # threshold of a leaky-integrator readout: never reached


def _tau_or_decay(spec, tau_name: str, decay_name: str, default_tau: float) -> None:
    """Fill the (tau, decay) pair of a frozen spec from whichever was given."""
    tau, d = getattr(spec, tau_name), getattr(spec, decay_name)
    if d is None:
        tau = tau_steps(default_tau if tau is None else tau, tau_name)
        d = 1.0 - 1.0 / tau
    else:
        d = decay(d, decay_name)
        implied = math.inf if d == 1.0 else 1.0 / (1.0 - d)
        if tau is not None and tau != default_tau:
            tau = tau_steps(tau, tau_name)
            if abs((1.0 - 1.0 / tau) - d) > 1e-12:
                raise ValueError(
                    f"{tau_name}: {tau_name}={tau:g} and {decay_name}={d:g} disagree "
                    f"({decay_name} = 1 - 1/{tau_name}); give one of them"
                )
        tau = implied
    object.__setattr__(spec, tau_name, tau)
    object.__setattr__(spec, decay_name, d)


def _soft_reset_alias(old: str, new: str, value: Any, params: Mapping[str, Any]):
    """``soft_reset=True`` (old sim name) -> ``v_reset=None``."""
    if not isinstance(value, bool):
        raise TypeError(f"soft_reset: must be a bool, got {type(value).__name__}")
    if not value:
        return None, None, False
    if params.get("v_reset", 0.0) not in (None, 0.0):
        raise ValueError(
            "soft_reset: the discrete soft reset subtracts v_threshold; give "
            "v_reset=None instead of soft_reset=True with v_reset != 0"
        )
    return "v_reset", None, True


@dataclass(frozen=True)
class DiscreteLIFSpec(NeuronSpec):
    """Discrete-time LIF (``spikecore.nn.LIF``; ``add_population(n, "lif_discrete")``)."""

    model: ClassVar[str] = "lif_discrete"
    aliases: ClassVar[Mapping[str, str]] = {"v_th": "v_threshold", "soft_reset": "v_reset"}

    tau: Optional[float] = param(
        2.0, "steps", r"membrane time constant, \beta = 1 - 1/\tau (> 1)", r"\tau"
    )
    beta: Optional[float] = param(
        None, "1/step", "membrane decay per step in (0, 1] (None: from tau)", r"\beta"
    )
    v_threshold: float = param(1.0, "a.u.", "firing threshold", r"\vartheta")
    v_reset: Optional[float] = param(
        0.0,
        "a.u.",
        "hard-reset value; None: soft reset (subtract the threshold)",
        r"v_\mathrm{reset}",
    )
    v_rest: float = param(0.0, "a.u.", "leak reversal and initial membrane", r"v_\mathrm{rest}")

    def __post_init__(self):
        _tau_or_decay(self, "tau", "beta", 2.0)
        vt, vr, v0 = thresholds(self.v_threshold, self.v_reset, self.v_rest)
        object.__setattr__(self, "v_threshold", vt)
        object.__setattr__(self, "v_reset", vr)
        object.__setattr__(self, "v_rest", v0)

    @classmethod
    def _translate(cls, old, new, value, params):
        if old == "soft_reset":
            return _soft_reset_alias(old, new, value, params)
        return new, value, False

    def params(self) -> Dict[str, Any]:
        p = super().params()
        p.pop("tau")  # beta is the exact value; tau is implied
        return p

    def _discrete_args(self) -> Dict[str, Any]:
        soft = self.v_reset is None
        return dict(
            beta=self.beta,
            v_rest=self.v_rest,
            v_th=self.v_threshold,
            v_reset=0.0 if soft else self.v_reset,
            soft_reset=soft,
            rho=-1.0,
            beta_a=0.0,
        )

    def engine(self, n: int) -> EngineCall:
        return EngineCall("discrete", self._discrete_args())


@dataclass(frozen=True)
class DiscreteALIFSpec(DiscreteLIFSpec):
    """Discrete-time adaptive-threshold LIF (``spikecore.nn.AdaptiveLIF``;
    ``add_population(n, "alif_discrete")``)."""

    model: ClassVar[str] = "alif_discrete"

    tau_a: Optional[float] = param(
        200.0,
        "steps",
        r"adaptation time constant, "
        r"\rho = 1 - 1/\tau_a (> 1)",
        r"\tau_a",
    )
    rho: Optional[float] = param(
        None, "1/step", "adaptation decay per step in (0, 1] (None: from tau_a)", r"\rho"
    )
    beta_a: float = param(0.2, "a.u.", "threshold increment per spike (>= 0)", r"\beta_a")

    def __post_init__(self):
        super().__post_init__()
        _tau_or_decay(self, "tau_a", "rho", 200.0)
        object.__setattr__(
            self, "beta_a", nonnegative(self.beta_a, "beta_a", "threshold increment must be")
        )

    def params(self) -> Dict[str, Any]:
        p = super().params()
        p.pop("tau_a")
        return p

    def engine(self, n: int) -> EngineCall:
        return EngineCall("discrete", dict(self._discrete_args(), rho=self.rho, beta_a=self.beta_a))


@dataclass(frozen=True)
class NoisyLIFSpec(DiscreteLIFSpec):
    """The NSNN noisy LIF (``spikecore.nn.NoisyLIF``): threshold noise in training; deployed as
    its deterministic LIF (``lif_discrete``)."""

    model: ClassVar[str] = "noisy_lif"
    engine_model: ClassVar[Optional[str]] = "lif_discrete"

    noise: str = param("gaussian", "", "threshold noise: " + " | ".join(NOISES))
    sigma: float = param(
        0.3, "a.u.", "noise scale (std, logistic scale, half-width), > 0", r"\sigma"
    )
    eval_mode: str = param("deterministic", "", "eval-mode spikes: deterministic | sample")

    def __post_init__(self):
        super().__post_init__()
        if self.noise not in NOISES:
            raise ValueError(
                f"noise: unknown noise {self.noise!r}; valid noises: {', '.join(NOISES)}"
            )
        s = finite32(self.sigma, "sigma")
        if not s > 0:
            raise ValueError(f"sigma: noise scale must be > 0, got {s:g}")
        object.__setattr__(self, "sigma", s)
        if self.eval_mode not in EVAL_MODES:
            raise ValueError(
                f"eval_mode: unknown value {self.eval_mode!r}; valid choices: "
                f"{', '.join(EVAL_MODES)}"
            )

    def deployable(self) -> DiscreteLIFSpec:
        """The deterministic LIF it deploys as."""
        return DiscreteLIFSpec(
            beta=self.beta, v_threshold=self.v_threshold, v_reset=self.v_reset, v_rest=self.v_rest
        )

    @property
    def deploy_note(self) -> Optional[str]:
        if self.eval_mode == "sample":
            return (
                "(NoisyLIF, eval_mode='sample') is deployed as its deterministic LIF; "
                "sampled spikes are not reproduced"
            )
        return None


@dataclass(frozen=True)
class LeakyIntegratorSpec(NeuronSpec):
    r"""Non-spiking leaky integrator :math:`v_t = ((1-\beta) v_\mathrm{rest} + \beta v_{t-1}) +
    x_t` (``spikecore.nn.LeakyIntegrator``); deployed as a ``lif_discrete`` population whose
    threshold is never reached (its membrane is the output)."""

    model: ClassVar[str] = "leaky_integrator"
    engine_model: ClassVar[Optional[str]] = "lif_discrete"
    spiking: ClassVar[bool] = False

    tau: Optional[float] = param(
        2.0,
        "steps",
        r"time constant, \beta = 1 - 1/\tau (> 1; inf: "
        "no leak)",
        r"\tau",
    )
    beta: Optional[float] = param(None, "1/step", "decay per step (None: from tau)", r"\beta")
    v_rest: float = param(0.0, "a.u.", "leak reversal and initial value", r"v_\mathrm{rest}")

    def __post_init__(self):
        _tau_or_decay(self, "tau", "beta", 2.0)
        object.__setattr__(self, "v_rest", finite32(self.v_rest, "v_rest"))

    def params(self) -> Dict[str, Any]:
        p = super().params()
        p.pop("tau")
        return p

    def deployable(self) -> DiscreteLIFSpec:
        """A ``lif_discrete`` neuron whose threshold is never reached."""
        return DiscreteLIFSpec(beta=self.beta, v_threshold=NEVER, v_reset=0.0, v_rest=self.v_rest)

    def engine(self, n: int) -> EngineCall:
        return self.deployable().engine(n)
