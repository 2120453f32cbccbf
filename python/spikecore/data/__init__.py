"""spikecore.data (see ARCHITECTURE.md)."""
