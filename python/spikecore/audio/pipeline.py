"""Deprecated alias of :mod:`spikecore.experiments.audio_pipeline` (moved in 0.2: application code lives
in spikecore.experiments, above the library packages)."""

from spikecore._deprecated import alias_module
from spikecore.experiments import audio_pipeline

alias_module(__name__, audio_pipeline)
