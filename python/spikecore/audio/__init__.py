"""spikecore.audio (see ARCHITECTURE.md)."""
