"""Moved to :mod:`spikecore.analysis.spikestats` (spike-train statistics are analysis, and the demo
uses them without importing bench); kept as a re-export for existing imports."""

from spikecore.analysis.spikestats import SpikeStats, spike_stats

__all__ = ["SpikeStats", "spike_stats"]
