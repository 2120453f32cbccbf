r"""spikecore.specs: one spec per neuron model, shared by spikecore.nn, spikecore.sim and the
converter.

A spec is a frozen dataclass: the model's parameter names, defaults and units (field metadata,
:meth:`~NeuronSpec.table`), their validation (``__post_init__``: errors name the parameter) and its
engine population (:meth:`~NeuronSpec.engine`: the core's population kind and the arguments of
its ``add_*`` binding). This package imports neither torch nor the compiled extension.

* ``spikecore.nn`` modules return their spec from the public ``spec()`` method, and synaptic
  layers their :class:`SynapseSpec` from ``synapses()``;
* ``spikecore.sim.Network.add_population(n, model, **params)`` builds the spec with
  :func:`build` (or takes a spec instance as ``model``);
* ``spikecore.sim.from_torch`` reads ``spec()`` / ``synapses()`` and adds the populations.

====================  ========================  =======================================
model                 spec                      spikecore.nn module
====================  ========================  =======================================
``lif``               LIFSpec                   (engine only: ms, mV)
``alif``              ALIFSpec                  (engine only: ms, mV)
``lif_discrete``      DiscreteLIFSpec           LIF, ParametricLIF (scalar tau)
``alif_discrete``     DiscreteALIFSpec          AdaptiveLIF
``noisy_lif``         NoisyLIFSpec              NoisyLIF (deploys as lif_discrete)
``leaky_integrator``  LeakyIntegratorSpec       LeakyIntegrator (deploys as lif_discrete)
``celif``             CELIFSpec                 CELIF
``if``                IFSpec                    IFNeuron (rate-coded conversion)
``stdi``              STDISpec                  STDINeuron (STDI conversion)
``max_gate``          MaxGateSpec               SpikeMaxPool2d (converted max-pool)
(any LIF / ALIF)      DendriticSpec             DendriticLIF, DendriticLinear + neuron
====================  ========================  =======================================

>>> from spikecore import specs
>>> s = specs.build("lif_discrete", {"tau": 4.0, "v_reset": None})
>>> s.beta, s.engine(3).args["soft_reset"]
(0.75, True)
>>> specs.DiscreteLIFSpec(tau=0.5)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: tau: must be > 1 time step (...), got 0.5
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Type

from ._base import (
    MAX_THRESHOLD,
    MAX_VALUE,
    EngineCall,
    NeuronSpec,
    SpikecoreDeprecationWarning,
    warn_renamed,
)
from .celif import CELIFSpec
from .conversion import IFSpec, MaxGateSpec, STDISpec
from .dendritic import BRANCH_FNS, BRANCH_KEYS, Branches, DendriticSpec
from .discrete import DiscreteALIFSpec, DiscreteLIFSpec, LeakyIntegratorSpec, NoisyLIFSpec
from .lif import ALIFSpec, LIFSpec
from .sources import PoissonSourceSpec, SpikeSourceSpec
from .synapses import SynapseSpec

__all__ = [
    "NeuronSpec",
    "EngineCall",
    "MAX_VALUE",
    "MAX_THRESHOLD",
    "SynapseSpec",
    "Branches",
    "DendriticSpec",
    "LIFSpec",
    "ALIFSpec",
    "DiscreteLIFSpec",
    "DiscreteALIFSpec",
    "NoisyLIFSpec",
    "LeakyIntegratorSpec",
    "CELIFSpec",
    "IFSpec",
    "STDISpec",
    "MaxGateSpec",
    "SpikeSourceSpec",
    "PoissonSourceSpec",
    "SpikecoreDeprecationWarning",
    "ENGINE_MODELS",
    "SPECS",
    "SOURCES",
    "build",
    "warn_renamed",
    "BRANCH_FNS",
    "BRANCH_KEYS",
]

#: models with an engine population of their own (Network.add_population's model names)
ENGINE_MODELS: Dict[str, Type[NeuronSpec]] = {
    s.model: s
    for s in (
        LIFSpec,
        ALIFSpec,
        DiscreteLIFSpec,
        DiscreteALIFSpec,
        CELIFSpec,
        IFSpec,
        STDISpec,
        MaxGateSpec,
        SpikeSourceSpec,
        PoissonSourceSpec,
    )
}
#: every spec by model name (nn-only models deploy as their engine_model)
SPECS: Dict[str, Type[NeuronSpec]] = dict(
    ENGINE_MODELS, **{s.model: s for s in (NoisyLIFSpec, LeakyIntegratorSpec)}
)
#: the input populations' model names (spike times given, or independent Poisson trains)
SOURCES = ("spike_source", "poisson_source")
_DENDRITIC_SOMAS = ("lif", "alif", "lif_discrete", "alif_discrete")


def build(
    model: str, params: Mapping[str, Any], *, warn: bool = True, stacklevel: int = 5
) -> NeuronSpec:
    """The spec of an engine ``model`` from keyword ``params`` (deprecated names warn unless
    ``warn=False``; branch keys give a :class:`DendriticSpec` around the soma)."""
    if not isinstance(model, str):
        raise TypeError(f"model: must be a string, got {type(model).__name__}")
    cls: Optional[Type[NeuronSpec]] = ENGINE_MODELS.get(model)
    if cls is None:
        raise ValueError(f"model: unknown model {model!r}; valid: {', '.join(ENGINE_MODELS)}")
    if model in _DENDRITIC_SOMAS:
        branches, params = Branches.split(params)
    else:
        branches = None
    soma = cls.from_params(params, warn=warn, stacklevel=stacklevel)
    return soma if branches is None else DendriticSpec(soma, branches)
