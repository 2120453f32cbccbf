"""Deprecated alias of :mod:`spikecore.experiments.hebbff_cli` (moved in 0.2: application code lives
in spikecore.experiments, above the library packages)."""

from spikecore._deprecated import alias_module
from spikecore.experiments import hebbff_cli

alias_module(__name__, hebbff_cli)
