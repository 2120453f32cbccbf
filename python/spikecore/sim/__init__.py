"""spikecore.sim: the event-driven simulation engine (C++ core, Python face).

>>> from spikecore.sim import Network
>>> net = Network(dt=0.1, n_threads=2, seed=0)

See :class:`Network` for the API, :mod:`spikecore.sim.networks` for CUBA and Brunel builders.
"""

from spikecore.sim import networks  # noqa: F401
from spikecore.sim.network import (  # noqa: F401
    Network,
    PoissonInput,
    Population,
    Projection,
    RateMonitor,
    SpikeMonitor,
    StateMonitor,
)

__all__ = [
    "Network",
    "Population",
    "Projection",
    "SpikeMonitor",
    "StateMonitor",
    "RateMonitor",
    "PoissonInput",
    "networks",
]


def __getattr__(name):
    # from_torch lives in convert.py (owned by the training bridge); import it lazily.
    if name == "from_torch":
        from spikecore.sim.convert import from_torch

        return from_torch
    if name == "from_nir":
        # NIR import lives in spikecore.io (above sim); this facade re-export resolves it at
        # call time, so sim keeps no import of io (see spikecore.io.nir.deploy_nir)
        import importlib

        return importlib.import_module("spikecore.io.nir").deploy_nir
    raise AttributeError(f"module 'spikecore.sim' has no attribute {name!r}")
