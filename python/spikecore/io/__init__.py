"""spikecore.io: model exchange.

``spikecore.io.nir``: NIR export/import (:func:`to_nir`, :func:`from_nir`, :func:`save_nir`,
:func:`load_nir`; needs ``pip install nir``). Imported lazily, so ``import spikecore.io`` needs
neither torch nor nir.
"""

from __future__ import annotations

import importlib

_NIR = ("to_nir", "from_nir", "save_nir", "load_nir")


def __getattr__(name: str):
    if name in _NIR:
        return getattr(importlib.import_module("spikecore.io.nir"), name)
    if name == "nir":
        return importlib.import_module("spikecore.io.nir")
    raise AttributeError(f"module 'spikecore.io' has no attribute {name!r}")
