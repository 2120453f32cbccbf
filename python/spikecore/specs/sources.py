"""Spike sources: populations that emit given spikes (``spike_source``) or Poisson trains
(``poisson_source``, rate set by ``add_population(..., rate=)`` / ``set_source_rate``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._base import EngineCall, NeuronSpec

__all__ = ["SpikeSourceSpec", "PoissonSourceSpec"]


@dataclass(frozen=True)
class SpikeSourceSpec(NeuronSpec):
    """Emits scheduled spikes (no parameters)."""

    model: ClassVar[str] = "spike_source"
    dendritic_soma: ClassVar[bool] = False

    def engine(self, n: int) -> EngineCall:
        return EngineCall("source", {})


@dataclass(frozen=True)
class PoissonSourceSpec(SpikeSourceSpec):
    """Independent Poisson spike trains (at most one spike per step)."""

    model: ClassVar[str] = "poisson_source"
