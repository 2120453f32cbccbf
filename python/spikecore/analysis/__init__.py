"""spikecore.analysis (see ARCHITECTURE.md)."""
