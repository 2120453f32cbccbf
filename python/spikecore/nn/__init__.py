"""spikecore.nn (see ARCHITECTURE.md)."""
