"""spikecore.io (see ARCHITECTURE.md)."""
