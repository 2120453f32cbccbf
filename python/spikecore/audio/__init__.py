"""spikecore.audio: cochlear front end and spike encoders of sound (C++ core).

- :class:`Cochlea` -- ERB-spaced gammatone filterbank with hair-cell envelope stage.
- :class:`Spiketrum` -- matching-pursuit spike coding with an exact spike budget.
- :class:`SendOnDelta`, :class:`RateCoder` -- envelope encoders.
- metrics: :func:`snr_db`, :func:`si_snr_db`, :func:`drop_spikes`, :func:`jitter_spikes`.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Cochlea": "cochlea",
    "CochleaStream": "cochlea",
    "as_audio": "cochlea",
    "Spiketrum": "spiketrum",
    "SpikeEvents": "spiketrum",
    "GammatoneDictionary": "spiketrum",
    "SendOnDelta": "encoders",
    "RateCoder": "encoders",
    "snr_db": "metrics",
    "si_snr_db": "metrics",
    "drop_spikes": "metrics",
    "jitter_spikes": "metrics",
}

__all__ = [
    "Cochlea",
    "CochleaStream",
    "GammatoneDictionary",
    "RateCoder",
    "SendOnDelta",
    "SpikeEvents",
    "Spiketrum",
    "as_audio",
    "drop_spikes",
    "jitter_spikes",
    "si_snr_db",
    "snr_db",
]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"spikecore.audio.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'spikecore.audio' has no attribute {name!r}")
