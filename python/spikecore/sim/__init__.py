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
        # issue 16's spikecore.sim.from_nir: the NIR importer lives in spikecore.nn._nir_import
        # (below sim), the deployment in sim/nir.py; imported on first use (it needs torch)
        from spikecore.sim.nir import deploy_nir

        return deploy_nir
    raise AttributeError(f"module 'spikecore.sim' has no attribute {name!r}")
