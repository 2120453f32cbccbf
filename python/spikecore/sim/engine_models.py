"""Engine populations from :mod:`spikecore.specs`: the one place that maps a spec's
:class:`~spikecore.specs.EngineCall` onto the binding's ``add_*`` calls.

``Network.add_population(n, model, **params)`` builds the spec with :func:`spec_of` (parameter
names, defaults, units and validation live in the spec, shared with spikecore.nn and
``from_torch``) and adds the population with :func:`add`. A new engine model is one spec in
spikecore.specs plus one line in ``_ADD``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Mapping

import numpy as np

from spikecore import specs
from spikecore.specs import NeuronSpec

__all__ = ["MODELS", "SOURCES", "spec_of", "add"]

MODELS = tuple(specs.ENGINE_MODELS)
SOURCES = specs.SOURCES

# binding call per engine population kind: (core network, n, args, name) -> population index
_ADD: Dict[str, Callable[[Any, int, Dict[str, Any], str], int]] = {
    "lif": lambda c, n, a, name: c.add_lif(
        n,
        a["tau_m"],
        a["v_rest"],
        a["v_reset"],
        a["v_th"],
        a["t_ref"],
        a["tau_syn_ex"],
        a["tau_syn_in"],
        a["i_e"],
        a["soft_reset"],
        a["synapse"],
        name,
    ),
    "alif": lambda c, n, a, name: c.add_alif(
        n,
        a["tau_m"],
        a["v_rest"],
        a["v_reset"],
        a["v_th"],
        a["t_ref"],
        a["tau_syn_ex"],
        a["tau_syn_in"],
        a["i_e"],
        a["soft_reset"],
        a["synapse"],
        a["tau_a"],
        a["beta_a"],
        name,
    ),
    "discrete": lambda c, n, a, name: c.add_discrete(
        n,
        a["beta"],
        a["v_rest"],
        a["v_th"],
        a["v_reset"],
        a["soft_reset"],
        a["rho"],
        a["beta_a"],
        name,
    ),
    "celif": lambda c, n, a, name: c.add_celif(
        n,
        a["beta"],
        a["rho"],
        a["beta_a"],
        a["gamma"],
        a["v_th"],
        a["lam"],
        a["omlam"],
        a["shared"],
        name,
    ),
    "if": lambda c, n, a, name: c.add_if(n, a["v_th"], a["v0"], a["negative_slope"], name),
    "stdi": lambda c, n, a, name: c.add_stdi(
        n, a["v_th"], a["T"], a["delay"], a["rounding"], a["negative_slope"], a["start"], name
    ),
    "max_gate": lambda c, n, a, name: c.add_maxgate(
        n, a["kernel"], a["count"], a["T"], a["signed"], a["start"], name
    ),
    "source": lambda c, n, a, name: c.add_source(n, name),
}


def spec_of(
    model: Any, params: Mapping[str, Any], *, warn: bool = True, stacklevel: int = 7
) -> NeuronSpec:
    """The deployable spec of ``add_population(n, model, **params)``: ``model`` is an engine
    model name (``params`` its parameters; deprecated names warn unless ``warn=False``) or a
    :class:`~spikecore.specs.NeuronSpec` instance (then ``params`` must be empty)."""
    if isinstance(model, NeuronSpec):
        if params:
            k = sorted(params)[0]
            raise TypeError(f"{k}: give the parameters in the spec when model is a spec")
        spec = model.deployable()
        if spec.model_name() not in specs.ENGINE_MODELS:
            raise ValueError(f"model: {type(model).__name__} has no engine population")
        return spec
    return specs.build(model, params, warn=warn, stacklevel=stacklevel)


def add(c: Any, n: int, spec: NeuronSpec, name: str) -> int:
    """Adds ``n`` neurons of ``spec`` to the core network ``c``; returns the population index."""
    call = spec.engine(n)
    idx = _ADD[call.kind](c, n, call.args, name)
    br = call.branches
    if br is not None and br["branches"] > 1:
        c.set_branches(
            idx,
            br["branches"],
            br["branch_fn"],
            br["branch_decay"],
            np.ascontiguousarray(br["branch_bias"], np.float32),
        )
    return idx
