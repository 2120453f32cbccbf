"""spikecore: event-driven spiking neural networks.

A multithreaded C++ engine (``spikecore.sim``), a cochlear front end (``spikecore.audio``), and a
PyTorch training bridge (``spikecore.nn``). Submodules are imported lazily, so ``import spikecore``
never imports torch.
"""

from __future__ import annotations

import importlib
from importlib import metadata as _metadata

from spikecore import _isa  # noqa: F401 - checks the CPU at import (runtime dispatch)

try:  # one source: the version of the installed distribution (pyproject.toml's [project].version)
    __version__: str = _metadata.version("spikecore")
except _metadata.PackageNotFoundError:  # a source tree put on sys.path without installing
    __version__ = "0+unknown"

_SUBMODULES = (
    "specs",
    "sim",
    "nn",
    "audio",
    "data",
    "learn",
    "models",
    "analysis",
    "io",
    "experiments",
    "bench",
)


# `import spikecore._core` loads the ISA variant of the compiled core this CPU runs best (or the one
# SPIKECORE_ISA names): see spikecore/_isa.py.
_isa.install()


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"spikecore.{name}")
    raise AttributeError(f"module 'spikecore' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
