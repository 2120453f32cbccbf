"""spikecore.learn (see ARCHITECTURE.md)."""
