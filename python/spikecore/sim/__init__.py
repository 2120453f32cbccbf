"""spikecore.sim (see ARCHITECTURE.md)."""
