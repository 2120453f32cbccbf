r"""Continuous-time LIF and ALIF of the event engine (units: ms, mV), integrated exactly per step.

.. math::

    \tau_m \dot v = -(v - v_{rest}) + i_{ex} + i_{in} + i_e, \qquad
    \tau_{ex} \dot i_{ex} = -i_{ex}, \quad \tau_{in} \dot i_{in} = -i_{in}

with ``synapse="exp"`` (a spike of weight :math:`w` adds :math:`w` to :math:`i_{ex}` if
:math:`w \ge 0`, else to :math:`i_{in}`) or ``synapse="delta"`` (it adds :math:`w` to :math:`v`).
When :math:`v \ge v_\mathrm{threshold}`: spike, :math:`v \leftarrow v_{reset}` (or
:math:`v - (v_\mathrm{threshold} - v_{reset})` with ``soft_reset``; ``v_reset=None`` is the soft
reset with :math:`v_{reset} = 0`, as in spikecore.nn), refractory for ``t_ref``. ALIF: threshold
:math:`v_\mathrm{threshold} + a`, :math:`a \leftarrow a\,e^{-dt/\tau_a} + \beta_a z` (the
discrete ALIF's :math:`\rho = 1 - 1/\tau_a` is the same decay written per step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional

from ._base import (
    MAX_THRESHOLD,
    EngineCall,
    NeuronSpec,
    finite,
    nonnegative,
    param,
    positive,
    thresholds,
)

__all__ = ["LIFSpec", "ALIFSpec", "SYNAPSES"]

SYNAPSES = ("delta", "exp")


@dataclass(frozen=True)
class LIFSpec(NeuronSpec):
    """Continuous-time LIF (``add_population(n, "lif")``)."""

    model: ClassVar[str] = "lif"
    aliases: ClassVar[Mapping[str, str]] = {"v_th": "v_threshold"}

    tau_m: float = param(20.0, "ms", "membrane time constant", r"\tau_m")
    v_rest: float = param(0.0, "mV", "resting potential (also the initial v)", r"v_{rest}")
    v_reset: Optional[float] = param(
        0.0, "mV", "reset potential; None: soft reset with v_reset = 0", r"v_{reset}"
    )
    v_threshold: float = param(20.0, "mV", "threshold", r"v_\mathrm{threshold}")
    t_ref: float = param(2.0, "ms", "refractory period", r"t_{ref}")
    tau_syn_ex: float = param(5.0, "ms", "excitatory synaptic decay (synapse='exp')", r"\tau_{ex}")
    tau_syn_in: float = param(10.0, "ms", "inhibitory synaptic decay (synapse='exp')", r"\tau_{in}")
    i_e: float = param(0.0, "mV", "bias input (as the voltage it drives)", r"i_e")
    soft_reset: bool = param(False, "", "subtract v_threshold - v_reset instead of resetting")
    synapse: str = param("delta", "", "'delta' or 'exp'")

    def __post_init__(self):
        for k in ("tau_m", "v_rest", "t_ref", "tau_syn_ex", "tau_syn_in", "i_e"):
            object.__setattr__(self, k, finite(getattr(self, k), k))
        vr = None if self.v_reset is None else finite(self.v_reset, "v_reset")
        object.__setattr__(self, "v_reset", vr)
        object.__setattr__(
            self, "v_threshold", finite(self.v_threshold, "v_threshold", MAX_THRESHOLD)
        )
        if not isinstance(self.soft_reset, bool):
            if type(self.soft_reset).__name__ != "bool_":
                raise TypeError(f"soft_reset: must be a bool, got {type(self.soft_reset).__name__}")
            object.__setattr__(self, "soft_reset", bool(self.soft_reset))
        if self.synapse not in SYNAPSES:
            raise ValueError(f"synapse: must be 'delta' or 'exp', got {self.synapse!r}")
        positive(self.tau_m, "tau_m")
        thresholds(self.v_threshold, 0.0 if vr is None else vr, self.v_rest)
        nonnegative(self.t_ref, "t_ref")
        if self.synapse == "exp":
            positive(self.tau_syn_ex, "tau_syn_ex")
            positive(self.tau_syn_in, "tau_syn_in")

    def _args(self) -> Dict[str, Any]:
        soft = self.soft_reset or self.v_reset is None
        return dict(
            tau_m=self.tau_m,
            v_rest=self.v_rest,
            v_reset=0.0 if self.v_reset is None else self.v_reset,
            v_th=self.v_threshold,
            t_ref=self.t_ref,
            tau_syn_ex=self.tau_syn_ex,
            tau_syn_in=self.tau_syn_in,
            i_e=self.i_e,
            soft_reset=soft,
            synapse=SYNAPSES.index(self.synapse),
        )

    def engine(self, n: int) -> EngineCall:
        return EngineCall("lif", self._args())


@dataclass(frozen=True)
class ALIFSpec(LIFSpec):
    """Continuous-time adaptive-threshold LIF (``add_population(n, "alif")``)."""

    model: ClassVar[str] = "alif"

    tau_a: float = param(200.0, "ms", r"adaptation time constant (decay e^{-dt/\tau_a})", r"\tau_a")
    beta_a: float = param(1.0, "mV", "threshold increment per spike (>= 0)", r"\beta_a")

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "tau_a", positive(self.tau_a, "tau_a"))
        object.__setattr__(self, "beta_a", nonnegative(self.beta_a, "beta_a"))

    def engine(self, n: int) -> EngineCall:
        return EngineCall("alif", dict(self._args(), tau_a=self.tau_a, beta_a=self.beta_a))
