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
        # The one upward import of sim, declared in pyproject.toml's import-linter contracts:
        # issue 16 names spikecore.sim.from_nir, while the NIR importer (a file format) lives
        # in spikecore.io.nir, which is built on sim (to_nir reads sim.convert.parse). Imported
        # on first use only, so importing spikecore.sim never imports io (docs/interop.md).
        from spikecore.io.nir import deploy_nir

        return deploy_nir
    raise AttributeError(f"module 'spikecore.sim' has no attribute {name!r}")
