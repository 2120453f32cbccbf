"""spikecore.models (see ARCHITECTURE.md)."""
